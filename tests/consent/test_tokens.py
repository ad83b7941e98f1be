"""The PDS's JWTs: access tokens, consent tokens and receipts, signed and verified.

Valid tokens round-trip and interoperate with PyJWT in both directions; every attack is
refused with the generic ``invalid_token`` and the internal ``reason`` it was refused for.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt as pyjwt
import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature
from hypothesis import given, settings
from hypothesis import strategies as st
from joserfc import jws
from joserfc.jwk import ECKey, RSAKey

from consent import tokens
from consent.errors import InvalidGrant, InvalidToken
from consent.tokens import (
    ACCESS_TOKEN_LIFETIME,
    ACCESS_TOKEN_TYP,
    CONSENT_TOKEN_TYP,
    RECEIPT_TYP,
    TokenSigner,
)
from pds import errors

NOW = 1_800_000_000
ISSUER = "https://pds.example"
RESOURCE = "https://pds.example/connect/v1"
CLIENT = "council-housing"
SUBJECT = "pairwise-3f9a"
GRANT = "01937d1c-0000-7000-8000-000000000001"
JKT = "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"
DETAILS: list[dict[str, Any]] = [{"type": "pds_data_request", "purpose": {"term": "dpv:X"}}]
DROP = object()

KEY = tokens.new_signing_key()
SIGNER = tokens.signer_from_private_bytes(KEY.kid, KEY.private_bytes)
OTHER = tokens.new_signing_key()
OTHER_SIGNER = tokens.signer_from_private_bytes(OTHER.kid, OTHER.private_bytes)
KEYS: dict[str, Any] = {KEY.kid: dict(KEY.public_jwk)}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def access(now: int = NOW, **changes: Any) -> str:
    signer = changes.pop("signer", SIGNER)
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": RESOURCE,
        "client_id": CLIENT,
        "subject": SUBJECT,
        "jkt": JKT,
        "now": now,
        "jti": "at-1",
        "grant_id": GRANT,
        "authorization_details": DETAILS,
    }
    values.update(changes)
    return tokens.issue_access_token(signer, **values)


def consent(now: int = NOW, **changes: Any) -> str:
    values: dict[str, Any] = {
        "issuer": ISSUER,
        "client_id": CLIENT,
        "subject": SUBJECT,
        "grant_id": GRANT,
        "authorization_details": DETAILS,
        "now": now,
        "expires_at": now + 86_400,
        "jti": "ct-1",
    }
    values.update(changes)
    return tokens.issue_consent_token(SIGNER, **values)


def verify_access(token: str, **changes: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "typ": ACCESS_TOKEN_TYP,
        "issuer": ISSUER,
        "audience": RESOURCE,
        "public_keys": KEYS,
        "now": NOW,
    }
    values.update(changes)
    return tokens.verify_token(token, **values)


def verify_consent(token: str, **changes: Any) -> dict[str, Any]:
    return verify_access(token, **{"typ": CONSENT_TOKEN_TYP, "audience": ISSUER, **changes})


def access_claims(**changes: Any) -> dict[str, Any]:
    out: dict[str, Any] = {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": RESOURCE,
        "client_id": CLIENT,
        "iat": NOW,
        "exp": NOW + 300,
        "jti": "at-1",
        "cnf": {"jkt": JKT},
    }
    out.update(changes)
    return {name: value for name, value in out.items() if value is not DROP}


def es256(key: TokenSigner, signing_input: bytes) -> bytes:
    """A raw r||s ES256 signature, so a test can sign any header it likes."""
    private = key.key.private_key
    assert private is not None
    r, s = decode_dss_signature(private.sign(signing_input, ec.ECDSA(hashes.SHA256())))
    return r.to_bytes(32, "big") + s.to_bytes(32, "big")


def forge(
    claims: dict[str, Any] | None = None, *, signer: TokenSigner = SIGNER, **header: Any
) -> str:
    """A hand-built ES256 token: header members may be anything, or dropped with DROP."""
    protected: dict[str, Any] = {"typ": ACCESS_TOKEN_TYP, "alg": "ES256", "kid": signer.kid}
    protected.update(header)
    protected = {name: value for name, value in protected.items() if value is not DROP}
    body = access_claims() if claims is None else claims
    signing_input = f"{b64(json.dumps(protected).encode())}.{b64(json.dumps(body).encode())}"
    return f"{signing_input}.{b64(es256(signer, signing_input.encode()))}"


def refused(reason: str, check: Any, token: str, **changes: Any) -> InvalidToken:
    with pytest.raises(InvalidToken) as info:
        check(token, **changes)
    assert info.value.reason == reason
    assert str(info.value) == "The token is not valid."
    return info.value


# --- keys ----------------------------------------------------------------------------------


def test_the_kid_is_the_rfc7638_thumbprint_of_the_public_key() -> None:
    jwk = KEY.public_jwk
    required = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(required, sort_keys=True, separators=(",", ":")).encode()
    assert KEY.kid == b64(hashlib.sha256(canonical).digest())
    assert jwk["kid"] == KEY.kid
    assert (jwk["alg"], jwk["use"], jwk["kty"], jwk["crv"]) == ("ES256", "sig", "EC", "P-256")


def test_the_public_jwk_has_no_private_member_and_the_private_bytes_are_the_scalar() -> None:
    assert "d" not in KEY.public_jwk
    assert len(KEY.private_bytes) == 32
    d = SIGNER.key.as_dict(private=True)["d"]
    assert b64(KEY.private_bytes) == d


def test_private_material_stays_out_of_repr() -> None:
    d = str(SIGNER.key.as_dict(private=True)["d"])
    assert d not in repr(SIGNER)
    assert repr(KEY.private_bytes) not in repr(KEY)
    assert "private_bytes" not in repr(KEY)


def test_a_stored_key_is_refused_under_another_kid_or_with_the_wrong_length() -> None:
    with pytest.raises(ValueError, match="kid"):
        tokens.signer_from_private_bytes(OTHER.kid, KEY.private_bytes)
    with pytest.raises(ValueError, match="32 bytes"):
        tokens.signer_from_private_bytes(KEY.kid, KEY.private_bytes[:31])
    with pytest.raises(ValueError, match="private"):
        tokens.signer_from_private_bytes(KEY.kid, b"\x00" * 32)


def test_a_signer_needs_a_private_p256_key() -> None:
    public = ECKey.import_key(dict(KEY.public_jwk))
    with pytest.raises(ValueError, match="private P-256"):
        TokenSigner(kid=KEY.kid, key=public)
    with pytest.raises(ValueError, match="private P-256"):
        TokenSigner(kid=KEY.kid, key=ECKey.generate_key("P-384"))


# --- issuing and round trips ---------------------------------------------------------------


def test_an_access_token_round_trips_with_every_rfc9068_claim() -> None:
    token = access(scope="read")
    header = jws.extract_compact(token.encode()).headers()
    assert header == {"typ": "at+jwt", "alg": "ES256", "kid": KEY.kid}
    claims = verify_access(token)
    assert claims == {
        **access_claims(),
        "scope": "read",
        "grant_id": GRANT,
        "authorization_details": DETAILS,
    }


def test_optional_access_token_claims_are_left_out_when_not_given() -> None:
    token = access(grant_id=None, authorization_details=None)
    assert verify_access(token) == access_claims()


def test_a_consent_token_round_trips_addressed_to_the_pds() -> None:
    claims = verify_consent(consent())
    assert claims == {
        "iss": ISSUER,
        "sub": SUBJECT,
        "aud": ISSUER,
        "client_id": CLIENT,
        "iat": NOW,
        "exp": NOW + 86_400,
        "jti": "ct-1",
        "grant_id": GRANT,
        "authorization_details": DETAILS,
    }
    assert jws.extract_compact(consent().encode()).headers()["typ"] == "pds-consent+jwt"


def test_a_receipt_round_trips_without_its_jwt_members() -> None:
    receipt = {"receipt_id": "r-1", "schema_version": "s", "nested": {"é": [1, 2]}}
    signed = tokens.sign_receipt(SIGNER, receipt, issuer=ISSUER, now=NOW)
    assert jws.extract_compact(signed.encode()).headers()["typ"] == RECEIPT_TYP
    assert tokens.verify_receipt(signed, issuer=ISSUER, public_keys=KEYS, now=NOW) == receipt


def test_a_signed_document_that_is_not_a_receipt_is_refused() -> None:
    signed = tokens.sign_receipt(SIGNER, {"receipt_id": "r-1"}, issuer=ISSUER, now=NOW)
    refused(
        "not_a_receipt",
        lambda token: tokens.verify_receipt(token, issuer=ISSUER, public_keys=KEYS, now=NOW),
        signed,
    )


def test_a_receipt_without_its_signing_time_is_refused() -> None:
    body = {"receipt_id": "r-1", "schema_version": "s", "iss": ISSUER}
    refused(
        "missing_iat",
        lambda token: tokens.verify_receipt(token, issuer=ISSUER, public_keys=KEYS, now=NOW),
        forge(body, typ=RECEIPT_TYP),
    )


def test_a_retired_key_still_verifies_while_it_is_in_the_key_set() -> None:
    both = {**KEYS, OTHER.kid: dict(OTHER.public_jwk)}
    token = access(signer=OTHER_SIGNER)
    assert verify_access(token, public_keys=both)["jti"] == "at-1"


def test_the_typ_may_carry_the_application_prefix() -> None:
    assert verify_access(forge(typ="application/at+jwt"))["sub"] == SUBJECT


def test_an_aud_array_with_this_audience_alone_is_accepted() -> None:
    assert verify_access(forge(access_claims(aud=[RESOURCE])))["aud"] == [RESOURCE]


def test_expiry_and_issue_time_allow_the_leeway() -> None:
    token = access()
    assert verify_access(token, now=NOW + 300 + 4)
    assert verify_access(token, now=NOW - 5)


@pytest.mark.parametrize("lifetime", [0, -1, ACCESS_TOKEN_LIFETIME + 1, 3600])
def test_access_token_lifetimes_are_capped(lifetime: int) -> None:
    with pytest.raises(ValueError, match="lifetime"):
        access(lifetime=lifetime)


def test_issuing_refuses_what_the_verifier_would_refuse() -> None:
    with pytest.raises(ValueError, match="jkt"):
        access(jkt="")
    with pytest.raises(ValueError, match="expire"):
        consent(expires_at=NOW)
    with pytest.raises(ValueError, match="authorization_details"):
        consent(authorization_details=[])
    with pytest.raises(ValueError, match="'iss'"):
        tokens.sign_receipt(SIGNER, {"iss": "x"}, issuer=ISSUER, now=NOW)
    huge = [{"type": "pds_data_request", "text": "x" * tokens.MAX_TOKEN_LENGTH}]
    with pytest.raises(ValueError, match="exceeds"):
        consent(authorization_details=huge)


def test_verify_token_is_not_for_receipts() -> None:
    with pytest.raises(ValueError, match="verify_receipt"):
        verify_access(access(), typ=RECEIPT_TYP)


# --- PyJWT interoperability ----------------------------------------------------------------


def test_pyjwt_verifies_what_the_pds_signs() -> None:
    now = int(time.time())
    token = access(now=now)
    assert pyjwt.get_unverified_header(token)["typ"] == "at+jwt"
    claims = pyjwt.decode(
        token,
        key=pyjwt.PyJWK(dict(KEY.public_jwk)),
        algorithms=["ES256"],
        audience=RESOURCE,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert claims["cnf"] == {"jkt": JKT}

    ct = consent(now=now)
    assert pyjwt.get_unverified_header(ct)["typ"] == "pds-consent+jwt"
    pem = ECKey.import_key(dict(KEY.public_jwk)).as_pem()
    claims = pyjwt.decode(
        ct,
        key=pem,
        algorithms=["ES256"],
        audience=ISSUER,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    assert claims["grant_id"] == GRANT


def test_the_pds_verifies_what_pyjwt_signs_with_the_same_key() -> None:
    private = SIGNER.key.private_key
    assert private is not None
    pem = private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    token = pyjwt.encode(
        access_claims(), pem, algorithm="ES256", headers={"typ": "at+jwt", "kid": KEY.kid}
    )
    assert verify_access(token) == access_claims()
    consent_claims = access_claims(aud=ISSUER, grant_id=GRANT, authorization_details=DETAILS)
    consent_header = {"typ": CONSENT_TOKEN_TYP, "kid": KEY.kid}
    ct = pyjwt.encode(consent_claims, private, algorithm="ES256", headers=consent_header)
    assert verify_consent(ct)["grant_id"] == GRANT


def test_pyjwt_refuses_a_pds_token_signed_by_a_key_it_was_not_given() -> None:
    token = access(now=int(time.time()), signer=OTHER_SIGNER)
    with pytest.raises(pyjwt.InvalidSignatureError):
        pyjwt.decode(
            token,
            key=pyjwt.PyJWK(dict(KEY.public_jwk)),
            algorithms=["ES256"],
            audience=RESOURCE,
            issuer=ISSUER,
        )


# --- attacks on the header -----------------------------------------------------------------


def test_alg_none_is_refused_before_any_key_is_used() -> None:
    header = b64(json.dumps({"typ": "at+jwt", "alg": "none", "kid": KEY.kid}).encode())
    unsigned = f"{header}.{b64(json.dumps(access_claims()).encode())}."
    refused("alg_not_allowed", verify_access, unsigned)


def test_hs256_keyed_with_the_public_key_is_refused() -> None:
    """The classic key confusion: the attacker MACs with the public key's PEM bytes."""
    public_pem = ECKey.import_key(dict(KEY.public_jwk)).as_pem()
    header = b64(json.dumps({"typ": "at+jwt", "alg": "HS256", "kid": KEY.kid}).encode())
    signing_input = f"{header}.{b64(json.dumps(access_claims(sub='admin')).encode())}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    refused("alg_not_allowed", verify_access, f"{signing_input}.{b64(mac)}")
    # and with the JWK JSON as the secret
    secret = json.dumps(KEY.public_jwk).encode()
    mac = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    refused("alg_not_allowed", verify_access, f"{signing_input}.{b64(mac)}")


