"""The shared parts of SD-JWT: checks, keys, encodings and parsing (see the package)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
import math
import re
import secrets
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from pds import errors

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterable, Mapping

    from joserfc.jwk import ECKey, OKPKey

ClaimPath = tuple[str | int, ...]
KB_TYP: Final = "kb+jwt"
SD_ALG: Final = "sha-256"
LEEWAY: Final = 5
MAX_LENGTH: Final = 256 * 1024
"""The longest SD-JWT (+KB) accepted; a credential is a few KiB."""
ALGORITHMS: Final[Mapping[str, tuple[str, str]]] = {
    "ES256": ("EC", "P-256"),
    "ES384": ("EC", "P-384"),
    "ES512": ("EC", "P-521"),
    "Ed25519": ("OKP", "Ed25519"),
}
"""Every signature algorithm this module can check, and the key type each must use."""
DEFAULT_ALGORITHMS: Final = ("ES256",)
_HASHES: Final[Mapping[str, Callable[[bytes], Any]]] = {"sha-256": hashlib.sha256}
RESERVED: Final = frozenset({"_sd", "..."})
HEADER_MEMBERS: Final = frozenset({"alg", "typ", "kid"})
PRIVATE_MEMBERS: Final = frozenset({"d", "p", "q", "dp", "dq", "qi", "oth", "k"})
_B64URL: Final = re.compile(r"[A-Za-z0-9_-]*")


class Check(StrEnum):
    """Which verification step failed: stable words a verification service can report."""

    MALFORMED = "malformed"
    TOO_LARGE = "too_large"
    UNEXPECTED_HEADER = "unexpected_header"
    WRONG_TYP = "wrong_typ"
    ALG_NOT_ALLOWED = "alg_not_allowed"
    UNKNOWN_KEY = "unknown_key"
    BAD_SIGNATURE = "bad_signature"
    UNSUPPORTED_SD_ALG = "unsupported_sd_alg"
    MALFORMED_DISCLOSURE = "malformed_disclosure"
    DUPLICATE_DISCLOSURE = "duplicate_disclosure"
    DUPLICATE_DIGEST = "duplicate_digest"
    RESERVED_CLAIM_NAME = "reserved_claim_name"
    CLAIM_EXISTS = "claim_exists"
    UNREFERENCED_DISCLOSURE = "unreferenced_disclosure"
    EXPIRED = "expired"
    NOT_YET_VALID = "not_yet_valid"
    KEY_BINDING_MISSING = "key_binding_missing"
    KEY_BINDING_UNEXPECTED = "key_binding_unexpected"
    KB_NO_HOLDER_KEY = "kb_no_holder_key"
    KB_MALFORMED = "kb_malformed"
    KB_WRONG_TYP = "kb_wrong_typ"
    KB_ALG_NOT_ALLOWED = "kb_alg_not_allowed"
    KB_BAD_SIGNATURE = "kb_bad_signature"
    KB_WRONG_AUD = "kb_wrong_aud"
    KB_WRONG_NONCE = "kb_wrong_nonce"
    KB_IAT_OUT_OF_WINDOW = "kb_iat_out_of_window"
    KB_WRONG_SD_HASH = "kb_wrong_sd_hash"
    # SD-JWT VC profile (credentials.sdjwt_vc)
    UNKNOWN_ISSUER = "unknown_issuer"
    WRONG_ISSUER = "wrong_issuer"
    MISSING_VCT = "missing_vct"
    WRONG_VCT = "wrong_vct"
    MISSING_IAT = "missing_iat"
    IAT_IN_FUTURE = "iat_in_future"
    DISCLOSED_REGISTERED_CLAIM = "disclosed_registered_claim"
    BAD_CNF = "bad_cnf"
    BAD_STATUS = "bad_status"


class InvalidCredential(errors.Refusal, errors.InvalidInput):
    """A credential or presentation was refused; ``check`` says which step refused it."""

    code = "invalid_credential"
    title = "The credential is not valid"
    public_detail = "The credential or presentation is not valid."

    def __init__(self, check: Check) -> None:
        super().__init__(check.value)
        self.check = check


@dataclass(frozen=True, slots=True)
class SigningKey:
    """A private key that signs issuer JWTs or KB-JWTs; kept out of ``repr`` and logs."""

    key: ECKey | OKPKey = field(repr=False)
    alg: str = "ES256"
    kid: str | None = None

    def __post_init__(self) -> None:
        kty, crv = ALGORITHMS.get(self.alg, ("", ""))
        if not self.key.is_private or (self.key.key_type, _curve(self.key)) != (kty, crv):
            raise ValueError(f"a {self.alg} signing key must be a private {kty} {crv} key")


@dataclass(frozen=True, slots=True)
class KeyBindingPolicy:
    """What this verifier requires of a KB-JWT: its transaction's audience and nonce."""

    audience: str
    nonce: str
    max_age: int = 300
    """How many seconds old a KB-JWT's ``iat`` may be (plus leeway)."""
    algorithms: Collection[str] = DEFAULT_ALGORITHMS


