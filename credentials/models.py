"""The credentials tables: issued SD-JWT VCs, status lists, holder and issuer keys.

What a citizen holds is personal, so the credential itself (the SD-JWT VC with every
disclosure, and its decoded claims) is sealed under the citizen's data key like
evidence; only what the status machinery and the issuer need is in the clear (ids,
type, times, the status-list slot). A status list is public by design, so its bytes
and its signed token are stored in the clear.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import (
    JSON,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column

from pds.db import Base, UTCDateTime, utcnow
from pds.ids import uuid7


class IssuerKey(Base):
    """Which issuer client a ``signing_keys`` row signs credentials for.

    The key itself is an ordinary signing key (purpose ``credential-issuer``): wrapped by
    the KEK, rewrapped by KEK rotation, published in ``/.well-known/jwks.json``.
    """

    __tablename__ = "credential_issuer_keys"

    kid: Mapped[str] = mapped_column(
        ForeignKey("signing_keys.kid", ondelete="CASCADE"), primary_key=True
    )
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class HolderKey(Base):
    """A citizen's holder key (P-256): the ``cnf`` of their credentials, for key binding.

    The private scalar is sealed under the citizen's data key, so erasure shreds it too.
    """

    __tablename__ = "credential_holder_keys"

    citizen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), primary_key=True
    )
    public_jwk: Mapped[dict[str, Any]] = mapped_column(JSON)
    private_sealed: Mapped[bytes] = mapped_column(LargeBinary)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)


class StatusListRow(Base):
    """One Token Status List of one issuer, and its last signed token (a cache)."""

    __tablename__ = "credential_status_lists"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    issuer_client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    bits: Mapped[int] = mapped_column(Integer)
    size: Mapped[int] = mapped_column(Integer)
    data: Mapped[bytes] = mapped_column(LargeBinary)
    allocated: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    token: Mapped[str | None] = mapped_column(Text)
    token_expires_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class StatusAllocation(Base):
    """An index handed out, kept after its credential is erased: never allocated twice."""

    __tablename__ = "credential_status_allocations"

    list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credential_status_lists.id", ondelete="CASCADE"), primary_key=True
    )
    idx: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)


class IssuedCredential(Base):
    """An SD-JWT VC in a citizen's vault, sealed; ``status`` caches the list's entry."""

    __tablename__ = "issued_credentials"
    __table_args__ = (UniqueConstraint("status_list_id", "status_idx"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    citizen_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("accounts.id", ondelete="CASCADE"), index=True
    )
    issuer_client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    vct: Mapped[str] = mapped_column(String(255))
    status_list_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("credential_status_lists.id", ondelete="CASCADE")
    )
    status_idx: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16), default="valid")
    issued_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    evidence_id: Mapped[uuid.UUID | None] = mapped_column(
        ForeignKey("evidence_items.id", ondelete="SET NULL")
    )
    sealed: Mapped[bytes] = mapped_column(LargeBinary)
