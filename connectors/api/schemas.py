"""What the connector API answers and accepts (API structs, never ORM objects)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import TYPE_CHECKING, Annotated, Any

import msgspec

from connectors.oauth.metadata import RESOURCE_PATH
from consent.grants import GrantState, state_at
from consent.requests import iso_duration, to_authorization_details

if TYPE_CHECKING:
    from connectors.api.disclose import DisclosedItem, GrantData


class ConnectGrant(msgspec.Struct, omit_defaults=True):
    """The grant as its client may see it. ``subject`` is the citizen's pairwise subject
    once the request has been answered. ``consent_token`` comes with an active grant that
    was pushed or is ongoing: the assertion for fresh access tokens (jwt-bearer grant)."""

    grant_id: uuid.UUID
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


def connect_grant(
    grant_id: uuid.UUID,
    state: GrantState,
    now: dt.datetime,
    *,
    pushed: bool,
    subject: str | None,
    consent_token: str | None = None,
) -> ConnectGrant:
    current = state_at(state, now)
    scope = current.scope
    return ConnectGrant(
        grant_id=grant_id,
        status=current.status.value,
        purpose=scope.purpose.term.value,
        lawful_basis=scope.lawful_basis.value,
        access=scope.access.value,
        duration=iso_duration(scope.duration),
        authorization_details=to_authorization_details(scope),
        requested_at=current.requested_at,
        pushed=pushed,
        subject=subject,
        decided_at=current.decided_at,
        expires_at=current.expires_at,
        ended_at=current.ended_at,
        revoked_by=current.revoked_by.value if current.revoked_by else None,
        consent_token=consent_token,
    )


class DocumentRef(msgspec.Struct):
    """A granted document: fetch it at ``href``; ``sha256`` (hex) checks what arrives."""

    id: uuid.UUID
    media_type: str
    size: int
    sha256: str
    href: str


class DisclosedItemOut(msgspec.Struct, omit_defaults=True):
    """One evidence item, cut to the granted claims. ``provenance`` says who vouches for
    it: ``{"kind": "self_asserted"}`` or the credential behind it."""

    id: uuid.UUID
    evidence_type: str
    category: str
    version: int
    version_time: dt.datetime
    claims: dict[str, Any]
    provenance: dict[str, Any]
    documents: list[DocumentRef] | None = None


class GrantDataOut(msgspec.Struct):
    grant_id: uuid.UUID
    subject: str
    purpose: str
    retrieved_at: dt.datetime
    items: list[DisclosedItemOut]


def grant_data_out(data: GrantData, retrieved_at: dt.datetime) -> GrantDataOut:
    """The answer to ``GET /grants/{id}/data``, as JSON or inside a JWE."""
    return GrantDataOut(
        grant_id=data.grant_id,
        subject=data.subject,
        purpose=data.purpose,
        retrieved_at=retrieved_at,
        items=[_item_out(item, data.grant_id) for item in data.items],
    )


def _item_out(item: DisclosedItem, grant_id: uuid.UUID) -> DisclosedItemOut:
    documents = None
    if item.documents is not None:
        documents = [
            DocumentRef(
                id=doc.id,
                media_type=doc.media_type,
                size=doc.size,
                sha256=doc.sha256,
                href=f"{RESOURCE_PATH}/grants/{grant_id}/documents/{doc.id}",
            )
            for doc in item.documents
        ]
    return DisclosedItemOut(
        id=item.id,
        evidence_type=item.evidence_type,
        category=item.category,
        version=item.version,
        version_time=item.version_time,
        claims=item.claims,
        provenance=item.provenance,
        documents=documents,
    )


class ConsentRequestIn(msgspec.Struct, forbid_unknown_fields=True):
    """A request for a citizen this client already knows, in the PAR's shape (RFC 9396)."""

    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    authorization_details: Annotated[list[dict[str, Any]], msgspec.Meta(min_length=1, max_length=1)]


class EventOut(msgspec.Struct):
    id: uuid.UUID
    seq: int
    type: str
    grant_id: uuid.UUID | None
    occurred_at: dt.datetime
    data: dict[str, Any]


class EventPage(msgspec.Struct):
    """Events after ``cursor``, oldest first; ask again with ``next_cursor``."""

    events: list[EventOut]
    next_cursor: int
    more: bool
