"""Credential use cases over a session: issue into a vault, list for the citizen, change
status. Callers (the connector API, the citizen API) authenticate and commit.

Every act appends its audit entry in the caller's transaction (no act without its entry);
entries name ids, the type and codes, never claim values.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import column, select, table

from credentials.claims import checked_claims
from credentials.errors import (
    CredentialNotFound,
    EvidenceUnknown,
    StatusChangeRefused,
    TypeNotRegistered,
    UnknownCredentialType,
)
from credentials.keys import holder_public_jwk, issuer_id, issuer_signer
from credentials.lists import allocate, entries, locked_list, set_entry, status_uri
from credentials.models import IssuedCredential, StatusListRow
from credentials.sdjwt_vc import MAX_LIFETIME, StatusReference, issue_vc
from credentials.status_list import Status
from credentials.types import CredentialType, resolve
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.ids import uuid7
from pds.vault.datakeys import load_data_key
from pds.vault.envelope import SealContext
from pds.vault.models import EvidenceItem
from pds.vault.sealing import open_json, seal_json

if TYPE_CHECKING:
    import uuid
    from collections.abc import Collection, Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider
    from pds.vault.envelope import DataKey

CREDENTIAL_FIELD: Final = "credential"
DEFAULT_LIFETIME: Final = 365 * 24 * 3600
MIN_LIFETIME: Final = 60
# The registry is the connectors package's; credentials may not import it (DESIGN.md), so
# the two columns read here are named, not imported.
_CLIENTS: Final = table("clients", column("client_id"), column("name"))


class Shown(StrEnum):
    """What a citizen is told about a credential's standing."""

    VALID = "valid"
    REVOKED = "revoked"
    SUSPENDED = "suspended"
    EXPIRED = "expired"


_FROM_LIST: Final = {
    Status.VALID: Shown.VALID,
    Status.INVALID: Shown.REVOKED,
    Status.SUSPENDED: Shown.SUSPENDED,
}


@dataclass(frozen=True, slots=True)
class IssueRequest:
    """What an issuer client asked for; ``registered`` are the types it may issue."""

    client_id: str
    registered: Collection[str]
    citizen_id: uuid.UUID
    type_name: str
    claims: Mapping[str, Any]
    evidence_id: uuid.UUID | None = None
    expires_in: int | None = None


@dataclass(frozen=True, slots=True)
class Issued:
    credential_id: uuid.UUID
    vct: str
    status: StatusReference
    expires_at: dt.datetime


@dataclass(frozen=True, slots=True)
class Held:
    """A credential as its citizen sees it: the decoded claims, and its standing now."""

    id: uuid.UUID
    vct: str
    kind: CredentialType | None
    issuer_client_id: str
    issuer_name: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    status: Shown
    claims: dict[str, Any]
    evidence_id: uuid.UUID | None
    sd_jwt: str


def sealing_context(citizen_id: uuid.UUID, credential_id: uuid.UUID) -> SealContext:
    return SealContext(
        citizen_id=citizen_id, item_id=credential_id, version=1, field=CREDENTIAL_FIELD
    )


def open_credential(dek: DataKey, row: IssuedCredential) -> dict[str, Any]:
    """``{"sd_jwt": ..., "claims": {...}}``: the credential with every disclosure."""
    opened: dict[str, Any] = open_json(dek, row.sealed, sealing_context(row.citizen_id, row.id))
    return opened


def credential_type(name: str, base: str, registered: Collection[str]) -> CredentialType:
    """The type named, which the client must be registered for (by vct or by slug)."""
    try:
        kind = resolve(name, base)
    except KeyError:
        raise UnknownCredentialType(
            "Name a credential type by its vct or its slug.", field="vct"
        ) from None
    if kind.vct(base) not in registered and kind.slug not in registered:
        raise TypeNotRegistered(f"This client is not registered to issue {kind.slug}.")
    return kind


async def issue(
    session: AsyncSession,
    keys: KeyProvider,
    request: IssueRequest,
    *,
    base: str,
    now: dt.datetime,
    lock: bool,
) -> Issued:
    """Sign an SD-JWT VC about the citizen, bound to their holder key, into their vault."""
    kind = credential_type(request.type_name, base, request.registered)
    claims = checked_claims(kind, request.claims)
    if request.evidence_id is not None:
        owner = await session.scalar(
            select(EvidenceItem.citizen_id).where(EvidenceItem.id == request.evidence_id)
        )
        if owner != request.citizen_id:
            raise EvidenceUnknown("This citizen has no evidence with this id.")
    lifetime = min(max(request.expires_in or DEFAULT_LIFETIME, MIN_LIFETIME), MAX_LIFETIME)
    dek = await load_data_key(session, keys, request.citizen_id)
    holder = await holder_public_jwk(session, dek, request.citizen_id)
    signer = await issuer_signer(session, keys, request.client_id)
    status_row, idx = await allocate(session, request.client_id, lock=lock)
    reference = StatusReference(idx=idx, uri=status_uri(base, status_row.id))
    issued_at = int(now.timestamp())
    vct = kind.vct(base)
    sd_jwt = issue_vc(
        signer,
        issuer=issuer_id(base, request.client_id),
        vct=vct,
        claims=claims,
        disclosable=kind.disclosable,
        holder_jwk=holder,
        now=issued_at,
        expires_at=issued_at + lifetime,
        status=reference,
    )
    credential_id = uuid7()
    row = IssuedCredential(
        id=credential_id,
        citizen_id=request.citizen_id,
        issuer_client_id=request.client_id,
        vct=vct,
        status_list_id=status_row.id,
        status_idx=idx,
        status=Shown.VALID.value,
        issued_at=dt.datetime.fromtimestamp(issued_at, dt.UTC),
        expires_at=dt.datetime.fromtimestamp(issued_at + lifetime, dt.UTC),
        updated_at=now,
        evidence_id=request.evidence_id,
        sealed=seal_json(
            dek,
            {"sd_jwt": sd_jwt, "claims": claims},
            sealing_context(request.citizen_id, credential_id),
        ),
    )
    session.add(row)
    append(session, _entry(row, Action.CREDENTIAL_ISSUED, kind=kind))
    return Issued(row.id, vct, reference, row.expires_at)


