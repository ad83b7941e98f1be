"""What every verifier of untrusted JWS shares: reading a compact JWS, sizing RSA keys.

The DPoP and client-assertion verifiers (connectors) and the token verifier (consent)
all refuse non-ASCII or oversized input before parsing and map every library failure
to their own non-leaky error; RSA key sizes are bounded the same way everywhere.
"""

from __future__ import annotations

import base64
from typing import TYPE_CHECKING, Final

from joserfc import jws
from joserfc.errors import ExceededSizeError, JoseError

if TYPE_CHECKING:
    from collections.abc import Callable

# What joserfc (and the json module beneath it) raise on hostile input.
LIBRARY_ERRORS: Final = (JoseError, ValueError, TypeError, KeyError, RecursionError)


def extract_compact(
    unverified: str,
    registry: jws.JWSRegistry,
    *,
    max_length: int,
    error: Callable[[str], Exception],
    header_too_large: str = "header_too_large",
) -> jws.CompactSignature:
    """Split a compact JWS without verifying it; any problem raises ``error(reason)``."""
    if not isinstance(unverified, str) or not unverified.isascii():
        raise error("malformed")
    if len(unverified) > max_length:
        raise error("too_large")
    try:
        return jws.extract_compact(unverified.encode("ascii"), registry=registry)
    except ExceededSizeError as exc:
        raise error(header_too_large) from exc
    except LIBRARY_ERRORS as exc:
        raise error("malformed") from exc


def rsa_modulus_bits(n: str) -> int:
    """The size in bits of an RSA JWK's base64url modulus ``n`` (0 if it does not decode)."""
    try:
        raw = base64.urlsafe_b64decode(n + "=" * (-len(n) % 4))
    except ValueError:
        return 0
    return int.from_bytes(raw, "big").bit_length()
