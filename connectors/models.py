"""The OAuth server's tables: registered clients, pushed requests, codes, replay cache.

Secrets that travel (request URIs, authorization codes) are stored only as SHA-256
hashes, so a copy of the database cannot be replayed against the token endpoint.
"""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, LargeBinary, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from pds.db import Base, UTCDateTime, utcnow
from pds.ids import uuid7


class Client(Base):
    """A service system registered from its manifest (API.md "The client manifest").

    Purposes, categories and credential types bound what it may ever ask for; a
    suspended client is refused at every endpoint before anything else is checked.
    """

    __tablename__ = "clients"

    client_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    name: Mapped[str] = mapped_column(String(200))
    organisation: Mapped[str] = mapped_column(String(200))
    kind: Mapped[str] = mapped_column(String(32))
    contact_email: Mapped[str] = mapped_column(String(320))
    redirect_uris: Mapped[list[str]] = mapped_column(JSON)
    jwks: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    jwks_uri: Mapped[str | None] = mapped_column(String(2000))
    purposes: Mapped[list[str]] = mapped_column(JSON)
    categories: Mapped[list[str]] = mapped_column(JSON)
    credential_types: Mapped[list[str]] = mapped_column(JSON, default=list)
    encryption_jwk: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    webhook_url: Mapped[str | None] = mapped_column(String(2000))
    privacy_notice_url: Mapped[str | None] = mapped_column(String(2000))
    logo_url: Mapped[str | None] = mapped_column(String(2000))
    status: Mapped[str] = mapped_column(String(16), default="active")
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    suspended_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuthorizationRequest(Base):
    """A pushed authorization request (RFC 9126), waiting for the citizen at /oauth/authorize.

    The grant it asks for exists from the push on (status ``requested``); this row holds
    only what the front channel must bring back: where to redirect, the PKCE challenge
    and the DPoP key the code will be bound to.
    """

    __tablename__ = "authorization_requests"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid7)
    request_uri_hash: Mapped[bytes] = mapped_column(LargeBinary(32), unique=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    state: Mapped[str | None] = mapped_column(String(512))
    code_challenge: Mapped[str] = mapped_column(String(128))
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    decided_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class AuthorizationCode(Base):
    """A one-use code (60 s) that the token endpoint exchanges for tokens on one grant."""

    __tablename__ = "authorization_codes"

    code_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), index=True
    )
    grant_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("grants.id", ondelete="CASCADE"), index=True
    )
    redirect_uri: Mapped[str] = mapped_column(String(2000))
    code_challenge: Mapped[str] = mapped_column(String(128))
    dpop_jkt: Mapped[str | None] = mapped_column(String(64))
    created_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[dt.datetime | None] = mapped_column(UTCDateTime)


class UsedJti(Base):
    """The replay cache every process shares: one row per (kind, key, jti) seen.

    Keyed first by ``expires_at``, then by a hash of the three (short whatever a client
    sends). A proof's or assertion's ``expires_at`` follows from its own signed
    ``iat``/``exp``, so a replay of it carries the same key and collides. Ordered by
    time, the rows a batch spends land together at the end of the index instead of on
    a random page each (SQLite, 28 values spent into 150,000: 42 pages written before,
    5 after), and the expired rows pruned are one range at the start.
    """

    __tablename__ = "used_jtis"
    __table_args__ = {"sqlite_with_rowid": False}  # the primary key is the only index

    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, primary_key=True)
    jti_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)


class RevokedToken(Base):
    """An access token a client gave up (RFC 7009), kept until it would have expired."""

    __tablename__ = "revoked_tokens"

    jti_hash: Mapped[bytes] = mapped_column(LargeBinary(32), primary_key=True)
    expires_at: Mapped[dt.datetime] = mapped_column(UTCDateTime, index=True)


class RateLimitWindow(Base):
    """Requests counted per client per fixed window, summed over every server process.

    Each process adds its own counts here about once a second (``connectors.api.ratelimit``)
    rather than on every request, so the hot path does not write a shared row each time.
    """

    __tablename__ = "rate_limit_windows"

    client_id: Mapped[str] = mapped_column(
        ForeignKey("clients.client_id", ondelete="CASCADE"), primary_key=True
    )
    window: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    count: Mapped[int] = mapped_column(Integer, default=0)
