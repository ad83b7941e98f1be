"""The closed vocabularies of a data request: DPV purposes, UK GDPR lawful bases, access.

Each value carries what the consent screen and the receipts show for it (a reviewed
plain-English label, the Article 6(1) point, the DPV term), so every screen and receipt
says the same thing about the same value. Pure: no database, no clock.
"""

from __future__ import annotations

from datetime import timedelta
from enum import StrEnum
from typing import Final

DPV_NAMESPACE: Final = "https://w3id.org/dpv#"
DPV_PUBLIC_SERVICES_NAMESPACE: Final = "https://w3id.org/dpv/sector/publicservices#"
_PREFIXES: Final = {"dpv": DPV_NAMESPACE, "sector-publicservices": DPV_PUBLIC_SERVICES_NAMESPACE}


class Purpose(StrEnum):
    """The W3C DPV purposes a council-facing service may name (STANDARDS.md A5, DPV 2.3).

    A closed list, so receipts are machine-comparable and the consent screen always has a
    reviewed plain-English label; the wire value is the prefixed term (CURIE).
    """

    SERVICE_PROVISION = "dpv:ServiceProvision"
    REQUESTED_SERVICE_PROVISION = "dpv:RequestedServiceProvision"
    SERVICE_REGISTRATION = "dpv:ServiceRegistration"
    PAYMENT_MANAGEMENT = "dpv:PaymentManagement"
    COMMUNICATION_MANAGEMENT = "dpv:CommunicationManagement"
    CUSTOMER_CARE = "dpv:CustomerCare"
    ACCOUNT_MANAGEMENT = "dpv:AccountManagement"
    IDENTITY_VERIFICATION = "dpv:IdentityVerification"
    AGE_VERIFICATION = "dpv:AgeVerification"
    FRAUD_PREVENTION_AND_DETECTION = "dpv:FraudPreventionAndDetection"
    LEGAL_COMPLIANCE = "dpv:LegalCompliance"
    RIGHTS_FULFILMENT = "dpv:RightsFulfilment"
    RECORD_MANAGEMENT = "dpv:RecordManagement"
    DISPUTE_MANAGEMENT = "dpv:DisputeManagement"
    IMPROVE_PUBLIC_SERVICES = "dpv:ImprovePublicServices"
    PROVIDE_OFFICIAL_STATISTICS = "dpv:ProvideOfficialStatistics"
    NON_COMMERCIAL_RESEARCH = "dpv:NonCommercialResearch"
    PUBLIC_SERVICE_PROVISION = "sector-publicservices:PublicServiceProvision"
    PUBLIC_SERVICE_ELIGIBILITY = "sector-publicservices:PublicServiceEligibilityAssessment"
    PUBLIC_SERVICE_FRAUD = "sector-publicservices:PublicServiceFraudPreventionDetection"
    SOCIAL_WELFARE_ELIGIBILITY = "sector-publicservices:SocialWelfareEligibilityAssessment"
    SOCIAL_WELFARE_PROVISION = "sector-publicservices:SocialWelfareProvision"
    HOUSING_WELFARE_MANAGEMENT = "sector-publicservices:HousingWelfareManagement"
    SOCIAL_ASSISTANCE_MANAGEMENT = "sector-publicservices:SocialAssistanceManagement"

    @property
    def label(self) -> str:
        """Plain English for the consent screen; the service's own text goes beside it."""
        return _PURPOSE_LABELS[self]

    @property
    def iri(self) -> str:
        """The full IRI, for receipt consumers without DPV's prefix map."""
        prefix, _, term = self.value.partition(":")
        return _PREFIXES[prefix] + term


