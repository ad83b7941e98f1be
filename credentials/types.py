"""The council's credential types, and the SD-JWT VC Type Metadata for each.

A type is data, not code: a stable ``slug``, what it is in plain English, and its claims
with a label a citizen understands and whether the claim is selectively disclosable.
Disclosable claims are what consent can grant one by one ("show that I live in the
borough, not my address"); claims marked ``disclosable=False`` travel with every
presentation because the credential means nothing without them (the account a
reduction applies to, the level of assurance an identity was checked to).

The ``vct`` is a URL under a base the deployment chooses (its public URL), e.g.
``https://pds.example/vct/proof-of-residence/1``. The final segment is the type's
version: the draft requires a new ``vct`` for an incompatible change, so a change to a
type's claims bumps ``version`` and old credentials keep meaning what they meant.
``type_metadata`` gives the JSON document to publish at that URL.

Grants. Consent is asked for in evidence types, categories and claim names (a
``pds_data_request``), not in credential types, so each type names the evidence type and
category it stands for, and a grant reaches a credential exactly as it would reach an
evidence item of that type filed under that category: a category item reaches every
credential filed under it; an evidence-type item reaches the credentials standing for that
type; an item naming claims grants the credential's claims *of the same name* only (so a
grant of ``council_tax_bill`` ``band`` discloses a council tax account credential's
``band`` and nothing else). The decision itself is ``consent.policy.decide``'s.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

if TYPE_CHECKING:
    from collections.abc import Mapping

    from credentials.sdjwt import ClaimPath

LOCALE: Final = "en-GB"


@dataclass(frozen=True, slots=True)
class ClaimType:
    """One claim of a credential type: its name, its label and whether it may be hidden."""

    name: str
    label: str
    description: str
    disclosable: bool = True
    mandatory: bool = True


@dataclass(frozen=True, slots=True)
class CredentialType:
    """A credential the council issues: what it is called and what it says."""

    slug: str
    name: str
    display_name: str
    description: str
    claims: tuple[ClaimType, ...]
    evidence_type: str
    """The evidence type a grant names to reach this credential (see "Grants" above)."""
    category: str
    """The personal-data category the credential is filed under for consent."""
    version: int = 1

    def vct(self, base: str) -> str:
        """The collision-resistant type name under the deployment's ``base`` URL."""
        return f"{base.rstrip('/')}/vct/{self.slug}/{self.version}"

    @property
    def always_shown(self) -> frozenset[str]:
        """Claims every presentation carries (not selectively disclosable)."""
        return frozenset(claim.name for claim in self.claims if not claim.disclosable)

    @property
    def disclosable(self) -> tuple[ClaimPath, ...]:
        """The paths to pass to ``issue_vc``: every claim marked disclosable."""
        return tuple((claim.name,) for claim in self.claims if claim.disclosable)


def _claim(name: str, label: str, description: str, **flags: bool) -> ClaimType:
    return ClaimType(name, label, description, **flags)


_SUBJECT: Final = (
    _claim("given_name", "First name", "The first name the council holds for you."),
    _claim("family_name", "Last name", "The last name the council holds for you."),
)
_ADDRESS: Final = _claim(
    "address", "Address", "Your address, including postcode, as the council holds it."
)

