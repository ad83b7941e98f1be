"""Personal-data categories: the unit in which consent is asked for and granted.

Each maps to a W3C DPV personal-data term, so consent receipts are machine-comparable.
"""

from __future__ import annotations

from enum import StrEnum
from typing import Final

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
