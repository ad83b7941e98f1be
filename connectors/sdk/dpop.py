"""DPoP proofs (RFC 9449) and the server nonces that go in them.

One key per ``PdsClient``: every access token the PDS issues is bound to it
(``cnf.jkt``), so a token copied out of a log is useless without it. A fresh proof per
request names the method and the URL without its query (``htm``, ``htu``), carries a
unique ``jti`` and ``iat``, ``ath`` (the token's hash) at the resource server, and the
latest ``DPoP-Nonce`` the server gave for that origin.
"""

from __future__ import annotations

import base64
import hashlib
import json
import secrets
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

from joserfc import jws

from connectors.sdk.keys import generate_signing_key, private_key, public_jwk, signing_alg

if TYPE_CHECKING:
    from collections.abc import Mapping

    from connectors.sdk.keys import AsymmetricKey, KeyInput

DPOP_TYP = "dpop+jwt"


def htu(url: str) -> str:
    """The URL as a proof names it: scheme, host and path; no query or fragment (§4.2)."""
    parts = urlsplit(url)
    return urlunsplit((parts.scheme, parts.netloc, parts.path or "/", "", ""))


def origin(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.scheme}://{parts.netloc}".lower()


def ath(access_token: str) -> str:
    """base64url(SHA-256(token)): binds a proof to the token it travels with."""
    digest = hashlib.sha256(access_token.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


class DPoPSigner:
    """Signs proofs with one private key; ``jkt`` is the thumbprint tokens are bound to."""

    def __init__(self, key: KeyInput | None = None) -> None:
        self._key: AsymmetricKey = private_key(key) if key is not None else generate_signing_key()
        self.alg = signing_alg(self._key)
        self.public_jwk = public_jwk(self._key)
        self.jkt = self._key.thumbprint()

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        now: int | None = None,
    ) -> str:
        claims: dict[str, Any] = {
            "jti": secrets.token_urlsafe(16),
            "htm": method.upper(),
            "htu": htu(url),
            "iat": int(time.time()) if now is None else now,
        }
        if access_token is not None:
            claims["ath"] = ath(access_token)
        if nonce is not None:
            claims["nonce"] = nonce
        header = {"typ": DPOP_TYP, "alg": self.alg, "jwk": self.public_jwk}
        payload = json.dumps(claims, separators=(",", ":")).encode()
        return jws.serialize_compact(header, payload, self._key, algorithms=[self.alg])


class NonceCache:
    """The latest ``DPoP-Nonce`` each origin sent (RFC 9449 §8): one per server."""

    def __init__(self) -> None:
        self._nonces: dict[str, str] = {}

    def get(self, url: str) -> str | None:
        return self._nonces.get(origin(url))

    def learn(self, url: str, headers: Mapping[str, str]) -> None:
        """Remember the nonce a response carries, if any."""
        nonce = headers.get("dpop-nonce")
        if nonce:
            self._nonces[origin(url)] = nonce
