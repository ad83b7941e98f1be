"""Credential presentations under a grant: the connector read behind
``GET /connect/v1/grants/{grant_id}/credentials``.

Checked and audited exactly like ``/data`` (``connectors.api.reads``: the grant held
against change, a denial recorded before it is raised). Which claims a grant covers is
``consent.policy.decide``'s answer for the evidence type and category the credential type
stands for (``credentials.types``, "Grants"): each disclosable claim is asked about alone,
then the whole cut, including the claims the type always shows, must be allowed, or the
credential is withheld. Each presentation carries a KB-JWT from the citizen's holder key
for ``aud`` = the client and the client's ``nonce``, so it cannot be replayed elsewhere.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select

from connectors.api.disclose import client_entry
from connectors.api.reads import ReadDenied, live_grant
from consent.policy import ReadRequest, Resource, decide
from consent.service import pairwise_subject
from credentials import sdjwt, service
from credentials.keys import holder_signer, issuer_id
from credentials.models import IssuedCredential
from credentials.schemas import GrantCredentialsOut, PresentedCredential
from credentials.types import CredentialType, resolve
from pds.audit.entry import Action, Outcome
from pds.audit.service import append
from pds.vault.datakeys import load_data_key

if TYPE_CHECKING:
    import uuid

    from connectors.api.disclose import HeldGrant
    from connectors.api.reads import Read
    from pds.vault.envelope import DataKey


@dataclass(frozen=True, slots=True)
class _Holding:
    dek: DataKey
    holder: sdjwt.SigningKey


async def grant_credentials(read: Read, nonce: str, *, base: str) -> GrantCredentialsOut:
    """Each live credential the grant reaches, cut to the granted claims, key-bound."""
    held = await live_grant(read)
    citizen = held.row.citizen_id
    assert citizen is not None  # an active grant has its citizen (the fold enforces it)
    rows = await read.session.scalars(
        select(IssuedCredential)
        .where(
            IssuedCredential.citizen_id == citizen,
            IssuedCredential.status == service.Shown.VALID.value,
            IssuedCredential.expires_at > read.now,
        )
        .order_by(IssuedCredential.id)
    )
    holding: _Holding | None = None
    presented: list[PresentedCredential] = []
    for row in rows.all():
        kind = _kind(row.vct, base)
        revealed = _granted(read, held, kind) if kind else None
        if not revealed:
            continue
        holding = holding or await _holding(read, citizen)
        sd_jwt = str(service.open_credential(holding.dek, row)["sd_jwt"])
        presentation = sdjwt.present(
            sd_jwt,
            [(name,) for name in sorted(revealed)],
            holder=holding.holder,
            audience=read.caller.client_id,
            nonce=nonce,
            now=int(read.now.timestamp()),
        )
        issuer = issuer_id(base, row.issuer_client_id)
        presented.append(
            PresentedCredential(row.id, row.vct, issuer, presentation, sorted(revealed))
        )
    _audit(read, held, presented)
    subject = await pairwise_subject(read.session, held.row.client_id, citizen)
    purpose = held.state.scope.purpose.term.value
    return GrantCredentialsOut(held.row.id, subject, purpose, read.now, presented)


def _kind(vct: str, base: str) -> CredentialType | None:
    try:
        return resolve(vct, base)
    except KeyError:
        return None


def _granted(read: Read, held: HeldGrant, kind: CredentialType) -> frozenset[str] | None:
    """The disclosable claims the grant covers, if it also covers those always shown."""

    def allowed(claims: frozenset[str]) -> bool:
        resource = Resource(
            citizen_id=str(held.row.citizen_id),
            evidence_type=kind.evidence_type,
            category=kind.category,
            claims=claims,
        )
        request = ReadRequest(read.caller.client_id, read.caller.purpose or "", resource)
        return decide(held.state, request, read.now).allowed

    names = (claim.name for claim in kind.claims if claim.disclosable)
    revealed = frozenset(name for name in names if allowed(frozenset({name})))
    if not revealed or not allowed(revealed | kind.always_shown):
        return None
    return revealed


async def _holding(read: Read, citizen: uuid.UUID) -> _Holding:
    dek = await load_data_key(read.session, read.keys, citizen)
    holder = await holder_signer(read.session, dek, citizen)
    if holder is None:  # pragma: no cover - issuing makes the holder key first
        raise ReadDenied("no_holder_key")
    return _Holding(dek, holder)


def _audit(read: Read, held: HeldGrant, presented: list[PresentedCredential]) -> None:
    """Which claims of which credentials left the vault (names only, never values)."""
    disclosed = ";".join(f"{p.credential_id}:{','.join(p.disclosed)}" for p in presented)
    append(
        read.session,
        client_entry(
            read.caller,
            held,
            Action.CREDENTIAL_PRESENTED,
            Outcome.ALLOWED,
            resource=f"grants/{held.row.id}/credentials",
            detail={"credentials": len(presented), "claims": disclosed},
        ),
    )
