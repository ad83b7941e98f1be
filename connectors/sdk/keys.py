"""Keys as the SDK takes them: a private JWK (dict), a cryptography key, or a joserfc key.

Signing keys are EC P-256 (ES256), RSA (PS256) or Ed25519 (DPoP only: the PDS accepts
ES256, PS256 and RS256 for client authentication). Encryption keys are EC P-256 or X25519.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, TypeAlias

from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa, x25519
from joserfc.jwk import ECKey, OKPKey, RSAKey

if TYPE_CHECKING:
    from pathlib import Path

AsymmetricKey: TypeAlias = ECKey | RSAKey | OKPKey
KeyInput: TypeAlias = (
    Mapping[str, Any]
    | ec.EllipticCurvePrivateKey
    | rsa.RSAPrivateKey
    | ed25519.Ed25519PrivateKey
    | x25519.X25519PrivateKey
    | AsymmetricKey
)
_PRIVATE_MEMBERS = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})


def private_key(value: KeyInput) -> AsymmetricKey:
    """A joserfc private key from any of the accepted forms; a public key is refused."""
    key: AsymmetricKey
    if isinstance(value, ECKey | RSAKey | OKPKey):
        key = value
    elif isinstance(value, ec.EllipticCurvePrivateKey):
        key = ECKey.import_key(value)
    elif isinstance(value, rsa.RSAPrivateKey):
        key = RSAKey.import_key(value)
    elif isinstance(value, ed25519.Ed25519PrivateKey | x25519.X25519PrivateKey):
        key = OKPKey.import_key(value)
    else:
        key = _from_jwk(value)
    if not key.is_private:
        raise ValueError("a private key is needed here, not a public one")
    return key


def _from_jwk(jwk: Mapping[str, Any]) -> AsymmetricKey:
    data = {name: value for name, value in jwk.items() if name not in {"use", "key_ops", "alg"}}
    kinds: dict[str, type[AsymmetricKey]] = {"EC": ECKey, "RSA": RSAKey, "OKP": OKPKey}
    kind = kinds.get(str(jwk.get("kty")))
    if kind is None:
        raise ValueError("keys must be EC, RSA or OKP JWKs")
    return kind.import_key(data)


def signing_alg(key: AsymmetricKey) -> str:
    """The JWS algorithm this key signs with."""
    if isinstance(key, ECKey):
        if key.curve_name != "P-256":
            raise ValueError("EC signing keys must be P-256 (ES256)")
        return "ES256"
    if isinstance(key, RSAKey):
        return "PS256"
    if key.curve_name != "Ed25519":
        raise ValueError("OKP signing keys must be Ed25519")
    return "Ed25519"


def public_jwk(key: AsymmetricKey, **extra: str) -> dict[str, Any]:
    """The public half as a JWK dict, with ``extra`` members (``kid``, ``use``, ``alg``)."""
    public = {k: v for k, v in key.as_dict(private=False).items() if k not in _PRIVATE_MEMBERS}
    return {**public, **extra}


def thumbprint(key: AsymmetricKey) -> str:
    """RFC 7638 SHA-256 thumbprint: the ``kid`` convention and DPoP's ``jkt``."""
    return key.thumbprint()


def generate_signing_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def generate_encryption_key() -> ECKey:
    return ECKey.generate_key("P-256", private=True)


def write_private_jwk(path: Path, key: AsymmetricKey, **extra: str) -> None:
    """Save a private JWK readable by its owner only (created 0600, never world-readable)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.touch(mode=0o600, exist_ok=True)
    path.chmod(0o600)
    path.write_text(json.dumps({**key.as_dict(private=True), **extra}, indent=2) + "\n")


def read_private_jwk(path: Path) -> AsymmetricKey:
    loaded: dict[str, Any] = json.loads(path.read_text())
    return private_key(loaded)
