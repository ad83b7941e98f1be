"""Audit entries in plain English, for the citizen's access log.

Pure: a table per vocabulary and small functions over plain values, so the
wording can be reviewed (and tested for completeness) without a database.
Every ``Action`` must have a label here; a test enforces it.
"""

from __future__ import annotations

from types import MappingProxyType
from typing import TYPE_CHECKING, Final

from pds.audit.entry import Action, Actor, Outcome

if TYPE_CHECKING:
    import uuid
    from collections.abc import Mapping

ACTION_LABELS: Final[Mapping[Action, str]] = MappingProxyType(
    {
        Action.READ: "Your data was read",
        Action.DENY: "A request for your data was refused",
        Action.CONSENT_REQUESTED: "A service asked for your data",
        Action.CONSENT_GIVEN: "Consent was given",
        Action.CONSENT_NARROWED: "Consent was given for fewer items than asked",
        Action.CONSENT_REFUSED: "A request for consent was refused",
        Action.CONSENT_REVOKED: "Consent was withdrawn",
        Action.CONSENT_EXPIRED: "Consent ran out",
        Action.AUTHORIZATION_REFUSED: "A service's request was turned away",
        Action.TOKEN_ISSUED: "A service was given access under your consent",
        Action.TOKEN_REFUSED: "A service was refused access",
        Action.TOKEN_REVOKED: "A service gave up its access",
        Action.TOKEN_INTROSPECTED: "A service checked an access token",
        Action.CLIENT_REGISTERED: "A service was registered",
        Action.CLIENT_UPDATED: "A service's registration was changed",
        Action.CLIENT_SUSPENDED: "A service was suspended",
        Action.CLIENT_REINSTATED: "A service was reinstated",
        Action.CREDENTIAL_ISSUED: "A credential was issued to you",
        Action.CREDENTIAL_REVOKED: "A credential was cancelled",
        Action.CREDENTIAL_SUSPENDED: "A credential was put on hold",
        Action.CREDENTIAL_REINSTATED: "A credential was taken off hold",
        Action.CREDENTIAL_PRESENTED: "A credential was shown to a service",
        Action.CREDENTIAL_VERIFIED: "A credential was checked",
        Action.EVIDENCE_CREATED: "Evidence was added",
        Action.EVIDENCE_UPDATED: "Evidence was changed",
        Action.EVIDENCE_DELETED: "Evidence was deleted",
        Action.DOCUMENT_UPLOADED: "A document was uploaded",
        Action.DOCUMENT_DOWNLOADED: "A document was downloaded",
        Action.DOCUMENT_DELETED: "A document was deleted",
        Action.EXPORT: "A copy of all your data was downloaded",
        Action.ERASURE: "Your account and data were deleted",
        Action.KEY_ROTATED: "The key protecting your data was replaced",
        Action.ACCOUNT_CREATED: "Your account was created",
        Action.SIGN_IN: "Sign-in to your account",
        Action.SIGN_OUT: "Sign-out",
        Action.AUDIT_SEARCH: "Your entries in the audit log were looked at",
        Action.AUDIT_EXPORT: "Your entries in the audit log were downloaded",
    }
)

_ACTOR_LABELS: Final[Mapping[Actor, str]] = MappingProxyType(
    {
        Actor.SYSTEM: "the PDS",
        Actor.AUDITOR: "an auditor",
        Actor.ADMIN: "an administrator",
        Actor.CLIENT: "a service",
        Actor.CITIZEN: "someone else",
    }
)

# Longest prefix first: the first match names the resource.
_RESOURCE_LABELS: Final = (
    ("evidence/", "/documents/", "a document"),
    ("evidence/", "", "a piece of evidence"),
    ("audit/", "", "the audit log"),
)

YOU: Final = "you"
SOMEONE: Final = "someone"
UNKNOWN_ACTION: Final = "Something else happened"


def describe_action(action: str) -> str:
    """The plain label for an action; an unknown (newer) value gets a neutral label."""
    try:
        return ACTION_LABELS[Action(action)]
    except ValueError:
        return UNKNOWN_ACTION


def describe_actor(
    *,
    actor: str,
    actor_id: uuid.UUID | None,
    viewer_id: uuid.UUID,
    action: str,
    outcome: str,
    client_id: str | None,
) -> str:
    """Who did it, as the viewer should read it.

    A refused sign-in to the viewer's account is "someone": it may well not
    have been them. A service is named by its client id until the client
    registry can give its name.
    """
    if actor == Actor.CITIZEN and actor_id == viewer_id:
        if action == Action.SIGN_IN and outcome != Outcome.ALLOWED:
            return SOMEONE
        return YOU
    if actor == Actor.CLIENT and client_id:
        return client_id
    try:
        return _ACTOR_LABELS[Actor(actor)]
    except ValueError:
        return SOMEONE


def describe_resource(resource: str | None) -> str | None:
    """What the act touched, in words ("a document"), or None when it named nothing."""
    if not resource:
        return None
    for prefix, inner, label in _RESOURCE_LABELS:
        if resource.startswith(prefix) and inner in resource:
            return label
    return None
