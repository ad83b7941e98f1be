"""The PDS's own JWTs: access tokens (RFC 9068), consent tokens and signed consent receipts.

Pure: the caller passes ``now`` (Unix seconds), the signing key and, to verify, the
``kid -> public JWK`` map of current and retired keys (the published JWKS).

Keys: ``consent.token_keys`` (ES256, ``kid`` the key's thumbprint), re-exported here.

Kinds. Each kind has its own ``typ`` (RFC 8725 §3.11/§3.12), so none passes as another:

- access token, ``at+jwt``: iss, sub, aud (the resource), client_id, iat, exp (at most
  ``ACCESS_TOKEN_LIFETIME``), jti, ``cnf.jkt`` (always DPoP-bound, RFC 9449 §6.1) and,
  when given, scope, grant_id, authorization_details;
- consent token, ``pds-consent+jwt``: the same with aud = the PDS issuer, grant_id and
  authorization_details required, and exp = the grant's expiry;
- receipt, ``pds-consent-receipt+jwt``: the receipt JSON plus two JWT members, ``iss`` (the
  PDS) and ``iat`` (when signed), so any JWT library can check who signed it and when;
  ``verify_receipt`` removes them again. No ``exp`` and no ``aud``: both parties keep a
  receipt as a record, so its signing key must stay in the key set as long as receipts do.

Verification, in order; every refusal is one generic ``InvalidToken`` whose ``reason``
names the check:

1. ASCII, at most ``MAX_TOKEN_LENGTH`` (receipts ``MAX_RECEIPT_LENGTH``), three base64url
   segments (joserfc refuses non-canonical base64). ECDSA itself is malleable, though:
   (r, n - s) verifies as well as (r, s), so anyone holding a token can spell it a second
   way. Replay caches and revocation must key on ``jti`` or ``grant_id``, never the string;
2. the header holds only ``alg``, ``typ`` and ``kid`` (what the PDS writes; so no ``crit``,
   ``jwk``, ``jku``, ``b64``), ``typ`` is the expected kind, bare or ``application/``;
3. ``alg`` is ES256, checked before any key is touched: ``none`` and HS256 keyed with the
   public key stop here;
4. ``kid`` names a key in the set, and that entry is an EC P-256 key declared for ES256
   with no private member (a private member refuses it: it must never have been there);
5. the signature, by joserfc with ``algorithms=["ES256"]``;
6. the claims, here, since joserfc checks none (pitfall 7): iss; aud a string or a
   one-member array; exp required and not passed, iat required and not in the future,
   nbf if present, all within ``leeway``; jti and sub; then each kind's own claims.
"""

from __future__ import annotations

import json
import math
from functools import lru_cache
from typing import TYPE_CHECKING, Any, Final

from joserfc import jws
from joserfc.jwk import ECKey

from consent.errors import InvalidToken
from consent.token_keys import (
    KEY_CURVE,
    TOKEN_ALG,
    NewSigningKey,
    TokenSigner,
    new_signing_key,
    public_jwk,
    signer_from_private_bytes,
)
from pds.jose import LIBRARY_ERRORS, extract_compact

if TYPE_CHECKING:
    from collections.abc import Mapping

# media types and an algorithm name, not secrets
ACCESS_TOKEN_TYP: Final = "at+jwt"  # noqa: S105
CONSENT_TOKEN_TYP: Final = "pds-consent+jwt"  # noqa: S105
RECEIPT_TYP: Final = "pds-consent-receipt+jwt"
ACCESS_TOKEN_LIFETIME: Final = 300
LEEWAY: Final = 5
MAX_TOKEN_LENGTH: Final = 32 * 1024
"""A consent token echoes ``authorization_details``, up to 16 KiB of JSON (``MAX_RAW_BYTES``
in ``consent.requests``), which base64url grows by a third."""
MAX_RECEIPT_LENGTH: Final = 64 * 1024
MAX_JTI_LENGTH: Final = 256

_ALGORITHMS: Final = [TOKEN_ALG]
_HEADER_MEMBERS: Final = frozenset({"alg", "typ", "kid"})
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_TOKEN_CLAIMS: Final[Mapping[str, tuple[str, ...]]] = {
    ACCESS_TOKEN_TYP: ("client_id",),
    CONSENT_TOKEN_TYP: ("client_id", "grant_id"),
}


class _Registry(jws.JWSRegistry):
    max_payload_length = MAX_RECEIPT_LENGTH


_REGISTRY: Final = _Registry(algorithms=_ALGORITHMS)


# --- issuing -------------------------------------------------------------------------------