@pytest.mark.parametrize("alg", ["ES384", "RS256", "PS256", "EdDSA", "Ed25519", "es256", 256])
def test_every_other_alg_is_refused(alg: Any) -> None:
    refused("alg_not_allowed", verify_access, forge(alg=alg))


def test_a_header_without_alg_is_malformed() -> None:
    """joserfc refuses it while parsing, before the header is even looked at."""
    refused("malformed", verify_access, forge(alg=DROP))


def test_a_consent_token_is_not_an_access_token_nor_the_reverse() -> None:
    refused("wrong_typ", verify_access, consent())
    refused("wrong_typ", verify_consent, access())
    refused("wrong_typ", verify_consent, forge(access_claims(aud=ISSUER)))


def test_receipts_and_tokens_do_not_pass_for_each_other() -> None:
    signed = tokens.sign_receipt(SIGNER, {"receipt_id": "r"}, issuer=ISSUER, now=NOW)
    refused("wrong_typ", verify_access, signed)
    refused("wrong_typ", verify_consent, signed)

    def verify_receipt(token: str) -> dict[str, Any]:
        return tokens.verify_receipt(token, issuer=ISSUER, public_keys=KEYS, now=NOW)

    refused("wrong_typ", verify_receipt, access())
    refused("wrong_typ", verify_receipt, consent())


