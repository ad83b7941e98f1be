"""What an audit entry records, as plain values.

The vocabulary is closed (enums) so auditors can filter on it and the Merkle
leaf encoding of a later issue stays stable. Nothing here holds personal data
itself: citizens and clients appear as ids, resources as ids and claim names.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uuid


class Actor(StrEnum):
    CITIZEN = "citizen"
    CLIENT = "client"
    AUDITOR = "auditor"
    ADMIN = "admin"
    SYSTEM = "system"


class Action(StrEnum):
    READ = "read"
    DENY = "deny"
    CONSENT_REQUESTED = "consent.requested"
    CONSENT_GIVEN = "consent.given"
    CONSENT_NARROWED = "consent.narrowed"
    CONSENT_REFUSED = "consent.refused"
    CONSENT_REVOKED = "consent.revoked"
    CONSENT_EXPIRED = "consent.expired"
    AUTHORIZATION_REFUSED = "authorization.refused"
    TOKEN_ISSUED = "token.issued"  # noqa: S105 - an action name
    TOKEN_REFUSED = "token.refused"  # noqa: S105 - an action name
    TOKEN_REVOKED = "token.revoked"  # noqa: S105 - an action name
    TOKEN_INTROSPECTED = "token.introspected"  # noqa: S105 - an action name
    CLIENT_REGISTERED = "client.registered"
    CLIENT_UPDATED = "client.updated"
    CLIENT_SUSPENDED = "client.suspended"
    CLIENT_REINSTATED = "client.reinstated"
    CREDENTIAL_ISSUED = "credential.issued"
    CREDENTIAL_REVOKED = "credential.revoked"
    CREDENTIAL_SUSPENDED = "credential.suspended"
    CREDENTIAL_REINSTATED = "credential.reinstated"
    CREDENTIAL_PRESENTED = "credential.presented"
    CREDENTIAL_VERIFIED = "credential.verified"
    EVIDENCE_CREATED = "evidence.created"
    EVIDENCE_UPDATED = "evidence.updated"
    EVIDENCE_DELETED = "evidence.deleted"
    DOCUMENT_UPLOADED = "document.uploaded"
    DOCUMENT_DOWNLOADED = "document.downloaded"
    DOCUMENT_DELETED = "document.deleted"
    EXPORT = "export"
    ERASURE = "erasure"
    KEY_ROTATED = "key.rotated"
    ACCOUNT_CREATED = "account.created"
    SIGN_IN = "sign_in"
    SIGN_OUT = "sign_out"
    AUDIT_SEARCH = "audit.search"
    AUDIT_EXPORT = "audit.export"


class Outcome(StrEnum):
    ALLOWED = "allowed"
    DENIED = "denied"
    ERROR = "error"


@dataclass(frozen=True, slots=True)
class Entry:
    """One act to record. ``detail`` holds non-personal facts (ids, counts, codes)."""

    actor: Actor
    action: Action
    outcome: Outcome = Outcome.ALLOWED
    actor_id: uuid.UUID | None = None
    citizen_id: uuid.UUID | None = None
    client_id: str | None = None
    grant_id: uuid.UUID | None = None
    purpose: str | None = None
    resource: str | None = None
    request_id: str | None = None
    detail: dict[str, str | int | bool | None] = field(default_factory=dict)


def by_citizen(
    action: Action,
    citizen_id: uuid.UUID,
    *,
    resource: str | None = None,
    detail: dict[str, str | int | bool | None] | None = None,
) -> Entry:
    """An act a citizen does to their own data: they are both actor and subject."""
    return Entry(
        actor=Actor.CITIZEN,
        action=action,
        actor_id=citizen_id,
        citizen_id=citizen_id,
        resource=resource,
        detail=detail or {},
    )
