"""The council evidence types a citizen can keep in the vault, and the rules for their claims.

Claims are sealed as JSON under the citizen's own key, so nothing downstream can query,
repair or re-validate them cheaply: they are checked and normalised once, here, before
sealing. The same schemas are published (``describe()``) so the dashboard and service
systems know what a ``council_tax_bill`` holds. Pure: no database and no clock; callers
pass ``today`` where a rule depends on the date.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import date
from enum import StrEnum
from types import MappingProxyType
from typing import TYPE_CHECKING, Annotated, Any, Final

import msgspec

from pds.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import Mapping


class UnknownEvidenceType(InvalidInput):
    """Only types with a schema can be stored, or the vault would seal unchecked data."""

    code = "unknown_evidence_type"
    title = "Unknown evidence type"


class InvalidCategory(InvalidInput):
    """Consent is granted per category, so a misfiled item would leak or hide data."""

    code = "invalid_category"
    title = "Category not allowed for this evidence"


class ClaimsInvalid(InvalidInput):
    """One claim breaks a rule; ``field`` is its path so a form can point at it."""

    code = "claims_invalid"
    title = "The evidence details are not valid"

    def __init__(self, detail: str, *, field: str | None) -> None:
        super().__init__(detail, field=field)
        self.field = field


# --- categories -----------------------------------------------------------------------

DPV_PD_NAMESPACE: Final = "https://w3id.org/dpv/pd#"


class Category(StrEnum):
    """Personal-data categories: the unit in which consent is asked for and granted."""

    IDENTITY = "identity"
    CONTACT = "contact"
    ADDRESS = "address"
    HOUSEHOLD = "household"
    INCOME = "income"
    BENEFITS = "benefits"
    HEALTH_AND_CARE = "health_and_care"
    DISABILITY = "disability"
    RESIDENCY = "residency"
    VEHICLE = "vehicle"
    EDUCATION = "education"

    @property
    def label(self) -> str:
        """Plain English, because citizens decide consent on this text."""
        return _CATEGORY_INFO[self][0]

    @property
    def dpv_term(self) -> str:
        """The W3C DPV personal-data term, so receipts are machine-comparable."""
        return f"dpv-pd:{_CATEGORY_INFO[self][1]}"

    @property
    def dpv_iri(self) -> str:
        """The full IRI of ``dpv_term``, for consumers without the prefix map."""
        return DPV_PD_NAMESPACE + _CATEGORY_INFO[self][1]

    @property
    def is_special_category(self) -> bool:
        """UK GDPR Art. 9 data: needs an extra condition and a louder consent screen."""
        return self in _SPECIAL_CATEGORIES


# Terms from DPV 2.0 pd. Closest-fit choices: DPV-PD has no "address" term (PhysicalAddress
# is the real one), no "benefits" term (FinancialStatus), and its Household is "personal or
# household activities" (FamilyStructure is the alternative for who lives with whom).
_CATEGORY_INFO: Final[dict[Category, tuple[str, str]]] = {
    Category.IDENTITY: ("Identity", "Identifying"),
    Category.CONTACT: ("Contact details", "Contact"),
    Category.ADDRESS: ("Address", "PhysicalAddress"),
    Category.HOUSEHOLD: ("Household", "Household"),
    Category.INCOME: ("Income", "Income"),
    Category.BENEFITS: ("Benefits", "FinancialStatus"),
    Category.HEALTH_AND_CARE: ("Health and care", "MedicalHealth"),
    Category.DISABILITY: ("Disability", "Disability"),
    Category.RESIDENCY: ("Residency", "Residency"),
    Category.VEHICLE: ("Vehicle", "Vehicle"),
    Category.EDUCATION: ("Education", "Education"),
}
_SPECIAL_CATEGORIES: Final = frozenset({Category.HEALTH_AND_CARE, Category.DISABILITY})


# --- field types and rules msgspec cannot express ------------------------------------------

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


# --- claims schemas (docstrings become the published schema descriptions) ------------------


class ClaimsSchema(msgspec.Struct, kw_only=True, forbid_unknown_fields=True, omit_defaults=True):
    """Base of every claims schema: unknown claims are refused, absent optionals omitted."""

    def post_validate(self, today: date, /) -> None:
        """Apply rules msgspec constraints cannot express; raise ``_RuleBroken``."""


# Subclasses repeat ``kw_only=True``: mypy's dataclass_transform support does not inherit
# it, and would otherwise reject required fields after ``address_line_2``'s default.
class _AddressClaims(ClaimsSchema):
    address_line_1: Text
    town: Text
    postcode: Postcode
    address_line_2: Text | None = None

    def post_validate(self, _today: date, /) -> None:
        normal = _postcode_or_none(self.postcode)
        if normal is None:
            raise _RuleBroken("postcode", _NOT_A_POSTCODE)
        self.postcode = normal


class ProofOfAddress(_AddressClaims, kw_only=True):
    """A recent bill or statement showing your name at your address."""

    full_name: Text
    issued_on: date
    issuer: Text

    def post_validate(self, today: date, /) -> None:
        super().post_validate(today)
        if self.issued_on > today:
            raise _RuleBroken("issued_on", "must not be in the future")


class CouncilTaxBill(_AddressClaims, kw_only=True):
    """Your council tax bill for one billing year."""

    account_reference: Reference
    council: Text
    nation: Nation
    band: CouncilTaxBand
    billing_year: BillingYear
    amount_due_pence: Pence

    def post_validate(self, today: date, /) -> None:
        super().post_validate(today)
        first, second = (int(part) for part in self.billing_year.split("/"))
        if second != (first + 1) % 100:
            raise _RuleBroken("billing_year", "must be two consecutive years, like 2025/26")
        if self.band is CouncilTaxBand.I and self.nation is not Nation.WALES:
            raise _RuleBroken("band", "can only be I for a home in Wales")


class TenancyAgreement(_AddressClaims, kw_only=True):
    """The agreement for the home you rent."""

    landlord_name: Text
    tenancy_type: TenancyType
    start_date: date
    rent_pence_per_month: Pence
    end_date: date | None = None

    def post_validate(self, today: date, /) -> None:
        super().post_validate(today)
        _not_before("end_date", self.end_date, "start_date", self.start_date)


class BenefitAwardLetter(ClaimsSchema):
    """A letter confirming a benefit award and its amount."""

    benefit: Benefit
    award_reference: Reference
    amount_pence: Pence
    frequency: Frequency
    start_date: date
    end_date: date | None = None

    def post_validate(self, _today: date, /) -> None:
        _not_before("end_date", self.end_date, "start_date", self.start_date)


class IdentityDocument(ClaimsSchema):
    """A passport, driving licence, residence permit or national identity card."""

    document_type: DocumentType
    document_number: Reference
    full_name: Text
    date_of_birth: date
    expires_on: date
    issuing_country: CountryCode

    def post_validate(self, today: date, /) -> None:
        _in_the_past("date_of_birth", self.date_of_birth, today)
        if self.expires_on <= self.date_of_birth:
            raise _RuleBroken("expires_on", "must be after 'date_of_birth'")


class BlueBadge(ClaimsSchema):
    """A Blue Badge for parking close to where you need to go."""

    badge_number: Reference
    issuing_council: Text
    expires_on: date
    holder_name: Text


class IncomeStatement(ClaimsSchema):
    """A payslip, pension or other statement of income for one period."""

    employer_or_source: Text
    period_start: date
    period_end: date
    gross_pence: Pence
    net_pence: Pence

    def post_validate(self, _today: date, /) -> None:
        _not_before("period_end", self.period_end, "period_start", self.period_start)
        if self.net_pence > self.gross_pence:
            raise _RuleBroken("net_pence", "must not be more than 'gross_pence'")


class HouseholdMember(ClaimsSchema):
    """One person who lives with you."""

    full_name: Text
    date_of_birth: date
    relationship: Relationship

    def post_validate(self, today: date, /) -> None:
        _in_the_past("date_of_birth", self.date_of_birth, today)


class HouseholdMembers(ClaimsSchema):
    """Everyone who lives in your home, including you."""

    members: Annotated[list[HouseholdMember], msgspec.Meta(min_length=1, max_length=20)]

    def post_validate(self, _today: date, /) -> None:
        selves = [i for i, m in enumerate(self.members) if m.relationship is Relationship.SELF]
        if len(selves) > 1:
            raise _RuleBroken(
                f"members[{selves[1]}].relationship", "can be 'self' for one member only"
            )


# --- the registry ------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class EvidenceType:
    """One kind of evidence: its schema and the categories it may be filed under."""

    key: str
    label: str
    categories: tuple[Category, ...]
    schema: type[ClaimsSchema]

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


# --- examples (valid for any `today` after 2025-06-01) -------------------------------------

_HOME: Final = {"address_line_1": "14 Elm Road", "town": "Leeds", "postcode": "LS6 2AB"}

EXAMPLE_CLAIMS: Final[dict[str, dict[str, Any]]] = {
    "proof_of_address": {
        "full_name": "Amara Okafor",
        **_HOME,
        "issued_on": "2025-03-14",
        "issuer": "Yorkshire Water",
    },
    "council_tax_bill": {
        "account_reference": "CT-40012345",
        "council": "Leeds City Council",
        "nation": "england",
        **_HOME,
        "band": "B",
        "billing_year": "2025/26",
        "amount_due_pence": 158_312,
    },
    "tenancy_agreement": {
        "landlord_name": "Leeds City Council",
        "tenancy_type": "secure",
        "start_date": "2021-09-01",
        **_HOME,
        "rent_pence_per_month": 42_500,
    },
    "benefit_award_letter": {
        "benefit": "universal_credit",
        "award_reference": "UC-7731-2208",
        "amount_pence": 40_070,
        "frequency": "monthly",
        "start_date": "2024-11-01",
    },
    "identity_document": {
        "document_type": "passport",
        "document_number": "123456789",
        "full_name": "Amara Okafor",
        "date_of_birth": "1988-07-21",
        "expires_on": "2031-02-10",
        "issuing_country": "GBR",
    },
    "blue_badge": {
        "badge_number": "AB12 C345 6789 0125",
        "issuing_council": "Leeds City Council",
        "expires_on": "2027-05-31",
        "holder_name": "Amara Okafor",
    },
    "income_statement": {
        "employer_or_source": "Northern Rail Ltd",
        "period_start": "2025-02-01",
        "period_end": "2025-02-28",
        "gross_pence": 210_000,
        "net_pence": 172_345,
    },
    "household_members": {
        "members": [
            {"full_name": "Amara Okafor", "date_of_birth": "1988-07-21", "relationship": "self"},
            {"full_name": "Tobi Okafor", "date_of_birth": "2016-04-02", "relationship": "child"},
        ]
    },
}
