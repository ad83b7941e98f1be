from __future__ import annotations

import copy
import json
from datetime import timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from consent.requests import (
    MAX_RAW_BYTES,
    DataItem,
    DataRequest,
    DataRequestNotAllowed,
    InvalidDataRequest,
    check_allowed,
    iso_duration,
    parse_authorization_details,
    to_authorization_details,
)
from consent.vocabulary import Access, LawfulBasis, Purpose
from pds.errors import InvalidInput
from pds.vault.evidence_types import EVIDENCE_TYPES, Category

ROOT = "authorization_details[0]"
EXAMPLE: dict[str, Any] = {
    "type": "pds_data_request",
    "items": [
        {"evidence_type": "council_tax_bill", "claims": ["postcode", "band"], "required": True},
        {"category": "household", "documents": True, "required": False},
    ],
    "purpose": {
        "term": "sector-publicservices:PublicServiceEligibilityAssessment",
        "description": "To check whether you can get a Council Tax single person discount.",
    },
    "lawful_basis": "public_task",
    "access": "one_off",
    "duration": "PT12H",
}


def details(**changes: Any) -> dict[str, Any]:
    body = copy.deepcopy(EXAMPLE)
    body.update(changes)
    return body


def item(**fields: Any) -> dict[str, Any]:
    return {"required": False} | fields


def parse(*objects: Any) -> DataRequest:
    return parse_authorization_details(json.dumps(list(objects)))


def refused_field(raw: str | bytes) -> str:
    with pytest.raises(InvalidDataRequest) as caught:
        parse_authorization_details(raw)
    return caught.value.field


# --- the valid shape --------------------------------------------------------------------------


def test_the_example_parses_into_typed_values() -> None:
    request = parse(EXAMPLE)
    assert request.purpose.term is Purpose.PUBLIC_SERVICE_ELIGIBILITY
    assert request.lawful_basis is LawfulBasis.PUBLIC_TASK
    assert request.access is Access.ONE_OFF
    assert request.duration == timedelta(hours=12)
    first, second = request.items
    assert first == DataItem(
        required=True, evidence_type="council_tax_bill", claims=("band", "postcode")
    )
    assert second == DataItem(required=False, category=Category.HOUSEHOLD, documents=True)


def test_claims_come_back_sorted_and_text_tidied() -> None:
    description = "  Cafe\u0301 discount check for your home.  "
    request = parse(details(purpose={"term": "dpv:ServiceProvision", "description": description}))
    assert request.items[0].claims == ("band", "postcode")
    assert request.purpose.description == "Caf\u00e9 discount check for your home."


def test_echoed_details_parse_back_to_the_same_request() -> None:
    request = parse(EXAMPLE)
    echoed = to_authorization_details(request)
    assert echoed[0]["duration"] == "PT12H"
    assert echoed[0]["items"][1] == {"required": False, "category": "household", "documents": True}
    assert parse_authorization_details(json.dumps(echoed)) == request


def test_bytes_are_accepted_as_well_as_text() -> None:
    assert parse_authorization_details(json.dumps([EXAMPLE]).encode()) == parse(EXAMPLE)


@pytest.mark.parametrize("key", sorted(EVIDENCE_TYPES))
def test_every_claim_of_every_type_can_be_asked_for(key: str) -> None:
    names = [f.encode_name for f in msgspec.structs.fields(EVIDENCE_TYPES[key].schema)]
    request = parse(details(items=[item(evidence_type=key, claims=names)]))
    assert request.items[0].claims == tuple(sorted(names))


@pytest.mark.parametrize("category", list(Category))
def test_a_category_alone_is_an_item(category: Category) -> None:
    assert parse(details(items=[item(category=category.value)])).items[0].category is category


@pytest.mark.parametrize(
    ("access", "duration", "expected"),
    [
        ("one_off", "PT5M", timedelta(minutes=5)),
        ("one_off", "P1D", timedelta(days=1)),
        ("ongoing", "P730D", timedelta(days=730)),
        ("ongoing", "P90DT12H", timedelta(days=90, hours=12)),
    ],
)
def test_durations_at_their_bounds_are_accepted(
    access: str, duration: str, expected: timedelta
) -> None:
    assert parse(details(access=access, duration=duration)).duration == expected


