"""Responses encrypted to the client itself (JWE, RFC 7516): ECDH-ES with A256GCM.

A client that registered an ``encryption_jwk`` and asks with ``Accept: application/jose``
gets the body as a compact JWE only its own private key opens, so TLS-terminating
proxies, gateways and logs in between see ciphertext. Direct key agreement (no key
wrapping) with a fresh ephemeral key per response; the ``kid`` of the client's key is
echoed so it can pick the right private key after a rotation. Pure.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Final

from joserfc import jwe
from joserfc.jwk import import_key

if TYPE_CHECKING:
    from collections.abc import Mapping

JOSE_MEDIA_TYPE: Final = "application/jose"
ALG: Final = "ECDH-ES"
ENC: Final = "A256GCM"


def wants_jwe(accept: str | None) -> bool:
    """Whether ``Accept`` (every line of it, joined with commas) asks for
    ``application/jose``: named with a weight above zero, and no lower than JSON's
    (RFC 9110 §12.5.1). Named at the same weight as JSON, it wins: a client that lists
    it at all is asking for encryption."""
    if not accept:
        return False
    jose = json = 0.0
    for part in accept.split(","):
        kind, _, params = part.partition(";")
        kind = kind.strip().lower()
        weight = _weight(params)
        if kind == JOSE_MEDIA_TYPE:
            jose = max(jose, weight)
        elif kind in _JSON_RANGES:
            json = max(json, weight)
    return jose > 0 and jose >= json


_JSON_RANGES: Final = frozenset({"application/json", "application/*", "*/*"})


def _weight(params: str) -> float:
    """The ``q`` of one media range (1 when absent; 0 when malformed, so it counts for
    nothing rather than for everything)."""
    for param in params.split(";"):
        name, _, value = param.partition("=")
        if name.strip().lower() == "q":
            try:
                weight = float(value.strip())
            except ValueError:
                return 0.0
            return weight if 0.0 <= weight <= 1.0 else 0.0
    return 1.0


def encrypt_for(client_key: Mapping[str, Any], plaintext: bytes, *, content_type: str) -> str:
    """A compact JWE of ``plaintext`` to ``client_key`` (a registered public EC/OKP key)."""
    public = {name: value for name, value in client_key.items() if name != "d"}
    header: dict[str, Any] = {"alg": ALG, "enc": ENC, "cty": content_type}
    if isinstance(client_key.get("kid"), str):
        header["kid"] = client_key["kid"]
    return jwe.encrypt_compact(header, plaintext, import_key(public))
