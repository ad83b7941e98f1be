"""``private_key_jwt`` client authentication (RFC 7523 §2.2/§3 as updated by RFC 10070).

Pure: the caller passes ``now``, the client's registered JWKS (a dict, already fetched and
cached), the PDS issuer identifier, and a ``seen(jti, client_id, expires_at) -> bool``
replay callback backed by a store every worker shares.

The checks, in order (each refusal is one generic ``InvalidClient``; ``reason`` says why):

1. compact JWS, at most 512 base64 bytes of header (joserfc's default, deliberately kept:
   an assertion header holds ``alg``, ``typ`` and ``kid`` only) and 4 KiB of payload;
2. ``typ`` (RFC 8725 §3.11, RFC 10070): ``client-authentication+jwt`` (with or without
   ``application/``, case-insensitive) is accepted. A missing ``typ`` or the generic ``JWT``
   is accepted too unless ``require_explicit_typ``, because RFC 10070 registers the type
   without obliging clients to send it and common client libraries (PyJWT, jwskate under
   requests-oauth2client) send ``JWT``. Every other value (``dpop+jwt``, ``at+jwt``, a
   consent token's type…) is refused, so no other kind of JWT passes as an assertion. An
   untyped assertion gains nothing from the relaxation: ``aud`` must still be exactly this
   issuer, and ``iss``/``sub`` the client, signed by the client's own registered key;
3. ``alg`` from the allow-list (ES256, PS256, RS256); never ``none`` or a MAC;
4. ``kid`` required; exactly one key in the client's JWKS has it (none → unknown, several →
   ambiguous). A key that declares ``alg`` is used with that alg only (RFC 8725 §3.1), one
   that declares ``use``/``key_ops`` must allow signature verification; RSA 2048 to 8192 bits;
5. the signature; then ``iss`` == ``sub`` == the client id;
6. ``aud`` == the issuer identifier exactly: a string, or an array whose only member it is
   (RFC 10070: the issuer is the sole audience value; the token endpoint URL is refused);
7. ``exp`` required, not passed, at most ``max_lifetime`` ahead (and after ``iat``);
   ``iat`` and ``nbf`` optional but not in the future; all within ``leeway`` seconds;
8. ``jti`` required; ``seen`` is called last, with ``expires_at`` = ``exp`` + leeway.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Any, Final

from joserfc import jws
from joserfc.jwk import Key, import_key

from connectors.errors import InvalidClient
from pds.jose import LIBRARY_ERRORS, extract_compact, rsa_modulus_bits

CLIENT_ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
CLIENT_AUTH_TYP: Final = "client-authentication+jwt"
CLIENT_AUTH_ALGORITHMS: Final = ("ES256", "PS256", "RS256")
MAX_ASSERTION_LIFETIME: Final = 300
LEEWAY: Final = 10
MAX_JTI_LENGTH: Final = 256
MAX_ASSERTION_LENGTH: Final = 8192

SeenJti = Callable[[str, str, int], bool]
SeenJtiAsync = Callable[[str, str, int], Awaitable[bool]]

_ASYMMETRIC: Final = frozenset(
    {"ES256", "ES384", "ES512", "Ed25519", "PS256", "PS384", "PS512", "RS256", "RS384", "RS512"}
)
_LEGACY_TYPS: Final = frozenset({"jwt"})
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_PUBLIC_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("kty", "crv", "x", "y"),
    "OKP": ("kty", "crv", "x"),
    "RSA": ("kty", "n", "e"),
}
_RSA_BITS: Final = (2048, 8192)


# What joserfc and json raise on hostile input: KeyError for an unknown curve, RecursionError
# for deeply nested JSON, ValueError/TypeError for malformed values. All mean "refused".
@dataclass(frozen=True, slots=True)
class AuthenticatedClient:
    """A client whose assertion passed every check."""

    client_id: str
    kid: str
    jti: str
    expires_at: int
    """Until when its ``jti`` must be remembered (``exp`` plus the leeway)."""
    explicitly_typed: bool
    """Whether it carried ``typ: client-authentication+jwt`` (for metrics and migration)."""


class _AssertionRegistry(jws.JWSRegistry):
    max_payload_length = 4096


def unverified_client_id(unverified_assertion: str) -> str | None:
    """The ``sub`` an assertion claims, to find the client's registration; nothing is verified.

    Use it only to choose which JWKS to verify with, then call ``verify_client_assertion``.
    """
    try:
        unverified = jws.extract_compact(
            unverified_assertion.encode("ascii"), registry=_AssertionRegistry()
        )
        unverified_claims = json.loads(unverified.payload)
    except (*LIBRARY_ERRORS, AttributeError):
        return None
    sub = unverified_claims.get("sub") if isinstance(unverified_claims, dict) else None
    return sub if isinstance(sub, str) else None


def verify_client_assertion(
    unverified_assertion: str,
    *,
    client_id: str,
    client_jwks: Mapping[str, Any],
    issuer: str,
    now: int,
    seen: SeenJti,
    algorithms: Collection[str] = CLIENT_AUTH_ALGORITHMS,
    max_lifetime: int = MAX_ASSERTION_LIFETIME,
    leeway: int = LEEWAY,
    require_explicit_typ: bool = False,
) -> AuthenticatedClient:
    """Authenticate ``client_id`` by its ``private_key_jwt`` assertion; else ``InvalidClient``."""
    client = _check(
        unverified_assertion,
        client_id=client_id,
        client_jwks=client_jwks,
        issuer=issuer,
        now=now,
        algorithms=algorithms,
        max_lifetime=max_lifetime,
        leeway=leeway,
        require_explicit_typ=require_explicit_typ,
    )
    if seen(client.jti, client.client_id, client.expires_at):
        raise InvalidClient("replayed_jti")
    return client


async def verify_client_assertion_async(
    unverified_assertion: str,
    *,
    client_id: str,
    client_jwks: Mapping[str, Any],
    issuer: str,
    now: int,
    seen: SeenJtiAsync,
    algorithms: Collection[str] = CLIENT_AUTH_ALGORITHMS,
    max_lifetime: int = MAX_ASSERTION_LIFETIME,
    leeway: int = LEEWAY,
    require_explicit_typ: bool = False,
) -> AuthenticatedClient:
    """``verify_client_assertion`` with an awaitable replay check (an async database session)."""
    client = _check(
        unverified_assertion,
        client_id=client_id,
        client_jwks=client_jwks,
        issuer=issuer,
        now=now,
        algorithms=algorithms,
        max_lifetime=max_lifetime,
        leeway=leeway,
        require_explicit_typ=require_explicit_typ,
    )
    if await seen(client.jti, client.client_id, client.expires_at):
        raise InvalidClient("replayed_jti")
    return client


def _check(
    unverified_assertion: str,
    *,
    client_id: str,
    client_jwks: Mapping[str, Any],
    issuer: str,
    now: int,
    algorithms: Collection[str],
    max_lifetime: int,
    leeway: int,
    require_explicit_typ: bool,
) -> AuthenticatedClient:
    if not algorithms or not set(algorithms) <= _ASYMMETRIC:
        raise ValueError("client assertion algorithms must be asymmetric JWS algorithms")
    if not issuer or not client_id:
        raise ValueError("the issuer and the client id must be given")
    registry = _AssertionRegistry(algorithms=list(algorithms))
    unverified = extract_compact(
        unverified_assertion, registry, max_length=MAX_ASSERTION_LENGTH, error=InvalidClient
    )
    header = unverified.headers()
    explicitly_typed = _check_typ(header.get("typ"), require_explicit_typ=require_explicit_typ)
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidClient("alg_not_allowed")
    if "crit" in header:
        raise InvalidClient("crit_not_understood")
    kid = header.get("kid")
    if not isinstance(kid, str) or not kid:
        raise InvalidClient("missing_kid")
    key = _client_key(client_jwks, kid, alg)
    try:
        valid = jws.validate_compact(unverified, key, registry=registry)
    except LIBRARY_ERRORS as exc:
        raise InvalidClient("alg_key_mismatch") from exc
    if not valid:
        raise InvalidClient("bad_signature")
    claims = _claims(unverified.payload)
    _check_parties(claims, client_id, issuer)
    exp = _check_times(claims, now, max_lifetime, leeway)
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidClient("missing_jti")
    return AuthenticatedClient(
        client_id=client_id,
        kid=kid,
        jti=jti,
        expires_at=math.ceil(exp) + leeway,
        explicitly_typed=explicitly_typed,
    )


def _check_typ(typ: Any, *, require_explicit_typ: bool) -> bool:
    """True for an explicitly typed assertion; refuses every other kind of JWT."""
    if typ is None:
        normalized = None
    elif isinstance(typ, str):
        normalized = typ.lower().removeprefix("application/")
    else:
        raise InvalidClient("malformed")
    if normalized == CLIENT_AUTH_TYP:
        return True
    if normalized is not None and normalized not in _LEGACY_TYPS:
        raise InvalidClient("typ_confusion")
    if require_explicit_typ:
        raise InvalidClient("typ_required")
    return False


def _client_key(client_jwks: Mapping[str, Any], kid: str, alg: str) -> Key:
    keys = client_jwks.get("keys")
    if not isinstance(keys, list):
        raise InvalidClient("bad_jwks")
    matches = [jwk for jwk in keys if isinstance(jwk, dict) and jwk.get("kid") == kid]
    if not matches:
        raise InvalidClient("unknown_kid")
    if len(matches) > 1:
        raise InvalidClient("ambiguous_kid")
    jwk = matches[0]
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidClient("private_key_registered")
    if jwk.get("alg", alg) != alg:
        raise InvalidClient("alg_key_mismatch")
    key_ops = jwk.get("key_ops", ["verify"])
    if jwk.get("use", "sig") != "sig" or not isinstance(key_ops, list) or "verify" not in key_ops:
        raise InvalidClient("key_not_for_signing")
    return _import_public(jwk)


def _import_public(jwk: Mapping[str, Any]) -> Key:
    kty = jwk.get("kty")
    names = _PUBLIC_MEMBERS.get(kty) if isinstance(kty, str) else None
    if names is None:
        raise InvalidClient("unsupported_key_type")
    members = {name: jwk.get(name) for name in names}
    key_data: dict[str, str | list[str]] = {
        name: value for name, value in members.items() if isinstance(value, str) and value
    }
    if len(key_data) != len(names):
        raise InvalidClient("bad_jwk")
    # Sized before import: joserfc warns on small RSA keys, and registrations should have
    # refused them already.
    n = key_data.get("n")
    if isinstance(n, str) and not _RSA_BITS[0] <= rsa_modulus_bits(n) <= _RSA_BITS[1]:
        raise InvalidClient("rsa_key_size")
    try:
        return import_key(key_data)
    except LIBRARY_ERRORS as exc:
        raise InvalidClient("bad_jwk") from exc


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidClient("malformed") from exc
    if not isinstance(claims, dict):
        raise InvalidClient("malformed")
    return claims


def _check_parties(claims: Mapping[str, Any], client_id: str, issuer: str) -> None:
    if claims.get("iss") != client_id or claims.get("sub") != client_id:
        raise InvalidClient("iss_sub_mismatch")
    aud = claims.get("aud")
    if aud not in (issuer, [issuer]):
        raise InvalidClient("wrong_aud")


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _check_times(claims: Mapping[str, Any], now: int, max_lifetime: int, leeway: int) -> float:
    exp = _number(claims.get("exp"))
    if exp is None:
        raise InvalidClient("missing_exp")
    if now >= exp + leeway:
        raise InvalidClient("expired")
    if exp - now > max_lifetime + leeway:
        raise InvalidClient("lifetime_too_long")
    iat = _optional_time(claims, "iat", now + leeway, "iat_in_future")
    if iat is not None and exp <= iat:
        raise InvalidClient("bad_iat")
    if iat is not None and exp - iat > max_lifetime:
        raise InvalidClient("lifetime_too_long")
    _optional_time(claims, "nbf", now + leeway, "not_yet_valid")
    return exp


def _optional_time(claims: Mapping[str, Any], name: str, latest: int, reason: str) -> float | None:
    if name not in claims:
        return None
    value = _number(claims[name])
    if value is None:
        raise InvalidClient(f"bad_{name}")
    if value > latest:
        raise InvalidClient(reason)
    return value


__all__ = [
    "CLIENT_ASSERTION_TYPE",
    "CLIENT_AUTH_ALGORITHMS",
    "CLIENT_AUTH_TYP",
    "MAX_ASSERTION_LIFETIME",
    "AuthenticatedClient",
    "SeenJti",
    "SeenJtiAsync",
    "unverified_client_id",
    "verify_client_assertion",
    "verify_client_assertion_async",
]