@pytest.mark.parametrize(
    ("span", "text"),
    [
        (timedelta(days=90), "P90D"),
        (timedelta(hours=12), "PT12H"),
        (timedelta(days=1, minutes=1, seconds=1), "P1DT1M1S"),
        (timedelta(minutes=5), "PT5M"),
        (timedelta(0), "PT0S"),
    ],
)
def test_durations_are_written_as_people_write_them(span: timedelta, text: str) -> None:
    assert iso_duration(span) == text
    assert msgspec.json.decode(json.dumps(text), type=timedelta) == span


# --- refusals, each naming its field ----------------------------------------------------------


def one(obj: Any) -> str:
    return json.dumps([obj])


TOO_LONG = "x" * 501
CASES: list[tuple[str, str, str]] = [
    ("not json", "[{", "authorization_details"),
    ("an object, not an array", json.dumps(EXAMPLE), "authorization_details"),
    ("an empty array", "[]", "authorization_details"),
    ("two requests", json.dumps([EXAMPLE, EXAMPLE]), "authorization_details"),
    ("not an object", "[1]", ROOT),
    ("another type", one(details(type="payment_initiation")), f"{ROOT}.type"),
    ("an unknown field", one(details(locations=["https://x"])), f"{ROOT}.locations"),
    ("no purpose", one({k: v for k, v in EXAMPLE.items() if k != "purpose"}), f"{ROOT}.purpose"),
    (
        "an unknown purpose",
        one(details(purpose={"term": "dpv:Marketing", "description": "For our newsletter."})),
        f"{ROOT}.purpose.term",
    ),
    (
        "a purpose without words",
        one(details(purpose={"term": "dpv:ServiceProvision"})),
        f"{ROOT}.purpose.description",
    ),
    (
        "a short description",
        one(details(purpose={"term": "dpv:ServiceProvision", "description": "  Because  "})),
        f"{ROOT}.purpose.description",
    ),
    (
        "a long description",
        one(details(purpose={"term": "dpv:ServiceProvision", "description": TOO_LONG})),
        f"{ROOT}.purpose.description",
    ),
    (
        "a newline in the description",
        one(details(purpose={"term": "dpv:ServiceProvision", "description": "Line one\nand two"})),
        f"{ROOT}.purpose.description",
    ),
    (
        "a bidi override in the description",
        one(
            details(
                purpose={"term": "dpv:ServiceProvision", "description": "Harmless \u202etxt.exe"}
            )
        ),
        f"{ROOT}.purpose.description",
    ),
    ("an unknown lawful basis", one(details(lawful_basis="because")), f"{ROOT}.lawful_basis"),
    ("an unknown access", one(details(access="forever")), f"{ROOT}.access"),
    ("a year", one(details(access="ongoing", duration="P1Y")), f"{ROOT}.duration"),
    ("seconds as a number", one(details(duration=3600)), f"{ROOT}.duration"),
    ("a negative duration", one(details(duration="-PT1H")), f"{ROOT}.duration"),
    ("too short", one(details(duration="PT4M59S")), f"{ROOT}.duration"),
    ("a long one-off", one(details(duration="P1DT1S")), f"{ROOT}.duration"),
    ("over two years", one(details(access="ongoing", duration="P731D")), f"{ROOT}.duration"),
    ("part seconds", one(details(duration="PT10M0.5S")), f"{ROOT}.duration"),
    ("no items", one(details(items=[])), f"{ROOT}.items"),
    ("21 items", one(details(items=[item(category="identity")] * 21)), f"{ROOT}.items"),
    ("an item naming nothing", one(details(items=[item()])), f"{ROOT}.items[0]"),
    (
        "an item without required",
        one(details(items=[{"category": "income"}])),
        f"{ROOT}.items[0].required",
    ),
    (
        "an unknown item field",
        one(details(items=[item(category="income", why="x")])),
        f"{ROOT}.items[0].why",
    ),
    (
        "an unknown type",
        one(details(items=[item(evidence_type="passport")])),
        f"{ROOT}.items[0].evidence_type",
    ),
    (
        "a very long type",
        one(details(items=[item(evidence_type="x" * 65)])),
        f"{ROOT}.items[0].evidence_type",
    ),
    (
        "an unknown category",
        one(details(items=[item(category="criminal")])),
        f"{ROOT}.items[0].category",
    ),
    (
        "a category the type is never filed under",
        one(details(items=[item(evidence_type="blue_badge", category="income")])),
        f"{ROOT}.items[0].category",
    ),
    (
        "claims without a type",
        one(details(items=[item(category="address", claims=["postcode"])])),
        f"{ROOT}.items[0].claims",
    ),
    (
        "an unknown claim",
        one(details(items=[item(evidence_type="blue_badge", claims=["holder_name", "photo"])])),
        f"{ROOT}.items[0].claims",
    ),
    (
        "a claim twice",
        one(details(items=[item(evidence_type="blue_badge", claims=["holder_name"] * 2)])),
        f"{ROOT}.items[0].claims",
    ),
    (
        "an empty claims list",
        one(details(items=[item(evidence_type="blue_badge", claims=[])])),
        f"{ROOT}.items[0].claims",
    ),
    (
        "documents with named claims",
        one(
            details(
                items=[item(evidence_type="blue_badge", claims=["holder_name"], documents=True)]
            )
        ),
        f"{ROOT}.items[0].documents",
    ),
    (
        "the same item twice",
        one(details(items=[item(category="income"), item(category="income")])),
        f"{ROOT}.items[1]",
    ),
    (
        "the same claims in another order",
        one(
            details(
                items=[
                    item(evidence_type="blue_badge", claims=["holder_name", "expires_on"]),
                    item(evidence_type="blue_badge", claims=["expires_on", "holder_name"]),
                ]
            )
        ),
        f"{ROOT}.items[1]",
    ),
]


