"""DPoP proof verification: proofs from two independent libraries pass; every attack fails.

Valid proofs are signed by joserfc and by PyJWT. Each refusal asserts the internal
``reason`` so a test cannot pass by failing for the wrong cause.
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
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, OKPKey, RSAKey

from connectors import dpop
from connectors.errors import DPoPError, InvalidDPoPProof, UseDPoPNonce

NOW = 1_800_000_000
URL = "https://pds.example/oauth/token"
SECRET = b"0123456789abcdef0123456789abcdef"
DROP = object()

EC_KEY = ECKey.generate_key("P-256")
OTHER_EC_KEY = ECKey.generate_key("P-256")
ED_KEY = OKPKey.generate_key("Ed25519")


@pytest.fixture(scope="module")
def rsa_key() -> RSAKey:
    return RSAKey.generate_key(2048)


class Replay:
    """An in-memory stand-in for the shared jti store: records, answers 'seen before?'."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, int]] = []

    def __call__(self, jti: str, jkt: str, expires_at: int) -> bool:
        hit = any(call[:2] == (jti, jkt) for call in self.calls)
        self.calls.append((jti, jkt, expires_at))
        return hit


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def claims(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": "POST", "htu": URL, "iat": NOW}
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def header(key: Any, alg: str, **changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"typ": "dpop+jwt", "alg": alg, "jwk": key.as_dict()}
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def proof(
    key: Any = EC_KEY, alg: str = "ES256", payload: dict[str, Any] | None = None, **hdr: Any
) -> str:
    """A proof signed by joserfc."""
    body = json.dumps(claims() if payload is None else payload)
    return jws.serialize_compact(header(key, alg, **hdr), body, key, algorithms=[alg])


def unsigned(hdr: dict[str, Any], payload: dict[str, Any], signature: bytes = b"") -> str:
    first = b64(json.dumps(hdr).encode()) + "." + b64(json.dumps(payload).encode())
    return first + "." + b64(signature)


def verify(value: str, **kwargs: Any) -> dpop.DPoPProof:
    options: dict[str, Any] = {"method": "POST", "url": URL, "now": NOW, "seen": Replay()}
    options.update(kwargs)
    return dpop.verify_proof(value, **options)


def refused(value: str, reason: str, **kwargs: Any) -> InvalidDPoPProof:
    with pytest.raises(InvalidDPoPProof) as caught:
        verify(value, **kwargs)
    assert caught.value.reason == reason
    return caught.value


# --- accepted ----------------------------------------------------------------------------


def test_joserfc_es256_proof_is_accepted() -> None:
    result = verify(proof())
    assert result.jkt == EC_KEY.thumbprint()
    assert result.alg == "ES256"
    assert result.iat == NOW
    assert result.expires_at == NOW + dpop.IAT_WINDOW


def test_pyjwt_es256_proof_is_accepted() -> None:
    private = ec.generate_private_key(ec.SECP256R1())
    public_jwk = pyjwt.algorithms.ECAlgorithm.to_jwk(private.public_key(), as_dict=True)
    token = pyjwt.encode(
        claims(), private, algorithm="ES256", headers={"typ": "dpop+jwt", "jwk": public_jwk}
    )
    assert verify(token).jkt == dpop.thumbprint(public_jwk)


def test_joserfc_ed25519_proof_is_accepted() -> None:
    assert verify(proof(ED_KEY, "Ed25519")).jkt == ED_KEY.thumbprint()


def test_pyjwt_eddsa_proof_is_accepted_without_a_security_warning() -> None:
    # PyJWT signs only "EdDSA"; joserfc would warn on it, and warnings fail this suite.
    private = ed25519.Ed25519PrivateKey.generate()
    public_jwk = pyjwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    token = pyjwt.encode(
        claims(), private, algorithm="EdDSA", headers={"typ": "dpop+jwt", "jwk": public_jwk}
    )
    assert verify(token).alg == "EdDSA"


def test_rsa_proof_with_a_header_over_512_bytes_is_accepted(rsa_key: RSAKey) -> None:
    token = proof(rsa_key, "PS256")
    assert len(token.split(".")[0]) > 512  # joserfc's default limit would refuse it
    assert verify(token).jkt == rsa_key.thumbprint()


def test_pyjwt_rs256_proof_is_accepted(rsa_key: RSAKey) -> None:
    public_jwk = rsa_key.as_dict()
    pem = rsa_key.as_pem(private=True)
    token = pyjwt.encode(
        claims(), pem, algorithm="RS256", headers={"typ": "dpop+jwt", "jwk": public_jwk}
    )
    assert verify(token).alg == "RS256"


async def test_async_variant_accepts_then_refuses_the_replay() -> None:
    stored: set[tuple[str, str]] = set()

    async def seen(jti: str, jkt: str, expires_at: int) -> bool:
        hit = (jti, jkt) in stored
        stored.add((jti, jkt))
        return hit

    token = proof()
    await dpop.verify_proof_async(token, method="POST", url=URL, now=NOW, seen=seen)
    with pytest.raises(InvalidDPoPProof) as caught:
        await dpop.verify_proof_async(token, method="POST", url=URL, now=NOW, seen=seen)
    assert caught.value.reason == "replayed_jti"


# --- algorithm and key attacks -----------------------------------------------------------


def test_alg_none_is_refused() -> None:
    token = unsigned({"typ": "dpop+jwt", "alg": "none", "jwk": EC_KEY.as_dict()}, claims())
    refused(token, "alg_not_allowed")


def test_hs256_signed_with_the_public_key_bytes_is_refused() -> None:
    secret = EC_KEY.as_pem(private=False)
    hdr = {"typ": "dpop+jwt", "alg": "HS256", "jwk": EC_KEY.as_dict()}
    first = unsigned(hdr, claims()).rsplit(".", 1)[0]
    signature = hmac.new(secret, first.encode(), hashlib.sha256).digest()
    refused(f"{first}.{b64(signature)}", "alg_not_allowed")


@pytest.mark.parametrize("algorithms", [["HS256"], ["ES256", "none"], []])
def test_mac_none_or_empty_allow_lists_are_a_programming_error(algorithms: list[str]) -> None:
    with pytest.raises(ValueError, match="asymmetric"):
        verify(proof(), algorithms=algorithms)


def test_alg_outside_the_allow_list_is_refused() -> None:
    refused(proof(ECKey.generate_key("P-384"), "ES384"), "alg_not_allowed")


def test_alg_that_does_not_fit_the_key_is_refused() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    public_jwk = pyjwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    token = unsigned({"typ": "dpop+jwt", "alg": "ES256", "jwk": public_jwk}, claims())
    first = token.rsplit(".", 1)[0]
    refused(f"{first}.{b64(private.sign(first.encode()))}", "alg_key_mismatch")


def test_eddsa_proof_with_a_bad_signature_is_refused() -> None:
    private = ed25519.Ed25519PrivateKey.generate()
    public_jwk = pyjwt.algorithms.OKPAlgorithm.to_jwk(private.public_key(), as_dict=True)
    hdr = {"typ": "dpop+jwt", "alg": "EdDSA", "jwk": public_jwk}
    refused(unsigned(hdr, claims(), bytes(64)), "bad_signature")


def test_rsa_modulus_that_does_not_decode_is_refused() -> None:
    assert dpop.rsa_modulus_bits("A") == 0
    jwk = {"kty": "RSA", "n": "A", "e": "AQAB"}
    refused(unsigned({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk}, claims()), "rsa_key_size")


def test_eddsa_with_an_ed448_key_is_refused() -> None:
    private = ed448.Ed448PrivateKey.generate()
    x = private.public_key().public_bytes_raw()
    jwk = {"kty": "OKP", "crv": "Ed448", "x": b64(x)}
    first = unsigned({"typ": "dpop+jwt", "alg": "EdDSA", "jwk": jwk}, claims()).rsplit(".", 1)[0]
    refused(f"{first}.{b64(private.sign(first.encode()))}", "alg_key_mismatch")


def test_signature_by_another_key_than_the_jwk_is_refused() -> None:
    first = proof(EC_KEY).rsplit(".", 1)[0]
    forged = jws.serialize_compact(
        json.loads(base64.urlsafe_b64decode(first.split(".")[0] + "==")),
        json.dumps(claims()),
        OTHER_EC_KEY,
        algorithms=["ES256"],
    )
    refused(forged, "bad_signature")


def test_a_remembered_header_does_not_vouch_for_a_proof_signed_by_another_key() -> None:
    # A checked header is remembered by its exact text; a forger who copies a client's
    # header (and so its jwk) but signs with their own key still fails on the signature.
    valid = proof(EC_KEY)
    verify(valid)
    first = f"{valid.split('.')[0]}.{b64(json.dumps(claims()).encode())}"
    der = OTHER_EC_KEY.get_op_key("sign").sign(first.encode(), ec.ECDSA(hashes.SHA256()))
    r, s = decode_dss_signature(der)
    refused(f"{first}.{b64(r.to_bytes(32, 'big') + s.to_bytes(32, 'big'))}", "bad_signature")


def test_a_refused_header_is_checked_again_not_remembered() -> None:
    token = proof(jwk=EC_KEY.as_dict(private=True))
    refused(token, "private_key_in_header")
    refused(token, "private_key_in_header")


def test_missing_jwk_is_refused() -> None:
    refused(proof(jwk=DROP), "missing_jwk")


def test_private_ec_key_in_the_jwk_header_is_refused() -> None:
    refused(proof(jwk=EC_KEY.as_dict(private=True)), "private_key_in_header")


def test_private_rsa_key_in_the_jwk_header_is_refused(rsa_key: RSAKey) -> None:
    private = rsa_key.as_dict(private=True)
    # The whole private JWK would overflow the header limit first; "d" alone fits.
    jwk = {name: private[name] for name in ("kty", "n", "e", "d")}
    refused(proof(rsa_key, "PS256", jwk=jwk), "private_key_in_header")


def test_symmetric_key_in_the_jwk_header_is_refused() -> None:
    refused(proof(jwk={"kty": "oct", "k": b64(b"k" * 32)}), "private_key_in_header")


def test_jwk_with_an_unknown_key_type_is_refused() -> None:
    refused(proof(jwk={"kty": "XYZ", "x": "abc"}), "unsupported_key_type")


def test_jwk_with_an_unknown_curve_is_refused() -> None:
    # joserfc raises a bare KeyError here; it must still become a refusal (found by hypothesis).
    refused(proof(jwk={**EC_KEY.as_dict(), "crv": "P?256"}), "bad_jwk")


def test_deeply_nested_json_is_refused_not_crashed() -> None:
    deep_header = b64(b'{"typ":"dpop+jwt","alg":"ES256","x":' + b"[" * 700 + b"]" * 700 + b"}")
    with pytest.raises(InvalidDPoPProof):
        verify(f"{deep_header}.e30.")
    deep_claims = b"[" * 1500 + b"]" * 1500  # signed, so it reaches the claims parser
    token = jws.serialize_compact(
        header(EC_KEY, "ES256"), deep_claims, EC_KEY, algorithms=["ES256"]
    )
    refused(token, "malformed")


@pytest.mark.parametrize("kty", [["EC"], {"EC": 1}, None])
def test_jwk_whose_kty_is_not_a_string_is_refused(kty: object) -> None:
    refused(proof(jwk={**EC_KEY.as_dict(), "kty": kty}), "unsupported_key_type")


def test_alg_that_is_not_a_string_is_refused_even_with_a_set_allow_list() -> None:
    hdr = {"typ": "dpop+jwt", "alg": ["ES256"], "jwk": EC_KEY.as_dict()}
    refused(unsigned(hdr, claims()), "alg_not_allowed", algorithms=frozenset({"ES256"}))


def test_small_rsa_key_is_refused_before_joserfc_can_warn() -> None:
    weak_n = (1 << 1023) | 1  # a 1024-bit modulus: refused by size before any import
    jwk = {"kty": "RSA", "n": b64(weak_n.to_bytes(128, "big")), "e": "AQAB"}
    refused(unsigned({"typ": "dpop+jwt", "alg": "PS256", "jwk": jwk}, claims()), "rsa_key_size")


def test_extra_jwk_members_do_not_change_the_thumbprint() -> None:
    decorated = {**EC_KEY.as_dict(), "kid": "my-key", "alg": "ES256", "use": "sig"}
    result = verify(proof(jwk=decorated))
    assert result.jkt == EC_KEY.thumbprint()
    assert set(result.public_jwk) == {"crv", "kty", "x", "y"}


def test_crit_header_is_refused() -> None:
    # joserfc will not sign an unknown crit parameter; PyJWT signs what it is given.
    token = pyjwt.encode(
        claims(),
        EC_KEY.as_pem(private=True),
        algorithm="ES256",
        headers={"typ": "dpop+jwt", "jwk": EC_KEY.as_dict(), "crit": ["exp"], "exp": NOW},
    )
    refused(token, "crit_not_understood")


def test_header_over_the_raised_limit_is_refused() -> None:
    token = proof(kid="k" * dpop.MAX_HEADER_LENGTH)
    refused(token, "header_too_large")


def test_proof_over_the_size_limit_is_refused() -> None:
    refused("a" * (dpop.MAX_PROOF_LENGTH + 1), "too_large")


@pytest.mark.parametrize("value", ["", "a.b", "a.b.c.d", "not a jwt", "é.é.é"])
def test_malformed_proof_is_refused(value: str) -> None:
    refused(value, "malformed")


def test_payload_that_is_not_an_object_is_refused() -> None:
    token = jws.serialize_compact(header(EC_KEY, "ES256"), b"[1]", EC_KEY, algorithms=["ES256"])
    refused(token, "malformed")


# --- typ confusion -----------------------------------------------------------------------


@pytest.mark.parametrize(
    "typ",
    [DROP, "JWT", "at+jwt", "client-authentication+jwt", "application/dpop+jwt", "DPoP+JWT"],
)
def test_typ_other_than_dpop_jwt_is_refused(typ: object) -> None:
    refused(proof(typ=typ), "wrong_typ")


def test_client_assertion_presented_as_a_proof_is_refused() -> None:
    assertion = jws.serialize_compact(
        {"typ": "client-authentication+jwt", "alg": "ES256", "kid": "k1"},
        json.dumps({"iss": "c", "sub": "c", "aud": URL, "exp": NOW + 60, "jti": "j"}),
        EC_KEY,
        algorithms=["ES256"],
    )
    refused(assertion, "wrong_typ")


# --- request binding ---------------------------------------------------------------------


def test_wrong_htm_is_refused() -> None:
    refused(proof(), "htm_mismatch", method="GET")


def test_htm_is_case_sensitive() -> None:
    refused(proof(payload=claims(htm="post")), "htm_mismatch")


@pytest.mark.parametrize(
    "htu",
    [
        "https://pds.example/oauth/par",  # other path
        "https://evil.example/oauth/token",  # other host
        "http://pds.example/oauth/token",  # other scheme
        "https://pds.example:8443/oauth/token",  # other port
        "https://pds.example/oauth/token/",  # trailing slash is another resource
        "https://user@pds.example/oauth/token",  # userinfo
        "/oauth/token",  # not absolute
    ],
)
def test_htu_for_another_resource_is_refused(htu: str) -> None:
    refused(proof(payload=claims(htu=htu)), "htu_mismatch")


def test_query_and_fragment_of_the_request_are_ignored() -> None:
    verify(proof(), url=URL + "?client_id=abc#frag")


def test_query_in_htu_is_ignored() -> None:
    verify(proof(payload=claims(htu=URL + "?a=1")))


def test_htu_is_compared_after_normalisation() -> None:
    verify(proof(payload=claims(htu="HTTPS://PDS.Example:443/oauth/./%74oken")))


@pytest.mark.parametrize(
    ("given", "normal"),
    [
        ("https://pds.example", "https://pds.example/"),
        ("HTTP://PDS.EXAMPLE:80/a", "http://pds.example/a"),
        ("https://pds.example:443/a/b/../c", "https://pds.example/a/c"),
        ("https://pds.example/a/%7e%2fb", "https://pds.example/a/~%2Fb"),
        ("https://pds.example/a?q=1#f", "https://pds.example/a"),
        ("https://[::1]:8443/x", "https://[::1]:8443/x"),
        ("https://pds.example/..", "https://pds.example/"),
    ],
)
def test_normalize_htu(given: str, normal: str) -> None:
    assert dpop.normalize_htu(given) == normal


@pytest.mark.parametrize(
    "url", ["ftp://pds.example/", "https:///path", "https://pds.example/%zz", "https://h:99999/"]
)
def test_normalize_htu_rejects_what_cannot_be_a_request_url(url: str) -> None:
    with pytest.raises(ValueError, match=r".+"):
        dpop.normalize_htu(url)


# --- access token binding ----------------------------------------------------------------


def test_ath_matches_the_rfc_9449_example() -> None:
    token = "Kz~8mXK1EalYznwH-LC-1fBAo.4Ljp~zsPE_NeO.gxU"
    assert dpop.access_token_hash(token) == "fUHyO2r2Z3DZ53EsNrWBb0xWXoaNy59IiKCAqksmQEo"


def test_proof_with_the_right_ath_is_accepted() -> None:
    token = "access-token-value"
    verify(proof(payload=claims(ath=dpop.access_token_hash(token))), access_token=token)


def test_missing_ath_when_a_token_is_presented_is_refused() -> None:
    refused(proof(), "missing_ath", access_token="access-token-value")


def test_wrong_ath_is_refused() -> None:
    other = dpop.access_token_hash("another-token")
    refused(proof(payload=claims(ath=other)), "ath_mismatch", access_token="access-token-value")


def test_key_other_than_the_token_binding_is_refused() -> None:
    refused(proof(), "jkt_mismatch", expected_jkt=OTHER_EC_KEY.thumbprint())


def test_key_matching_the_token_binding_is_accepted() -> None:
    verify(proof(), expected_jkt=EC_KEY.thumbprint())


# --- replay and time ---------------------------------------------------------------------


def test_replayed_jti_is_refused() -> None:
    replay = Replay()
    token = proof()
    verify(token, seen=replay)
    refused(token, "replayed_jti", seen=replay)


def test_seen_gets_the_jti_the_jkt_and_when_to_forget_them() -> None:
    replay = Replay()
    result = verify(proof(payload=claims(jti="the-jti", iat=NOW - 10)), seen=replay)
    assert replay.calls == [("the-jti", result.jkt, NOW - 10 + dpop.IAT_WINDOW)]


def test_seen_is_not_consulted_for_a_refused_proof() -> None:
    replay = Replay()
    refused(proof(), "htm_mismatch", method="GET", seen=replay)
    assert replay.calls == []


def test_iat_too_old_is_refused() -> None:
    refused(proof(payload=claims(iat=NOW - dpop.IAT_WINDOW - 1)), "iat_too_old")


def test_iat_in_the_future_is_refused() -> None:
    refused(proof(payload=claims(iat=NOW + dpop.IAT_WINDOW + 1)), "iat_in_future")


@pytest.mark.parametrize("offset", [-dpop.IAT_WINDOW, dpop.IAT_WINDOW, 0.5])
def test_iat_at_the_window_edges_is_accepted(offset: float) -> None:
    verify(proof(payload=claims(iat=NOW + offset)))


@pytest.mark.parametrize("iat", ["1800000000", True, None, [NOW]])
def test_iat_that_is_not_a_number_is_refused(iat: object) -> None:
    refused(proof(payload=claims(iat=iat)), "bad_iat")


@pytest.mark.parametrize(
    ("name", "reason"),
    [("jti", "bad_jti"), ("htm", "htm_mismatch"), ("htu", "htu_mismatch"), ("iat", "bad_iat")],
)
def test_missing_required_claim_is_refused(name: str, reason: str) -> None:
    refused(proof(payload=claims(**{name: DROP})), reason)


@pytest.mark.parametrize("jti", ["", "j" * (dpop.MAX_JTI_LENGTH + 1), 12345])
def test_unacceptable_jti_is_refused(jti: object) -> None:
    refused(proof(payload=claims(jti=jti)), "bad_jti")


# --- server nonces -----------------------------------------------------------------------


def use_dpop_nonce(value: str, reason: str, **kwargs: Any) -> UseDPoPNonce:
    with pytest.raises(UseDPoPNonce) as caught:
        verify(value, nonce_secret=SECRET, **kwargs)
    assert caught.value.reason == reason
    assert dpop.nonce_is_fresh(SECRET, caught.value.nonce, NOW)
    return caught.value


def test_missing_nonce_answers_use_dpop_nonce_with_a_fresh_one() -> None:
    error = use_dpop_nonce(proof(), "missing_nonce")
    assert error.code == "use_dpop_nonce"
    verify(proof(payload=claims(nonce=error.nonce)), nonce_secret=SECRET)


def test_wrong_nonce_answers_use_dpop_nonce() -> None:
    use_dpop_nonce(proof(payload=claims(nonce="made-up")), "stale_nonce")


def test_nonce_from_another_secret_answers_use_dpop_nonce() -> None:
    other = dpop.issue_nonce(b"x" * 32, NOW)
    use_dpop_nonce(proof(payload=claims(nonce=other)), "stale_nonce")


def test_stale_nonce_answers_use_dpop_nonce() -> None:
    old = dpop.issue_nonce(SECRET, NOW - 2 * dpop.NONCE_PERIOD)
    use_dpop_nonce(proof(payload=claims(nonce=old)), "stale_nonce")


def test_nonce_from_the_previous_period_is_still_fresh() -> None:
    recent = dpop.issue_nonce(SECRET, NOW - dpop.NONCE_PERIOD)
    verify(proof(payload=claims(nonce=recent)), nonce_secret=SECRET)


def test_nonce_that_is_not_a_string_answers_use_dpop_nonce() -> None:
    use_dpop_nonce(proof(payload=claims(nonce=123)), "stale_nonce")


def test_nonce_is_checked_after_the_signature() -> None:
    forged = proof().rsplit(".", 1)[0] + "." + b64(b"\x00" * 64)
    with pytest.raises(InvalidDPoPProof):
        verify(forged, nonce_secret=SECRET)


def test_nonce_helper_refuses_short_secrets() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        dpop.issue_nonce(b"short", NOW)


def test_nonce_helper_copes_with_any_text() -> None:
    assert not dpop.nonce_is_fresh(SECRET, "nonce-é-\x00", NOW)


def test_nonce_is_stable_within_a_period_and_changes_across_periods() -> None:
    start = NOW - NOW % dpop.NONCE_PERIOD
    first = dpop.issue_nonce(SECRET, start)
    assert dpop.issue_nonce(SECRET, start + dpop.NONCE_PERIOD - 1) == first
    assert dpop.issue_nonce(SECRET, start + dpop.NONCE_PERIOD) != first


# --- thumbprints -------------------------------------------------------------------------

RFC7638_N = (
    "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPeb"
    "WKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQ"
    "MicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2Nc"
    "Rwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
)


def test_thumbprint_matches_the_rfc_7638_example() -> None:
    jwk = {"kty": "RSA", "n": RFC7638_N, "e": "AQAB", "alg": "RS256", "kid": "2011-04-29"}
    assert dpop.thumbprint(jwk) == "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"


def test_thumbprint_agrees_with_joserfc_for_every_key_type(rsa_key: RSAKey) -> None:
    for key in (EC_KEY, ED_KEY, rsa_key):
        assert dpop.thumbprint({**key.as_dict(), "kid": "x", "use": "sig"}) == key.thumbprint()


@pytest.mark.parametrize("jwk", [{"kty": "oct", "k": "abc"}, {"kty": "EC", "crv": "P-256"}, {}])
def test_thumbprint_refuses_unusable_keys(jwk: dict[str, str]) -> None:
    with pytest.raises(ValueError, match=r"keys only|required member"):
        dpop.thumbprint(jwk)


# --- what the caller and the logs see ----------------------------------------------------


def test_refusals_say_nothing_specific_and_keep_the_cause_for_logs() -> None:
    error = refused(proof(), "htm_mismatch", method="GET")
    assert error.code == "invalid_dpop_proof"
    assert error.detail == str(error) == "The DPoP proof is not valid."
    assert error.extra == {}
    assert error.oauth_body() == {
        "error": "invalid_dpop_proof",
        "error_description": "The DPoP proof is not valid.",
    }
    assert "refused because: htm_mismatch" in error.__notes__
    assert isinstance(error, DPoPError)


def test_library_errors_are_chained_as_the_cause() -> None:
    error = refused("a.b.c", "malformed")
    assert error.__cause__ is not None


def test_every_refusal_reads_the_same_to_the_client() -> None:
    details = {
        refused(proof(), "htm_mismatch", method="GET").detail,
        refused(proof(typ="at+jwt"), "wrong_typ").detail,
        refused(proof(jwk=EC_KEY.as_dict(private=True)), "private_key_in_header").detail,
    }
    assert len(details) == 1


# --- tampering ---------------------------------------------------------------------------

VALID_PROOF = proof(payload=claims(jti="tamper-target"))


@settings(max_examples=300, deadline=None)
@given(position=st.integers(0, len(VALID_PROOF) - 1), byte=st.integers(0, 255))
def test_any_single_byte_change_to_a_valid_proof_is_refused(position: int, byte: int) -> None:
    original = VALID_PROOF.encode()
    if original[position] == byte:
        byte = (byte + 1) % 256
    changed = (original[:position] + bytes([byte]) + original[position + 1 :]).decode("latin-1")
    verify(VALID_PROOF)  # the original passes with a fresh replay store...
    with pytest.raises(InvalidDPoPProof):
        verify(changed)  # ...and no single-byte variant does


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=5),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner),
    max_leaves=8,
)
FIELDS = st.sampled_from(["typ", "alg", "jwk", "kid", "crit", "kty", "crv", "x", "y", "n", "e"])
CLAIMS = st.sampled_from(["jti", "htm", "htu", "iat", "nonce", "ath"])
LIKELY = st.sampled_from(["dpop+jwt", "ES256", "EdDSA", "EC", "P-256", "POST", URL, NOW])


@settings(max_examples=200, deadline=None)
@given(
    hdr=st.dictionaries(FIELDS, JSON_VALUES | LIKELY | st.just(EC_KEY.as_dict()), max_size=6),
    payload=st.dictionaries(CLAIMS, JSON_VALUES | LIKELY, max_size=6),
    signature=st.binary(max_size=70),
)
def test_arbitrary_json_is_refused_never_crashes(
    hdr: dict[str, Any], payload: dict[str, Any], signature: bytes
) -> None:
    with pytest.raises(DPoPError):
        verify(unsigned(hdr, payload, signature), nonce_secret=SECRET, access_token="token")
