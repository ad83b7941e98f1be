"""DPoP proofs (RFC 9449): verification (the thumbprint, ``ath``, ``htu`` and nonce values it
checks against live in ``connectors.dpop_values`` and are re-exported here).

Pure: no clock, no database, no framework. The caller passes ``now`` (Unix seconds), the
request's method and URL, and a ``seen(jti, jkt, expires_at) -> bool`` callback backed by a
store every worker shares: it records the pair and answers whether it was already there.

What the caller still owns:

- exactly one ``DPoP`` header (RFC 9449 §4.3 check 1); pass that header's value here;
- the request URL built from the configured public base URL plus the raw request path,
  never from ``Host`` or ``X-Forwarded-*`` (STANDARDS A3); query and fragment are ignored;
- comparing ``DPoPProof.jkt`` with the access token's ``cnf.jkt`` (or pass it as
  ``expected_jkt``), after verifying the token itself (RFC 9068).

Decisions (see the tests for each):

- Algorithms: ES256, Ed25519, EdDSA (Ed25519 keys only), PS256, RS256. Never ``none``
  or a MAC; passing one in ``algorithms`` is a programming error (``ValueError``).
- The protected header (its type, algorithm and key) is checked in
  ``connectors.dpop_header``, once per distinct header text.
- Sizes: the proof up to 8192 characters, its header 2048 (room for a 4096-bit RSA key
  in ``jwk``; joserfc's own limit of 512 refuses one, pitfall 6), its payload 4096, its
  signature 1024. A larger header is refused as ``header_too_large``.
"""

from __future__ import annotations

import hmac
import json
import math
from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from functools import lru_cache
from typing import Any, Final

from joserfc.util import urlsafe_b64decode

from connectors.dpop_header import DPOP_TYP, proof_header, registry_for
from connectors.dpop_values import (
    NONCE_PERIOD,
    access_token_hash,
    issue_nonce,
    nonce_is_fresh,
    normalize_htu,
    thumbprint,
)
from connectors.errors import InvalidDPoPProof, UseDPoPNonce
from pds.jose import LIBRARY_ERRORS, rsa_modulus_bits

DPOP_ALGORITHMS: Final = ("ES256", "Ed25519", "EdDSA", "PS256", "RS256")
IAT_WINDOW: Final = 60
"""Seconds a proof's ``iat`` may lie either side of ``now``."""
MAX_JTI_LENGTH: Final = 256
MAX_HEADER_LENGTH: Final = 2048
MAX_PROOF_LENGTH: Final = 8192
MAX_PAYLOAD_LENGTH: Final = 4096
MAX_SIGNATURE_LENGTH: Final = 1024

SeenJti = Callable[[str, str, int], bool]
SeenJtiAsync = Callable[[str, str, int], Awaitable[bool]]


@dataclass(frozen=True, slots=True)
class DPoPProof:
    """A proof that passed every check. ``jkt`` is what tokens are bound to (``cnf.jkt``)."""

    jkt: str
    jti: str
    alg: str
    iat: int
    expires_at: int
    """Until when its ``jti`` must be remembered: after this ``iat`` is out of the window."""
    public_jwk: Mapping[str, str]
    """The key's RFC 7638 required members only."""


# --- verification ------------------------------------------------------------------------


def verify_proof(
    unverified_proof: str,
    *,
    method: str,
    url: str,
    now: int,
    seen: SeenJti,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonce_secret: bytes | None = None,
    algorithms: Collection[str] = DPOP_ALGORITHMS,
    window: int = IAT_WINDOW,
) -> DPoPProof:
    """Verify a DPoP proof for the request ``method url`` at ``now`` (RFC 9449 §4.3).

    ``access_token``: the token presented with it, so ``ath`` is required and checked.
    ``expected_jkt``: the thumbprint the token (``cnf.jkt``) or code (``dpop_jkt``) is bound to.
    ``nonce_secret``: when given, a fresh server nonce is required; without one the
    proof is refused with ``UseDPoPNonce`` carrying a new nonce to send.
    ``seen`` is called last, only for a proof that passed every other check.

    Raises ``InvalidDPoPProof`` or ``UseDPoPNonce``, both generic to the caller.
    """
    proof = _check(
        unverified_proof,
        method=method,
        url=url,
        now=now,
        access_token=access_token,
        expected_jkt=expected_jkt,
        nonce_secret=nonce_secret,
        algorithms=algorithms,
        window=window,
    )
    if seen(proof.jti, proof.jkt, proof.expires_at):
        raise InvalidDPoPProof("replayed_jti")
    return proof


async def verify_proof_async(
    unverified_proof: str,
    *,
    method: str,
    url: str,
    now: int,
    seen: SeenJtiAsync,
    access_token: str | None = None,
    expected_jkt: str | None = None,
    nonce_secret: bytes | None = None,
    algorithms: Collection[str] = DPOP_ALGORITHMS,
    window: int = IAT_WINDOW,
) -> DPoPProof:
    """``verify_proof`` with an awaitable replay check (an async database session)."""
    proof = _check(
        unverified_proof,
        method=method,
        url=url,
        now=now,
        access_token=access_token,
        expected_jkt=expected_jkt,
        nonce_secret=nonce_secret,
        algorithms=algorithms,
        window=window,
    )
    if await seen(proof.jti, proof.jkt, proof.expires_at):
        raise InvalidDPoPProof("replayed_jti")
    return proof


