"""Credential types: well formed, published as SD-JWT VC Type Metadata, and mapped onto
the consent vocabulary (evidence type + category) in a way the policy can decide on."""

from __future__ import annotations

import pytest

from credentials.claims import checked_claims
from credentials.errors import ClaimsRejected
from credentials.types import (
    BY_SLUG,
    LOCALE,
    TYPES,
    CredentialType,
    by_vct,
    resolve,
    type_metadata,
)
from pds.vault.evidence_types import EVIDENCE_TYPES

BASE = "https://pds.example/"


def test_slugs_and_claim_names_are_unique() -> None:
    assert len(BY_SLUG) == len(TYPES)
    for kind in TYPES:
        names = [claim.name for claim in kind.claims]
        assert len(set(names)) == len(names), kind.slug


@pytest.mark.parametrize("kind", TYPES, ids=lambda kind: kind.slug)
def test_each_type_maps_onto_an_evidence_type_and_one_of_its_categories(
    kind: CredentialType,
) -> None:
    assert kind.category in EVIDENCE_TYPES[kind.evidence_type].categories


def test_vct_lookup_by_url_and_slug() -> None:
    kind = BY_SLUG["blue-badge"]
    assert kind.vct(BASE) == "https://pds.example/vct/blue-badge/1"
    assert by_vct(kind.vct(BASE), BASE) is kind
    assert resolve("blue-badge", BASE) is kind
    assert resolve(kind.vct(BASE), BASE) is kind
    with pytest.raises(KeyError):
        resolve("https://elsewhere.example/vct/blue-badge/1", BASE)


def test_metadata_shape() -> None:
    kind = BY_SLUG["council-tax-reduction"]
    metadata = type_metadata(kind, BASE)
    assert metadata["vct"] == kind.vct(BASE)
    assert metadata["name"] == kind.name
    assert metadata["display"] == [
        {"locale": LOCALE, "name": kind.display_name, "description": kind.description}
    ]
    claims = {tuple(claim["path"]): claim for claim in metadata["claims"]}
    assert set(claims) == {(claim.name,) for claim in kind.claims}
    assert claims[("account_reference",)]["sd"] == "never"
    assert claims[("reduction_type",)]["sd"] == "always"
    assert claims[("valid_until",)]["mandatory"] is False
    assert claims[("given_name",)]["display"][0]["label"] == "First name"
    assert kind.always_shown == {"account_reference"}
    assert ("account_reference",) not in kind.disclosable


def test_claims_must_fit_the_type() -> None:
    kind = BY_SLUG["blue-badge"]
    good = {
        "given_name": "Ada",
        "family_name": "Lovelace",
        "badge_number": "BB-1",
        "valid_from": "2025-01-01",
        "valid_until": "2028-01-01",
    }
    assert checked_claims(kind, good) == good
    nested = {**good, "badge_number": {"number": "BB-1", "codes": [1, 2.5, True]}}
    assert checked_claims(kind, nested) == nested
    for bad in (
        {**good, "nino": "QQ"},
        {k: v for k, v in good.items() if k != "badge_number"},
        {**good, "badge_number": ""},
        {**good, "badge_number": None},
        {**good, "badge_number": float("nan")},
        {**good, "badge_number": 2**60},
        {**good, "badge_number": {"_sd": "x"}},
        {**good, "badge_number": {}},
        {**good, "badge_number": [[[[["deep"]]]]]},
        {**good, "badge_number": "x" * 1001},
    ):
        with pytest.raises(ClaimsRejected):
            checked_claims(kind, bad)
    without_optional = {
        "given_name": "A",
        "family_name": "B",
        "child_name": "C",
        "eligible_from": "2025-09-01",
    }
    assert checked_claims(BY_SLUG["free-school-meals"], without_optional) == without_optional