@dataclass(frozen=True, slots=True)
class Verified:
    """A verified presentation: ``claims`` with disclosures applied, ``_sd``/``_sd_alg`` gone."""

    claims: dict[str, Any]
    header: dict[str, Any]
    signed_payload: dict[str, Any]
    """The issuer JWT's payload as signed, before disclosures were applied."""
    disclosures: tuple[str, ...]
    key_binding: dict[str, Any] | None


# --- encoding helpers ------------------------------------------------------------------------


def b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def b64url_decode(text: str) -> bytes:
    """Strict base64url without padding; ``ValueError`` on anything else."""
    if not _B64URL.fullmatch(text) or len(text) % 4 == 1:
        raise ValueError("not base64url")
    try:
        return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except binascii.Error as exc:  # pragma: no cover - the pattern admits only valid input
        raise ValueError("not base64url") from exc


def digest(text: str, sd_alg: str = SD_ALG) -> str:
    """The digest of a disclosure (or of a presentation, for ``sd_hash``): over its ASCII."""
    return b64url(_HASHES[sd_alg](text.encode("ascii")).digest())


def new_salt() -> str:
    """128 bits from the CSPRNG, base64url: RFC 9901 §4.2.1's recommendation."""
    return b64url(secrets.token_bytes(16))


def encode_disclosure(salt: str, *parts: Any) -> str:
    """``[salt, name, value]`` or ``[salt, value]`` as base64url JSON, as RFC 9901 writes it."""
    return b64url(json.dumps([salt, *parts]).encode("utf-8"))


def compact_json(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False, allow_nan=False)


def _curve(key: ECKey | OKPKey) -> str:
    return str(key.as_dict(private=False).get("crv", ""))


# --- parsing -----------------------------------------------------------------------------


def split(text: str) -> tuple[str, list[str], str]:
    """``(issuer JWT, disclosures, KB-JWT or "")``, refusing anything not shaped as §4."""
    if not isinstance(text, str) or not text.isascii():
        raise InvalidCredential(Check.MALFORMED)
    if len(text) > MAX_LENGTH:
        raise InvalidCredential(Check.TOO_LARGE)
    parts = text.split("~")
    if len(parts) < 2 or not all(parts[:-1]):
        raise InvalidCredential(Check.MALFORMED)
    return parts[0], parts[1:-1], parts[-1]


def unverified_payload(jwt: str) -> dict[str, Any]:
    """The issuer JWT's payload, signature unchecked: for choosing keys, never for trust."""
    parts = jwt.split(".")
    try:
        payload = json.loads(b64url_decode(parts[1])) if len(parts) == 3 else None
    except (ValueError, RecursionError) as exc:
        raise InvalidCredential(Check.MALFORMED) from exc
    if not isinstance(payload, dict):
        raise InvalidCredential(Check.MALFORMED)
    return payload


def sd_alg_of(payload: Mapping[str, Any]) -> str:
    sd_alg = payload.get("_sd_alg", SD_ALG)
    if not isinstance(sd_alg, str) or sd_alg not in _HASHES:
        raise InvalidCredential(Check.UNSUPPORTED_SD_ALG)
    return sd_alg


def disclosure_map(disclosures: Iterable[str], sd_alg: str) -> dict[str, tuple[str, list[Any]]]:
    known: dict[str, tuple[str, list[Any]]] = {}
    for disclosure in disclosures:
        key = digest(disclosure, sd_alg)
        if key in known:
            raise InvalidCredential(Check.DUPLICATE_DISCLOSURE)
        known[key] = (disclosure, _decode_disclosure(disclosure))
    return known


def _decode_disclosure(disclosure: str) -> list[Any]:
    try:
        parts = json.loads(b64url_decode(disclosure))
    except (ValueError, RecursionError) as exc:
        raise InvalidCredential(Check.MALFORMED_DISCLOSURE) from exc
    if not isinstance(parts, list) or len(parts) not in (2, 3) or not isinstance(parts[0], str):
        raise InvalidCredential(Check.MALFORMED_DISCLOSURE)
    if len(parts) == 3 and not isinstance(parts[1], str):
        raise InvalidCredential(Check.MALFORMED_DISCLOSURE)
    if len(parts) == 3 and parts[1] in RESERVED:
        raise InvalidCredential(Check.RESERVED_CLAIM_NAME)
    return parts


def children(paths: set[ClaimPath], step: str | int) -> set[ClaimPath]:
    return {path[1:] for path in paths if path and path[0] == step}


def number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value) if math.isfinite(value) else None
