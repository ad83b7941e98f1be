"""Consent receipts: built from the folded grant, signed by the PDS, readable by anyone."""

from __future__ import annotations

import json
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt as pyjwt
import pytest

from consent import tokens
from consent.errors import InvalidToken
from consent.grants import (
    Approved,
    Expired,
    GrantEvent,
    GrantState,
    Refused,
    Requested,
    Revoked,
    RevokedBy,
    fold,
)
from consent.receipts import SCHEMA_VERSION, ReceiptParty, build_receipt
from consent.requests import parse_authorization_details

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ISSUER = "https://pds.example"
CITIZEN = "0193a7c2-citizen-internal-id"
SUBJECT = "pairwise-housing-3f9a"
GRANT = "01937d1c-0000-7000-8000-000000000001"
HOUSING = ReceiptParty(
    client_id="housing",
    name="Housing support",
    organisation="Exampleshire County Council",
    kind="council_service",
    contact_email="dpo@exampleshire.gov.uk",
    privacy_notice_url="https://exampleshire.gov.uk/privacy/housing",
)
CHARITY = ReceiptParty(
    client_id="housing",
    name="Warm Homes grants",
    organisation="Warm Homes Trust",
    kind="third_party",
    contact_email="privacy@warmhomes.example",
)
KEY = tokens.new_signing_key()
SIGNER = tokens.signer_from_private_bytes(KEY.kid, KEY.private_bytes)


def request(basis: str) -> Requested:
    details = [
        {
            "type": "pds_data_request",
            "items": [
                {"evidence_type": "council_tax_bill", "claims": ["band"], "required": True},
                {"category": "household", "required": False},
                {"category": "disability", "documents": True, "required": False},
            ],
            "purpose": {
                "term": "sector-publicservices:HousingWelfareManagement",
                "description": "To work out your housing support each month.",
            },
            "lawful_basis": basis,
            "access": "ongoing",
            "duration": "P30D",
        }
    ]
    data_request = parse_authorization_details(json.dumps(details))
    return Requested(at=T0, client_id="housing", request=data_request)


def at(minutes: float = 0, *, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, days=days)


def grant(basis: str = "consent", *later: GrantEvent, declined: tuple[int, ...] = ()) -> GrantState:
    approval = Approved(at=at(1), citizen_id=CITIZEN, declined=declined)
    return fold([request(basis), approval, *later])


def receipt(state: GrantState, client: ReceiptParty = HOUSING) -> dict[str, Any]:
    return build_receipt(
        state, grant_id=GRANT, receipt_id="rcpt-1", subject=SUBJECT, client=client, issuer=ISSUER
    )


# --- what a receipt says -------------------------------------------------------------------


def test_a_consent_receipt_has_every_mandatory_27560_field() -> None:
    built = receipt(grant("consent"))
    assert built["schema_version"] == SCHEMA_VERSION
    assert SCHEMA_VERSION.startswith("https://w3id.org/dpv/schema/dpv-27560#")
    assert (built["receipt_id"], built["record_id"], built["version"]) == ("rcpt-1", GRANT, 1)
    assert (built["pii_principal_id"], built["language"]) == (SUBJECT, "en")
    assert built["privacy_notice"] == HOUSING.privacy_notice_url
    assert built["purpose"] == {
        "term": "sector-publicservices:HousingWelfareManagement",
        "iri": "https://w3id.org/dpv/sector/publicservices#HousingWelfareManagement",
        "label": "Managing housing support",
        "description": "To work out your housing support each month.",
    }
    assert built["lawful_basis"]["basis"] == "consent"
    assert built["lawful_basis"]["dpv_term"] == "dpv:Consent"
    assert built["lawful_basis"]["article"] == "UK GDPR Art. 6(1)(a)"
    assert built["lawful_basis"]["is_consent"] is True
    assert built["pii_controllers"] == ["housing"]
    assert built["jurisdiction"]["law"] == "UK GDPR"
    assert built["storage_locations"] == [{"location": "GB", "party_id": ISSUER}]
    assert built["retention_period"]["duration"] == "P30D"
    assert built["recipient_third_parties"] == []
    assert (built["valid_from"], built["valid_until"]) == (
        "2026-03-02T09:01:00Z",
        "2026-04-01T09:01:00Z",
    )
    assert "withdraw your consent" in built["withdrawal_method"]["description"]
    assert built["withdrawal_method"]["api"] == f"POST /api/v1/me/grants/{GRANT}/revoke"
    assert built["events"] == [
        {
            "event_time": "2026-03-02T09:00:00Z",
            "event_type": "requested",
            "event_state": "dpv:ConsentRequested",
            "entity_id": "housing",
        },
        {
            "event_time": "2026-03-02T09:01:00Z",
            "event_type": "given",
            "event_state": "dpv:ConsentGiven",
            "entity_id": SUBJECT,
            "validity_duration": "P30D",
        },
    ]


