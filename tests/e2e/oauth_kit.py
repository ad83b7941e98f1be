"""A test service system: its keys, manifest, client assertions and DPoP proofs.

Everything it signs is signed with PyJWT, not joserfc, so the server's joserfc-based
verifiers are checked against an independent implementation.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import re
import secrets
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec

from connectors.oauth.pkce import challenge_for
from connectors.registry import parse_manifest, register_client
from e2e.helpers import audit_entries

if TYPE_CHECKING:
    from collections.abc import Callable, Collection

    import httpx
    from litestar.testing import AsyncTestClient

    from pds.audit.models import AuditEntry
    from pds.db import Database

ISSUER = "http://127.0.0.1:8000"
REDIRECT_URI = "https://housing.example.gov.uk/pds/callback"
ASSERTION_TYPE = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM = {"content-type": "application/x-www-form-urlencoded"}


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def public_jwk(key: ec.EllipticCurvePrivateKey) -> dict[str, str]:
    numbers = key.public_key().public_numbers()
    return {
        "kty": "EC",
        "crv": "P-256",
        "x": b64(numbers.x.to_bytes(32, "big")),
        "y": b64(numbers.y.to_bytes(32, "big")),
    }


def thumbprint(jwk: dict[str, str]) -> str:
    members = {name: jwk[name] for name in ("crv", "kty", "x", "y")}
    canonical = json.dumps(members, sort_keys=True, separators=(",", ":"))
    return b64(hashlib.sha256(canonical.encode()).digest())


def data_request(**changes: Any) -> list[dict[str, Any]]:
    request: dict[str, Any] = {
        "type": "pds_data_request",
        "items": [
            {"evidence_type": "proof_of_address", "required": True},
            {"evidence_type": "council_tax_bill", "claims": ["band"], "required": False},
        ],
        "purpose": {
            "term": "sector-publicservices:HousingWelfareManagement",
            "description": "To check your address for your housing application.",
        },
        "lawful_basis": "public_task",
        "access": "ongoing",
        "duration": "P30D",
    }
    request.update(changes)
    return [request]


@dataclass
class ServiceKit:
    """One service system: a client key (for assertions) and a DPoP key."""

    issuer: str = ISSUER
    client_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    dpop_key: ec.EllipticCurvePrivateKey = field(
        default_factory=lambda: ec.generate_private_key(ec.SECP256R1())
    )
    client_id: str = ""
    nonce: str | None = None

    @property
    def kid(self) -> str:
        return thumbprint(public_jwk(self.client_key))

    @property
    def jkt(self) -> str:
        return thumbprint(public_jwk(self.dpop_key))

    def manifest(self, **changes: Any) -> dict[str, Any]:
        body: dict[str, Any] = {
            "name": "Housing Options",
            "organisation": "Example Borough Council",
            "kind": "council_service",
            "contact_email": "housing@example.gov.uk",
            "redirect_uris": [REDIRECT_URI],
            "jwks": {"keys": [{**public_jwk(self.client_key), "kid": self.kid, "alg": "ES256"}]},
            "purposes": [
                "sector-publicservices:HousingWelfareManagement",
                "dpv:ServiceProvision",
            ],
            "categories": ["address", "residency", "household"],
            "privacy_notice_url": "https://example.gov.uk/privacy/housing",
        }
        body.update(changes)
        return body

    async def register(self, db: Database, **changes: Any) -> str:
        async with db.sessions() as session:
            manifest = parse_manifest(json.dumps(self.manifest(**changes)).encode())
            client = await register_client(session, manifest)
            self.client_id = client.client_id
        return self.client_id

    def assertion_claims(self, **changes: Any) -> dict[str, Any]:
        """A valid assertion's claims; a change to None leaves that claim out."""
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + 60,
            "jti": secrets.token_urlsafe(12),
        }
        claims.update(changes)
        return {name: value for name, value in claims.items() if value is not None}

    def assertion(self, *, headers: dict[str, Any] | None = None, **changes: Any) -> str:
        claims = self.assertion_claims(**changes)
        header = {"kid": self.kid, "typ": "client-authentication+jwt", **(headers or {})}
        return pyjwt.encode(claims, self.client_key, algorithm="ES256", headers=header)

    def authenticated(self, **params: str) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion(),
            **params,
        }

    def proof(
        self,
        method: str,
        url: str,
        *,
        access_token: str | None = None,
        nonce: str | None = None,
        headers: dict[str, Any] | None = None,
        **changes: Any,
    ) -> str:
        claims: dict[str, Any] = {
            "jti": str(uuid.uuid4()),
            "htm": method,
            "htu": url,
            "iat": int(time.time()),
        }
        if nonce or self.nonce:
            claims["nonce"] = nonce or self.nonce
        if access_token is not None:
            claims["ath"] = b64(hashlib.sha256(access_token.encode()).digest())
        claims.update(changes)
        claims = {name: value for name, value in claims.items() if value is not None}
        header = {"typ": "dpop+jwt", "jwk": public_jwk(self.dpop_key), **(headers or {})}
        return pyjwt.encode(claims, self.dpop_key, algorithm="ES256", headers=header)

    async def token(
        self, client: AsyncTestClient[Any], params: dict[str, str], **proof: Any
    ) -> httpx.Response:
        """POST /oauth/token with a fresh assertion and proof; learns a nonce once."""
        url = self.issuer + "/oauth/token"
        for _ in range(2):
            response = await client.post(
                "/oauth/token",
                data=self.authenticated(**params),
                headers={**FORM, "DPoP": self.proof("POST", url, **proof)},
            )
            if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce":
                self.nonce = response.headers["DPoP-Nonce"]
                continue
            return response
        return response

    async def learn_nonce(self, client: AsyncTestClient[Any]) -> None:
        """Get a token once, so later requests carry a fresh server nonce. Introspection
        first makes the server's token key, so this does not depend on the token endpoint
        keeping a key it made while refusing (test_first_token_request_on_a_fresh_server…)."""
        made = await self.send(client, "/oauth/introspect", {"token": "-"})
        assert made.status_code == 200, made.text
        learnt = await self.token(client, {"grant_type": "client_credentials"})
        assert learnt.status_code == 200, learnt.text

    async def send(
        self,
        client: AsyncTestClient[Any],
        path: str,
        params: dict[str, str],
        *,
        assertion: str | None = None,
        proofs: list[str] | None = None,
    ) -> httpx.Response:
        """POST ``params`` to ``path`` exactly as given: ``assertion`` (default: a fresh
        one) and one ``DPoP`` header per entry of ``proofs`` (default: none)."""
        form = {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": self.assertion() if assertion is None else assertion,
            **params,
        }
        headers = [("content-type", FORM["content-type"])]
        headers += [("DPoP", proof) for proof in proofs or []]
        return await client.post(path, data=form, headers=headers)

    async def send_token(
        self,
        client: AsyncTestClient[Any],
        params: dict[str, str],
        *,
        assertion: str | None = None,
        proofs: list[str] | None = None,
    ) -> httpx.Response:
        """POST /oauth/token once, with a good proof (carrying the learnt nonce) by default."""
        if proofs is None:
            proofs = [self.proof("POST", self.issuer + "/oauth/token")]
        return await self.send(client, "/oauth/token", params, assertion=assertion, proofs=proofs)


