from __future__ import annotations

import contextlib
import copy
import json
import re
import unicodedata
from datetime import date
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pds.errors import InvalidInput
from pds.vault.evidence_types import (
    EVIDENCE_TYPES,
    EXAMPLE_CLAIMS,
    Category,
    ClaimsInvalid,
    InvalidCategory,
    UnknownEvidenceType,
    describe,
    normalise_postcode,
    resolve_category,
    validate_claims,
)

TODAY = date(2025, 6, 1)
CANONICAL_POSTCODE = re.compile(r"\A[A-Z0-9]{2,4} [0-9][A-Z]{2}\Z")


def example(evidence_type: str, **changes: Any) -> dict[str, Any]:
    claims = copy.deepcopy(EXAMPLE_CLAIMS[evidence_type])
    claims.update(changes)
    return claims


def without(evidence_type: str, field: str) -> dict[str, Any]:
    claims = example(evidence_type)
    del claims[field]
    return claims


def member(**changes: Any) -> dict[str, Any]:
    return {"full_name": "Sam Okafor", "date_of_birth": "2019-01-05", "relationship": "child"} | (
        changes
    )


def household(*members: dict[str, Any]) -> dict[str, Any]:
    return {"members": [EXAMPLE_CLAIMS["household_members"]["members"][0], *members]}


def field_refused(evidence_type: str, claims: object) -> str | None:
    with pytest.raises(ClaimsInvalid) as caught:
        validate_claims(evidence_type, claims, today=TODAY)
    return caught.value.field


# --- valid examples ------------------------------------------------------------------------


def test_every_evidence_type_has_an_example() -> None:
    assert set(EXAMPLE_CLAIMS) == set(EVIDENCE_TYPES)


@pytest.mark.parametrize("evidence_type", sorted(EVIDENCE_TYPES))
def test_example_claims_are_valid_json_and_stable(evidence_type: str) -> None:
    clean = validate_claims(evidence_type, EXAMPLE_CLAIMS[evidence_type], today=TODAY)

    assert json.loads(json.dumps(clean)) == clean
    assert validate_claims(evidence_type, clean, today=TODAY) == clean


def test_dates_come_back_as_iso_strings_and_absent_optionals_are_omitted() -> None:
    clean = validate_claims("tenancy_agreement", example("tenancy_agreement"), today=TODAY)
    assert clean["start_date"] == "2021-09-01"
    assert "end_date" not in clean
    assert "address_line_2" not in clean

    ended = example("tenancy_agreement", end_date=date(2026, 8, 31))
    assert validate_claims("tenancy_agreement", ended, today=TODAY)["end_date"] == "2026-08-31"


def test_text_is_trimmed_and_nfc_normalised() -> None:
    decomposed = unicodedata.normalize("NFD", "  Zoë Brontë ")
    clean = validate_claims(
        "blue_badge", example("blue_badge", holder_name=decomposed), today=TODAY
    )
    assert clean["holder_name"] == unicodedata.normalize("NFC", "Zoë Brontë")


def test_band_i_is_accepted_in_wales() -> None:
    claims = example("council_tax_bill", band="I", nation="wales", postcode="cf10 1ep")
    clean = validate_claims("council_tax_bill", claims, today=TODAY)
    assert (clean["band"], clean["postcode"]) == ("I", "CF10 1EP")


# --- invalid claims name the field -----------------------------------------------------------