@pytest.mark.parametrize(
    "typ", ["dpop+jwt", "JWT", "jwt", "AT+JWT", "application/pds-consent+jwt", "", None, 1]
)
def test_other_typs_are_refused(typ: Any) -> None:
    refused("wrong_typ", verify_access, forge(typ=DROP if typ is None else typ))


@pytest.mark.parametrize(
    "extra",
    [
        {"crit": ["exp"]},
        {"jku": "https://evil.example/jwks"},
        {"jwk": {"kty": "EC"}},
        {"b64": False, "crit": ["b64"]},
        {"x5u": "https://evil.example/cert"},
        {"cty": "JWT"},
    ],
)
def test_header_members_the_pds_never_writes_are_refused(extra: dict[str, Any]) -> None:
    refused("unexpected_header", verify_access, forge(**extra))


@pytest.mark.parametrize("kid", [DROP, "", 7, None])
def test_a_missing_kid_is_refused(kid: Any) -> None:
    refused("missing_kid", verify_access, forge(kid=kid))


def test_an_unknown_kid_is_refused() -> None:
    refused("unknown_kid", verify_access, access(signer=OTHER_SIGNER))


def test_another_keys_signature_under_our_kid_is_refused() -> None:
    token = forge(signer=OTHER_SIGNER, kid=KEY.kid)
    refused("bad_signature", verify_access, token)