_P = Purpose
_PURPOSE_LABELS: Final[dict[Purpose, str]] = {
    _P.SERVICE_PROVISION: "Providing a service",
    _P.REQUESTED_SERVICE_PROVISION: "Providing a service you asked for",
    _P.SERVICE_REGISTRATION: "Signing you up for a service",
    _P.PAYMENT_MANAGEMENT: "Managing payments",
    _P.COMMUNICATION_MANAGEMENT: "Keeping in touch with you",
    _P.CUSTOMER_CARE: "Helping you with a question or problem",
    _P.ACCOUNT_MANAGEMENT: "Managing your account",
    _P.IDENTITY_VERIFICATION: "Checking who you are",
    _P.AGE_VERIFICATION: "Checking your age",
    _P.FRAUD_PREVENTION_AND_DETECTION: "Preventing and detecting fraud",
    _P.LEGAL_COMPLIANCE: "Meeting a legal duty",
    _P.RIGHTS_FULFILMENT: "Handling a request about your data rights",
    _P.RECORD_MANAGEMENT: "Keeping records",
    _P.DISPUTE_MANAGEMENT: "Resolving a complaint or dispute",
    _P.IMPROVE_PUBLIC_SERVICES: "Improving public services",
    _P.PROVIDE_OFFICIAL_STATISTICS: "Producing official statistics",
    _P.NON_COMMERCIAL_RESEARCH: "Non-commercial research",
    _P.PUBLIC_SERVICE_PROVISION: "Providing a public service",
    _P.PUBLIC_SERVICE_ELIGIBILITY: "Checking whether you can get a public service",
    _P.PUBLIC_SERVICE_FRAUD: "Preventing fraud against public services",
    _P.SOCIAL_WELFARE_ELIGIBILITY: "Checking whether you can get welfare support",
    _P.SOCIAL_WELFARE_PROVISION: "Providing welfare support",
    _P.HOUSING_WELFARE_MANAGEMENT: "Managing housing support",
    _P.SOCIAL_ASSISTANCE_MANAGEMENT: "Managing social assistance",
}


class LawfulBasis(StrEnum):
    """UK GDPR Article 6(1): the basis the *service* relies on, recorded as it really is.

    Councils mostly act under public task or legal obligation, where consent would be
    the wrong basis (ICO; STANDARDS.md pitfall 20). The citizen's approval is then their
    permission for the PDS to share, not consent in the Art. 6(1)(a) sense, and the
    screen and receipt must say so: see ``is_consent``.
    """

    CONSENT = "consent"
    CONTRACT = "contract"
    LEGAL_OBLIGATION = "legal_obligation"
    VITAL_INTERESTS = "vital_interests"
    PUBLIC_TASK = "public_task"
    LEGITIMATE_INTERESTS = "legitimate_interests"

    @property
    def article(self) -> str:
        """The Art. 6(1) point, for receipts and the screen's small print."""
        return _BASIS_INFO[self][0]

    @property
    def dpv_term(self) -> str:
        """The DPV legal-basis term (public task maps to ``dpv:PublicInterest``)."""
        return _BASIS_INFO[self][1]

    @property
    def is_consent(self) -> bool:
        """Whether approving *is* the lawful basis, so withdrawing stops the processing."""
        return self is LawfulBasis.CONSENT


_BASIS_INFO: Final[dict[LawfulBasis, tuple[str, str]]] = {
    LawfulBasis.CONSENT: ("6(1)(a)", "dpv:Consent"),
    LawfulBasis.CONTRACT: ("6(1)(b)", "dpv:ContractPerformance"),
    LawfulBasis.LEGAL_OBLIGATION: ("6(1)(c)", "dpv:LegalObligation"),
    LawfulBasis.VITAL_INTERESTS: ("6(1)(d)", "dpv:VitalInterest"),
    LawfulBasis.PUBLIC_TASK: ("6(1)(e)", "dpv:PublicInterest"),
    LawfulBasis.LEGITIMATE_INTERESTS: ("6(1)(f)", "dpv:LegitimateInterest"),
}


class Access(StrEnum):
    """One-off (fetch now, shortly) or ongoing (keep reading until expiry or withdrawal)."""

    ONE_OFF = "one_off"
    ONGOING = "ongoing"

    @property
    def max_duration(self) -> timedelta:
        """A one-off share stays short so a forgotten grant cannot become standing access."""
        return _MAX_DURATION[self]


_MAX_DURATION: Final = {Access.ONE_OFF: timedelta(days=1), Access.ONGOING: timedelta(days=730)}
