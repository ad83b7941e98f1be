"""Grants as an append-only event history, the pairwise subjects, the signed receipts.

``grant_events`` is the truth: a grant's state is ``consent.grants.fold`` of its
events. ``grants.status`` and ``grants.expires_at`` are a copy of that fold, written in
the same transaction as each event, so lists and the inbox can filter in SQL; reads
that decide anything fold the events again.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from pds.db import Base, UTCDateTime, utcnow
from pds.ids import uuid7


class Grant(Base):
    """One consent request and, once answered, the grant it became."""

    __tablename__ = "grants"
    __table_args__ = (Index("ix_grants_citizen_id_status", "citizen_id", "status"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    citizen_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE")
    )
    status: Mapped[str] = mapped_column(String(16))
    pushed: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class GrantEvent(Base):
    """One event in a grant's life (``consent.grants.GrantEvent``, encoded as JSON)."""

    __tablename__ = "grant_events"

    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), primary_key=True
    )
    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    event: Mapped[dict[str, Any]] = mapped_column(JSON)


class PairwiseSubject(Base):
    """The pseudonym one client knows one citizen by: random, stable, never reused.

    Random rather than derived, so nothing outside this row links two clients' views of
    a citizen, and erasure (which deletes the row with the account) leaves no key that
    could recompute it.
    """

    __tablename__ = "pairwise_subjects"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    subject: Mapped[str] = mapped_column(String(64), unique=True)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class ConsentReceipt(Base):
    """A signed receipt (JWS) for one version of a grant; both sides download the same bytes."""

    __tablename__ = "consent_receipts"
    __table_args__ = (UniqueConstraint("grant_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    jws: Mapped[str] = mapped_column(Text)


class ClientEvent(Base):
    """One thing a client's systems should hear about: a grant approved, revoked, expired,
    or the data under a live grant changed.

    ``seq`` counts each client's events from 1 with no gaps and in commit order (see
    ``consent.events``), so it is the feed's cursor: a client that has seen up to N has
    seen everything up to N. ``id`` is the event's identity for a receiver that dedupes
    webhook deliveries (a later ``webhook_deliveries`` table will point at it).
    ``grant_id`` is deliberately not a foreign key: the feed keeps an erased citizen's
    grant ids so the client learns the grant ended.
    """

    __tablename__ = "client_events"
    __table_args__ = (UniqueConstraint("client_id", "seq"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    client_id: Mapped[str] = mapped_column(ForeignKey("clients.client_id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer)
    type: Mapped[str] = mapped_column(String(32))
    grant_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    occurred_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class ClientEventCounter(Base):
    """The last ``seq`` handed out per client. Incrementing it locks the row until commit,
    which is what makes the sequence follow commit order."""

    __tablename__ = "client_event_counters"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    last_seq: Mapped[int] = mapped_column(Integer, default=0)