# --- attacks on the key set ----------------------------------------------------------------


def test_a_private_key_in_the_public_set_is_never_used() -> None:
    private_jwk = {**SIGNER.key.as_dict(private=True), "kid": KEY.kid, "alg": "ES256"}
    refused("private_key_in_key_set", verify_access, access(), public_keys={KEY.kid: private_jwk})


@pytest.mark.parametrize(
    "changes",
    [{"alg": "ES384"}, {"alg": DROP}, {"use": "enc"}, {"crv": "P-384"}, {"kid": "another"}],
)
def test_a_key_not_declared_for_es256_signatures_is_refused(changes: dict[str, Any]) -> None:
    jwk = {**KEY.public_jwk, **changes}
    jwk = {name: value for name, value in jwk.items() if value is not DROP}
    refused("key_not_for_es256", verify_access, access(), public_keys={KEY.kid: jwk})


def test_an_rsa_key_under_the_kid_is_refused() -> None:
    rsa = {**RSAKey.generate_key(2048).as_dict(), "alg": "ES256", "use": "sig"}
    refused("key_not_for_es256", verify_access, access(), public_keys={KEY.kid: rsa})


@pytest.mark.parametrize(
    "changes", [{"x": DROP}, {"y": 5}, {"x": "AAAA"}, {"y": KEY.public_jwk["x"]}]
)
def test_a_broken_public_key_is_refused(changes: dict[str, Any]) -> None:
    jwk = {**KEY.public_jwk, **changes}
    jwk = {name: value for name, value in jwk.items() if value is not DROP}
    refused("bad_key", verify_access, access(), public_keys={KEY.kid: jwk})


