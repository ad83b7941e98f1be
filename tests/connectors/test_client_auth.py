"""private_key_jwt client assertions (RFC 7523 as updated by RFC 10070).

Valid assertions are signed by joserfc and by PyJWT; every attack is refused with
``invalid_client`` and the internal ``reason`` it was refused for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import uuid
from typing import Any

import jwt as pyjwt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from connectors import client_auth
from connectors.client_auth import AuthenticatedClient
from connectors.errors import InvalidClient

NOW = 1_800_000_000
ISSUER = "https://pds.example"
TOKEN_ENDPOINT = "https://pds.example/oauth/token"
CLIENT = "council-housing"
DROP = object()

EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})
OTHER_EC_KEY = ECKey.generate_key("P-256", parameters={"kid": "ec-1"})


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048, parameters={"kid": "rsa-1"})


def jwks(*keys: Any, **extra: Any) -> dict[str, Any]:
    return {"keys": [{**key.as_dict(), **extra} for key in keys]}


class Replay:
    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, jti: str, client_id: str, expires_at: int) -> bool:
        hit = any(call[:2] == (jti, client_id) for call in self.calls)
        self.calls.append((jti, client_id, expires_at))
        return hit


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iss": CLIENT,
        "sub": CLIENT,
        "aud": ISSUER,
        "iat": NOW,
        "exp": NOW + 60,
        "jti": str(uuid.uuid4()),
    }
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def assertion(
    key: Any = EC_KEY, alg: str = "ES256", payload: dict[str, Any] | None = None, **hdr: Any
) -> str:
    """An assertion signed by joserfc."""
    protected: dict[str, Any] = {"typ": "client-authentication+jwt", "alg": alg, "kid": key.kid}
    protected.update(hdr)
    protected = {name: value for name, value in protected.items() if value is not DROP}
    body = json.dumps(claims() if payload is None else payload)
    return jws.serialize_compact(protected, body, key, algorithms=[alg])


def verify(value: str, **kwargs: Any) -> AuthenticatedClient:
    options: dict[str, Any] = {
        "client_id": CLIENT,
        "client_jwks": jwks(EC_KEY),
        "issuer": ISSUER,
        "now": NOW,
        "seen": Replay(),
    }
    options.update(kwargs)
    return client_auth.verify_client_assertion(value, **options)


def refused(value: str, reason: str, **kwargs: Any) -> InvalidClient:
    with pytest.raises(InvalidClient) as caught:
        verify(value, **kwargs)
    assert caught.value.reason == reason
    return caught.value


# --- accepted ----------------------------------------------------------------------------


def test_joserfc_es256_assertion_is_accepted() -> None:
    client = verify(assertion(payload=claims(jti="j-1")))
    assert client == AuthenticatedClient(
        client_id=CLIENT,
        kid="ec-1",
        jti="j-1",
        expires_at=NOW + 60 + client_auth.LEEWAY,
        explicitly_typed=True,
    )


def test_pyjwt_assertion_with_its_default_typ_is_accepted() -> None:
    token = pyjwt.encode(
        claims(), EC_KEY.as_pem(private=True), algorithm="ES256", headers={"kid": "ec-1"}
    )
    assert pyjwt.get_unverified_header(token)["typ"] == "JWT"
    assert not verify(token).explicitly_typed


def test_pyjwt_assertion_with_the_full_media_type_is_accepted() -> None:
    token = pyjwt.encode(
        claims(),
        EC_KEY.as_pem(private=True),
        algorithm="ES256",
        headers={"kid": "ec-1", "typ": "application/client-authentication+jwt"},
    )
    assert verify(token).explicitly_typed


@pytest.mark.parametrize("alg", ["PS256", "RS256"])
def test_rsa_assertions_are_accepted(rsa_key: RSAKey, alg: str) -> None:
    verify(assertion(rsa_key, alg), client_jwks=jwks(EC_KEY, rsa_key))


def test_pyjwt_ps256_assertion_is_accepted(rsa_key: RSAKey) -> None:
    token = pyjwt.encode(
        claims(), rsa_key.as_pem(private=True), algorithm="PS256", headers={"kid": "rsa-1"}
    )
    verify(token, client_jwks=jwks(rsa_key))


def test_aud_as_an_array_holding_only_the_issuer_is_accepted() -> None:
    verify(assertion(payload=claims(aud=[ISSUER])))


def test_key_declaring_its_alg_and_use_is_accepted() -> None:
    verify(assertion(), client_jwks=jwks(EC_KEY, alg="ES256", use="sig", key_ops=["verify"]))


def test_assertion_without_iat_is_accepted() -> None:
    verify(assertion(payload=claims(iat=DROP)))


async def test_async_variant_accepts_then_refuses_the_replay() -> None:
    stored: set[tuple[str, str]] = set()

    async def seen(jti: str, client_id: str, expires_at: int) -> bool:
        hit = (jti, client_id) in stored
        stored.add((jti, client_id))
        return hit

    token = assertion()

    async def check() -> AuthenticatedClient:
        return await client_auth.verify_client_assertion_async(
            token, client_id=CLIENT, client_jwks=jwks(EC_KEY), issuer=ISSUER, now=NOW, seen=seen
        )

    assert (await check()).client_id == CLIENT
    with pytest.raises(InvalidClient) as caught:
        await check()
    assert caught.value.reason == "replayed_jti"


# --- algorithms and keys -----------------------------------------------------------------


def test_alg_none_is_refused() -> None:
    hdr = b64(json.dumps({"alg": "none", "kid": "ec-1"}).encode())
    refused(f"{hdr}.{b64(json.dumps(claims()).encode())}.", "alg_not_allowed")


def test_hs256_signed_with_the_clients_public_key_is_refused() -> None:
    secret = EC_KEY.as_pem(private=False)
    hdr = b64(json.dumps({"alg": "HS256", "kid": "ec-1", "typ": "JWT"}).encode())
    first = f"{hdr}.{b64(json.dumps(claims()).encode())}"
    signature = hmac.new(secret, first.encode(), hashlib.sha256).digest()
    refused(f"{first}.{b64(signature)}", "alg_not_allowed")


def test_mac_algorithms_cannot_be_allowed() -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        verify(assertion(), algorithms=["ES256", "HS256"])


def test_alg_outside_the_allow_list_is_refused() -> None:
    p384 = ECKey.generate_key("P-384", parameters={"kid": "ec-384"})
    refused(assertion(p384, "ES384"), "alg_not_allowed", client_jwks=jwks(p384))


def test_key_used_with_another_alg_than_it_declares_is_refused(rsa_key: RSAKey) -> None:
    refused(assertion(rsa_key, "PS256"), "alg_key_mismatch", client_jwks=jwks(rsa_key, alg="RS256"))


def test_alg_that_does_not_fit_the_key_type_is_refused(rsa_key: RSAKey) -> None:
    token = assertion(rsa_key, "PS256", kid="ec-1")
    refused(token, "alg_key_mismatch")


def test_signature_by_another_key_with_the_same_kid_is_refused() -> None:
    refused(assertion(OTHER_EC_KEY), "bad_signature")


def test_unknown_kid_is_refused() -> None:
    refused(assertion(kid="not-registered"), "unknown_kid")


def test_missing_kid_is_refused() -> None:
    refused(assertion(kid=DROP), "missing_kid")


def test_ambiguous_kid_is_refused() -> None:
    refused(assertion(), "ambiguous_kid", client_jwks=jwks(EC_KEY, OTHER_EC_KEY))


def test_encryption_key_is_not_used_to_verify() -> None:
    refused(assertion(), "key_not_for_signing", client_jwks=jwks(EC_KEY, use="enc"))


def test_key_whose_ops_exclude_verify_is_not_used() -> None:
    refused(assertion(), "key_not_for_signing", client_jwks=jwks(EC_KEY, key_ops=["encrypt"]))


def test_registered_private_key_is_refused() -> None:
    private = {"keys": [EC_KEY.as_dict(private=True)]}
    refused(assertion(), "private_key_registered", client_jwks=private)


def test_registered_small_rsa_key_is_refused() -> None:
    weak_n = (1 << 1023) | 1  # a 1024-bit modulus: refused by size before any import
    small = {"kty": "RSA", "kid": "ec-1", "n": b64(weak_n.to_bytes(128, "big")), "e": "AQAB"}
    refused(assertion(), "rsa_key_size", client_jwks={"keys": [small]})


@pytest.mark.parametrize(
    "registered",
    [
        {},
        {"keys": "nope"},
        {"keys": [{"kid": "ec-1"}]},
        {"keys": [{"kid": "ec-1", "kty": ["EC"]}]},
        {"keys": [{"kid": "ec-1", "kty": "EC", "crv": "P-256", "x": 1, "y": 2}]},
    ],
)
def test_unusable_registration_is_refused(registered: dict[str, Any]) -> None:
    with pytest.raises(InvalidClient):
        verify(assertion(), client_jwks=registered)


def test_registered_key_that_does_not_import_is_refused() -> None:
    broken = {"kty": "EC", "kid": "ec-1", "crv": "P-256", "x": "AAAA", "y": "AAAA"}
    refused(assertion(), "bad_jwk", client_jwks={"keys": [broken]})


@pytest.mark.parametrize("payload", [b"not json", b"[1]"])
def test_signed_payload_that_is_not_a_claims_object_is_refused(payload: bytes) -> None:
    protected = {"typ": "client-authentication+jwt", "alg": "ES256", "kid": "ec-1"}
    refused(jws.serialize_compact(protected, payload, EC_KEY, algorithms=["ES256"]), "malformed")


@pytest.mark.parametrize(("issuer", "client_id"), [("", CLIENT), (ISSUER, "")])
def test_missing_issuer_or_client_id_is_a_programming_error(issuer: str, client_id: str) -> None:
    with pytest.raises(ValueError, match="must be given"):
        verify(assertion(), issuer=issuer, client_id=client_id)


def test_crit_header_is_refused() -> None:
    token = pyjwt.encode(
        claims(),
        EC_KEY.as_pem(private=True),
        algorithm="ES256",
        headers={"kid": "ec-1", "crit": ["exp"], "exp": NOW},
    )
    refused(token, "crit_not_understood")


def test_header_over_512_bytes_is_refused_deliberately() -> None:
    # An assertion header needs alg, typ and kid only: joserfc's 512-byte limit stays.
    refused(assertion(x5u="https://client.example/" + "x" * 500), "header_too_large")


@pytest.mark.parametrize("value", ["", "a.b", "a.b.c", "é.é.é"])
def test_malformed_assertion_is_refused(value: str) -> None:
    refused(value, "malformed")


def test_assertion_over_the_size_limit_is_refused() -> None:
    refused("a" * (client_auth.MAX_ASSERTION_LENGTH + 1), "too_large")


# --- typ confusion -----------------------------------------------------------------------


def test_dpop_proof_presented_as_an_assertion_is_refused() -> None:
    refused(assertion(typ="dpop+jwt", jwk=EC_KEY.as_dict()), "typ_confusion")


def test_access_token_presented_as_an_assertion_is_refused() -> None:
    refused(assertion(typ="at+jwt"), "typ_confusion")


@pytest.mark.parametrize("typ", ["consent+jwt", "application/at+jwt", "kb+jwt", ""])
def test_any_other_explicit_typ_is_refused(typ: str) -> None:
    refused(assertion(typ=typ), "typ_confusion")


def test_typ_that_is_not_a_string_is_refused() -> None:
    hdr = {"typ": ["client-authentication+jwt"], "alg": "ES256", "kid": "ec-1"}
    first = f"{b64(json.dumps(hdr).encode())}.{b64(json.dumps(claims()).encode())}"
    refused(f"{first}.{b64(bytes(64))}", "malformed")


@pytest.mark.parametrize("typ", [DROP, "JWT", "jwt"])
def test_untyped_assertion_is_refused_when_explicit_typing_is_required(typ: object) -> None:
    refused(assertion(typ=typ), "typ_required", require_explicit_typ=True)


def test_untyped_assertion_is_accepted_by_default() -> None:
    assert not verify(assertion(typ=DROP)).explicitly_typed


# --- parties -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "aud",
    [
        TOKEN_ENDPOINT,  # the pre-RFC 10070 habit: the endpoint, not the issuer
        ISSUER + "/",  # compared exactly, no normalisation
        [ISSUER, TOKEN_ENDPOINT],  # the issuer must be the sole audience
        [],
        "https://other-as.example",
        DROP,
    ],
)
def test_wrong_aud_is_refused(aud: object) -> None:
    refused(assertion(payload=claims(aud=aud)), "wrong_aud")


@pytest.mark.parametrize(
    "changes", [{"iss": "someone-else"}, {"sub": "someone-else"}, {"iss": DROP}, {"sub": DROP}]
)
def test_iss_and_sub_must_both_be_the_client(changes: dict[str, Any]) -> None:
    refused(assertion(payload=claims(**changes)), "iss_sub_mismatch")


def test_assertion_for_another_client_is_refused() -> None:
    refused(assertion(), "iss_sub_mismatch", client_id="another-client")


def test_unverified_client_id_reads_sub_only_to_find_the_registration() -> None:
    assert client_auth.unverified_client_id(assertion()) == CLIENT
    assert client_auth.unverified_client_id("garbage") is None
    assert client_auth.unverified_client_id(assertion(payload=claims(sub=7))) is None


# --- time and replay ---------------------------------------------------------------------


def test_expired_assertion_is_refused() -> None:
    refused(assertion(payload=claims(iat=NOW - 120, exp=NOW - client_auth.LEEWAY)), "expired")


def test_missing_exp_is_refused() -> None:
    refused(assertion(payload=claims(exp=DROP)), "missing_exp")


@pytest.mark.parametrize("exp", ["1800000060", True, None])
def test_exp_that_is_not_a_number_is_refused(exp: object) -> None:
    refused(assertion(payload=claims(exp=exp)), "missing_exp")


def test_too_long_lifetime_is_refused() -> None:
    refused(assertion(payload=claims(iat=DROP, exp=NOW + 3600)), "lifetime_too_long")


def test_too_long_lifetime_measured_from_iat_is_refused() -> None:
    exp = NOW + 60
    too_early = exp - client_auth.MAX_ASSERTION_LIFETIME - 1
    refused(assertion(payload=claims(iat=too_early, exp=exp)), "lifetime_too_long")


def test_lifetime_at_the_limit_is_accepted() -> None:
    verify(assertion(payload=claims(iat=NOW, exp=NOW + client_auth.MAX_ASSERTION_LIFETIME)))


def test_iat_in_the_future_is_refused() -> None:
    future = NOW + client_auth.LEEWAY + 1
    refused(assertion(payload=claims(iat=future, exp=future + 60)), "iat_in_future")


def test_exp_before_iat_is_refused() -> None:
    refused(assertion(payload=claims(iat=NOW, exp=NOW - 1)), "bad_iat")


def test_nbf_in_the_future_is_refused() -> None:
    refused(assertion(payload=claims(nbf=NOW + client_auth.LEEWAY + 1)), "not_yet_valid")


@pytest.mark.parametrize(("name", "value"), [("iat", "now"), ("nbf", False)])
def test_iat_or_nbf_that_is_not_a_number_is_refused(name: str, value: object) -> None:
    refused(assertion(payload=claims(**{name: value})), f"bad_{name}")


@pytest.mark.parametrize("jti", [DROP, "", 42, "j" * (client_auth.MAX_JTI_LENGTH + 1)])
def test_missing_or_unacceptable_jti_is_refused(jti: object) -> None:
    refused(assertion(payload=claims(jti=jti)), "missing_jti")


def test_replayed_jti_is_refused() -> None:
    replay = Replay()
    token = assertion()
    verify(token, seen=replay)
    refused(token, "replayed_jti", seen=replay)


def test_seen_gets_the_jti_the_client_and_when_to_forget_them() -> None:
    replay = Replay()
    verify(assertion(payload=claims(jti="the-jti")), seen=replay)
    assert replay.calls == [("the-jti", CLIENT, NOW + 60 + client_auth.LEEWAY)]


def test_seen_is_not_consulted_for_a_refused_assertion() -> None:
    replay = Replay()
    refused(assertion(payload=claims(aud=TOKEN_ENDPOINT)), "wrong_aud", seen=replay)
    assert replay.calls == []


# --- what the caller and the logs see ----------------------------------------------------


def test_refusals_say_nothing_specific() -> None:
    errors = [
        refused(assertion(kid="not-registered"), "unknown_kid"),
        refused(assertion(OTHER_EC_KEY), "bad_signature"),
        refused(assertion(payload=claims(aud=TOKEN_ENDPOINT)), "wrong_aud"),
    ]
    for error in errors:
        assert error.code == "invalid_client"
        assert error.detail == str(error) == "Client authentication failed."
        assert error.extra == {}
        assert error.oauth_body() == {
            "error": "invalid_client",
            "error_description": "Client authentication failed.",
        }


def test_the_reason_and_the_library_cause_are_kept_for_logs() -> None:
    error = refused("a.b.c", "malformed")
    assert error.__cause__ is not None
    assert "refused because: malformed" in error.__notes__


# --- tampering ---------------------------------------------------------------------------

VALID_ASSERTION = assertion(payload=claims(jti="tamper-target"))


@settings(max_examples=200, deadline=None)
@given(position=st.integers(0, len(VALID_ASSERTION) - 1), byte=st.integers(0, 255))
def test_any_single_byte_change_to_a_valid_assertion_is_refused(position: int, byte: int) -> None:
    original = VALID_ASSERTION.encode()
    if original[position] == byte:
        byte = (byte + 1) % 256
    changed = (original[:position] + bytes([byte]) + original[position + 1 :]).decode("latin-1")
    verify(VALID_ASSERTION)
    with pytest.raises(InvalidClient):
        verify(changed)


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
FIELDS = st.sampled_from(["typ", "alg", "kid", "crit", "jwk"])
CLAIMS = st.sampled_from(["iss", "sub", "aud", "exp", "iat", "nbf", "jti"])
LIKELY = st.sampled_from(["client-authentication+jwt", "ES256", "ec-1", CLIENT, ISSUER, NOW])


@settings(max_examples=200, deadline=None)
@given(
    hdr=st.dictionaries(FIELDS, JSON_VALUES | LIKELY, max_size=5),
    payload=st.dictionaries(CLAIMS, JSON_VALUES | LIKELY, max_size=7),
    signature=st.binary(max_size=70),
)
def test_arbitrary_json_is_refused_never_crashes(
    hdr: dict[str, Any], payload: dict[str, Any], signature: bytes
) -> None:
    token = f"{b64(json.dumps(hdr).encode())}.{b64(json.dumps(payload).encode())}.{b64(signature)}"
    with pytest.raises(InvalidClient):
        verify(token)
    client_auth.unverified_client_id(token)  # returns a value or None, never raises
