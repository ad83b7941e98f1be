"""The consent page's words, from plain values: who, what, why, how long, on what basis."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest

from connectors.oauth.consent_screen import duration_words, screen
from consent.requests import parse_authorization_details


def request(**changes: Any) -> Any:
    body: dict[str, Any] = {
        "type": "pds_data_request",
        "items": [
            {"evidence_type": "proof_of_address", "required": True},
            {"evidence_type": "council_tax_bill", "claims": ["band"], "required": False},
            {"category": "household", "documents": True, "required": False},
        ],
        "purpose": {
            "term": "sector-publicservices:HousingWelfareManagement",
            "description": "To check your address for your housing application.",
        },
        "lawful_basis": "public_task",
        "access": "ongoing",
        "duration": "P30D",
    }
    body.update(changes)
    return parse_authorization_details(json.dumps([body]))


def shown(**changes: Any) -> Any:
    return screen(
        request(**changes),
        client_name="Housing Options",
        organisation="Example Borough Council",
        kind="council_service",
        privacy_notice_url=None,
    )


def test_each_item_is_named_in_words_with_what_it_is_limited_to() -> None:
    items = shown().items
    assert [(i.index, i.label, i.required) for i in items] == [
        (0, "Proof of address", True),
        (1, "Council Tax bill", False),
        (2, "Anything you keep about your household", False),
    ]
    assert items[1].detail == "just the band"
    assert items[2].detail == "including the documents you uploaded"


def test_the_service_words_stand_beside_the_reviewed_purpose_label() -> None:
    view = shown()
    assert view.purpose_label == "Managing housing support"
    assert view.purpose_text == "To check your address for your housing application."
    assert view.kind == "a council service"


def test_a_public_task_is_not_presented_as_consent() -> None:
    view = shown()
    assert not view.basis_is_consent
    assert view.basis_article == "6(1)(e)"
    assert "public task" in view.basis


def test_consent_is_named_as_such() -> None:
    view = shown(
        lawful_basis="consent",
        purpose={"term": "dpv:ServiceProvision", "description": "To run the service."},
    )
    assert view.basis_is_consent
    assert view.basis == "your consent"


def test_one_off_and_ongoing_read_differently() -> None:
    assert "once" in shown(access="one_off", duration="PT12H").access
    assert "until the end date" in shown().access


@pytest.mark.parametrize(
    ("span", "words"),
    [
        (timedelta(days=30), "30 days"),
        (timedelta(days=1), "1 day"),
        (timedelta(hours=12), "12 hours"),
        (timedelta(minutes=90), "90 minutes"),
        (timedelta(seconds=45), "45 seconds"),
    ],
)
def test_durations_use_the_largest_whole_unit(span: timedelta, words: str) -> None:
    assert duration_words(span) == words