TYPES: Final[tuple[CredentialType, ...]] = (
    CredentialType(
        slug="proof-of-residence",
        evidence_type="proof_of_address",
        category="residency",
        name="Proof of residence",
        display_name="Lives in the borough",
        description="Shows that you live in the borough, and since when.",
        claims=(
            *_SUBJECT,
            _ADDRESS,
            _claim("resident_since", "Resident since", "The date you moved to this address."),
            _claim(
                "lives_in_borough", "Lives in the borough", "Yes if your address is in the borough."
            ),
        ),
    ),
    CredentialType(
        slug="council-tax-account-holder",
        evidence_type="council_tax_bill",
        category="address",
        name="Council tax account holder",
        display_name="Council tax account",
        description="Shows that you are liable for council tax on a property in the borough.",
        claims=(
            *_SUBJECT,
            _ADDRESS,
            _claim("account_reference", "Account reference", "Your council tax account number."),
            _claim("band", "Council tax band", "The valuation band of the property (A to H)."),
            _claim("liable_from", "Liable from", "The date you became liable for council tax."),
        ),
    ),
    CredentialType(
        slug="council-tax-reduction",
        evidence_type="benefit_award_letter",
        category="benefits",
        name="Council tax reduction award",
        display_name="Council tax reduction",
        description="Shows that you receive a council tax reduction, and for what period.",
        claims=(
            *_SUBJECT,
            _claim(
                "account_reference",
                "Account reference",
                "The council tax account the reduction applies to.",
                disclosable=False,
            ),
            _claim("reduction_type", "Type of reduction", "For example single person discount."),
            _claim("valid_from", "Valid from", "The first day the reduction applies."),
            _claim(
                "valid_until", "Valid until", "The last day the reduction applies.", mandatory=False
            ),
        ),
    ),
    CredentialType(
        slug="housing-tenancy",
        evidence_type="tenancy_agreement",
        category="residency",
        name="Housing tenancy",
        display_name="Council or housing association tenancy",
        description="Shows that you hold a tenancy of a council or housing association home.",
        claims=(
            *_SUBJECT,
            _ADDRESS,
            _claim("landlord", "Landlord", "The council or housing association you rent from."),
            _claim("tenancy_type", "Type of tenancy", "For example secure or introductory."),
            _claim("tenancy_start", "Tenancy start date", "The date your tenancy began."),
        ),
    ),
    CredentialType(
        slug="blue-badge",
        evidence_type="blue_badge",
        category="disability",
        name="Blue Badge holder",
        display_name="Blue Badge",
        description="Shows that you hold a Blue Badge for disabled parking.",
        claims=(
            *_SUBJECT,
            _claim("badge_number", "Badge number", "The number printed on your Blue Badge."),
            _claim("valid_from", "Valid from", "The date your badge was issued."),
            _claim("valid_until", "Valid until", "The date your badge expires."),
        ),
    ),
    CredentialType(
        slug="free-school-meals",
        evidence_type="benefit_award_letter",
        category="benefits",
        name="Free school meals eligibility",
        display_name="Free school meals",
        description="Shows that a child in your household can have free school meals.",
        claims=(
            *_SUBJECT,
            _claim("child_name", "Child's name", "The child who can have free school meals."),
            _claim("school", "School", "The school the child attends.", mandatory=False),
            _claim("eligible_from", "Eligible from", "The date the eligibility began."),
        ),
    ),
    CredentialType(
        slug="concessionary-travel",
        evidence_type="benefit_award_letter",
        category="benefits",
        name="Concessionary travel pass",
        display_name="Bus pass",
        description="Shows that you hold an older person's or disabled person's bus pass.",
        claims=(
            *_SUBJECT,
            _claim("pass_number", "Pass number", "The number printed on your pass."),
            _claim("pass_type", "Type of pass", "Older person's or disabled person's pass."),
            _claim("valid_until", "Valid until", "The date your pass expires."),
        ),
    ),
    CredentialType(
        slug="verified-identity",
        evidence_type="identity_document",
        category="identity",
        name="Verified identity",
        display_name="Identity checked",
        description="Shows that the council checked who you are, and how thoroughly.",
        claims=(
            *_SUBJECT,
            _claim("birthdate", "Date of birth", "Your date of birth, as checked."),
            _claim("age_over_18", "Over 18", "Yes if you are 18 or older."),
            _claim(
                "level_of_assurance",
                "Level of confidence",
                "How thoroughly your identity was checked (GPG 45: low, medium or high).",
                disclosable=False,
            ),
            _claim("verified_at", "Checked on", "The date your identity was checked."),
        ),
    ),
)
BY_SLUG: Final[Mapping[str, CredentialType]] = {kind.slug: kind for kind in TYPES}


def by_vct(vct: str, base: str) -> CredentialType:
    """The credential type whose ``vct`` (under ``base``) is ``vct``; ``KeyError`` if none."""
    for kind in TYPES:
        if kind.vct(base) == vct:
            return kind
    raise KeyError(vct)


def resolve(name: str, base: str) -> CredentialType:
    """The type a client names by ``vct`` (under ``base``) or by slug; ``KeyError`` if none."""
    found = BY_SLUG.get(name)
    return found if found is not None else by_vct(name, base)


def type_metadata(kind: CredentialType, base: str) -> dict[str, Any]:
    """The SD-JWT VC Type Metadata document to publish at ``kind.vct(base)``."""
    return {
        "vct": kind.vct(base),
        "name": kind.name,
        "description": kind.description,
        "display": [{"locale": LOCALE, "name": kind.display_name, "description": kind.description}],
        "claims": [_claim_metadata(claim) for claim in kind.claims],
    }


def _claim_metadata(claim: ClaimType) -> dict[str, Any]:
    return {
        "path": [claim.name],
        "display": [{"locale": LOCALE, "label": claim.label, "description": claim.description}],
        "mandatory": claim.mandatory,
        "sd": "always" if claim.disclosable else "never",
    }


__all__ = [
    "BY_SLUG",
    "LOCALE",
    "TYPES",
    "ClaimType",
    "CredentialType",
    "by_vct",
    "resolve",
    "type_metadata",
]
