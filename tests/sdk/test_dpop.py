"""The SDK's proofs and assertions, checked by the server's own verifiers: an independent
check that what the SDK signs is what the PDS accepts, and that it signs nothing else."""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from connectors.client_auth import verify_client_assertion
from connectors.dpop import issue_nonce, thumbprint, verify_proof
from connectors.errors import InvalidDPoPProof, UseDPoPNonce
from connectors.oauth.pkce import verifier_matches
from connectors.sdk.auth import ClientAuth, Pkce, callback_params, checked_code
from connectors.sdk.dpop import DPoPSigner, NonceCache, htu
from connectors.sdk.errors import AccessDenied, AuthorizationResponseError
from connectors.sdk.keys import generate_signing_key, private_key, public_jwk

ISSUER = "https://pds.example.gov.uk"
URL = ISSUER + "/connect/v1/grants/6f1c/data"
SECRET = b"n" * 32


def never_seen(_jti: str, _jkt: str, _expires_at: int) -> bool:
    return False


def decoded(part: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4)))
    return loaded


def unverified_parts(token: str) -> tuple[dict[str, Any], dict[str, Any]]:
    header, payload, _ = token.split(".")
    return decoded(header), decoded(payload)


@pytest.mark.parametrize(
    "key",
    [
        None,
        ec.generate_private_key(ec.SECP256R1()),
        ed25519.Ed25519PrivateKey.generate(),
        rsa.generate_private_key(public_exponent=65537, key_size=2048),
    ],
    ids=["generated", "ES256", "Ed25519", "PS256"],
)
def test_a_resource_proof_verifies_with_the_servers_verifier(key: object) -> None:
    signer = DPoPSigner(key)  # type: ignore[arg-type]
    now = int(time.time())

    proof = signer.proof("get", URL + "?claims=postcode", access_token="token-123", now=now)

    verified = verify_proof(
        proof, method="GET", url=URL, now=now, seen=never_seen, access_token="token-123"
    )
    assert verified.jkt == signer.jkt == thumbprint(signer.public_jwk)
    header, claims = unverified_parts(proof)
    assert header["typ"] == "dpop+jwt"
    assert "d" not in header["jwk"]
    assert claims["htu"] == URL  # the query is not part of htu
    assert set(claims) == {"jti", "htm", "htu", "iat", "ath"}


def test_each_proof_has_its_own_jti() -> None:
    signer = DPoPSigner()
    jtis = {unverified_parts(signer.proof("GET", URL))[1]["jti"] for _ in range(20)}
    assert len(jtis) == 20


def test_a_proof_for_another_token_method_or_url_is_refused() -> None:
    signer = DPoPSigner()
    now = int(time.time())
    proof = signer.proof("GET", URL, access_token="token-123", now=now)
    for changes, reason in (
        ({"access_token": "token-456"}, "ath_mismatch"),
        ({"method": "POST"}, "htm_mismatch"),
        ({"url": ISSUER + "/connect/v1/events"}, "htu_mismatch"),
    ):
        args = {"method": "GET", "url": URL, "access_token": "token-123", **changes}
        with pytest.raises(InvalidDPoPProof) as refused:
            verify_proof(proof, now=now, seen=never_seen, **args)  # type: ignore[arg-type]
        assert refused.value.reason == reason


def test_the_token_endpoint_nonce_round_trip() -> None:
    signer, nonces = DPoPSigner(), NonceCache()
    now = int(time.time())
    token_url = ISSUER + "/oauth/token"
    first = signer.proof("POST", token_url, nonce=nonces.get(token_url), now=now)
    with pytest.raises(UseDPoPNonce) as asked:
        verify_proof(
            first, method="POST", url=token_url, now=now, seen=never_seen, nonce_secret=SECRET
        )
    nonces.learn(token_url, {"dpop-nonce": asked.value.nonce})
    nonces.learn(token_url, {})  # an answer without a nonce forgets nothing
    assert nonces.get(ISSUER + "/connect/v1/events") == issue_nonce(SECRET, now)  # per origin
    assert nonces.get("https://other.example.gov.uk/oauth/token") is None

    retry = signer.proof("POST", token_url, nonce=nonces.get(token_url), now=now)

    verified = verify_proof(
        retry, method="POST", url=token_url, now=now, seen=never_seen, nonce_secret=SECRET
    )
    assert verified.jkt == signer.jkt


def test_htu_drops_query_and_fragment_only() -> None:
    assert htu("https://pds.example/a/b?x=1#f") == "https://pds.example/a/b"
    assert htu("http://127.0.0.1:8000") == "http://127.0.0.1:8000/"


def test_a_client_assertion_verifies_with_the_servers_verifier() -> None:
    key = generate_signing_key()
    auth = ClientAuth("client-abc", key, key.thumbprint())
    jwks = {"keys": [public_jwk(key, kid=key.thumbprint(), alg="ES256", use="sig")]}
    now = int(time.time())

    form = auth.form(ISSUER, grant_type="client_credentials")

    verified = verify_client_assertion(
        form["client_assertion"],
        client_id="client-abc",
        client_jwks=jwks,
        issuer=ISSUER,
        now=now,
        seen=never_seen,
        require_explicit_typ=True,
    )
    assert verified.client_id == "client-abc"
    assert form["client_assertion"] != auth.form(ISSUER)["client_assertion"]  # one use each


def test_pkce_verifier_matches_with_the_servers_check() -> None:
    pkce = Pkce()
    assert verifier_matches(pkce.verifier, pkce.challenge)
    assert not verifier_matches(Pkce().verifier, pkce.challenge)


def test_private_key_refuses_a_public_jwk() -> None:
    with pytest.raises(ValueError, match="private key"):
        private_key(public_jwk(generate_signing_key()))


def test_the_callback_is_checked_iss_first_then_state() -> None:
    good = f"https://svc.example/cb?code=abc&state=s1&iss={ISSUER}"
    assert checked_code(callback_params(good), state="s1", issuer=ISSUER) == "abc"
    # The path and query, as Flask's request.full_path or Django's get_full_path give it:
    as_framework = f"/cb?code=abc&state=s1&iss={ISSUER}"
    assert checked_code(callback_params(as_framework), state="s1", issuer=ISSUER) == "abc"
    for callback, code in (
        ("code=abc&state=s1", "iss_mismatch"),  # RFC 9207: a missing iss is refused too
        ("code=abc&state=s1&iss=https://evil.example", "iss_mismatch"),
        (f"code=abc&state=s2&iss={ISSUER}", "state_mismatch"),
        (f"state=s1&iss={ISSUER}", "missing_code"),
        (f"error=server_error&state=s1&iss={ISSUER}", "server_error"),
        (f"code=a&code=b&state=s1&iss={ISSUER}", "bad_callback"),
    ):
        with pytest.raises(AuthorizationResponseError) as refused:
            checked_code(callback_params(callback), state="s1", issuer=ISSUER)
        assert refused.value.code == code
        assert not isinstance(refused.value, AccessDenied)
    with pytest.raises(AccessDenied):
        checked_code(
            callback_params(f"?error=access_denied&state=s1&iss={ISSUER}"),
            state="s1",
            issuer=ISSUER,
        )