# --- the citizen's view --------------------------------------------------------------------


def standing(row: IssuedCredential, status_row: StatusListRow, now: dt.datetime) -> Shown:
    """From the status list itself (the cache column only mirrors it), then the clock."""
    shown = _FROM_LIST.get(Status(entries(status_row)[row.status_idx]), Shown.REVOKED)
    return Shown.EXPIRED if shown is Shown.VALID and row.expires_at <= now else shown


async def held_credentials(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    *,
    base: str,
    now: dt.datetime,
    credential_id: uuid.UUID | None = None,
) -> list[Held]:
    """The citizen's credentials, newest first (or the one asked for), decoded."""
    query = (
        select(IssuedCredential, StatusListRow, _CLIENTS.c.name)
        .join(StatusListRow, StatusListRow.id == IssuedCredential.status_list_id)
        .join(_CLIENTS, _CLIENTS.c.client_id == IssuedCredential.issuer_client_id)
        .where(IssuedCredential.citizen_id == citizen_id)
        .order_by(IssuedCredential.id.desc())
    )
    if credential_id is not None:
        query = query.where(IssuedCredential.id == credential_id)
    found = (await session.execute(query)).all()
    if not found:
        if credential_id is not None:
            raise CredentialNotFound("You have no credential with this id.")
        return []
    dek = await load_data_key(session, keys, citizen_id)
    return [
        _held(dek, row, status_row, name, base=base, now=now) for row, status_row, name in found
    ]


def _held(
    dek: DataKey,
    row: IssuedCredential,
    status_row: StatusListRow,
    issuer_name: str,
    *,
    base: str,
    now: dt.datetime,
) -> Held:
    opened = open_credential(dek, row)
    try:
        kind: CredentialType | None = resolve(row.vct, base)
    except KeyError:
        kind = None  # a type this deployment no longer defines: still the citizen's
    return Held(
        id=row.id,
        vct=row.vct,
        kind=kind,
        issuer_client_id=row.issuer_client_id,
        issuer_name=issuer_name,
        issued_at=row.issued_at,
        expires_at=row.expires_at,
        status=standing(row, status_row, now),
        claims=dict(opened["claims"]),
        evidence_id=row.evidence_id,
        sd_jwt=str(opened["sd_jwt"]),
    )


# --- status changes by the issuer ----------------------------------------------------------


class Change(StrEnum):
    REVOKE = "revoke"
    SUSPEND = "suspend"
    REINSTATE = "reinstate"


_TRANSITIONS: Final = {
    # change: (statuses it may start from, the status it sets, the audit action)
    Change.REVOKE: ({Status.VALID, Status.SUSPENDED}, Status.INVALID, Action.CREDENTIAL_REVOKED),
    Change.SUSPEND: ({Status.VALID}, Status.SUSPENDED, Action.CREDENTIAL_SUSPENDED),
    Change.REINSTATE: ({Status.SUSPENDED}, Status.VALID, Action.CREDENTIAL_REINSTATED),
}


async def change_status(
    session: AsyncSession,
    keys: KeyProvider,
    *,
    client_id: str,
    credential_id: uuid.UUID,
    change: Change,
    base: str,
    now: dt.datetime,
    lock: bool,
) -> Shown:
    """Flip the credential's status-list entry and re-sign the list; issuer only.

    Another client's credential is "not found" (it may not know it exists). Revoking is
    final; suspending and reinstating go between valid and suspended.
    """
    row = await session.scalar(
        select(IssuedCredential).where(
            IssuedCredential.id == credential_id, IssuedCredential.issuer_client_id == client_id
        )
    )
    if row is None:
        raise CredentialNotFound("This client issued no credential with this id.")
    status_row = await locked_list(session, row.status_list_id, lock=lock)
    current = Status(entries(status_row)[row.status_idx])
    starts, target, action = _TRANSITIONS[change]
    if current not in starts:
        now_shown = _FROM_LIST.get(current, Shown.REVOKED).value
        raise StatusChangeRefused(
            f"A {now_shown} credential cannot be {change.value}d.", current_status=now_shown
        )
    await set_entry(session, keys, status_row, row.status_idx, target, base=base, now=now)
    row.status = _FROM_LIST[target].value
    row.updated_at = now
    append(session, _entry(row, action))
    return _FROM_LIST[target]


def _entry(row: IssuedCredential, action: Action, *, kind: CredentialType | None = None) -> Entry:
    detail: dict[str, str | int | bool | None] = {"vct": row.vct}
    if kind is not None:
        detail["type"] = kind.slug
    if row.evidence_id is not None:
        detail["evidence_id"] = str(row.evidence_id)
    return Entry(
        actor=Actor.CLIENT,
        action=action,
        client_id=row.issuer_client_id,
        citizen_id=row.citizen_id,
        resource=f"credentials/{row.id}",
        detail=detail,
    )
