"""PKCE with S256 only (RFC 7636 §4.1-4.6); ``plain`` would let a stolen code be used."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from typing import Final

METHOD: Final = "S256"
_VERIFIER: Final = re.compile(r"^[A-Za-z0-9._~-]{43,128}$")
_CHALLENGE: Final = re.compile(r"^[A-Za-z0-9_-]{43}$")


def challenge_for(verifier: str) -> str:
    """BASE64URL(SHA256(ASCII(code_verifier))), unpadded."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def is_challenge(value: str) -> bool:
    """Whether ``value`` has the shape of an S256 challenge (43 base64url characters)."""
    return bool(_CHALLENGE.match(value))


def verifier_matches(verifier: str, challenge: str) -> bool:
    """A well-formed verifier whose S256 hash is ``challenge``, compared in constant time."""
    if not _VERIFIER.match(verifier):
        return False
    return hmac.compare_digest(challenge_for(verifier), challenge)
