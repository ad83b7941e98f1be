"""The claims schemas, one struct per evidence type.

Their docstrings become the published schema descriptions. ``post_validate`` applies
the rules msgspec constraints cannot express, raising ``_RuleBroken``.
"""

from __future__ import annotations

from datetime import date
from typing import Annotated

import msgspec

from pds.vault.evidence_types._fields import (
    _NOT_A_POSTCODE,
    Benefit,
    BillingYear,
    CouncilTaxBand,
    CountryCode,
    DocumentType,
    Frequency,
    Nation,
    Pence,
    Postcode,
    Reference,
    Relationship,
    TenancyType,
    Text,
    _in_the_past,
    _not_before,
    _postcode_or_none,
    _RuleBroken,
)


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
