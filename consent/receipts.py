"""Consent receipts shaped by ISO/IEC TS 27560:2023 as the W3C DPVCG maps it (STANDARDS.md A5).

A receipt is a copy of one grant's record that the citizen and the client each keep,
signed by the PDS (``consent.tokens.sign_receipt``). Both copies are the same document,
so the principal is the pairwise subject the client knows, never the internal citizen id.

Shape: plain JSON, 27560's field names in snake_case, DPV terms (CURIEs) as values where
DPV has one, with the full IRI beside the purpose for consumers without the prefix map.
``schema_version`` names the DPVCG profile ``dpv-27560#receipt-eu-gdpr`` (a receipt
carrying what GDPR requires); UK GDPR is identical in the articles a receipt reflects, and
``jurisdiction`` says which law applies. In ``pii_information`` a ``claims`` of ``null``
means every claim of the type.

``version`` counts the decisions in the grant's history: 1 at approval or refusal, 2 after
a revocation or a recorded expiry. Build a receipt whenever one of those is recorded, from
the folded ``GrantState``; the events are derived from the times that state keeps.

Lawful basis: councils mostly rely on public task or legal obligation, not consent
(pitfall 20). The event states still use DPV's consent statuses, but then they record the
citizen's permission for the PDS to share, and ``lawful_basis.event_state_meaning`` and
the withdrawal text say so in plain English. Pure: no database, no clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC
from typing import TYPE_CHECKING, Any, Final, Literal

from consent.grants import GrantStatus, RevokedBy
from consent.requests import iso_duration
from consent.vocabulary import LawfulBasis
from pds.vault.evidence_types import EVIDENCE_TYPES

if TYPE_CHECKING:
    from datetime import datetime

    from consent.grants import GrantState
    from consent.requests import DataItem, DataRequest

SCHEMA_VERSION: Final = "https://w3id.org/dpv/schema/dpv-27560#receipt-eu-gdpr"
LANGUAGE: Final = "en"
PDS_PARTY_NAME: Final = "Personal data store"

_BASIS_WORDS: Final[dict[LawfulBasis, str]] = {
    LawfulBasis.CONSENT: "your consent",
    LawfulBasis.CONTRACT: "a contract with you",
    LawfulBasis.LEGAL_OBLIGATION: "a legal obligation",
    LawfulBasis.VITAL_INTERESTS: "protecting someone's life",
    LawfulBasis.PUBLIC_TASK: "its public task",
    LawfulBasis.LEGITIMATE_INTERESTS: "its legitimate interests",
}
_HOW_TO_REVOKE: Final = (
    "Open Grants in your PDS dashboard, choose this grant and press Revoke. The service "
    "cannot read your data through the PDS from its next request on."
)


@dataclass(frozen=True, slots=True)
class ReceiptParty:
    """The client as registered: the organisation the citizen is sharing with, and how to
    reach it. ``third_party`` clients are outside the council, so they are recipients."""

    client_id: str
    name: str
    organisation: str
    kind: Literal["council_service", "third_party"]
    contact_email: str
    privacy_notice_url: str | None = None


def build_receipt(
    grant: GrantState,
    *,
    grant_id: str,
    receipt_id: str,
    subject: str,
    client: ReceiptParty,
    issuer: str,
    storage_location: str = "GB",
) -> dict[str, Any]:
    """The receipt for a decided grant; ``ValueError`` for one still waiting, or another
    client's. ``subject`` is the citizen's pairwise subject for ``client``."""
    if grant.status is GrantStatus.REQUESTED:
        raise ValueError("a receipt records a decision, and this grant has none yet")
    if grant.client_id != client.client_id:
        raise ValueError("the receipt's client is not the grant's client")
    scope = grant.scope
    return {
        "schema_version": SCHEMA_VERSION,
        "receipt_id": receipt_id,
        "record_id": grant_id,
        "version": grant.event_count - 1,
        "pii_principal_id": subject,
        "language": LANGUAGE,
        "status": grant.status.value,
        "privacy_notice": client.privacy_notice_url,
        "purpose": _purpose(scope),
        "lawful_basis": _lawful_basis(scope.lawful_basis),
        "access": scope.access.value,
        "pii_information": [_pii(item) for item in scope.items],
        "pii_controllers": [client.client_id],
        "parties": [_client_party(client), _pds_party(issuer)],
        "recipient_third_parties": [client.client_id] if client.kind == "third_party" else [],
        "storage_locations": [{"location": storage_location, "party_id": issuer}],
        "jurisdiction": {"location": "GB", "dpv_location": "loc:GB", "law": "UK GDPR"},
        "retention_period": _retention(scope),
        "valid_from": _time(grant.decided_at if grant.expires_at else None),
        "valid_until": _time(grant.expires_at),
        "withdrawal_method": _withdrawal(grant_id, scope.lawful_basis),
        "events": _events(grant, subject, issuer),
    }


def _purpose(scope: DataRequest) -> dict[str, str]:
    term = scope.purpose.term
    return {
        "term": term.value,
        "iri": term.iri,
        "label": term.label,
        "description": scope.purpose.description,
    }


def _lawful_basis(basis: LawfulBasis) -> dict[str, Any]:
    article = f"UK GDPR Art. {basis.article}"
    if basis.is_consent:
        meaning = (
            f"The service relies on your consent ({article}). The event states record that "
            "consent: given, refused, withdrawn or expired."
        )
    else:
        meaning = (
            f"The service relies on {_BASIS_WORDS[basis]} ({article}), not on your consent. "
            "The event states record your permission for the PDS to share this data with "
            "the service, not consent as the legal basis for what the service does with it."
        )
    return {
        "basis": basis.value,
        "article": article,
        "dpv_term": basis.dpv_term,
        "is_consent": basis.is_consent,
        "event_state_meaning": meaning,
    }


def _pii(item: DataItem) -> dict[str, Any]:
    categories = sorted(item.categories())
    return {
        "label": _item_label(item),
        "evidence_type": item.evidence_type,
        "category": item.category.value if item.category else None,
        "pii_types": [category.dpv_term for category in categories],
        "claims": list(item.claims) if item.claims is not None else None,
        "documents": item.documents,
        "pii_optional": not item.required,
        "necessity": "dpv:Required" if item.required else "dpv:Optional",
        "special_category": any(category.is_special_category for category in categories),
    }


def _item_label(item: DataItem) -> str:
    """What the citizen saw on the consent screen for this item."""
    kind = EVIDENCE_TYPES.get(item.evidence_type or "")
    if kind is not None:
        return kind.label
    return item.category.label if item.category is not None else "Evidence"


def _client_party(client: ReceiptParty) -> dict[str, Any]:
    return {
        "party_id": client.client_id,
        "party_name": client.organisation,
        "service": client.name,
        "party_type": client.kind,
        "party_role": "dpv:DataController",
        "party_contact": client.contact_email,
        "privacy_notice": client.privacy_notice_url,
    }


def _pds_party(issuer: str) -> dict[str, Any]:
    return {
        "party_id": issuer,
        "party_name": PDS_PARTY_NAME,
        "party_type": "platform",
        "party_role": "dpv:DataProcessor",
        "party_url": issuer,
    }


def _retention(scope: DataRequest) -> dict[str, str]:
    """27560 asks for a retention period; the PDS knows only how long sharing lasts."""
    return {
        "duration": iso_duration(scope.duration),
        "applies_to": (
            "How long the service may read this data through the PDS. How long the service "
            "keeps what it has read is set out in its privacy notice."
        ),
    }


def _withdrawal(grant_id: str, basis: LawfulBasis) -> dict[str, str]:
    if basis.is_consent:
        text = (
            f"You can withdraw your consent at any time. {_HOW_TO_REVOKE} Withdrawing does "
            "not undo sharing that has already happened."
        )
    else:
        text = (
            f"You can stop the sharing at any time. {_HOW_TO_REVOKE} The service may keep "
            "and use what it has already received under its lawful basis; its privacy "
            "notice explains your other rights."
        )
    return {
        "description": text,
        "api": f"POST /api/v1/me/grants/{grant_id}/revoke",
        "dpv_control": "dpv:WithdrawConsent",
    }


def _events(grant: GrantState, subject: str, issuer: str) -> list[dict[str, Any]]:
    """The history, oldest first: requested, then the decision, then how it ended."""
    events = [_event(grant.requested_at, "requested", "dpv:ConsentRequested", grant.client_id)]
    decided = grant.decided_at
    if decided is None:  # pragma: no cover - build_receipt refuses undecided grants
        return events
    if grant.status is GrantStatus.REFUSED:
        return [*events, _event(decided, "refused", "dpv:ConsentRefused", subject)]
    given = _event(decided, "given", "dpv:ConsentGiven", subject)
    events.append({**given, "validity_duration": iso_duration(grant.scope.duration)})
    ended = grant.ended_at
    if ended is not None:
        events.append(_ending(grant, ended, subject, issuer))
    return events


def _ending(grant: GrantState, ended: datetime, subject: str, issuer: str) -> dict[str, Any]:
    """Withdrawn is the citizen's act; DPV calls the same act by anyone else revoked: the
    client giving the grant up, or the PDS ending it for safety (a reused code)."""
    if grant.status is GrantStatus.EXPIRED:
        return _event(ended, "expired", "dpv:ConsentExpired", issuer)
    if grant.revoked_by is RevokedBy.CITIZEN:
        return _event(ended, "withdrawn", "dpv:ConsentWithdrawn", subject)
    entity = grant.client_id if grant.revoked_by is RevokedBy.CLIENT else issuer
    return _event(ended, "revoked", "dpv:ConsentRevoked", entity)


def _event(at: datetime, kind: str, state: str, entity_id: str) -> dict[str, Any]:
    return {
        "event_time": _time(at),
        "event_type": kind,
        "event_state": state,
        "entity_id": entity_id,
    }


def _time(at: datetime | None) -> str | None:
    """RFC 3339 UTC to the second, as API.md writes times."""
    if at is None:
        return None
    return at.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


__all__ = ["LANGUAGE", "SCHEMA_VERSION", "ReceiptParty", "build_receipt"]