def issue_access_token(
    signer: TokenSigner,
    *,
    issuer: str,
    audience: str,
    client_id: str,
    subject: str,
    jkt: str,
    now: int,
    jti: str,
    grant_id: str | None = None,
    authorization_details: list[dict[str, Any]] | None = None,
    scope: str | None = None,
    lifetime: int = ACCESS_TOKEN_LIFETIME,
) -> str:
    """A DPoP-bound RFC 9068 access token; short-lived so a stolen one is soon useless."""
    if not 0 < lifetime <= ACCESS_TOKEN_LIFETIME:
        raise ValueError(f"access token lifetime must be 1 to {ACCESS_TOKEN_LIFETIME} seconds")
    _require_text(issuer=issuer, audience=audience, client_id=client_id, subject=subject)
    _require_text(jkt=jkt, jti=jti)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "client_id": client_id,
        "iat": now,
        "exp": now + lifetime,
        "jti": jti,
        "cnf": {"jkt": jkt},
    }
    extra = {"scope": scope, "grant_id": grant_id, "authorization_details": authorization_details}
    claims.update({name: value for name, value in extra.items() if value is not None})
    return _sign(signer, ACCESS_TOKEN_TYP, claims, MAX_TOKEN_LENGTH)


def issue_consent_token(
    signer: TokenSigner,
    *,
    issuer: str,
    client_id: str,
    subject: str,
    grant_id: str,
    authorization_details: list[dict[str, Any]],
    now: int,
    expires_at: int,
    jti: str,
) -> str:
    """The portable form of a grant, addressed to the PDS itself and living as long as it."""
    if expires_at <= now:
        raise ValueError("a consent token must expire after it is issued")
    if not authorization_details:
        raise ValueError("a consent token carries the granted authorization_details")
    _require_text(issuer=issuer, client_id=client_id, subject=subject)
    _require_text(grant_id=grant_id, jti=jti)
    claims: dict[str, Any] = {
        "iss": issuer,
        "sub": subject,
        "aud": issuer,
        "client_id": client_id,
        "iat": now,
        "exp": expires_at,
        "jti": jti,
        "grant_id": grant_id,
        "authorization_details": authorization_details,
    }
    return _sign(signer, CONSENT_TOKEN_TYP, claims, MAX_TOKEN_LENGTH)


def sign_receipt(signer: TokenSigner, receipt: Mapping[str, Any], *, issuer: str, now: int) -> str:
    """A compact JWS of the receipt, with ``iss`` and ``iat`` added (see the module notes)."""
    if "iss" in receipt or "iat" in receipt:
        raise ValueError("a receipt may not carry its own 'iss' or 'iat'")
    _require_text(issuer=issuer)
    return _sign(signer, RECEIPT_TYP, {**receipt, "iss": issuer, "iat": now}, MAX_RECEIPT_LENGTH)


def _require_text(**values: str) -> None:
    """Refuse to mint what the verifier would refuse."""
    empty = sorted(name for name, value in values.items() if not value)
    if empty:
        raise ValueError(f"these must not be empty: {', '.join(empty)}")


def _sign(signer: TokenSigner, typ: str, claims: Mapping[str, Any], max_length: int) -> str:
    header = {"typ": typ, "alg": TOKEN_ALG, "kid": signer.kid}
    body = json.dumps(claims, separators=(",", ":"), ensure_ascii=False, allow_nan=False)
    token = jws.serialize_compact(header, body.encode("utf-8"), signer.key, registry=_REGISTRY)
    if len(token) > max_length:
        raise ValueError(f"the signed {typ} exceeds {max_length} characters; it would be refused")
    return token


# --- verifying -----------------------------------------------------------------------------


def verify_token(
    unverified: str,
    *,
    typ: str,
    issuer: str,
    audience: str,
    public_keys: Mapping[str, Mapping[str, Any]],
    now: int,
    leeway: int = LEEWAY,
) -> dict[str, Any]:
    """The claims of a valid access or consent token of kind ``typ``; else ``InvalidToken``."""
    if typ not in _TOKEN_CLAIMS:
        raise ValueError("verify_token checks access and consent tokens; see verify_receipt")
    claims = _verified_payload(unverified, typ, public_keys, MAX_TOKEN_LENGTH)
    _check_issuer(claims, issuer)
    if claims.get("aud") not in (audience, [audience]):
        raise InvalidToken("wrong_aud")
    _check_times(claims, now, leeway)
    _check_token_members(claims, typ)
    return claims


def verify_receipt(
    unverified: str,
    *,
    issuer: str,
    public_keys: Mapping[str, Mapping[str, Any]],
    now: int,
    leeway: int = LEEWAY,
) -> dict[str, Any]:
    """The receipt as built (no ``iss``/``iat``) if the PDS signed it; else ``InvalidToken``."""
    payload = _verified_payload(unverified, RECEIPT_TYP, public_keys, MAX_RECEIPT_LENGTH)
    _check_issuer(payload, issuer)
    iat = _number(payload.pop("iat", None))
    if iat is None:
        raise InvalidToken("missing_iat")
    if iat > now + leeway:
        raise InvalidToken("iat_in_future")
    del payload["iss"]
    if not _is_text(payload.get("receipt_id")) or not _is_text(payload.get("schema_version")):
        raise InvalidToken("not_a_receipt")
    return payload


