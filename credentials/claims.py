"""Checking an issuer's claims against the credential type, before anything is signed.

Pure. A credential is signed once and then trusted everywhere, so the shape is checked
here: every mandatory claim present, no claim the type does not define (a typo would
otherwise become a signed, undisplayable claim), and values that are plain JSON of bounded
size and depth (strings, numbers, booleans, lists and objects of them).
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Final

from credentials.errors import ClaimsRejected

if TYPE_CHECKING:
    from collections.abc import Mapping

    from credentials.types import CredentialType

MAX_DEPTH: Final = 4
MAX_STRING: Final = 1000
MAX_ITEMS: Final = 50


def checked_claims(kind: CredentialType, claims: Mapping[str, Any]) -> dict[str, Any]:
    """``claims`` if they fit ``kind``; ``ClaimsRejected`` naming the first misfit."""
    known = {claim.name for claim in kind.claims}
    unknown = sorted(set(claims) - known)
    if unknown:
        raise ClaimsRejected(
            f"{kind.slug} has no claim '{unknown[0][:64]}'; it has: {', '.join(sorted(known))}.",
            field=f"claims.{unknown[0][:64]}",
        )
    for claim in kind.claims:
        if claim.mandatory and claim.name not in claims:
            raise ClaimsRejected(
                f"{kind.slug} needs the claim '{claim.name}'.", field=f"claims.{claim.name}"
            )
    for name, value in claims.items():
        if not _plain(value, MAX_DEPTH):
            raise ClaimsRejected(
                f"'{name}' must be a string, number, boolean, or a small list or object of them.",
                field=f"claims.{name}",
            )
    return dict(claims)


def _plain(value: Any, depth: int) -> bool:
    if isinstance(value, str):
        return 0 < len(value) <= MAX_STRING
    if isinstance(value, bool):
        return True
    if isinstance(value, int | float):
        return math.isfinite(value) and abs(value) < 2**53
    if depth > 0 and isinstance(value, list):
        return len(value) <= MAX_ITEMS and all(_plain(item, depth - 1) for item in value)
    if depth > 0 and isinstance(value, dict):
        return (
            0 < len(value) <= MAX_ITEMS
            and all(isinstance(key, str) and key not in {"_sd", "..."} for key in value)
            and all(_plain(item, depth - 1) for item in value.values())
        )
    return False