@dataclass
class Pkce:
    verifier: str = field(default_factory=lambda: secrets.token_urlsafe(48))

    @property
    def challenge(self) -> str:
        return challenge_for(self.verifier)


async def push(
    client: AsyncTestClient[Any],
    kit: ServiceKit,
    pkce: Pkce,
    *,
    details: list[dict[str, Any]] | None = None,
    **params: str,
) -> httpx.Response:
    form = {
        "response_type": "code",
        "client_id": kit.client_id,
        "redirect_uri": REDIRECT_URI,
        "code_challenge": pkce.challenge,
        "code_challenge_method": "S256",
        "state": "state-123",
        "authorization_details": json.dumps(details or data_request()),
        **params,
    }
    form = {name: value for name, value in form.items() if value != ""}
    return await client.post("/oauth/par", data=kit.authenticated(**form), headers=FORM)


_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


async def approve(
    browser: AsyncTestClient[Any],
    kit: ServiceKit,
    request_uri: str,
    *,
    decision: str = "approve",
    items: tuple[int, ...] = (),
) -> dict[str, list[str]]:
    """Open the consent page as the signed-in citizen and answer; the redirect's query."""
    page = await browser.get(
        "/oauth/authorize", params={"client_id": kit.client_id, "request_uri": request_uri}
    )
    assert page.status_code == 200, page.text
    found = _CSRF.search(page.text)
    assert found, "the consent page has no decision form"
    answered = await browser.post(
        "/oauth/authorize",
        data={
            "client_id": kit.client_id,
            "request_uri": request_uri,
            "csrf_token": found.group(1),
            "decision": decision,
            "items": [str(i) for i in items],
        },
        headers=FORM,
        follow_redirects=False,
    )
    assert answered.status_code == 303, answered.text
    location = answered.headers["location"]
    assert location.startswith(REDIRECT_URI)
    return parse_qs(urlsplit(location).query)