def test_the_parties_are_the_client_as_controller_and_the_pds() -> None:
    client, pds = receipt(grant())["parties"]
    assert client == {
        "party_id": "housing",
        "party_name": "Exampleshire County Council",
        "service": "Housing support",
        "party_type": "council_service",
        "party_role": "dpv:DataController",
        "party_contact": "dpo@exampleshire.gov.uk",
        "privacy_notice": HOUSING.privacy_notice_url,
    }
    assert pds["party_id"] == pds["party_url"] == ISSUER
    assert pds["party_role"] == "dpv:DataProcessor"


def test_a_third_party_client_is_a_recipient() -> None:
    built = receipt(grant(), CHARITY)
    assert built["recipient_third_parties"] == ["housing"]
    assert built["privacy_notice"] is None


def test_a_public_task_receipt_says_the_approval_is_permission_not_consent() -> None:
    built = receipt(grant("public_task"))
    basis = built["lawful_basis"]
    assert (basis["basis"], basis["dpv_term"], basis["is_consent"]) == (
        "public_task",
        "dpv:PublicInterest",
        False,
    )
    assert basis["article"] == "UK GDPR Art. 6(1)(e)"
    assert "its public task" in basis["event_state_meaning"]
    assert "permission for the PDS to share" in basis["event_state_meaning"]
    assert "stop the sharing" in built["withdrawal_method"]["description"]
    assert built["events"][-1]["event_state"] == "dpv:ConsentGiven"


def test_pii_information_describes_each_granted_item() -> None:
    bill, household, disability = receipt(grant())["pii_information"]
    assert bill == {
        "label": "Council Tax bill",
        "evidence_type": "council_tax_bill",
        "category": None,
        "pii_types": ["dpv-pd:PhysicalAddress", "dpv-pd:Residency"],
        "claims": ["band"],
        "documents": False,
        "pii_optional": False,
        "necessity": "dpv:Required",
        "special_category": False,
    }
    assert household["label"] == "Household"
    assert (household["claims"], household["necessity"]) == (None, "dpv:Optional")
    assert disability["special_category"] is True
    assert disability["documents"] is True


def test_a_narrowed_grant_lists_only_the_items_kept() -> None:
    items = receipt(grant(declined=(1, 2)))["pii_information"]
    assert [item["evidence_type"] for item in items] == ["council_tax_bill"]
    items = receipt(grant(declined=(1,)))["pii_information"]
    assert [item["category"] for item in items] == [None, "disability"]


# --- the grant's life ----------------------------------------------------------------------


def test_a_withdrawal_by_the_citizen_is_version_two() -> None:
    built = receipt(grant("consent", Revoked(at=at(5), by=RevokedBy.CITIZEN)))
    assert built["version"] == 2
    assert built["status"] == "revoked"
    assert built["events"][-1] == {
        "event_time": "2026-03-02T09:05:00Z",
        "event_type": "withdrawn",
        "event_state": "dpv:ConsentWithdrawn",
        "entity_id": SUBJECT,
    }


@pytest.mark.parametrize(("by", "entity"), [(RevokedBy.CLIENT, "housing"), ("security", ISSUER)])
def test_a_revocation_by_anyone_else_is_recorded_as_theirs(by: str, entity: str) -> None:
    """The client giving a grant up, or the PDS ending it because a code was reused."""
    last = receipt(grant("consent", Revoked(at=at(5), by=RevokedBy(by))))["events"][-1]
    assert (last["event_type"], last["event_state"], last["entity_id"]) == (
        "revoked",
        "dpv:ConsentRevoked",
        entity,
    )


