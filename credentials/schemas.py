"""What the credential endpoints accept and answer (API structs, never ORM objects)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Annotated, Any

import msgspec

from credentials.sdjwt import MAX_LENGTH
from credentials.sdjwt_vc import MAX_LIFETIME

_Name = Annotated[str, msgspec.Meta(min_length=1, max_length=255)]


class CredentialIssueIn(msgspec.Struct, forbid_unknown_fields=True):
    """Issue a credential to the citizen this client knows as ``subject``.

    Name the type by ``vct`` (its URL) or by ``type`` (its slug, e.g. ``blue-badge``), not
    both. ``claims`` must fit the type: every mandatory claim, no others. ``expires_in``
    (seconds) defaults to a year and is capped at five.
    """

    subject: Annotated[str, msgspec.Meta(min_length=1, max_length=64)]
    claims: Annotated[dict[str, Any], msgspec.Meta(max_length=50)]
    vct: _Name | None = None
    type: _Name | None = None
    evidence_id: uuid.UUID | None = None
    expires_in: Annotated[int, msgspec.Meta(ge=60, le=MAX_LIFETIME)] | None = None


class StatusListReference(msgspec.Struct):
    idx: int
    uri: str


class CredentialIssued(msgspec.Struct):
    """The new credential's id, type and status-list slot (its revocation handle)."""

    credential_id: uuid.UUID
    vct: str
    status: StatusListReference
    expires_at: dt.datetime


class CredentialStatusOut(msgspec.Struct):
    credential_id: uuid.UUID
    status: str


class ClaimOut(msgspec.Struct):
    name: str
    label: str
    value: Any


class IssuerOut(msgspec.Struct):
    client_id: str
    name: str


class MyCredential(msgspec.Struct, omit_defaults=True):
    """A credential in my vault: what it is, who vouches for it, what it says, whether it
    still counts (``valid``, ``revoked``, ``suspended`` or ``expired``)."""

    id: uuid.UUID
    vct: str
    name: str
    description: str
    issuer: IssuerOut
    issued_at: dt.datetime
    expires_at: dt.datetime
    status: str
    claims: list[ClaimOut]
    type: str | None = None
    evidence_id: uuid.UUID | None = None


class MyCredentialList(msgspec.Struct):
    items: list[MyCredential]


class VerifyIn(msgspec.Struct, forbid_unknown_fields=True):
    """An SD-JWT VC or presentation; send ``nonce`` and ``audience`` to require key binding."""

    presentation: Annotated[str, msgspec.Meta(min_length=1, max_length=MAX_LENGTH)]
    nonce: Annotated[str, msgspec.Meta(min_length=1, max_length=256)] | None = None
    audience: Annotated[str, msgspec.Meta(min_length=1, max_length=512)] | None = None


class CheckOut(msgspec.Struct):
    name: str
    ok: bool
    detail: str


class VerifyOut(msgspec.Struct, omit_defaults=True):
    """The verdict: every check run in order; ``failed`` names the first that failed."""

    valid: bool
    checks: list[CheckOut]
    claims: dict[str, Any] | None = None
    failed: str | None = None


class PresentedCredential(msgspec.Struct):
    """One credential, disclosing only ``disclosed`` (plus the claims it always shows),
    with a KB-JWT for this client (``aud``) and the caller's ``nonce``."""

    credential_id: uuid.UUID
    vct: str
    issuer: str
    presentation: str
    disclosed: list[str]


class GrantCredentialsOut(msgspec.Struct):
    grant_id: uuid.UUID
    subject: str
    purpose: str
    retrieved_at: dt.datetime
    credentials: list[PresentedCredential]
