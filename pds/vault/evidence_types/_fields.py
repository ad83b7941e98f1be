"""Field types, enums and the rules msgspec constraints cannot express.

The ``Annotated`` types carry msgspec constraints and the descriptions published in
each claims schema. ``_RuleBroken`` and the rule helpers are for ``post_validate``.
"""

from __future__ import annotations

import re
from enum import StrEnum
from typing import TYPE_CHECKING, Annotated, Final

import msgspec

from pds.vault.evidence_types._errors import ClaimsInvalid

if TYPE_CHECKING:
    from datetime import date

_SINGLE_LINE = r"^[^\x00-\x1f\x7f]*$"
_MAX_PENCE = 100_000_000_000  # £1bn: far above any council amount, well inside JSON integers
_MAX_AGE_YEARS = 130
_MAX_POSTCODE_INPUT = 16  # 7 characters plus generous stray spaces

Text = Annotated[str, msgspec.Meta(min_length=1, max_length=200, pattern=_SINGLE_LINE)]
Reference = Annotated[
    str,
    msgspec.Meta(
        min_length=1,
        max_length=40,
        pattern=r"^[A-Za-z0-9][A-Za-z0-9 ./-]*$",
        description="Letters, digits, spaces, '.', '/' or '-', as printed on the document",
    ),
]
# No length limits here: post-validation checks postcodes whole, with one clear message.
Postcode = Annotated[
    str,
    msgspec.Meta(
        description="UK postcode; stored upper case with one space", examples=["SW1A 1AA"]
    ),
]
Pence = Annotated[int, msgspec.Meta(ge=0, le=_MAX_PENCE, description="Amount in pence")]
CountryCode = Annotated[
    str, msgspec.Meta(pattern=r"^[A-Z]{2,3}$", description="ISO 3166-1 alpha-2 or alpha-3")
]
BillingYear = Annotated[
    str,
    msgspec.Meta(
        pattern=r"^[0-9]{4}/[0-9]{2}$", description="April to March", examples=["2025/26"]
    ),
]

# The GOV.UK bulk-data postcode pattern, applied after removing spaces and upper-casing.
_POSTCODE = re.compile(
    r"\A(?:GIR0AA|(?:[A-Z][0-9]{1,2}|[A-Z][A-HJ-Y][0-9]{1,2}|[A-Z][0-9][A-Z]"
    r"|[A-Z][A-HJ-Y][0-9][A-Z]?)[0-9][A-Z]{2})\Z"
)


class _RuleBroken(Exception):
    """A post-validation rule failed at ``field``, relative to the struct that checked it."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field = field
        self.message = message


def normalise_postcode(raw: str, *, field: str = "postcode") -> str:
    """Store one spelling per postcode, so matching and display never depend on typing."""
    normal = _postcode_or_none(raw)
    if normal is None:
        raise ClaimsInvalid(f"'{field}' {_NOT_A_POSTCODE}.", field=field)
    return normal


_NOT_A_POSTCODE: Final = "is not a valid UK postcode (for example SW1A 1AA)"


def _postcode_or_none(raw: str) -> str | None:
    """Upper case, one space before the inward code; None when it is not a postcode."""
    if len(raw) > _MAX_POSTCODE_INPUT:
        return None
    compact = "".join(raw.split()).upper()
    if not compact.isascii() or not _POSTCODE.match(compact):
        return None
    return f"{compact[:-3]} {compact[-3:]}"


def _in_the_past(field: str, born: date, today: date) -> None:
    """A birth date must be before today and humanly plausible."""
    if born >= today:
        raise _RuleBroken(field, "must be in the past")
    if today.year - born.year > _MAX_AGE_YEARS:
        raise _RuleBroken(field, f"must be within the last {_MAX_AGE_YEARS} years")


def _not_before(field: str, later: date | None, start_field: str, start: date) -> None:
    """Periods run forwards; an end before its start is a typing mistake."""
    if later is not None and later < start:
        raise _RuleBroken(field, f"must not be before '{start_field}'")


# --- enums ----------------------------------------------------------------------------------


class Nation(StrEnum):
    ENGLAND = "england"
    SCOTLAND = "scotland"
    WALES = "wales"


class CouncilTaxBand(StrEnum):
    A = "A"
    B = "B"
    C = "C"
    D = "D"
    E = "E"
    F = "F"
    G = "G"
    H = "H"
    I = "I"  # noqa: E741 - band I is its real name (Wales only)


class TenancyType(StrEnum):
    SECURE = "secure"
    ASSURED = "assured"
    ASSURED_SHORTHOLD = "assured_shorthold"
    INTRODUCTORY = "introductory"
    LICENCE = "licence"
    OTHER = "other"


class Benefit(StrEnum):
    UNIVERSAL_CREDIT = "universal_credit"
    HOUSING_BENEFIT = "housing_benefit"
    COUNCIL_TAX_REDUCTION = "council_tax_reduction"
    PENSION_CREDIT = "pension_credit"
    PIP = "pip"
    DLA = "dla"
    ATTENDANCE_ALLOWANCE = "attendance_allowance"
    CARERS_ALLOWANCE = "carers_allowance"
    ESA = "esa"
    JSA = "jsa"
    CHILD_BENEFIT = "child_benefit"
    OTHER = "other"


class Frequency(StrEnum):
    WEEKLY = "weekly"
    FORTNIGHTLY = "fortnightly"
    FOUR_WEEKLY = "four_weekly"
    MONTHLY = "monthly"
    YEARLY = "yearly"


class DocumentType(StrEnum):
    PASSPORT = "passport"
    DRIVING_LICENCE = "driving_licence"
    BIOMETRIC_RESIDENCE_PERMIT = "biometric_residence_permit"
    NATIONAL_IDENTITY_CARD = "national_identity_card"


class Relationship(StrEnum):
    SELF = "self"
    PARTNER = "partner"
    CHILD = "child"
    STEPCHILD = "stepchild"
    FOSTER_CHILD = "foster_child"
    PARENT = "parent"
    SIBLING = "sibling"
    GRANDPARENT = "grandparent"
    GRANDCHILD = "grandchild"
    OTHER_RELATIVE = "other_relative"
    LODGER = "lodger"
    CARER = "carer"
    OTHER = "other"
