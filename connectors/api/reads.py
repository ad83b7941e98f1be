"""Reads under a grant in one writing transaction: the grant itself, one of its documents,
its credentials (``connectors.credentials``). ``/data``, the hot path, decides in a
snapshot and group-commits instead (``connectors.api.data_read``), with the same rules.

Each read here runs in one transaction that (1) finds the grant and holds it against
change (``FOR SHARE`` on PostgreSQL; SQLite's write lock, taken at BEGIN, does the same),
(2) asks the policy decision point, (3) decrypts only what the decision allows, and (4)
appends the audit entry; the caller commits, then answers. A revocation must update the
grant row, so it waits for every read that already saw the grant live, and every read
after it sees the revocation: no read succeeds after a revocation has committed.

A denial is recorded and committed before it is raised. A grant the caller may not know
of (not its own, or no such grant) is "not found"; one it holds but may not use now is
"forbidden".
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Final

from sqlalchemy import select

from connectors.api.disclose import HeldGrant, client_entry, decide_read
from connectors.models import Client
from consent.grants import GrantState, GrantStatus, fold, state_at
from consent.keys import server_keys
from consent.models import Grant
from consent.models import GrantEvent as GrantEventRow
from consent.policy import Reason
from consent.requests import to_authorization_details
from consent.service import decode_event, pairwise_subject
from consent.tokens import issue_consent_token
from consent.vocabulary import Access
from pds.audit.entry import Action, Outcome
from pds.audit.service import append
from pds.errors import Forbidden, NotAcceptable, NotFound
from pds.vault.datakeys import unwrap_data_key
from pds.vault.models import CitizenKey, Document, EvidenceItem
from pds.vault.service import open_document_meta

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession
    from sqlalchemy.orm import Session

    from connectors.api.bearer import Caller
    from pds.keys.provider import KeyProvider
    from pds.vault.envelope import DataKey
    from pds.vault.views import DocumentView


class GrantUnknown(NotFound):
    code = "grant_not_found"
    title = "No such grant"


class DocumentUnknown(NotFound):
    code = "document_not_found"
    title = "No such document"


class ReadDenied(Forbidden):
    """The client holds this grant but may not read this now; ``reason`` says why."""

    code = "read_denied"
    title = "The grant does not allow this read"
    messages: ClassVar[dict[Reason, str]] = {
        Reason.EXPIRED: "The grant has expired.",
        Reason.NOT_ACTIVE: "The grant is not active: it was revoked or never approved.",
        Reason.PURPOSE_MISMATCH: "The access token was issued for another purpose.",
        Reason.OUT_OF_SCOPE: "The grant does not cover this data.",
        Reason.CLAIM_NOT_GRANTED: "The grant does not cover these claims.",
        Reason.DOCUMENT_NOT_GRANTED: "The grant does not cover this item's documents.",
    }

    def __init__(self, reason: Reason | str) -> None:
        text = self.messages.get(reason) if isinstance(reason, Reason) else None
        super().__init__(
            text or "This access token was not issued for this grant.", reason=str(reason)
        )
        self.reason = str(reason)


@dataclass(frozen=True, slots=True)
class Read:
    """One read's inputs; ``now`` is the decision time."""

    session: AsyncSession
    keys: KeyProvider
    caller: Caller
    grant_id: uuid.UUID
    now: dt.datetime
    lock: bool


# --- the grant ------------------------------------------------------------------------------


async def held_grant(read: Read) -> HeldGrant:
    """The caller's grant, held against change until commit; 404 if it is not theirs."""
    query = select(Grant).where(Grant.id == read.grant_id)
    if read.lock:
        query = query.with_for_update(read=True)
    row = await read.session.scalar(query)
    if row is None or row.client_id != read.caller.client_id:
        await _deny(read, None, Reason.NO_GRANT if row is None else Reason.WRONG_CLIENT)
        raise GrantUnknown("There is no grant with this id for this client.")
    events = await read.session.scalars(
        select(GrantEventRow.event)
        .where(GrantEventRow.grant_id == row.id)
        .order_by(GrantEventRow.seq)
    )
    return HeldGrant(row, fold(decode_event(event) for event in events))


@dataclass(frozen=True, slots=True)
class ClientGrantView:
    """The grant as its client may see it. ``subject`` once the citizen approved it (or
    when the client pushed it to that subject); ``consent_token`` while it is active and
    the client may renew its access with it."""

    held: HeldGrant
    subject: str | None
    consent_token: str | None


async def grant_for_client(read: Read, *, issuer: str) -> ClientGrantView:
    """The client's grant whatever its status (404 if not its own; 403 for a token of
    another grant), with a fresh consent token when the grant can be renewed."""
    held = await held_grant(read)
    if read.caller.grant_id not in (None, held.row.id):
        await _deny(read, held, "other_grant")
        raise ReadDenied("other_grant")
    citizen = held.row.citizen_id
    current = state_at(held.state, read.now)
    subject = None
    if citizen and (held.row.pushed or current.expires_at is not None):
        # Pushed: the client named this subject itself. Otherwise only once the citizen
        # approved (approval sets expires_at): a refusal gives the client no id for the
        # citizen and no way back to their inbox.
        subject = await pairwise_subject(read.session, held.row.client_id, citizen)
    token = None
    if subject and _renewable(held, current):
        token = await _consent_token(read, held, current, subject, issuer)
        # It buys access tokens until the grant ends: issued here as at the token
        # endpoint, and recorded as the token endpoint records its own.
        entry = client_entry(
            read.caller,
            held,
            Action.TOKEN_ISSUED,
            Outcome.ALLOWED,
            resource=f"grants/{held.row.id}",
            detail={"token": "consent_token"},
        )
        append(read.session, entry)
    return ClientGrantView(held, subject, token)


