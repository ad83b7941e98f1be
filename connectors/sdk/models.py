"""What the SDK hands back: typed results, decoded strictly by type but tolerant of new
fields (a newer PDS may add members; an older SDK ignores them)."""

from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass, field
from typing import Any

import msgspec

REFRESH_MARGIN = 30
"""Seconds before expiry at which an access token counts as spent: no request races it."""


class ServerMetadata(msgspec.Struct, frozen=True):
    """The RFC 8414 document, the members this SDK uses."""

    issuer: str
    authorization_endpoint: str
    pushed_authorization_request_endpoint: str
    token_endpoint: str
    jwks_uri: str
    revocation_endpoint: str | None = None
    introspection_endpoint: str | None = None
    dpop_signing_alg_values_supported: list[str] = []
    authorization_details_types_supported: list[str] = []
    authorization_response_iss_parameter_supported: bool = False
    protected_resources: list[str] = []


@dataclass(frozen=True, slots=True)
class AuthorizationStart:
    """A pushed request waiting for the citizen. Keep it (server side, with the citizen's
    session) until the callback: it holds the PKCE verifier and the ``state`` to check."""

    url: str
    """Send the citizen's browser here."""
    state: str
    code_verifier: str = field(repr=False)
    request_uri: str
    redirect_uri: str
    expires_at: float


@dataclass(slots=True)
class Grant:
    """A citizen's consent as this client holds it: the current access token, and the
    consent token that buys the next one (ongoing grants and pushed requests)."""

    grant_id: str
    access_token: str = field(repr=False)
    expires_at: float
    """Unix time the access token stops working."""
    consent_token: str | None = field(default=None, repr=False)
    consent_receipt: str | None = field(default=None, repr=False)
    """The signed consent receipt (a JWS): the same bytes the citizen can download."""
    authorization_details: list[dict[str, Any]] = field(default_factory=list)

    def needs_refresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - REFRESH_MARGIN


@dataclass(slots=True)
class ClientToken:
    """A client-level token (``client_credentials``): pushing requests, reading events."""

    access_token: str = field(repr=False)
    expires_at: float

    def needs_refresh(self, now: float | None = None) -> bool:
        return (time.time() if now is None else now) >= self.expires_at - REFRESH_MARGIN


class TokenAnswer(msgspec.Struct, frozen=True):
    access_token: str
    token_type: str
    expires_in: int
    consent_token: str | None = None
    consent_receipt: str | None = None
    grant_id: str | None = None
    authorization_details: list[dict[str, Any]] = []

    def __repr__(self) -> str:  # the tokens stay out of logs and tracebacks
        return f"TokenAnswer(grant_id={self.grant_id!r}, expires_in={self.expires_in})"


class GrantView(msgspec.Struct, frozen=True):
    """The grant as this client may see it. ``subject`` is the citizen's pairwise id for
    this client (push later requests to it); ``consent_token`` comes with an active
    pushed or ongoing grant."""

    grant_id: str
    status: str
    purpose: str
    lawful_basis: str
    access: str
    duration: str
    authorization_details: list[dict[str, Any]]
    requested_at: dt.datetime
    pushed: bool
    subject: str | None = None
    decided_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    revoked_by: str | None = None
    consent_token: str | None = None

    def __repr__(self) -> str:  # the consent token stays out of logs and tracebacks
        return f"GrantView(grant_id={self.grant_id!r}, status={self.status!r})"


class DocumentRef(msgspec.Struct, frozen=True):
    id: str
    media_type: str
    size: int
    sha256: str
    """Hex SHA-256 of the document; ``get_document`` checks it."""
    href: str


class DisclosedItem(msgspec.Struct, frozen=True):
    """One evidence item cut to the granted claims; ``provenance`` says who vouches."""

    id: str
    evidence_type: str
    category: str
    version: int
    version_time: dt.datetime
    claims: dict[str, Any]
    provenance: dict[str, Any]
    documents: list[DocumentRef] | None = None


class GrantData(msgspec.Struct, frozen=True):
    grant_id: str
    subject: str
    purpose: str
    retrieved_at: dt.datetime
    items: list[DisclosedItem]

    def item(self, evidence_type: str) -> DisclosedItem | None:
        """The first item of ``evidence_type``, if the grant disclosed one."""
        return next((i for i in self.items if i.evidence_type == evidence_type), None)


class Event(msgspec.Struct, frozen=True):
    """Something that happened to one of this client's grants (``grant.approved``,
    ``grant.revoked``…). ``seq`` is the cursor to resume after it."""

    id: str
    seq: int
    type: str
    grant_id: str | None
    occurred_at: dt.datetime
    data: dict[str, Any]


class EventPage(msgspec.Struct, frozen=True):
    events: list[Event]
    next_cursor: int
    more: bool