INVALID_CASES = [
    ("proof_of_address", example("proof_of_address", postcode="NOT A CODE"), "postcode"),
    ("proof_of_address", example("proof_of_address", issued_on="2025-06-02"), "issued_on"),
    ("proof_of_address", example("proof_of_address", issued_on="14/03/2025"), "issued_on"),
    ("proof_of_address", example("proof_of_address", full_name="   "), "full_name"),
    ("proof_of_address", example("proof_of_address", full_name="x" * 201), "full_name"),
    ("proof_of_address", example("proof_of_address", issuer="Water\x00Co"), "issuer"),
    ("proof_of_address", example("proof_of_address", address_line_2=""), "address_line_2"),
    ("proof_of_address", without("proof_of_address", "town"), "town"),
    ("council_tax_bill", example("council_tax_bill", band="J"), "band"),
    ("council_tax_bill", example("council_tax_bill", band="I"), "band"),
    ("council_tax_bill", example("council_tax_bill", billing_year="2025/27"), "billing_year"),
    ("council_tax_bill", example("council_tax_bill", billing_year="2025-26"), "billing_year"),
    ("council_tax_bill", example("council_tax_bill", amount_due_pence=-1), "amount_due_pence"),
    ("council_tax_bill", example("council_tax_bill", amount_due_pence=1.5), "amount_due_pence"),
    ("council_tax_bill", example("council_tax_bill", amount_due_pence=True), "amount_due_pence"),
    ("council_tax_bill", example("council_tax_bill", account_reference="#1"), "account_reference"),
    ("council_tax_bill", example("council_tax_bill", nation="ireland"), "nation"),
    ("tenancy_agreement", example("tenancy_agreement", end_date="2021-08-31"), "end_date"),
    ("tenancy_agreement", example("tenancy_agreement", tenancy_type="council"), "tenancy_type"),
    (
        "tenancy_agreement",
        example("tenancy_agreement", rent_pence_per_month=-5),
        "rent_pence_per_month",
    ),
    ("benefit_award_letter", example("benefit_award_letter", benefit="lottery"), "benefit"),
    ("benefit_award_letter", example("benefit_award_letter", frequency="daily"), "frequency"),
    ("benefit_award_letter", example("benefit_award_letter", end_date="2024-10-31"), "end_date"),
    ("benefit_award_letter", example("benefit_award_letter", amount_pence="100"), "amount_pence"),
    (
        "identity_document",
        example("identity_document", date_of_birth="2025-06-01"),
        "date_of_birth",
    ),
    (
        "identity_document",
        example("identity_document", date_of_birth="2030-01-01"),
        "date_of_birth",
    ),
    (
        "identity_document",
        example("identity_document", date_of_birth="1850-01-01"),
        "date_of_birth",
    ),
    ("identity_document", example("identity_document", issuing_country="gb"), "issuing_country"),
    ("identity_document", example("identity_document", issuing_country="GBRX"), "issuing_country"),
    ("identity_document", example("identity_document", document_type="library"), "document_type"),
    ("identity_document", example("identity_document", expires_on="1980-01-01"), "expires_on"),
    ("blue_badge", example("blue_badge", expires_on="soon"), "expires_on"),
    ("blue_badge", without("blue_badge", "holder_name"), "holder_name"),
    ("income_statement", example("income_statement", period_end="2025-01-31"), "period_end"),
    ("income_statement", example("income_statement", net_pence=210_001), "net_pence"),
    ("income_statement", example("income_statement", gross_pence=-1), "gross_pence"),
    ("household_members", {"members": []}, "members"),
    ("household_members", {"members": [member()] * 21}, "members"),
    (
        "household_members",
        household(member(date_of_birth="2026-01-01")),
        "members[1].date_of_birth",
    ),
    ("household_members", household(member(relationship="boss")), "members[1].relationship"),
    ("household_members", household(member(relationship="self")), "members[1].relationship"),
    ("household_members", household(member(nickname="Sammy")), "members[1].nickname"),
    ("household_members", household(member(), member(full_name=" ")), "members[2].full_name"),
    (
        "household_members",
        {"members": [{"date_of_birth": "2000-01-01", "relationship": "self"}]},
        "members[0].full_name",
    ),
]


@pytest.mark.parametrize(
    ("evidence_type", "claims", "field"),
    INVALID_CASES,
    ids=[f"{t}-{f}-{i}" for i, (t, _, f) in enumerate(INVALID_CASES)],
)
def test_invalid_claim_names_the_field(evidence_type: str, claims: object, field: str) -> None:
    assert field_refused(evidence_type, claims) == field