async def authorization_code(
    client: AsyncTestClient[Any],
    kit: ServiceKit,
    *,
    details: list[dict[str, Any]] | None = None,
    **params: str,
) -> tuple[str, Pkce]:
    """Push a request and approve it as the citizen signed in on ``client``: (code, PKCE)."""
    pkce = Pkce()
    pushed = await push(client, kit, pkce, details=details, **params)
    assert pushed.status_code == 201, pushed.text
    query = await approve(client, kit, pushed.json()["request_uri"])
    return query["code"][0], pkce


async def granted(
    client: AsyncTestClient[Any], kit: ServiceKit, *, details: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """Push, approve and exchange the code: the token answer (access and consent tokens)."""
    code, pkce = await authorization_code(client, kit, details=details)
    answer = await kit.token(client, code_exchange(code, pkce))
    assert answer.status_code == 200, answer.text
    tokens: dict[str, Any] = answer.json()
    return tokens


def code_exchange(code: str, pkce: Pkce, **changes: str | None) -> dict[str, str]:
    """The authorization_code token request; a change to None leaves that parameter out."""
    params: dict[str, str | None] = {
        "grant_type": "authorization_code",
        "code": code,
        "redirect_uri": REDIRECT_URI,
        "code_verifier": pkce.verifier,
        **changes,
    }
    return {name: value for name, value in params.items() if value is not None}


# --- JWTs PyJWT will not make -----------------------------------------------------------------


def _segments(header: dict[str, Any], claims: dict[str, Any]) -> str:
    parts = (json.dumps(part, separators=(",", ":")).encode() for part in (header, claims))
    return ".".join(b64(part) for part in parts)


def unsigned_jwt(header: dict[str, Any], claims: dict[str, Any]) -> str:
    """A compact JWS with an empty signature, as ``alg: none`` has."""
    return _segments(header, claims) + "."


def hs256_jwt(header: dict[str, Any], claims: dict[str, Any], secret: bytes) -> str:
    """An HMAC-SHA256 JWS keyed with ``secret`` (PyJWT refuses a public key as the secret)."""
    signing_input = _segments(header, claims)
    mac = hmac.new(secret, signing_input.encode("ascii"), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"


# --- what every refusal must look like ----------------------------------------------------------

GENERIC_DESCRIPTIONS = {
    "invalid_client": "Client authentication failed.",
    "invalid_grant": "The authorization grant is invalid, expired or revoked.",
    "invalid_dpop_proof": "The DPoP proof is not valid.",
    "use_dpop_nonce": "Resend the request with a DPoP proof that carries the nonce provided.",
}
"""Credential refusals say only this, whatever the reason (RFC 6749 §5.2, RFC 9449 §5)."""
_PROBLEM_MEMBERS = frozenset({
    "type", "title", "status", "detail", "code", "request_id", "error", "error_description",
    "field",
})  # fmt: skip


async def audit_mark(db: Database) -> frozenset[uuid.UUID]:
    """The audit entries so far, so a test can see exactly what one request added."""
    return frozenset(entry.id for entry in await audit_entries(db))


async def entries_since(db: Database, mark: frozenset[uuid.UUID]) -> list[AuditEntry]:
    return [entry for entry in await audit_entries(db) if entry.id not in mark]


async def expect_refusal(
    db: Database,
    mark: frozenset[uuid.UUID],
    response: httpx.Response,
    *,
    error: str,
    action: str,
    reason: str | Callable[[str], bool],
    also: Collection[str] = (),
) -> AuditEntry:
    """The refusal's status and RFC ``error``, a body that tells nothing more, and exactly one
    new denied audit entry of ``action`` naming ``reason``; nothing else was recorded
    after ``mark`` except the ``also`` actions. Returns that entry."""
    status = 401 if error == "invalid_client" else 400
    assert response.status_code == status, response.text
    assert response.headers["cache-control"] == "no-store"
    assert response.headers["content-type"] == "application/json"  # RFC 6749 §5.2
    body: dict[str, Any] = response.json()
    assert body["error"] == error, body
    assert set(body) <= _PROBLEM_MEMBERS, body
    assert body["detail"] == body["error_description"]
    generic = GENERIC_DESCRIPTIONS.get(error)
    if generic is not None:
        assert body["error_description"] == generic, body
    new = await entries_since(db, mark)
    refusals = [entry for entry in new if entry.action == action]
    assert len(refusals) == 1, [(entry.action, entry.detail) for entry in new]
    [entry] = refusals
    assert entry.outcome == "denied"
    assert entry.detail["error"] == error
    assert entry.detail["status"] == status
    recorded = entry.detail["reason"]
    if isinstance(reason, str):
        assert recorded == reason, entry.detail
        if generic is not None and reason not in generic:
            assert reason not in response.text, body
    else:
        assert reason(recorded), f"the audit entry does not say why: {entry.detail}"
    others = sorted(other.action for other in new if other is not entry)
    assert others == sorted(also), others
    return entry
