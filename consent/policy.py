"""The policy decision point: may this client read this resource, for this purpose, now?

Every read path asks here and nowhere else, so there is one place to audit and one
place to get wrong. The shape follows STYLE.md 10 (the Community Solid Server's
permission readers): small readers each report one fact as "deny, because …" or
nothing; ``decide`` runs every reader and any deny wins. There is no reader that can
say "allow", so a missing or broken fact can only ever deny. Pure: plain values in,
a ``Decision`` out; the caller supplies ``now`` and audits the result.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from consent.grants import GrantState, GrantStatus, state_at
from pds.vault.evidence_types import EVIDENCE_TYPES

if TYPE_CHECKING:
    from collections.abc import Callable
    from datetime import datetime

    from consent.requests import DataItem, DataRequest


class Reason(StrEnum):
    """Why the decision went the way it did; stable codes for the audit log.

    Listed in precedence order: when several readers deny, ``Decision.reason`` is the
    first of these, so a client asking about a grant that is not its own learns only
    ``wrong_client`` (the web layer should answer that with 404, STYLE.md 9).
    """

    NO_GRANT = "no_grant"
    WRONG_CLIENT = "wrong_client"
    WRONG_CITIZEN = "wrong_citizen"
    EXPIRED = "expired"
    NOT_ACTIVE = "not_active"
    PURPOSE_MISMATCH = "purpose_mismatch"
    OUT_OF_SCOPE = "out_of_scope"
    CLAIM_NOT_GRANTED = "claim_not_granted"
    DOCUMENT_NOT_GRANTED = "document_not_granted"
    GRANTED = "granted"


@dataclass(frozen=True, slots=True)
class Resource:
    """What is being read: an item of one evidence type, filed under one category, in one
    citizen's vault. ``claims`` names the claims wanted (``None``: the whole item);
    ``document`` is a read of one of the item's uploaded files."""

    citizen_id: str
    evidence_type: str
    category: str
    claims: frozenset[str] | None = None
    document: bool = False


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """Who wants it and why, from the authenticated token, not from anything they sent."""

    client_id: str
    purpose: str
    resource: Resource


@dataclass(frozen=True, slots=True)
class Decision:
    """Allow or deny, the deciding reason, and every reason that denied (for the audit)."""

    allowed: bool
    reason: Reason
    denials: tuple[Reason, ...] = ()


def decide(grant: GrantState | None, request: ReadRequest, now: datetime) -> Decision:
    """The one decision: allow only if no reader denies; any deny wins."""
    if grant is None:
        return Decision(allowed=False, reason=Reason.NO_GRANT, denials=(Reason.NO_GRANT,))
    found = (read(grant, request, now) for read in _READERS)
    denials = tuple(
        sorted({reason for reason in found if reason is not None}, key=_RANK.__getitem__)
    )
    if denials:
        return Decision(allowed=False, reason=denials[0], denials=denials)
    return Decision(allowed=True, reason=Reason.GRANTED)


# --- readers: each reports one fact, as a reason to deny or None ---------------------------


def _client(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """A grant is held by the client it was given to, and by no other."""
    return None if request.client_id == grant.client_id else Reason.WRONG_CLIENT


def _citizen(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """The data must come from the vault of the citizen who decided."""
    owner = grant.citizen_id
    return (
        None if owner is not None and request.resource.citizen_id == owner else Reason.WRONG_CITIZEN
    )


def _time(grant: GrantState, _request: ReadRequest, now: datetime) -> Reason | None:
    """Active at ``now``: approved already, not yet at expiry, not ended by anything."""
    current = state_at(grant, now)
    if current.status is GrantStatus.EXPIRED:
        return Reason.EXPIRED
    started = current.decided_at
    live = current.status is GrantStatus.ACTIVE and current.expires_at is not None
    return None if live and started is not None and started <= now else Reason.NOT_ACTIVE


def _purpose(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """Purpose limitation: data granted for one purpose is never read for another."""
    return None if request.purpose == grant.scope.purpose.term else Reason.PURPOSE_MISMATCH


def _scope(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """Some kept item covers this type filed under this category."""
    return None if _covering(grant, request) else Reason.OUT_OF_SCOPE


def _claims(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """Every claim read is granted by a covering item; a whole item needs an unnamed one."""
    wanted = request.resource.claims
    items = _covering(grant, request)
    if wanted is None:
        granted = any(item.claims is None for item in items)
    else:
        granted = all(any(_grants_claim(item, claim) for item in items) for claim in wanted)
    return None if granted else Reason.CLAIM_NOT_GRANTED


def _document(grant: GrantState, request: ReadRequest, _now: datetime) -> Reason | None:
    """A file shows every claim on it, so it needs an item that asked for documents and
    named no claims (the parser never builds the other kind; this does not rely on it)."""
    if not request.resource.document:
        return None
    items = _covering(grant, request)
    granted = any(item.documents and item.claims is None for item in items)
    return None if granted else Reason.DOCUMENT_NOT_GRANTED


_READERS: Final[tuple[Callable[[GrantState, ReadRequest, datetime], Reason | None], ...]] = (
    _client,
    _citizen,
    _time,
    _purpose,
    _scope,
    _claims,
    _document,
)
_RANK: Final = {reason: rank for rank, reason in enumerate(Reason)}


# --- helpers ---------------------------------------------------------------------------------


def _covering(grant: GrantState, request: ReadRequest) -> tuple[DataItem, ...]:
    """The kept items that reach this resource.

    None for a type/category pair the registry says cannot exist, so a misfiled item is
    never read through a category grant; and an item naming neither type nor category
    (which the parser refuses) reaches nothing rather than everything.
    """
    resource = request.resource
    return covering_items(grant.scope, resource.evidence_type, resource.category)


def covering_items(scope: DataRequest, evidence_type: str, category: str) -> tuple[DataItem, ...]:
    """The items of ``scope`` that reach an item of this type filed under this category."""
    kind = EVIDENCE_TYPES.get(evidence_type)
    if kind is None or category not in kind.categories:
        return ()
    return tuple(
        item
        for item in scope.items
        if (item.evidence_type is not None or item.category is not None)
        and item.evidence_type in (None, evidence_type)
        and item.category in (None, category)
    )


def _grants_claim(item: DataItem, claim: str) -> bool:
    return item.claims is None or claim in item.claims
