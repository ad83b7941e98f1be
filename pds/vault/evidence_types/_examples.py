"""Valid example claims for every evidence type, for the demo, docs and tests.

They stay valid for any ``today`` after 2025-06-01.
"""

from __future__ import annotations

from typing import Any, Final

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