def _verified_payload(
    unverified: str, typ: str, public_keys: Mapping[str, Mapping[str, Any]], max_length: int
) -> dict[str, Any]:
    signed = extract_compact(
        unverified,
        _REGISTRY,
        max_length=max_length,
        error=InvalidToken,
        header_too_large="too_large",
    )
    header = signed.headers()
    _check_header(header, typ)
    key = _public_key(public_keys, header["kid"])
    try:
        valid = jws.validate_compact(signed, key, registry=_REGISTRY)
    except LIBRARY_ERRORS as exc:
        raise InvalidToken("bad_signature") from exc
    if not valid:
        raise InvalidToken("bad_signature")
    try:
        payload = json.loads(signed.payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidToken("malformed") from exc
    if not isinstance(payload, dict):
        raise InvalidToken("malformed")
    return payload


def _check_header(header: Mapping[str, Any], typ: str) -> None:
    if not header.keys() <= _HEADER_MEMBERS:
        raise InvalidToken("unexpected_header")
    if header.get("typ") not in (typ, f"application/{typ}"):
        raise InvalidToken("wrong_typ")
    if header.get("alg") != TOKEN_ALG:
        raise InvalidToken("alg_not_allowed")
    if not _is_text(header.get("kid")):
        raise InvalidToken("missing_kid")


def _public_key(public_keys: Mapping[str, Mapping[str, Any]], kid: str) -> ECKey:
    jwk = public_keys.get(kid)
    if jwk is None:
        raise InvalidToken("unknown_kid")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidToken("private_key_in_key_set")
    declared = (jwk.get("kty"), jwk.get("crv"), jwk.get("alg"), jwk.get("use", "sig"))
    if declared != ("EC", KEY_CURVE, TOKEN_ALG, "sig") or jwk.get("kid", kid) != kid:
        raise InvalidToken("key_not_for_es256")
    x, y = jwk.get("x"), jwk.get("y")
    if not isinstance(x, str) or not isinstance(y, str):
        raise InvalidToken("bad_key")
    try:
        return _ec_public_key(x, y)
    except LIBRARY_ERRORS as exc:
        raise InvalidToken("bad_key") from exc


@lru_cache(maxsize=64)
def _ec_public_key(x: str, y: str) -> ECKey:
    """Imported once per key: the point check costs more than the signature check."""
    return ECKey.import_key({"kty": "EC", "crv": KEY_CURVE, "x": x, "y": y})


def _check_issuer(claims: Mapping[str, Any], issuer: str) -> None:
    if not issuer or claims.get("iss") != issuer:
        raise InvalidToken("wrong_iss")


def _check_times(claims: Mapping[str, Any], now: int, leeway: int) -> None:
    exp, iat = _number(claims.get("exp")), _number(claims.get("iat"))
    if exp is None:
        raise InvalidToken("missing_exp")
    if now >= exp + leeway:
        raise InvalidToken("expired")
    if iat is None:
        raise InvalidToken("missing_iat")
    if iat > now + leeway:
        raise InvalidToken("iat_in_future")
    if "nbf" in claims:
        nbf = _number(claims["nbf"])
        if nbf is None or nbf > now + leeway:
            raise InvalidToken("not_yet_valid")


def _check_token_members(claims: Mapping[str, Any], typ: str) -> None:
    if not _is_text(claims.get("jti"), MAX_JTI_LENGTH):
        raise InvalidToken("missing_jti")
    if not _is_text(claims.get("sub")):
        raise InvalidToken("missing_sub")
    for name in _TOKEN_CLAIMS[typ]:
        if not _is_text(claims.get(name)):
            raise InvalidToken(f"missing_{name}")
    cnf = claims.get("cnf")
    if typ == ACCESS_TOKEN_TYP and not (isinstance(cnf, dict) and _is_text(cnf.get("jkt"))):
        raise InvalidToken("missing_cnf")
    if typ == CONSENT_TOKEN_TYP or "authorization_details" in claims:
        details = claims.get("authorization_details")
        if not isinstance(details, list) or not details:
            raise InvalidToken("bad_authorization_details")
        if not all(isinstance(detail, dict) for detail in details):
            raise InvalidToken("bad_authorization_details")


def _is_text(value: Any, max_length: int | None = None) -> bool:
    return isinstance(value, str) and 0 < len(value) <= (max_length or len(value))


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


__all__ = [
    "ACCESS_TOKEN_LIFETIME",
    "ACCESS_TOKEN_TYP",
    "CONSENT_TOKEN_TYP",
    "LEEWAY",
    "MAX_RECEIPT_LENGTH",
    "MAX_TOKEN_LENGTH",
    "RECEIPT_TYP",
    "TOKEN_ALG",
    "NewSigningKey",
    "TokenSigner",
    "issue_access_token",
    "issue_consent_token",
    "new_signing_key",
    "public_jwk",
    "sign_receipt",
    "signer_from_private_bytes",
    "verify_receipt",
    "verify_token",
]
