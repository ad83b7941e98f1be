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
    """Whether the ``Accept`` header asks for ``application/jose`` (parameters ignored)."""
    if not accept:
        return False
    kinds = (part.split(";", 1)[0].strip().lower() for part in accept.split(","))
    return JOSE_MEDIA_TYPE in kinds


def encrypt_for(client_key: Mapping[str, Any], plaintext: bytes, *, content_type: str) -> str:
    """A compact JWE of ``plaintext`` to ``client_key`` (a registered public EC/OKP key)."""
    public = {name: value for name, value in client_key.items() if name != "d"}
    header: dict[str, Any] = {"alg": ALG, "enc": ENC, "cty": content_type}
    if isinstance(client_key.get("kid"), str):
        header["kid"] = client_key["kid"]
    return jwe.encrypt_compact(header, plaintext, import_key(public))
