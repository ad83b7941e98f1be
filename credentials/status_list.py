"""IETF Token Status List (draft-ietf-oauth-status-list): the list, its encoding, its token.

Pure: the caller stores the list's bytes and which indexes are taken, and passes ``now``.

Encoding. Each credential owns an index; its status is ``bits`` wide (1, 2, 4 or 8) and
packed least significant bit first, so with ``bits=1`` index 0 is bit 0 of byte 0. The
bytes are DEFLATE-compressed in zlib format at level 9 and base64url-encoded without
padding: ``{"bits": 2, "lst": "..."}``. (The W3C Bitstring Status List packs the other
way round, gzips and counts ``ttl`` in milliseconds: nothing here is shared with it.)

Values. 2 bits by default, so a credential can be suspended as well as revoked: 0 VALID,
1 INVALID (revoked), 2 SUSPENDED; 3 is the draft's application-specific value.

Indexes are drawn at random from the free ones (``secrets``), so a credential's index
says nothing about when it was issued, and never twice: the caller passes the taken set.

The Status List Token is a JWT with ``typ: statuslist+jwt``, ``sub`` = the list's URI,
``iat``, ``exp``, ``ttl`` (seconds) and ``status_list``; verification checks each, and
``StatusListInvalid.reason`` names the check that failed.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import secrets
import zlib
from dataclasses import dataclass
from enum import IntEnum
from typing import TYPE_CHECKING, Any, Final

from joserfc import jws
from joserfc.jwk import ECKey

from pds import errors
from pds.jose import LIBRARY_ERRORS, extract_compact

if TYPE_CHECKING:
    from collections.abc import Collection, Mapping

STATUS_LIST_TYP: Final = "statuslist+jwt"
ALG: Final = "ES256"
BITS: Final = (1, 2, 4, 8)
DEFAULT_BITS: Final = 2
LEEWAY: Final = 5
MAX_TOKEN_LENGTH: Final = 4 * 1024 * 1024
"""A million 2-bit entries compress to a few KiB when few are set, 330 KB at worst."""
MAX_ENTRIES: Final = 1 << 24
"""Refuse to inflate a list beyond 16 Mi entries (4 MiB at 2 bits): a zlib bomb guard."""
_HEADER_MEMBERS: Final = frozenset({"alg", "typ", "kid"})


class Status(IntEnum):
    """The registered status values; 3 and 0x0C-0x0F are left to applications."""

    VALID = 0
    INVALID = 1
    SUSPENDED = 2
    APPLICATION_SPECIFIC = 3


class StatusListInvalid(errors.Refusal, errors.InvalidInput):
    """A status list or its token was refused; ``reason`` names the failed check."""

    code = "invalid_status_list"
    title = "The status list is not valid"
    public_detail = "The status list token is not valid."


class StatusList:
    """A mutable list of ``size`` statuses, each ``bits`` wide, packed LSB first."""

    __slots__ = ("bits", "data", "size")

    def __init__(self, size: int, bits: int = DEFAULT_BITS, data: bytearray | None = None) -> None:
        if bits not in BITS:
            raise ValueError(f"bits must be one of {BITS}")
        if size <= 0 or size * bits % 8:
            raise ValueError("a status list holds a positive whole number of bytes")
        nbytes = size * bits // 8
        if data is not None and len(data) != nbytes:
            raise ValueError(f"{size} entries of {bits} bits need {nbytes} bytes")
        self.size, self.bits = size, bits
        self.data = data if data is not None else bytearray(nbytes)

    def _locate(self, index: int) -> tuple[int, int]:
        if not 0 <= index < self.size:
            raise IndexError(f"status list index {index} is outside 0..{self.size - 1}")
        bit = index * self.bits
        return bit // 8, bit % 8

    def __getitem__(self, index: int) -> int:
        byte, shift = self._locate(index)
        return (self.data[byte] >> shift) & ((1 << self.bits) - 1)

    def __setitem__(self, index: int, value: int) -> None:
        mask = (1 << self.bits) - 1
        if not 0 <= value <= mask:
            raise ValueError(f"a {self.bits}-bit status is 0..{mask}")
        byte, shift = self._locate(index)
        self.data[byte] = (self.data[byte] & ~(mask << shift) & 0xFF) | (value << shift)

    def __len__(self) -> int:
        return self.size

    def to_json(self) -> dict[str, Any]:
        """The ``StatusList`` object: ``{"bits": ..., "lst": base64url(zlib(bytes))}``."""
        compressed = zlib.compress(bytes(self.data), level=9)
        return {
            "bits": self.bits,
            "lst": base64.urlsafe_b64encode(compressed).rstrip(b"=").decode(),
        }

    @classmethod
    def from_json(cls, value: Any) -> StatusList:
        """Decode a ``StatusList`` object; ``StatusListInvalid`` if it is not one."""
        if not isinstance(value, dict):
            raise StatusListInvalid("malformed_status_list")
        bits, lst = value.get("bits"), value.get("lst")
        if isinstance(bits, bool) or bits not in BITS or not isinstance(lst, str):
            raise StatusListInvalid("malformed_status_list")
        data = _inflate(lst, MAX_ENTRIES * bits // 8)
        if not data:
            raise StatusListInvalid("malformed_status_list")
        return cls(len(data) * 8 // bits, bits, bytearray(data))


def _inflate(lst: str, limit: int) -> bytes:
    """base64url then zlib, stopping at ``limit`` bytes so a small token cannot explode."""
    try:
        compressed = base64.urlsafe_b64decode(lst + "=" * (-len(lst) % 4))
        inflater = zlib.decompressobj()
        data = inflater.decompress(compressed, limit + 1)
    except (binascii.Error, ValueError, zlib.error) as exc:
        raise StatusListInvalid("malformed_status_list") from exc
    if len(data) > limit:
        raise StatusListInvalid("status_list_too_large")
    if not inflater.eof or inflater.unused_data:
        raise StatusListInvalid("malformed_status_list")
    return data


def allocate_index(size: int, taken: Collection[int]) -> int:
    """A random free index of a ``size``-entry list; ``LookupError`` when the list is full.

    Random so indexes do not reveal issuance order; never one in ``taken`` so no two
    credentials share a status (the draft forbids reusing a ``uri`` + ``idx`` pair).
    """
    if len(taken) >= size:
        raise LookupError("the status list is full; start a new one")
    if len(taken) < size // 2:
        while (index := secrets.randbelow(size)) in taken:
            pass
        return index
    free = [index for index in range(size) if index not in taken]
    return free[secrets.randbelow(len(free))]


# --- the Status List Token -----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class StatusListToken:
    """A verified Status List Token."""

    uri: str
    issued_at: int
    expires_at: int | None
    ttl: int | None
    status_list: StatusList


class _Registry(jws.JWSRegistry):
    max_payload_length = MAX_TOKEN_LENGTH


_REGISTRY: Final = _Registry(algorithms=[ALG])


def sign_token(
    status_list: StatusList,
    key: ECKey,
    *,
    uri: str,
    now: int,
    lifetime: int,
    ttl: int,
    kid: str | None = None,
) -> str:
    """The ``statuslist+jwt`` for ``status_list`` published at ``uri``."""
    if not uri or lifetime <= 0 or not 0 < ttl <= lifetime:
        raise ValueError("a status list token needs a uri and 0 < ttl <= lifetime")
    claims = {
        "sub": uri,
        "iat": now,
        "exp": now + lifetime,
        "ttl": ttl,
        "status_list": status_list.to_json(),
    }
    header = {"alg": ALG, "typ": STATUS_LIST_TYP} | ({"kid": kid} if kid else {})
    body = json.dumps(claims, separators=(",", ":")).encode("ascii")
    return jws.serialize_compact(header, body, key, registry=_REGISTRY)


def verify_token(
    unverified: str,
    *,
    uri: str,
    public_keys: Mapping[str, Mapping[str, Any]],
    now: int,
    max_age: int | None = None,
    leeway: int = LEEWAY,
) -> StatusListToken:
    """Check the token's header, signature, ``sub`` == ``uri``, ``exp`` then ``iat``.

    ``public_keys`` maps ``kid`` to the issuer's public JWK; a header without ``kid`` is
    accepted only when there is exactly one key. ``max_age`` bounds how old ``iat`` may be.
    """
    signed = extract_compact(
        unverified, _REGISTRY, max_length=MAX_TOKEN_LENGTH, error=StatusListInvalid
    )
    header = signed.headers()
    if not header.keys() <= _HEADER_MEMBERS or header.get("typ") != STATUS_LIST_TYP:
        raise StatusListInvalid("wrong_typ")
    if header.get("alg") != ALG:
        raise StatusListInvalid("alg_not_allowed")
    _check_signature(signed, _key(public_keys, header.get("kid")))
    claims = _claims(signed.payload)
    return _validate(claims, uri=uri, now=now, max_age=max_age, leeway=leeway)


def _key(public_keys: Mapping[str, Mapping[str, Any]], kid: Any) -> ECKey:
    if kid is None and len(public_keys) == 1:
        kid = next(iter(public_keys))
    jwk = public_keys.get(kid) if isinstance(kid, str) else None
    if jwk is None or {"d", "p", "q", "k"} & jwk.keys():
        raise StatusListInvalid("unknown_key")
    if (jwk.get("kty"), jwk.get("crv"), jwk.get("alg", ALG)) != ("EC", "P-256", ALG):
        raise StatusListInvalid("unknown_key")
    try:
        return ECKey.import_key({name: jwk[name] for name in ("kty", "crv", "x", "y")})
    except (*LIBRARY_ERRORS, KeyError) as exc:
        raise StatusListInvalid("unknown_key") from exc


def _check_signature(signed: jws.CompactSignature, key: ECKey) -> None:
    try:
        valid = jws.validate_compact(signed, key, registry=_REGISTRY)
    except LIBRARY_ERRORS as exc:
        raise StatusListInvalid("bad_signature") from exc
    if not valid:
        raise StatusListInvalid("bad_signature")


def _claims(payload: bytes) -> dict[str, Any]:
    try:
        claims = json.loads(payload)
    except (ValueError, RecursionError) as exc:
        raise StatusListInvalid("malformed") from exc
    if not isinstance(claims, dict):
        raise StatusListInvalid("malformed")
    return claims


def _validate(
    claims: Mapping[str, Any], *, uri: str, now: int, max_age: int | None, leeway: int
) -> StatusListToken:
    """The draft's order: ``sub``, then ``exp``, then ``iat`` freshness; ``ttl`` positive."""
    if claims.get("sub") != uri:
        raise StatusListInvalid("wrong_sub")
    exp, iat, ttl = claims.get("exp"), _integer(claims.get("iat")), claims.get("ttl")
    if exp is not None and (_integer(exp) is None or now >= exp + leeway):
        raise StatusListInvalid("expired")
    if iat is None or iat > now + leeway:
        raise StatusListInvalid("bad_iat")
    if max_age is not None and iat < now - max_age - leeway:
        raise StatusListInvalid("stale")
    if ttl is not None and (_integer(ttl) is None or ttl <= 0):
        raise StatusListInvalid("bad_ttl")
    return StatusListToken(uri, iat, exp, ttl, StatusList.from_json(claims.get("status_list")))


def status_of(token: StatusListToken, idx: int) -> int:
    """The status at ``idx``; an index outside the list is refused, never read as VALID."""
    try:
        return token.status_list[idx]
    except IndexError as exc:
        raise StatusListInvalid("index_out_of_range") from exc


def _integer(value: Any) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    return int(value) if value == int(value) else None


__all__ = [
    "ALG",
    "BITS",
    "DEFAULT_BITS",
    "MAX_ENTRIES",
    "MAX_TOKEN_LENGTH",
    "STATUS_LIST_TYP",
    "Status",
    "StatusList",
    "StatusListInvalid",
    "StatusListToken",
    "allocate_index",
    "sign_token",
    "status_of",
    "verify_token",
]
