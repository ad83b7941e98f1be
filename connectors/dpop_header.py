"""A DPoP proof's protected header (RFC 9449 §4.2): its type, its algorithm from the
allow-list, and the public key it carries, checked once per distinct header text.

A client sends the same header (``typ``, ``alg``, its ``jwk``) with every proof, so the
result of checking it is remembered by the header's exact text; the signature, claims
and binding of each proof are checked by ``connectors.dpop``. Pure.

- ``EdDSA`` is what PyJWT signs; joserfc warns on it (RFC 9864 deprecates the name). Here it
  is verified by a local algorithm model restricted to Ed25519 keys, which is exactly the
  fully specified ``Ed25519``, so no ``SecurityWarning`` is raised (STANDARDS pitfall 5).
- Only the RFC 7638 required members of ``jwk`` are imported and hashed (pitfall 8); any
  private member refuses the proof (pitfall 9). RSA keys must be 2048 to 4096 bits.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final

from cryptography.exceptions import InvalidSignature
from joserfc import jws
from joserfc.errors import InvalidKeyCurveError
from joserfc.jwa import JWSAlgModel
from joserfc.jwk import Key, OKPKey, import_key
from joserfc.util import urlsafe_b64decode

from connectors.dpop_values import required_members, thumbprint
from connectors.errors import InvalidDPoPProof
from pds.jose import LIBRARY_ERRORS, rsa_modulus_bits

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

DPOP_TYP: Final = "dpop+jwt"
_ASYMMETRIC: Final = frozenset({
    "ES256", "ES384", "ES512", "Ed25519", "EdDSA", "PS256", "PS384", "PS512", "RS256", "RS384",
    "RS512",
})  # fmt: skip
_PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_RSA_BITS: Final = (2048, 4096)


# --- the algorithm registry --------------------------------------------------------------


class _EdDSAOverEd25519(JWSAlgModel):
    """``alg: EdDSA`` accepted with an Ed25519 key only, i.e. the fully specified Ed25519."""

    name = "EdDSA"
    description = "EdDSA restricted to Ed25519 keys (RFC 9864 fully specified Ed25519)"
    key_type = "OKP"

    def check_key(self, key: Any) -> None:
        super().check_key(key)
        if not isinstance(key, OKPKey) or key.curve_name != "Ed25519":
            raise InvalidKeyCurveError("EdDSA is accepted with Ed25519 keys only")

    def sign(self, msg: bytes, key: Any) -> bytes:  # pragma: no cover - never signs
        raise NotImplementedError("this model only verifies; sign with 'Ed25519'")

    def verify(self, msg: bytes, sig: bytes, key: Any) -> bool:
        public_key: Ed25519PublicKey = key.get_op_key("verify")  # check_key made sure
        try:
            public_key.verify(sig, msg)
        except InvalidSignature:
            return False
        return True


_EDDSA_ED25519: Final = _EdDSAOverEd25519()


class _ProofRegistry(jws.JWSRegistry):
    def get_alg(self, name: str) -> JWSAlgModel:
        if name == "EdDSA" and self.allowed and name in self.allowed:
            return _EDDSA_ED25519
        return super().get_alg(name)  # the allow-list is enforced there


@lru_cache(maxsize=16)
def registry_for(algorithms: tuple[str, ...]) -> _ProofRegistry:
    """Registries are immutable once built; one per allow-list, not one per proof."""
    if not algorithms or not set(algorithms) <= _ASYMMETRIC:
        raise ValueError("DPoP algorithms must be a non-empty set of asymmetric JWS algorithms")
    return _ProofRegistry(algorithms=list(algorithms))


# --- the header ---------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ProofHeader:
    """A protected header that passed every check, with its key ready to verify."""

    alg: str
    model: JWSAlgModel
    key: Key
    public_jwk: Mapping[str, str]
    jkt: str


@lru_cache(maxsize=4096)
def proof_header(segment: str, algorithms: tuple[str, ...]) -> ProofHeader:
    """Everything a proof's protected header decides, remembered by the header's exact
    text: a client sends the same header (``typ``, ``alg``, its ``jwk``) with every proof,
    and decoding, checking and matching it to its key cost a third of a proof's check.
    The result depends on nothing but the two arguments. Refusals raise and are not
    cached."""
    registry = registry_for(algorithms)
    try:
        header = json.loads(urlsafe_b64decode(segment.encode("ascii")))
    except (ValueError, RecursionError) as exc:
        raise InvalidDPoPProof("malformed") from exc
    if not isinstance(header, dict):
        raise InvalidDPoPProof("malformed")
    _check_header(header, algorithms)
    try:
        registry.check_header(header)  # joserfc: the registered parameters' types
    except LIBRARY_ERRORS as exc:
        raise InvalidDPoPProof("malformed") from exc
    key, public_jwk, jkt = _import_proof_key(header.get("jwk"))
    try:
        model = registry.get_alg(header["alg"])
        model.check_key(key)
    except LIBRARY_ERRORS as exc:
        raise InvalidDPoPProof("alg_key_mismatch") from exc
    # Read-only: every proof with this header shares it.
    return ProofHeader(header["alg"], model, key, MappingProxyType(public_jwk), jkt)


def _check_header(header: Mapping[str, Any], algorithms: Collection[str]) -> None:
    if header.get("typ") != DPOP_TYP:
        raise InvalidDPoPProof("wrong_typ")
    alg = header.get("alg")
    if not isinstance(alg, str) or alg not in algorithms:
        raise InvalidDPoPProof("alg_not_allowed")
    if "crit" in header:
        raise InvalidDPoPProof("crit_not_understood")


def _import_proof_key(jwk: Any) -> tuple[Key, dict[str, str], str]:
    if not isinstance(jwk, dict):
        raise InvalidDPoPProof("missing_jwk")
    if _PRIVATE_MEMBERS & jwk.keys():
        raise InvalidDPoPProof("private_key_in_header")
    names = required_members(jwk)
    if names is None:
        raise InvalidDPoPProof("unsupported_key_type")
    members = {name: jwk.get(name) for name in names}
    public_jwk = {name: value for name, value in members.items() if isinstance(value, str)}
    if len(public_jwk) != len(names) or not all(public_jwk.values()):
        raise InvalidDPoPProof("bad_jwk")
    # Sized before import: joserfc warns (SecurityWarning) on small RSA keys, which would
    # let any client write to our logs, and a huge modulus makes verification slow.
    if "n" in public_jwk and not _RSA_BITS[0] <= rsa_modulus_bits(public_jwk["n"]) <= _RSA_BITS[1]:
        raise InvalidDPoPProof("rsa_key_size")
    try:
        key, jkt = _imported(tuple(sorted(public_jwk.items())))
    except LIBRARY_ERRORS as exc:
        raise InvalidDPoPProof("bad_jwk") from exc
    return key, public_jwk, jkt


@lru_cache(maxsize=4096)
def _imported(members: tuple[tuple[str, str], ...]) -> tuple[Key, str]:
    """The key and its thumbprint. A client proves with the same key request after
    request; importing it (the curve point check) costs about as much as the signature
    check, so do it once per key. Failures raise and are not cached."""
    key_data: dict[str, str | list[str]] = dict(members)
    return import_key(key_data), thumbprint(key_data)
