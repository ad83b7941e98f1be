"""The PDS's token-signing keys: ES256 (P-256; DESIGN.md), named by their RFC 7638
thumbprint and stored as their raw private scalar.

``kid`` is computed by ``ECKey.thumbprint()`` over the required members (pitfall 8). The
private key is stored as its raw 32-byte big-endian scalar (the JWK ``d`` member, SEC 1
§2.3.7): the same "raw private bytes" the Ed25519 checkpoint keys keep, so both wrap
under the KEK alike. ``signer_from_private_bytes`` rebuilds it and refuses a ``kid`` that
is not its thumbprint, so a key unwrapped for the wrong row cannot sign under another
key's name. Pure.
"""

from __future__ import annotations

import hmac
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from cryptography.hazmat.primitives.asymmetric import ec
from joserfc.jwk import ECKey

if TYPE_CHECKING:
    from collections.abc import Mapping

TOKEN_ALG: Final = "ES256"  # noqa: S105 - an algorithm name, not a secret
KEY_CURVE: Final = "P-256"
_SCALAR_BYTES: Final = 32


@dataclass(frozen=True, slots=True)
class TokenSigner:
    """The key the PDS signs with now; the private key stays out of ``repr`` and logs."""

    kid: str
    key: ECKey = field(repr=False)

    def __post_init__(self) -> None:
        if not self.kid or not self.key.is_private or self.key.curve_name != KEY_CURVE:
            raise ValueError("a token signer needs a kid and a private P-256 key")


@dataclass(frozen=True, slots=True)
class NewSigningKey:
    """What to store for a new key: wrap ``private_bytes``, publish ``public_jwk``."""

    kid: str
    private_bytes: bytes = field(repr=False)
    """The 32-byte big-endian P-256 private scalar."""
    public_jwk: Mapping[str, str]
    """Public members only, with ``kid``, ``alg: ES256`` and ``use: sig``."""


def new_signing_key() -> NewSigningKey:
    """A fresh P-256 key whose ``kid`` is its RFC 7638 thumbprint."""
    key = ECKey.generate_key(KEY_CURVE)
    kid = key.thumbprint()
    return NewSigningKey(kid=kid, private_bytes=_scalar(key), public_jwk=public_jwk(key, kid))


def signer_from_private_bytes(kid: str, raw: bytes) -> TokenSigner:
    """Rebuild a stored key; ``ValueError`` unless ``raw`` is a P-256 scalar whose
    thumbprint is ``kid``."""
    if len(raw) != _SCALAR_BYTES:
        raise ValueError("a P-256 private key is 32 bytes")
    private = ec.derive_private_key(int.from_bytes(raw, "big"), ec.SECP256R1())
    key = ECKey.import_key(private)
    if not hmac.compare_digest(key.thumbprint().encode(), kid.encode("utf-8", "replace")):
        raise ValueError("the private key does not match its kid")
    return TokenSigner(kid=kid, key=key)


def public_jwk(key: ECKey, kid: str) -> dict[str, str]:
    """The JWKS entry for ``key``: never a private member, whatever ``key`` holds."""
    members = key.as_dict(private=False)
    public = {name: str(members[name]) for name in ("kty", "crv", "x", "y")}
    return {**public, "kid": kid, "alg": TOKEN_ALG, "use": "sig"}


def _scalar(key: ECKey) -> bytes:
    private = key.private_key
    if private is None:  # pragma: no cover - generate_key always makes a private key
        raise ValueError("not a private key")
    return private.private_numbers().private_value.to_bytes(_SCALAR_BYTES, "big")
