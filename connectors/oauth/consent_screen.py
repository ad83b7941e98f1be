"""What the consent page says, as plain values: who, what, why, for how long, on what basis.

Pure, so the wording can be reviewed and tested without a browser. The page shows the
service's own purpose text beside a reviewed label for its DPV term, never instead of it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from consent.vocabulary import Access, LawfulBasis
from pds.vault.evidence_types import EVIDENCE_TYPES, Category

if TYPE_CHECKING:
    import datetime as dt

    from consent.requests import DataItem, DataRequest

KIND_LABELS: Final = {
    "council_service": "a council service",
    "third_party": "an organisation outside the council",
}
BASIS_WORDS: Final = {
    LawfulBasis.CONSENT: "your consent",
    LawfulBasis.CONTRACT: "a contract with you",
    LawfulBasis.LEGAL_OBLIGATION: "a legal duty it has",
    LawfulBasis.VITAL_INTERESTS: "the need to protect someone's life",
    LawfulBasis.PUBLIC_TASK: "its public task (the council's official functions)",
    LawfulBasis.LEGITIMATE_INTERESTS: "its legitimate interests",
}


@dataclass(frozen=True, slots=True)
class ItemView:
    index: int
    label: str
    detail: str
    required: bool


@dataclass(frozen=True, slots=True)
class ConsentScreen:
    """Everything the page needs; the template only lays it out."""

    client_name: str
    organisation: str
    kind: str
    purpose_label: str
    purpose_text: str
    basis: str
    basis_article: str
    basis_is_consent: bool
    access: str
    duration: str
    items: tuple[ItemView, ...]
    privacy_notice_url: str | None


def screen(
    request: DataRequest,
    *,
    client_name: str,
    organisation: str,
    kind: str,
    privacy_notice_url: str | None,
) -> ConsentScreen:
    return ConsentScreen(
        client_name=client_name,
        organisation=organisation,
        kind=KIND_LABELS.get(kind, "an organisation"),
        purpose_label=request.purpose.term.label,
        purpose_text=request.purpose.description,
        basis=BASIS_WORDS[request.lawful_basis],
        basis_article=request.lawful_basis.article,
        basis_is_consent=request.lawful_basis.is_consent,
        access=_access(request.access),
        duration=duration_words(request.duration),
        items=tuple(_item(index, item) for index, item in enumerate(request.items)),
        privacy_notice_url=privacy_notice_url,
    )


def _access(access: Access) -> str:
    if access is Access.ONE_OFF:
        return "once, straight after you say yes"
    return "whenever it needs to, until the end date or until you stop it"


def _item(index: int, item: DataItem) -> ItemView:
    if item.evidence_type is not None:
        kind = EVIDENCE_TYPES.get(item.evidence_type)
        label = kind.label if kind else item.evidence_type
    else:
        label = f"Anything you keep about your {_category_words(item.category)}"
    parts = []
    if item.claims is not None:
        parts.append("just the " + ", ".join(name.replace("_", " ") for name in item.claims))
    if item.documents:
        parts.append("including the documents you uploaded")
    if item.evidence_type is not None and item.category is not None:
        parts.append(f"filed under {_category_words(item.category)}")
    return ItemView(index=index, label=label, detail="; ".join(parts), required=item.required)


def _category_words(category: Category | None) -> str:
    return category.label.lower() if category is not None else "information"


def duration_words(span: dt.timedelta) -> str:
    """``P30D`` → "30 days", ``PT12H`` → "12 hours"; the largest whole unit people use."""
    seconds = int(span.total_seconds())
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size and seconds % size == 0:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return f"{seconds} seconds"
