"""The council evidence types a citizen can keep in the vault, and the rules for their claims.

Claims are sealed as JSON under the citizen's own key, so nothing downstream can query,
repair or re-validate them cheaply: they are checked and normalised once, here, before
sealing. The same schemas are published (``describe()``) so the dashboard and service
systems know what a ``council_tax_bill`` holds. Pure: no database and no clock; callers
pass ``today`` where a rule depends on the date.

``_categories`` holds the consent categories, ``_fields`` the field types and enums,
``_schemas`` one claims struct per type, ``_registry`` the types and claim validation,
``_examples`` a valid example of each.
"""

from __future__ import annotations

from pds.vault.evidence_types._categories import DPV_PD_NAMESPACE, Category
from pds.vault.evidence_types._errors import ClaimsInvalid, InvalidCategory, UnknownEvidenceType
from pds.vault.evidence_types._examples import EXAMPLE_CLAIMS
from pds.vault.evidence_types._fields import (
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
    normalise_postcode,
)
from pds.vault.evidence_types._registry import (
    EVIDENCE_TYPES,
    EvidenceType,
    describe,
    get_evidence_type,
    resolve_category,
    validate_claims,
)
from pds.vault.evidence_types._schemas import (
    BenefitAwardLetter,
    BlueBadge,
    ClaimsSchema,
    CouncilTaxBill,
    HouseholdMember,
    HouseholdMembers,
    IdentityDocument,
    IncomeStatement,
    ProofOfAddress,
    TenancyAgreement,
)

__all__ = [
    "DPV_PD_NAMESPACE",
    "EVIDENCE_TYPES",
    "EXAMPLE_CLAIMS",
    "Benefit",
    "BenefitAwardLetter",
    "BillingYear",
    "BlueBadge",
    "Category",
    "ClaimsInvalid",
    "ClaimsSchema",
    "CouncilTaxBand",
    "CouncilTaxBill",
    "CountryCode",
    "DocumentType",
    "EvidenceType",
    "Frequency",
    "HouseholdMember",
    "HouseholdMembers",
    "IdentityDocument",
    "IncomeStatement",
    "InvalidCategory",
    "Nation",
    "Pence",
    "Postcode",
    "ProofOfAddress",
    "Reference",
    "Relationship",
    "TenancyAgreement",
    "TenancyType",
    "Text",
    "UnknownEvidenceType",
    "describe",
    "get_evidence_type",
    "normalise_postcode",
    "resolve_category",
    "validate_claims",
]