def test_claims_invalid_is_invalid_input_with_code_field_and_message() -> None:
    with pytest.raises(ClaimsInvalid) as caught:
        validate_claims("proof_of_address", example("proof_of_address", postcode="x1"), today=TODAY)

    error = caught.value
    assert isinstance(error, InvalidInput)
    assert error.code == "claims_invalid"
    assert error.field == error.extra["field"] == "postcode"
    assert "postcode" in error.detail
    assert "SW1A 1AA" in error.detail


@pytest.mark.parametrize("evidence_type", sorted(EVIDENCE_TYPES))
def test_unknown_fields_are_refused(evidence_type: str) -> None:
    claims = example(evidence_type, national_insurance_number="QQ123456C")
    assert field_refused(evidence_type, claims) == "national_insurance_number"


@pytest.mark.parametrize("claims", ["hello", None, 42, ["a"], {1: "x"}])
def test_claims_that_are_not_an_object_are_refused_without_a_field(claims: object) -> None:
    assert field_refused("blue_badge", claims) is None


def test_unknown_evidence_type() -> None:
    with pytest.raises(UnknownEvidenceType) as caught:
        validate_claims("library_card", {}, today=TODAY)
    assert caught.value.code == "unknown_evidence_type"
    assert isinstance(caught.value, InvalidInput)


@given(
    st.recursive(
        st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
        lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4),
        max_leaves=12,
    ),
    st.sampled_from(sorted(EVIDENCE_TYPES)),
)
def test_arbitrary_json_is_valid_or_claims_invalid(claims: object, evidence_type: str) -> None:
    with contextlib.suppress(ClaimsInvalid):  # anything else, e.g. TypeError, fails the test
        validate_claims(evidence_type, claims, today=TODAY)


# --- categories --------------------------------------------------------------------------------


def test_default_category_is_the_first() -> None:
    for kind in EVIDENCE_TYPES.values():
        assert resolve_category(kind.key, None) is kind.categories[0] is kind.default_category


def test_allowed_category_is_resolved() -> None:
    assert resolve_category("blue_badge", "vehicle") is Category.VEHICLE


@pytest.mark.parametrize("category", ["income", "not_a_category", ""])
def test_category_not_allowed_for_the_type(category: str) -> None:
    with pytest.raises(InvalidCategory) as caught:
        resolve_category("blue_badge", category)
    assert caught.value.code == "invalid_category"
    assert caught.value.extra["field"] == "category"
    assert "disability" in caught.value.detail


def test_resolve_category_for_unknown_type() -> None:
    with pytest.raises(UnknownEvidenceType):
        resolve_category("library_card", None)


@pytest.mark.parametrize("category", list(Category))
def test_every_category_has_label_and_dpv_term(category: Category) -> None:
    assert category.value == category.value.lower()
    assert category.label
    assert category.dpv_term.startswith("dpv-pd:")
    assert category.dpv_iri == "https://w3id.org/dpv/pd#" + category.dpv_term.removeprefix(
        "dpv-pd:"
    )


def test_special_categories() -> None:
    special = {c for c in Category if c.is_special_category}
    assert special == {Category.HEALTH_AND_CARE, Category.DISABILITY}


def test_every_type_files_under_known_categories_without_repeats() -> None:
    for kind in EVIDENCE_TYPES.values():
        assert kind.categories
        assert len(set(kind.categories)) == len(kind.categories)


# --- describe ------------------------------------------------------------------------------------


def test_describe_is_json_ready_and_lists_every_type() -> None:
    described = json.loads(json.dumps(describe()))

    assert [d["key"] for d in described] == list(EVIDENCE_TYPES)
    for entry in described:
        kind = EVIDENCE_TYPES[entry["key"]]
        assert entry["label"] == kind.label
        assert entry["default_category"] == kind.default_category.value
        assert [c["key"] for c in entry["categories"]] == [c.value for c in kind.categories]
        schema = entry["claims_schema"]
        body = schema["$defs"][schema["$ref"].rsplit("/", 1)[1]]
        assert body["additionalProperties"] is False
        assert body["description"]


