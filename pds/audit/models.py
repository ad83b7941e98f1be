"""The ``audit_entries`` table: append-only, written in the same transaction as the act."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    String,
    Text,
    Uuid,
    text,
)
from sqlalchemy.orm import Mapped, mapped_column

from pds.db import Base, UTCDateTime, utcnow
from pds.ids import uuid7

_PENDING = text("leaf_index IS NULL")


class AuditEntry(Base):
    """One recorded act. Ids only; no personal data lives in this table."""

    __tablename__ = "audit_entries"
    __table_args__ = (
        Index("ix_audit_entries_citizen_id_created_at", "citizen_id", "created_at"),
        Index("ix_audit_entries_client_id_created_at", "client_id", "created_at"),
        Index("ix_audit_entries_action_created_at", "action", "created_at"),
        # The sequencer's queue: entries not yet in the tree, oldest first. Without it,
        # PostgreSQL found them by walking the primary key past every entry already
        # placed (44 ms a batch at 200,000 entries, and growing with the log).
        Index(
            "ix_audit_entries_pending",
            "id",
            postgresql_where=_PENDING,
            sqlite_where=_PENDING,
        ),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor: Mapped[str] = mapped_column(String(16))
    actor_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    action: Mapped[str] = mapped_column(String(40))
    outcome: Mapped[str] = mapped_column(String(16))
    # No foreign key: entries outlive the citizen (erasure deletes the account,
    # the log keeps a bare id that no longer resolves to anyone).
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    client_id: Mapped[str | None] = mapped_column(String(64))
    grant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    purpose: Mapped[str | None] = mapped_column(String(200))
    resource: Mapped[str | None] = mapped_column(String(200))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    # Set by the sequencer: the entry's position in the Merkle tree and the exact
    # bytes committed there (see pds.audit.leaf). NULL means not yet sequenced.
    leaf_index: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    leaf: Mapped[bytes | None] = mapped_column(LargeBinary)


class AuditSubject(Base):
    """The salt behind a citizen's commitments in audit leaves; erasure deletes it."""

    __tablename__ = "audit_subjects"

    citizen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    salt: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditNode(Base):
    """A perfect subtree hash, keyed (level, index): any proof is O(log n) of these."""

    __tablename__ = "audit_nodes"

    level: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    index: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    hash: Mapped[bytes] = mapped_column(LargeBinary(32))


class AuditCheckpoint(Base):
    """A signed statement of the tree's size and root (C2SP tlog-checkpoint)."""

    __tablename__ = "audit_checkpoints"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    tree_size: Mapped[int] = mapped_column(BigInteger, unique=True)
    root_hash: Mapped[bytes] = mapped_column(LargeBinary(32))
    note: Mapped[str] = mapped_column(Text)
    key_id: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