@pytest.mark.parametrize(("raw", "field"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_details_are_refused_naming_the_field(raw: str, field: str) -> None:
    assert refused_field(raw) == field


@pytest.mark.parametrize("raw", [b"\xff", b'[{"type": "\xff"}]', '[{"type": "\ud800"}]'])
def test_text_that_is_not_utf8_is_refused(raw: str | bytes) -> None:
    assert refused_field(raw) == "authorization_details"


def test_oversized_details_are_refused_before_parsing() -> None:
    padding = " " * MAX_RAW_BYTES
    assert refused_field(json.dumps([EXAMPLE]) + padding) == "authorization_details"


def test_the_parse_error_is_invalid_input_and_answers_the_rfc_9396_error() -> None:
    with pytest.raises(InvalidInput) as caught:
        parse_authorization_details("[]")
    error = caught.value
    assert isinstance(error, InvalidDataRequest)
    assert error.code == "invalid_data_request"
    assert error.oauth_error == "invalid_authorization_details"
    assert error.extra == {"field": "authorization_details"}


def test_a_long_unknown_value_is_not_echoed_in_full() -> None:
    with pytest.raises(InvalidDataRequest) as caught:
        parse(details(lawful_basis="x" * 5000))
    assert len(caught.value.detail) < 400


# --- what the client is registered for --------------------------------------------------------

EVERY_CATEGORY = [c.value for c in Category]


def test_a_request_within_the_registration_passes() -> None:
    request = parse(EXAMPLE)
    check_allowed(
        request,
        purposes=[Purpose.PUBLIC_SERVICE_ELIGIBILITY],
        categories=["address", "residency", "household"],
    )


def test_a_purpose_outside_the_registration_is_refused() -> None:
    with pytest.raises(DataRequestNotAllowed) as caught:
        check_allowed(parse(EXAMPLE), purposes=["dpv:ServiceProvision"], categories=EVERY_CATEGORY)
    assert caught.value.code == "invalid_authorization_details"
    assert caught.value.field == f"{ROOT}.purpose.term"


def test_a_category_outside_the_registration_is_refused() -> None:
    with pytest.raises(DataRequestNotAllowed) as caught:
        check_allowed(
            parse(EXAMPLE),
            purposes=[Purpose.PUBLIC_SERVICE_ELIGIBILITY],
            categories=["address", "residency"],
        )
    assert caught.value.field == f"{ROOT}.items[1].category"
    assert "household" in caught.value.detail


def test_a_type_alone_needs_every_category_it_can_be_filed_under() -> None:
    request = parse(details(items=[item(evidence_type="benefit_award_letter")]))
    purposes = [request.purpose.term]
    with pytest.raises(DataRequestNotAllowed) as caught:
        check_allowed(request, purposes=purposes, categories=["benefits", "income"])
    assert "disability, health_and_care" in caught.value.detail
    narrowed = parse(details(items=[item(evidence_type="benefit_award_letter", category="income")]))
    check_allowed(narrowed, purposes=purposes, categories=["benefits", "income"])


def test_the_registration_error_is_not_a_parse_error() -> None:
    assert not issubclass(DataRequestNotAllowed, InvalidDataRequest)
    assert not issubclass(InvalidDataRequest, DataRequestNotAllowed)
    assert DataRequestNotAllowed.code != InvalidDataRequest.code


def test_an_item_naming_nothing_reaches_every_category() -> None:
    """The parser refuses such an item; the check must still not treat it as reaching none."""
    assert DataItem(required=True).categories() == frozenset(Category)


# --- the closed lists -------------------------------------------------------------------------


@pytest.mark.parametrize("purpose", list(Purpose))
def test_every_purpose_has_a_label_and_a_dpv_iri(purpose: Purpose) -> None:
    assert purpose.label
    assert purpose.iri.startswith("https://w3id.org/dpv")
    assert purpose.iri.endswith("#" + purpose.value.partition(":")[2])


def test_the_lawful_bases_are_the_article_6_list() -> None:
    assert [b.article for b in LawfulBasis] == [f"6(1)({p})" for p in "abcdef"]
    assert [b for b in LawfulBasis if b.is_consent] == [LawfulBasis.CONSENT]
    assert LawfulBasis.PUBLIC_TASK.dpv_term == "dpv:PublicInterest"


def test_one_off_grants_are_short() -> None:
    assert Access.ONE_OFF.max_duration <= timedelta(days=1) < Access.ONGOING.max_duration


# --- properties -------------------------------------------------------------------------------


def parse_or_refusal(raw: str) -> DataRequest | InvalidDataRequest:
    """Either outcome is fine for these properties; any other exception is a bug."""
    try:
        return parse_authorization_details(raw)
    except InvalidDataRequest as refused:
        return refused


_json = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=8),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=12,
)
_field_values: dict[str, st.SearchStrategy[Any]] = {
    "type": st.sampled_from(["pds_data_request", "other"]),
    "lawful_basis": st.sampled_from([*LawfulBasis, "nope"]),
    "access": st.sampled_from([*Access, "sometimes"]),
    "duration": st.sampled_from(["PT1M", "PT12H", "P1D", "P2D", "P730D", "P1Y", 5]),
}


