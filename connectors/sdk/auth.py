"""The OAuth pieces a service system signs or checks: ``private_key_jwt`` client
assertions (RFC 7523, ``aud`` = the issuer), PKCE S256 (RFC 7636), and the callback
(``state``, and ``iss`` per RFC 9207, checked before anything else is believed).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlsplit

from joserfc import jws

from connectors.sdk.errors import AccessDenied, AuthorizationResponseError
from connectors.sdk.keys import AsymmetricKey, signing_alg

ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
ASSERTION_TYP = "client-authentication+jwt"
ASSERTION_LIFETIME = 60


@dataclass(frozen=True, slots=True)
class ClientAuth:
    """Who we are to the token endpoint: a client id and the key it registered."""

    client_id: str
    key: AsymmetricKey
    kid: str

    def assertion(self, issuer: str, *, now: int | None = None) -> str:
        """A one-use client assertion; the PDS wants its issuer as the sole ``aud``."""
        issued = int(time.time()) if now is None else now
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": issuer,
            "iat": issued,
            "exp": issued + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(16),
        }
        alg = signing_alg(self.key)
        header = {"alg": alg, "typ": ASSERTION_TYP, "kid": self.kid}
        payload = json.dumps(claims, separators=(",", ":")).encode()
        return jws.serialize_compact(header, payload, self.key, algorithms=[alg])

    def form(self, issuer: str, **params: str) -> dict[str, str]:
        """``params`` plus a fresh assertion: one form per request, never reused."""
        return {
            "client_id": self.client_id,
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(issuer),
            **params,
        }


@dataclass(frozen=True, slots=True)
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        digest = hashlib.sha256(self.verifier.encode("ascii")).digest()
        return base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii")


def callback_params(callback: str | Mapping[str, str]) -> dict[str, str]:
    """The callback's parameters from the full redirected URL, its path and query (as web
    frameworks hand it over), its query, or a mapping. A repeated parameter is refused:
    no guessing which one the server meant."""
    if isinstance(callback, Mapping):
        return dict(callback)
    parts = urlsplit(callback)
    query = parts.query if parts.scheme or callback.startswith("/") else callback.lstrip("?")
    pairs = parse_qsl(query, keep_blank_values=True)
    params = dict(pairs)
    if len(params) != len(pairs):
        raise AuthorizationResponseError("A callback parameter is repeated.", code="bad_callback")
    return params


def checked_code(params: Mapping[str, str], *, state: str, issuer: str) -> str:
    """The code, once ``iss`` and ``state`` prove the answer is to our request from our PDS;
    ``AccessDenied`` when the citizen refused."""
    if not _same(params.get("iss"), issuer):
        raise AuthorizationResponseError(
            "The callback's iss is not this PDS (RFC 9207): ignore it.", code="iss_mismatch"
        )
    if not _same(params.get("state"), state):
        raise AuthorizationResponseError(
            "The callback's state is not the one we sent: ignore it.", code="state_mismatch"
        )
    error = params.get("error")
    if error == "access_denied":
        raise AccessDenied("The citizen did not agree to share.", code=error)
    if error:
        detail = params.get("error_description") or "The authorization failed."
        raise AuthorizationResponseError(detail, code=error)
    code = params.get("code")
    if not code:
        raise AuthorizationResponseError("The callback carries no code.", code="missing_code")
    return code


def _same(given: str | None, expected: str) -> bool:
    return given is not None and hmac.compare_digest(given.encode(), expected.encode())