# --- attacks on the claims -----------------------------------------------------------------


@pytest.mark.parametrize(
    "aud", ["https://other.example", [RESOURCE, "https://other.example"], [], None, ISSUER]
)
def test_a_token_for_another_audience_is_refused(aud: Any) -> None:
    refused("wrong_aud", verify_access, forge(access_claims(aud=DROP if aud is None else aud)))


def test_an_access_token_is_refused_where_a_consent_token_audience_is_expected() -> None:
    refused("wrong_aud", verify_access, access(), audience=ISSUER)


@pytest.mark.parametrize("iss", ["https://evil.example", "https://pds.example/", DROP, 1])
def test_a_token_from_another_issuer_is_refused(iss: Any) -> None:
    refused("wrong_iss", verify_access, forge(access_claims(iss=iss)))


def test_an_expired_token_is_refused() -> None:
    refused("expired", verify_access, access(), now=NOW + 300 + 5)
    refused("expired", verify_consent, consent(), now=NOW + 86_400 + 5)


@pytest.mark.parametrize("exp", [DROP, "1800000300", True, None, float("inf")])
def test_a_token_without_a_numeric_exp_is_refused(exp: Any) -> None:
    refused("missing_exp", verify_access, forge(access_claims(exp=exp)))


def test_a_token_issued_in_the_future_is_refused() -> None:
    refused("iat_in_future", verify_access, access(now=NOW + 6))
    refused("missing_iat", verify_access, forge(access_claims(iat=DROP)))


def test_a_token_not_yet_valid_is_refused() -> None:
    refused("not_yet_valid", verify_access, forge(access_claims(nbf=NOW + 60)))
    assert verify_access(forge(access_claims(nbf=NOW)))["nbf"] == NOW


@pytest.mark.parametrize("jti", [DROP, "", 12, "j" * 257])
def test_a_token_without_a_jti_is_refused(jti: Any) -> None:
    refused("missing_jti", verify_access, forge(access_claims(jti=jti)))


@pytest.mark.parametrize("sub", [DROP, "", ["a"]])
def test_a_token_without_a_subject_is_refused(sub: Any) -> None:
    refused("missing_sub", verify_access, forge(access_claims(sub=sub)))


def test_each_kind_requires_its_own_claims() -> None:
    refused("missing_client_id", verify_access, forge(access_claims(client_id=DROP)))
    refused("missing_cnf", verify_access, forge(access_claims(cnf=DROP)))
    refused("missing_cnf", verify_access, forge(access_claims(cnf={"jkt": ""})))
    refused(
        "bad_authorization_details",
        verify_access,
        forge(access_claims(authorization_details={"type": "x"})),
    )
    consent_claims = access_claims(aud=ISSUER, grant_id=GRANT, authorization_details=DETAILS)
    typ: dict[str, Any] = {"typ": CONSENT_TOKEN_TYP}
    assert verify_consent(forge(consent_claims, **typ))["grant_id"] == GRANT
    refused("missing_grant_id", verify_consent, forge({**consent_claims, "grant_id": 1}, **typ))
    for details in ([], ["pds_data_request"], None):
        no_details = {**consent_claims, "authorization_details": details}
        refused("bad_authorization_details", verify_consent, forge(no_details, **typ))


