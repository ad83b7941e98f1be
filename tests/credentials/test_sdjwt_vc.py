"""The SD-JWT VC profile: what ``issue_vc`` refuses to sign and each ``verify_vc`` refusal."""

from __future__ import annotations

from typing import Any

import pytest

from credentials import sdjwt
from credentials.sdjwt import Check, InvalidCredential, KeyBindingPolicy
from credentials.sdjwt_vc import (
    MAX_LIFETIME,
    VC_TYP,
    StatusReference,
    issue_vc,
    verify_vc,
)

ISS = "https://pds.example/issuers/council-tax"
VCT = "https://pds.example/vct/blue-badge/1"
NOW = 1_800_000_000
CLAIMS = {"given_name": "Ada", "badge_number": "BB-1"}
STATUS = StatusReference(idx=7, uri="https://pds.example/status-lists/1")


def _issue(signer: sdjwt.SigningKey, holder_jwk: dict[str, Any], **changes: Any) -> str:
    args: dict[str, Any] = {
        "issuer": ISS,
        "vct": VCT,
        "claims": CLAIMS,
        "disclosable": [("given_name",), ("badge_number",)],
        "holder_jwk": holder_jwk,
        "now": NOW,
        "expires_at": NOW + 3600,
        "status": STATUS,
    }
    args.update(changes)
    return issue_vc(signer, **args)


def _verify(presentation: str, issuer_jwk: dict[str, Any], **changes: Any) -> Any:
    args: dict[str, Any] = {
        "trusted_issuers": {ISS: [issuer_jwk]},
        "now": NOW + 10,
        "key_binding": None,
    }
    args.update(changes)
    return verify_vc(presentation, **args)


def test_round_trip_with_key_binding_and_status(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    issued = _issue(issuer, holder_jwk)
    shown = sdjwt.present(
        issued, [("badge_number",)], holder=holder, audience="rp", nonce="n-1", now=NOW + 5
    )
    verified = _verify(
        shown, issuer_jwk, key_binding=KeyBindingPolicy(audience="rp", nonce="n-1"), vcts=[VCT]
    )
    assert verified.issuer == ISS
    assert verified.vct == VCT
    assert verified.issued_at == NOW
    assert verified.expires_at == NOW + 3600
    assert verified.status == STATUS
    assert verified.holder_jwk == holder_jwk
    assert verified.claims["badge_number"] == "BB-1"
    assert "given_name" not in verified.claims
    assert verified.key_binding is not None
    assert STATUS.to_json() == {"status_list": {"idx": 7, "uri": STATUS.uri}}


@pytest.mark.parametrize(
    "changes",
    [
        {"claims": {**CLAIMS, "iss": "x"}},
        {"claims": {**CLAIMS, "status": {}}},
        {"issuer": ""},
        {"vct": ""},
        {"expires_at": NOW},
        {"expires_at": NOW + MAX_LIFETIME + 1},
    ],
)
def test_issue_refuses_what_verify_would_refuse(
    issuer: sdjwt.SigningKey, holder_jwk: dict[str, Any], changes: dict[str, Any]
) -> None:
    with pytest.raises(ValueError, match=r"."):
        _issue(issuer, holder_jwk, **changes)


def test_issue_refuses_a_private_holder_key(
    issuer: sdjwt.SigningKey, holder: sdjwt.SigningKey
) -> None:
    with pytest.raises(ValueError, match="public key only"):
        _issue(issuer, holder.key.as_dict(private=True))


def test_unknown_issuer_and_wrong_type(
    issuer: sdjwt.SigningKey, issuer_jwk: dict[str, Any], holder_jwk: dict[str, Any]
) -> None:
    issued = _issue(issuer, holder_jwk)
    with pytest.raises(InvalidCredential) as unknown:
        _verify(issued, issuer_jwk, trusted_issuers={"https://other.example": [issuer_jwk]})
    assert unknown.value.check is Check.UNKNOWN_ISSUER
    with pytest.raises(InvalidCredential) as wrong:
        _verify(issued, issuer_jwk, vcts=["https://pds.example/vct/other/1"])
    assert wrong.value.check is Check.WRONG_VCT


def _hand_made(
    issuer: sdjwt.SigningKey,
    claims: dict[str, Any],
    disclosable: list[tuple[str, ...]] | None = None,
) -> str:
    return sdjwt.issue(claims, disclosable or [], issuer, typ=VC_TYP)


@pytest.mark.parametrize(
    ("claims", "disclosable", "check"),
    [
        ({"iss": ISS, "iat": NOW}, [], Check.MISSING_VCT),
        ({"iss": ISS, "vct": "", "iat": NOW}, [], Check.MISSING_VCT),
        ({"iss": ISS, "vct": VCT}, [], Check.MISSING_IAT),
        ({"iss": ISS, "vct": VCT, "iat": True}, [], Check.MISSING_IAT),
        ({"iss": ISS, "vct": VCT, "iat": NOW + 3600}, [], Check.IAT_IN_FUTURE),
        ({"iss": ISS, "vct": VCT, "iat": NOW}, [("vct",)], Check.DISCLOSED_REGISTERED_CLAIM),
        ({"iss": ISS, "vct": VCT, "iat": NOW, "cnf": {"x5t": "a"}}, [], Check.BAD_CNF),
        ({"iss": ISS, "vct": VCT, "iat": NOW, "cnf": "key"}, [], Check.BAD_CNF),
        ({"iss": ISS, "vct": VCT, "iat": NOW, "status": {"x": 1}}, [], Check.BAD_STATUS),
        (
            {
                "iss": ISS,
                "vct": VCT,
                "iat": NOW,
                "status": {"status_list": {"idx": -1, "uri": "u"}},
            },
            [],
            Check.BAD_STATUS,
        ),
        (
            {"iss": ISS, "vct": VCT, "iat": NOW, "status": {"status_list": {"idx": 1, "uri": ""}}},
            [],
            Check.BAD_STATUS,
        ),
        (
            {
                "iss": ISS,
                "vct": VCT,
                "iat": NOW,
                "status": {"status_list": {"idx": True, "uri": "u"}},
            },
            [],
            Check.BAD_STATUS,
        ),
    ],
)
def test_each_profile_refusal(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    claims: dict[str, Any],
    disclosable: list[tuple[str, ...]],
    check: Check,
) -> None:
    with pytest.raises(InvalidCredential) as refused:
        _verify(_hand_made(issuer, claims, disclosable), issuer_jwk)
    assert refused.value.check is check


def test_no_cnf_or_status_is_reported_as_absent(
    issuer: sdjwt.SigningKey, issuer_jwk: dict[str, Any]
) -> None:
    verified = _verify(_hand_made(issuer, {"iss": ISS, "vct": VCT, "iat": NOW}), issuer_jwk)
    assert verified.holder_jwk is None
    assert verified.status is None
    assert verified.expires_at is None


def test_a_key_binding_jwt_without_a_policy_is_refused(
    issuer: sdjwt.SigningKey,
    issuer_jwk: dict[str, Any],
    holder: sdjwt.SigningKey,
    holder_jwk: dict[str, Any],
) -> None:
    shown = sdjwt.present(
        _issue(issuer, holder_jwk), [], holder=holder, audience="rp", nonce="n", now=NOW
    )
    with pytest.raises(InvalidCredential) as refused:
        _verify(shown, issuer_jwk)
    assert refused.value.check is Check.KEY_BINDING_UNEXPECTED