@settings(max_examples=150, deadline=None)
@given(st.lists(_json, max_size=2) | _json)
def test_any_json_is_parsed_or_refused_cleanly(value: Any) -> None:
    outcome = parse_or_refusal(json.dumps(value))
    if isinstance(outcome, InvalidDataRequest):
        assert outcome.field.startswith("authorization_details")


@settings(max_examples=150, deadline=None)
@given(
    changes=st.dictionaries(st.sampled_from(sorted(_field_values)), st.none(), max_size=4).flatmap(
        lambda keys: st.fixed_dictionaries({k: _field_values[k] for k in keys})
    ),
    items=st.lists(
        st.fixed_dictionaries(
            {"required": st.booleans()},
            optional={
                "evidence_type": st.sampled_from([*EVIDENCE_TYPES, "nope"]),
                "category": st.sampled_from(EVERY_CATEGORY),
                "claims": st.lists(
                    st.sampled_from(["band", "postcode", "members", "x"]), max_size=3
                ),
                "documents": st.booleans(),
            },
        ),
        max_size=4,
    ),
)
def test_whatever_parses_keeps_the_rules(changes: dict[str, Any], items: list[Any]) -> None:
    request = parse_or_refusal(json.dumps([details(items=items, **changes)]))
    if isinstance(request, InvalidDataRequest):
        assert request.field.startswith("authorization_details")
        return
    assert request.duration <= request.access.max_duration
    assert len(set(request.items)) == len(request.items)
    for got in request.items:
        assert got.evidence_type is not None or got.category is not None
        kind = EVIDENCE_TYPES.get(got.evidence_type or "")
        if kind and got.category:
            assert got.category in kind.categories
        if got.claims is not None:
            assert kind is not None
            assert not got.documents
            assert list(got.claims) == sorted(set(got.claims))
    assert parse_authorization_details(json.dumps(to_authorization_details(request))) == request
