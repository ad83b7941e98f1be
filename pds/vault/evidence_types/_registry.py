"""The registry of evidence types, and the validation of claims against it.

Pure: no database and no clock; callers pass ``today`` where a rule depends on the date.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

import msgspec

from pds.vault.evidence_types._categories import Category
from pds.vault.evidence_types._errors import ClaimsInvalid, InvalidCategory, UnknownEvidenceType
from pds.vault.evidence_types._fields import _RuleBroken
from pds.vault.evidence_types._schemas import (
    BenefitAwardLetter,
    BlueBadge,
    ClaimsSchema,
    CouncilTaxBill,
    HouseholdMembers,
    IdentityDocument,
    IncomeStatement,
    ProofOfAddress,
    TenancyAgreement,
)

if TYPE_CHECKING:
    from collections.abc import Mapping
    from datetime import date

# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceType:
    """One kind of evidence: its schema and the categories it may be filed under."""

    key: str
    label: str
    categories: tuple[Category, ...]
    schema: type[ClaimsSchema]

    @property
    def claim_names(self) -> frozenset[str]:
        """Every claim an item of this kind can hold: what a grant or a read may name."""
        return frozenset(f.encode_name for f in msgspec.structs.fields(self.schema))

    @property
    def default_category(self) -> Category:
        """The first category: where the item goes when the citizen does not choose."""
        return self.categories[0]


_C = Category
EVIDENCE_TYPES: Final[Mapping[str, EvidenceType]] = MappingProxyType(
    {
        kind.key: kind
        for kind in (
            EvidenceType(
                "proof_of_address", "Proof of address", (_C.ADDRESS, _C.RESIDENCY), ProofOfAddress
            ),
            EvidenceType(
                "council_tax_bill", "Council Tax bill", (_C.ADDRESS, _C.RESIDENCY), CouncilTaxBill
            ),
            EvidenceType(
                "tenancy_agreement",
                "Tenancy agreement",
                (_C.ADDRESS, _C.RESIDENCY, _C.HOUSEHOLD),
                TenancyAgreement,
            ),
            EvidenceType(
                "benefit_award_letter",
                "Benefit award letter",
                (_C.BENEFITS, _C.INCOME, _C.DISABILITY, _C.HEALTH_AND_CARE),
                BenefitAwardLetter,
            ),
            EvidenceType(
                "identity_document",
                "Identity document",
                (_C.IDENTITY, _C.RESIDENCY),
                IdentityDocument,
            ),
            EvidenceType(
                "blue_badge",
                "Blue Badge",
                (_C.DISABILITY, _C.VEHICLE, _C.HEALTH_AND_CARE),
                BlueBadge,
            ),
            EvidenceType(
                "income_statement", "Income statement", (_C.INCOME, _C.BENEFITS), IncomeStatement
            ),
            EvidenceType(
                "household_members", "People in your household", (_C.HOUSEHOLD,), HouseholdMembers
            ),
        )
    }
)


def get_evidence_type(key: str) -> EvidenceType:
    """Look a type up, refusing unknown keys with a stable error code."""
    try:
        return EVIDENCE_TYPES[key]
    except KeyError:
        known = ", ".join(EVIDENCE_TYPES)
        raise UnknownEvidenceType(
            f"'{key[:64]}' is not a known evidence type; use one of: {known}.",
            evidence_type=key[:64],
        ) from None


def resolve_category(evidence_type: str, category: str | None) -> Category:
    """The category to file under: the type's default, or the citizen's allowed choice."""
    kind = get_evidence_type(evidence_type)
    if category is None:
        return kind.default_category
    chosen = Category(category) if category in _CATEGORY_VALUES else None
    if chosen is None or chosen not in kind.categories:
        allowed = ", ".join(kind.categories)
        raise InvalidCategory(
            f"'{category[:64]}' is not a category for {kind.label}; use one of: {allowed}.",
            field="category",
        )
    return chosen


_CATEGORY_VALUES: Final = frozenset(c.value for c in Category)


def describe() -> list[dict[str, Any]]:
    """Every evidence type as JSON-ready data, for the evidence-types endpoint and forms."""
    return [
        {
            "key": kind.key,
            "label": kind.label,
            "default_category": kind.default_category.value,
            "categories": [
                {"key": c.value, "label": c.label, "dpv_term": c.dpv_term} for c in kind.categories
            ],
            "claims_schema": msgspec.json.schema(kind.schema),
        }
        for kind in EVIDENCE_TYPES.values()
    ]


# --- validation ----------------------------------------------------------------------------


def validate_claims(evidence_type: str, claims: object, *, today: date) -> dict[str, Any]:
    """Check unverified claims and return them normalised, as JSON-ready values.

    Two steps, like JWT decode-then-validate: msgspec checks shape and constraints,
    then each schema's ``post_validate`` applies the rules that need code or ``today``.
    """
    kind = get_evidence_type(evidence_type)
    try:
        parsed = msgspec.convert(claims, kind.schema)
    except msgspec.ValidationError as exc:
        raise _claims_invalid_from(exc) from exc
    _finish(parsed, today, "")
    built: dict[str, Any] = msgspec.to_builtins(parsed)
    return built


def _finish(claims: ClaimsSchema, today: date, path: str) -> None:
    """Tidy text and run post-validation depth first, so paths name nested fields."""
    for name in claims.__struct_fields__:
        value = getattr(claims, name)
        here = f"{path}{name}"
        if type(value) is str:
            setattr(claims, name, _tidy_text(value, here))
        elif isinstance(value, list):  # lists only ever hold nested claims structs
            for index, item in enumerate(value):
                _finish(item, today, f"{here}[{index}].")
    try:
        claims.post_validate(today)
    except _RuleBroken as broken:
        field = path + broken.field
        raise ClaimsInvalid(f"'{field}' {broken.message}.", field=field) from None


def _tidy_text(value: str, field: str) -> str:
    """One spelling per text: trimmed and NFC, so equal names compare equal."""
    tidy = unicodedata.normalize("NFC", value.strip())
    if not tidy:
        raise ClaimsInvalid(f"'{field}' must not be blank.", field=field)
    return tidy


_AT_PATH: Final = " - at `$"
_NAMED_FIELD = re.compile(r"field `(?P<name>.*)`\Z", re.DOTALL)
_PLAIN_REASONS: Final = (
    ("Invalid enum value", "is not one of the allowed values"),
    ("Invalid RFC3339 encoded date", "must be a date written as YYYY-MM-DD"),
    ("Expected `str` matching regex", "is not in the expected format"),
)


def _claims_invalid_from(exc: msgspec.ValidationError) -> ClaimsInvalid:
    """Turn msgspec's message into a field path and a sentence a citizen can act on."""
    message, at, tail = str(exc).rpartition(_AT_PATH)
    if not at:
        message, tail = tail, ""
    path = tail.removesuffix("`").removeprefix(".")
    named = _NAMED_FIELD.search(message)
    if named:
        name = named["name"][:64]  # echoed back, and an unknown name is caller-chosen
        path = f"{path}.{name}" if path else name
    if not path:
        return ClaimsInvalid(f"The details are not valid: {_plain(message)}.", field=None)
    if message.startswith("Object missing required field"):
        return ClaimsInvalid(f"'{path}' is required.", field=path)
    if message.startswith("Object contains unknown field"):
        return ClaimsInvalid(f"'{path}' is not a recognised detail; remove it.", field=path)
    return ClaimsInvalid(f"'{path}' {_reason(message)}.", field=path)


def _reason(message: str) -> str:
    for prefix, reason in _PLAIN_REASONS:
        if message.startswith(prefix):
            return reason
    return f"is not valid: {_plain(message)}"


def _plain(message: str) -> str:
    text = message.replace("`", "")
    return text[:1].lower() + text[1:]
