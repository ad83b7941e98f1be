"""The values a DPoP proof is checked against: the RFC 7638 key thumbprint, the ``ath``
hash of an access token, the normalised ``htu``, and stateless server nonces.

Pure, and split from ``connectors.dpop`` (which re-exports them) so the verifier stays
readable; the token endpoint and the SDK's tests use them directly too.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import string
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from collections.abc import Mapping

NONCE_PERIOD: Final = 120
"""A nonce is fresh in the period it was issued in and the next: 2 to 4 minutes."""

_REQUIRED_MEMBERS: Final[Mapping[str, tuple[str, ...]]] = {
    "EC": ("crv", "kty", "x", "y"),
    "OKP": ("crv", "kty", "x"),
    "RSA": ("e", "kty", "n"),
}
_NONCE_LABEL: Final = b"pds/dpop-nonce/v1:"
_MIN_SECRET_BYTES: Final = 32


# --- thumbprints, ath and htu ------------------------------------------------------------


def _b64url(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def thumbprint(jwk: Mapping[str, Any]) -> str:
    """RFC 7638 SHA-256 thumbprint, over the required members only (``kid``, ``alg``… ignored).

    Raises ``ValueError`` for a key type other than EC, OKP or RSA, or a missing member.
    """
    names = required_members(jwk)
    if names is None:
        raise ValueError("thumbprints are computed for EC, OKP and RSA keys only")
    members = {name: jwk.get(name) for name in names}
    if not all(isinstance(value, str) and value for value in members.values()):
        raise ValueError("the key lacks a required member")
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    return _b64url(hashlib.sha256(canonical.encode("utf-8")).digest())


def required_members(jwk: Mapping[str, Any]) -> tuple[str, ...] | None:
    """The RFC 7638 members of this key type (None for a type we do not take)."""
    kty = jwk.get("kty")
    return _REQUIRED_MEMBERS.get(kty) if isinstance(kty, str) else None


def access_token_hash(access_token: str) -> str:
    """The ``ath`` claim: base64url(SHA-256(ASCII access token)), RFC 9449 §4.2."""
    return _b64url(hashlib.sha256(access_token.encode("ascii")).digest())


_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_UNRESERVED: Final = frozenset(string.ascii_letters + string.digits + "-._~")
_HEX: Final = frozenset(string.hexdigits)


def normalize_htu(url: str) -> str:
    """The form ``htu`` is compared in (RFC 3986 §6.2.2 and §6.2.3; query, fragment dropped).

    Lower-case scheme and host, default port removed, percent-encodings of unreserved
    characters decoded and the rest upper-cased, dot segments removed, empty path → ``/``.
    Raises ``ValueError`` for anything but an absolute http(s) URL without userinfo.
    """
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    host = parts.hostname
    if scheme not in _DEFAULT_PORTS or not host or "@" in parts.netloc:
        raise ValueError("htu must be an absolute http(s) URL without userinfo")
    netloc = f"[{host}]" if ":" in host else host
    port = parts.port
    if port is not None and port != _DEFAULT_PORTS[scheme]:
        netloc = f"{netloc}:{port}"
    path = _remove_dot_segments(_normalize_percent_encoding(parts.path)) or "/"
    return f"{scheme}://{netloc}{path}"


def _normalize_percent_encoding(path: str) -> str:
    pieces = path.split("%")
    out = [pieces[0]]
    for piece in pieces[1:]:
        code = piece[:2]
        if len(code) != 2 or not set(code) <= _HEX:
            raise ValueError("bad percent-encoding")
        char = chr(int(code, 16))
        out.append((char if char in _UNRESERVED else f"%{code.upper()}") + piece[2:])
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    segments = path.split("/")
    kept: list[str] = []
    for segment in segments:
        if segment == "..":
            if len(kept) > 1:
                kept.pop()
        elif segment != ".":
            kept.append(segment)
    if segments[-1] in {".", ".."}:
        kept.append("")
    return "/".join(kept)


# --- server nonces -----------------------------------------------------------------------


def _nonce_for(secret: bytes, period_index: int) -> bytes:
    if len(secret) < _MIN_SECRET_BYTES:
        raise ValueError(f"the nonce secret must be at least {_MIN_SECRET_BYTES} bytes")
    mac = hmac.new(secret, _NONCE_LABEL + str(period_index).encode(), hashlib.sha256)
    return _b64url(mac.digest()[:18]).encode("ascii")


def issue_nonce(secret: bytes, now: int, *, period: int = NONCE_PERIOD) -> str:
    """A ``DPoP-Nonce`` value any process holding ``secret`` can check, with no state."""
    return _nonce_for(secret, now // period).decode("ascii")


def nonce_is_fresh(secret: bytes, nonce: str, now: int, *, period: int = NONCE_PERIOD) -> bool:
    """Whether ``nonce`` was issued with ``secret`` in this period or the one before."""
    current = now // period
    given = nonce.encode("utf-8", "replace")
    fresh = [hmac.compare_digest(given, _nonce_for(secret, i)) for i in (current, current - 1)]
    return any(fresh)