def test_an_expiry_is_recorded_at_the_expiry_time_by_the_pds() -> None:
    built = receipt(grant("consent", Expired(at=at(1, days=45))))
    assert built["version"] == 2
    assert built["events"][-1] == {
        "event_time": "2026-04-01T09:01:00Z",
        "event_type": "expired",
        "event_state": "dpv:ConsentExpired",
        "entity_id": ISSUER,
    }


def test_a_refusal_has_a_receipt_with_no_validity() -> None:
    state = fold([request("consent"), Refused(at=at(2), citizen_id=CITIZEN)])
    built = receipt(state)
    assert (built["version"], built["status"]) == (1, "refused")
    assert (built["valid_from"], built["valid_until"]) == (None, None)
    assert [event["event_state"] for event in built["events"]] == [
        "dpv:ConsentRequested",
        "dpv:ConsentRefused",
    ]
    assert built["events"][-1]["entity_id"] == SUBJECT


def test_no_receipt_before_a_decision_or_for_another_client() -> None:
    with pytest.raises(ValueError, match="decision"):
        receipt(fold([request("consent")]))
    other = ReceiptParty("other", "Other", "Other Org", "third_party", "x@example.org")
    with pytest.raises(ValueError, match="client"):
        receipt(grant(), other)


def test_the_internal_citizen_id_never_appears() -> None:
    assert CITIZEN not in json.dumps(
        receipt(grant("consent", Revoked(at=at(5), by=RevokedBy.CITIZEN)))
    )


def test_the_citizens_and_the_clients_copies_are_identical() -> None:
    assert receipt(grant()) == receipt(grant())


# --- signed receipts -----------------------------------------------------------------------


def test_a_signed_receipt_verifies_back_to_the_same_document() -> None:
    built = receipt(grant("public_task"))
    signed = tokens.sign_receipt(SIGNER, built, issuer=ISSUER, now=1_800_000_000)
    keys = {KEY.kid: dict(KEY.public_jwk)}
    verified = tokens.verify_receipt(signed, issuer=ISSUER, public_keys=keys, now=1_800_000_000)
    assert verified == built


def test_pyjwt_verifies_a_signed_receipt() -> None:
    built = receipt(grant())
    signed = tokens.sign_receipt(SIGNER, built, issuer=ISSUER, now=int(time.time()))
    assert pyjwt.get_unverified_header(signed) == {
        "typ": "pds-consent-receipt+jwt",
        "alg": "ES256",
        "kid": KEY.kid,
    }
    payload = pyjwt.decode(
        signed,
        key=pyjwt.PyJWK(dict(KEY.public_jwk)),
        algorithms=["ES256"],
        issuer=ISSUER,
        options={"require": ["iss", "iat"]},
    )
    assert payload.pop("iss") == ISSUER
    assert isinstance(payload.pop("iat"), int)
    assert payload == built


def test_a_receipt_signed_by_another_issuer_or_key_is_refused() -> None:
    built = receipt(grant())
    keys = {KEY.kid: dict(KEY.public_jwk)}
    signed = tokens.sign_receipt(SIGNER, built, issuer="https://evil.example", now=1_800_000_000)
    with pytest.raises(InvalidToken) as info:
        tokens.verify_receipt(signed, issuer=ISSUER, public_keys=keys, now=1_800_000_000)
    assert info.value.reason == "wrong_iss"
    signed = tokens.sign_receipt(SIGNER, built, issuer=ISSUER, now=1_800_000_000)
    other = tokens.new_signing_key()
    with pytest.raises(InvalidToken) as info:
        tokens.verify_receipt(
            signed, issuer=ISSUER, public_keys={other.kid: other.public_jwk}, now=1_800_000_000
        )
    assert info.value.reason == "unknown_kid"
    with pytest.raises(InvalidToken) as info:
        tokens.verify_receipt(signed, issuer=ISSUER, public_keys=keys, now=1_799_999_000)
    assert info.value.reason == "iat_in_future"