# --- attacks on the encoding ---------------------------------------------------------------


def test_a_tampered_payload_is_refused() -> None:
    header, _, signature = access().split(".")
    payload = b64(json.dumps(access_claims(sub="someone-else")).encode())
    refused("bad_signature", verify_access, f"{header}.{payload}.{signature}")


def test_an_oversized_token_is_refused_before_parsing() -> None:
    refused("too_large", verify_access, "a" * (tokens.MAX_TOKEN_LENGTH + 1))
    header = b64(json.dumps({"typ": "at+jwt", "alg": "ES256", "kid": "k" * 600}).encode())
    refused("too_large", verify_access, f"{header}.e30.AA")


def test_a_second_spelling_of_the_same_signature_is_refused() -> None:
    """A 64-byte signature leaves 4 unused bits in its last base64url character; a lenient
    decoder would accept 16 spellings of one token. joserfc insists on the canonical one."""
    token = access()
    last = token[-1]
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    twin = alphabet[alphabet.index(last) ^ 0b0001]
    assert base64.urlsafe_b64decode(token.split(".")[2] + "==") == base64.urlsafe_b64decode(
        token.split(".")[2][:-1] + twin + "=="
    )
    refused("bad_signature", verify_access, token[:-1] + twin)


def test_non_ascii_is_refused() -> None:
    token = access()
    refused("malformed", verify_access, token[:20] + "é" + token[21:])
    refused("malformed", verify_access, token + "\u200b")


@pytest.mark.parametrize(
    "token",
    ["", "a.b", "a.b.c.d", "e30.e30.", "!!!.e30.AA", f"{b64(b'[1]')}.e30.AA", "..."],
)
def test_malformed_tokens_are_refused(token: str) -> None:
    refused("malformed", verify_access, token)


@pytest.mark.parametrize(
    "payload", [b"[1, 2]", b"not json", b"\xff\xfe", b"[" * 5000 + b"]" * 5000]
)
def test_a_signed_payload_that_is_not_a_json_object_is_refused(payload: bytes) -> None:
    header = b64(json.dumps({"typ": "at+jwt", "alg": "ES256", "kid": KEY.kid}).encode())
    signing_input = f"{header}.{b64(payload)}"
    token = f"{signing_input}.{b64(es256(SIGNER, signing_input.encode()))}"
    refused("malformed", verify_access, token)


def test_library_errors_are_chained_for_the_operator() -> None:
    error = refused("malformed", verify_access, "!!!.e30.AA")
    assert error.__cause__ is not None
    assert error.__notes__ == ["refused because: malformed"]


_SEGMENT_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_=+/. "
_VALID = access()


@settings(max_examples=300, deadline=None)
@given(
    position=st.integers(min_value=0, max_value=len(_VALID) - 1),
    new=st.sampled_from(_SEGMENT_ALPHABET),
)
def test_changing_any_single_character_is_refused(position: int, new: str) -> None:
    if _VALID[position] == new:
        return
    token = _VALID[:position] + new + _VALID[position + 1 :]
    with pytest.raises(InvalidToken):
        verify_access(token)


# --- the errors ----------------------------------------------------------------------------


def test_the_errors_are_generic_with_a_private_reason() -> None:
    token_error = InvalidToken("expired")
    assert isinstance(token_error, errors.Unauthenticated)
    assert token_error.code == "invalid_token"
    assert token_error.oauth_body() == {
        "error": "invalid_token",
        "error_description": "The token is not valid.",
    }
    assert token_error.extra == {}
    grant_error = InvalidGrant("consent_token_replayed")
    assert isinstance(grant_error, errors.InvalidInput)
    assert grant_error.reason == "consent_token_replayed"
    assert "replayed" not in str(grant_error)
    assert grant_error.oauth_body()["error"] == "invalid_grant"