# --- postcodes -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "normal"),
    [
        ("sw1a 1aa", "SW1A 1AA"),
        ("SW1A1AA", "SW1A 1AA"),
        ("  ec1a   1bb ", "EC1A 1BB"),
        ("gir0aa", "GIR 0AA"),
        ("m1 1ae", "M1 1AE"),
        ("B33 8TH", "B33 8TH"),
        ("cr2 6xh", "CR2 6XH"),
        ("DN55 1PT", "DN55 1PT"),
        ("w1a 0ax", "W1A 0AX"),
    ],
)
def test_postcode_normalisation(raw: str, normal: str) -> None:
    assert normalise_postcode(raw) == normal


@pytest.mark.parametrize(
    "raw",
    ["", "SW1A", "12345", "SW1A 1A", "SW1A 1AAA", "1SW 1AA", "SWIA 1AA", "BFPO 123", "ŞW1A 1AA"],
)
def test_invalid_postcodes(raw: str) -> None:
    with pytest.raises(ClaimsInvalid) as caught:
        normalise_postcode(raw)
    assert caught.value.field == "postcode"


_LETTER = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_SECOND = st.sampled_from("ABCDEFGHJKLMNOPQRSTUVWXY")  # I and Z never come second
_DIGIT = st.sampled_from("0123456789")
_OUTWARD = st.one_of(
    st.tuples(_LETTER, _DIGIT),
    st.tuples(_LETTER, _DIGIT, _DIGIT),
    st.tuples(_LETTER, _SECOND, _DIGIT),
    st.tuples(_LETTER, _SECOND, _DIGIT, _DIGIT),
    st.tuples(_LETTER, _DIGIT, _LETTER),
    st.tuples(_LETTER, _SECOND, _DIGIT, _LETTER),
).map("".join)
_INWARD = st.tuples(_DIGIT, _LETTER, _LETTER).map("".join)


@st.composite
def typed_postcodes(draw: st.DrawFn) -> tuple[str, str]:
    """A valid postcode as a person might type it, and its canonical form."""
    canonical = f"{draw(_OUTWARD)} {draw(_INWARD)}"
    chars = [c.lower() if draw(st.booleans()) else c for c in canonical.replace(" ", "")]
    spaces = draw(
        st.lists(st.integers(0, len(chars)), max_size=16 - len(chars))  # 16: the length cap
    )
    for position in sorted(spaces, reverse=True):
        chars.insert(position, " ")
    return "".join(chars), canonical


@given(typed_postcodes())
def test_valid_postcodes_normalise_idempotently(case: tuple[str, str]) -> None:
    typed, canonical = case
    normal = normalise_postcode(typed)
    assert normal == canonical
    assert normalise_postcode(normal) == normal
    assert CANONICAL_POSTCODE.match(normal)


def outcome(raw: str) -> str | ClaimsInvalid:
    try:
        return normalise_postcode(raw)
    except ClaimsInvalid as error:
        return error


@given(st.text(max_size=24))
def test_any_string_is_a_postcode_or_claims_invalid(raw: str) -> None:
    result = outcome(raw)
    if isinstance(result, ClaimsInvalid):
        assert result.field == "postcode"
    else:
        assert CANONICAL_POSTCODE.match(result)
        assert normalise_postcode(result) == result


@given(st.text(max_size=24))
def test_any_postcode_claim_is_valid_or_claims_invalid(raw: str) -> None:
    claims = example("proof_of_address", postcode=raw)
    expected = outcome(raw)
    if isinstance(expected, ClaimsInvalid):
        assert field_refused("proof_of_address", claims) == "postcode"
    else:
        assert validate_claims("proof_of_address", claims, today=TODAY)["postcode"] == expected