def _renewable(held: HeldGrant, current: GrantState) -> bool:
    """Active, and either pushed (no code ever brought the client a consent token) or
    ongoing (a redirect-flow one-off grant had its one access token with the code)."""
    live = current.status is GrantStatus.ACTIVE and current.expires_at is not None
    return live and (held.row.pushed or current.scope.access is Access.ONGOING)


async def _consent_token(
    read: Read, held: HeldGrant, current: GrantState, subject: str, issuer: str
) -> str:
    assert current.expires_at is not None  # _renewable checked it
    keys = await server_keys(read.session, read.keys)
    return issue_consent_token(
        keys.signer,
        issuer=issuer,
        client_id=read.caller.client_id,
        subject=subject,
        grant_id=str(held.row.id),
        authorization_details=to_authorization_details(current.scope),
        now=int(read.now.timestamp()),
        expires_at=int(current.expires_at.timestamp()),
        jti=secrets.token_urlsafe(16),
    )


async def live_grant(read: Read) -> HeldGrant:
    """The grant, refusing (and recording) anything but an active grant this token is for."""
    held = await held_grant(read)
    if read.caller.grant_id != held.row.id:
        await _deny(read, held, "other_grant")
        raise ReadDenied("other_grant")
    current = state_at(held.state, read.now)
    if current.status is not GrantStatus.ACTIVE:
        reason = Reason.EXPIRED if current.status is GrantStatus.EXPIRED else Reason.NOT_ACTIVE
        await _deny(read, held, reason)
        raise ReadDenied(reason)
    return held


# --- one document ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class DocumentRead:
    meta: DocumentView
    citizen_id: uuid.UUID
    chunk_count: int
    dek: DataKey


async def grant_document(read: Read, document_id: uuid.UUID) -> DocumentRead:
    """One document of an item the grant reaches with documents; audited before streaming."""
    held = await live_grant(read)
    found = (
        await read.session.execute(
            select(Document, EvidenceItem, CitizenKey)
            .join(EvidenceItem, EvidenceItem.id == Document.item_id)
            .join(CitizenKey, CitizenKey.citizen_id == EvidenceItem.citizen_id)
            .where(Document.id == document_id, EvidenceItem.citizen_id == held.row.citizen_id)
        )
    ).one_or_none()
    if found is None:
        await _deny(read, held, "unknown_document", resource=f"documents/{document_id}")
        raise DocumentUnknown("There is no document with this id under this grant.")
    row, item, wrapped = found
    decision = decide_read(read.caller, held, item, read.now, document=True)
    if not decision.allowed:
        await _deny(read, held, decision.reason, resource=f"documents/{document_id}")
        raise DocumentUnknown("There is no document with this id under this grant.")
    dek = unwrap_data_key(read.keys, wrapped)
    meta = open_document_meta(dek, item.citizen_id, row)
    append(
        read.session,
        client_entry(
            read.caller,
            held,
            Action.DOCUMENT_DOWNLOADED,
            Outcome.ALLOWED,
            resource=f"documents/{row.id}",
            detail={"evidence_type": item.evidence_type, "evidence_id": str(item.id)},
        ),
    )
    return DocumentRead(meta=meta, citizen_id=item.citizen_id, chunk_count=row.chunk_count, dek=dek)


# --- audit ----------------------------------------------------------------------------------


NOT_ACCEPTABLE: Final = "not_acceptable"
"""The audit reason of a refused encrypted answer (not a policy decision)."""
NO_ENCRYPTION_KEY: Final = (
    "This client registered no encryption key; ask for application/json instead."
)


def registered_encryption_key(session: Session, client_id: str) -> dict[str, Any] | None:
    """The public key the client registered for encrypted answers (JWE), if any."""
    key = session.scalar(select(Client.encryption_jwk).where(Client.client_id == client_id))
    return dict(key) if key else None


async def answer_key(read: Read, *, wants_jwe: bool) -> dict[str, Any] | None:
    """The key to encrypt this answer to when the caller asked for JWE (else None). A
    client that registered none is refused (406) once the refusal is recorded and the
    proof spent: a proof is single-use whatever the answer, or one captured with a 406
    could be sent again asking for JSON."""
    if not wants_jwe:
        return None
    key = await read.session.run_sync(registered_encryption_key, read.caller.client_id)
    if key is None:
        await _deny(read, None, NOT_ACCEPTABLE)
        raise NotAcceptable(NO_ENCRYPTION_KEY)
    return key


async def _deny(
    read: Read, held: HeldGrant | None, reason: Reason | str, *, resource: str | None = None
) -> None:
    """Record the refusal and commit it now: the request fails next, and must leave this."""
    where = resource or f"grants/{read.grant_id}"
    append(
        read.session,
        client_entry(
            read.caller,
            held,
            Action.DENY,
            Outcome.DENIED,
            resource=where,
            detail={"reason": str(reason)},
        ),
    )
    await read.session.commit()