def _check(
    unverified_proof: str,
    *,
    method: str,
    url: str,
    now: int,
    access_token: str | None,
    expected_jkt: str | None,
    nonce_secret: bytes | None,
    algorithms: Collection[str],
    window: int,
) -> DPoPProof:
    allowed = tuple(algorithms)
    registry_for(allowed)  # a bad allow-list is a programming error: say so before anything
    header_segment, payload_segment, signature_segment = _segments(unverified_proof)
    header = proof_header(header_segment, allowed)
    try:
        payload = urlsafe_b64decode(payload_segment.encode("ascii"))
        signature = urlsafe_b64decode(signature_segment.encode("ascii"))
    except ValueError as exc:
        raise InvalidDPoPProof("malformed") from exc
    signing_input = f"{header_segment}.{payload_segment}".encode("ascii")
    try:
        valid = header.model.verify(signing_input, signature, header.key)
    except LIBRARY_ERRORS as exc:
        raise InvalidDPoPProof("alg_key_mismatch") from exc
    if not valid:
        raise InvalidDPoPProof("bad_signature")
    claims = _claims(payload)
    iat = _check_claims(claims, method, url, now, window)
    _check_binding(claims, header.jkt, access_token, expected_jkt)
    if nonce_secret is not None:
        _check_nonce(claims.get("nonce"), nonce_secret, now)
    return DPoPProof(
        jkt=header.jkt,
        jti=claims["jti"],
        alg=header.alg,
        iat=math.floor(iat),
        expires_at=math.ceil(iat) + window,
        public_jwk=header.public_jwk,
    )


def _segments(unverified_proof: str) -> tuple[str, str, str]:
    """The three segments of a compact JWS, each within its size limit."""
    if not isinstance(unverified_proof, str) or not unverified_proof.isascii():
        raise InvalidDPoPProof("malformed")
    if len(unverified_proof) > MAX_PROOF_LENGTH:
        raise InvalidDPoPProof("too_large")
    parts = unverified_proof.split(".")
    if len(parts) != 3:  # header, payload, signature
        raise InvalidDPoPProof("malformed")
    header_segment, payload_segment, signature_segment = parts
    if len(header_segment) > MAX_HEADER_LENGTH:
        raise InvalidDPoPProof("header_too_large")
    if len(payload_segment) > MAX_PAYLOAD_LENGTH or len(signature_segment) > MAX_SIGNATURE_LENGTH:
        raise InvalidDPoPProof("too_large")
    return header_segment, payload_segment, signature_segment


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise InvalidDPoPProof("malformed") from exc
    if not isinstance(claims, dict):
        raise InvalidDPoPProof("malformed")
    return claims


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None


def _check_claims(claims: Mapping[str, Any], method: str, url: str, now: int, window: int) -> float:
    jti = claims.get("jti")
    if not isinstance(jti, str) or not 0 < len(jti) <= MAX_JTI_LENGTH:
        raise InvalidDPoPProof("bad_jti")
    if claims.get("htm") != method:
        raise InvalidDPoPProof("htm_mismatch")
    htu = claims.get("htu")
    try:
        same_url = isinstance(htu, str) and _normalized(htu) == _normalized(url)
    except ValueError:
        same_url = False
    if not same_url:
        raise InvalidDPoPProof("htu_mismatch")
    iat = _number(claims.get("iat"))
    if iat is None:
        raise InvalidDPoPProof("bad_iat")
    if iat < now - window:
        raise InvalidDPoPProof("iat_too_old")
    if iat > now + window:
        raise InvalidDPoPProof("iat_in_future")
    return iat


@lru_cache(maxsize=4096)
def _normalized(url: str) -> str:
    """``normalize_htu``, remembered: a client names the same few URLs again and again.
    Failures raise and are not cached."""
    return normalize_htu(url)


def _check_binding(
    claims: Mapping[str, Any], jkt: str, access_token: str | None, expected_jkt: str | None
) -> None:
    if access_token is not None:
        ath = claims.get("ath")
        if not isinstance(ath, str):
            raise InvalidDPoPProof("missing_ath")
        if not access_token.isascii() or not hmac.compare_digest(
            ath.encode("utf-8", "replace"), access_token_hash(access_token).encode("ascii")
        ):
            raise InvalidDPoPProof("ath_mismatch")
    if expected_jkt is not None and not hmac.compare_digest(
        jkt.encode("ascii"), expected_jkt.encode("utf-8", "replace")
    ):
        raise InvalidDPoPProof("jkt_mismatch")


def _check_nonce(nonce: Any, secret: bytes, now: int) -> None:
    if nonce is None:
        raise UseDPoPNonce("missing_nonce", issue_nonce(secret, now))
    if not isinstance(nonce, str) or not nonce_is_fresh(secret, nonce, now):
        raise UseDPoPNonce("stale_nonce", issue_nonce(secret, now))


__all__ = [
    "DPOP_ALGORITHMS",
    "DPOP_TYP",
    "IAT_WINDOW",
    "MAX_HEADER_LENGTH",
    "NONCE_PERIOD",
    "DPoPProof",
    "SeenJti",
    "SeenJtiAsync",
    "access_token_hash",
    "issue_nonce",
    "nonce_is_fresh",
    "normalize_htu",
    "rsa_modulus_bits",
    "thumbprint",
    "verify_proof",
    "verify_proof_async",
]
