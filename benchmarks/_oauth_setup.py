"""What ``benchmarks.oauth`` needs besides timing: a service's keys, a registered client,
and a consent token obtained through the real flow (the server process itself is
``benchmarks._server``).

The service side signs with PyJWT (as ``tests/e2e/oauth_kit.py`` does), so what the
server verifies was made by an independent implementation.
"""

from __future__ import annotations

import base64
import contextlib
import cProfile
import json
import re
import secrets
import sqlite3
import time
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Final
from urllib.parse import parse_qs, urlsplit

import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import encode_dss_signature
from sqlalchemy import event

from connectors.dpop import thumbprint
from connectors.oauth.pkce import challenge_for
from connectors.registry import parse_manifest, register_client
from consent.keys import server_keys
from pds.app import KEK_FILE, create_app
from pds.db import open_database
from pds.keys.provider import LocalKeyFileProvider
from pds.keys.signing import ec_public_jwk
from pds.settings import prepare_data_dir

if TYPE_CHECKING:
    from collections.abc import Mapping
    from pathlib import Path

    from pds.settings import Settings

PASSWORD: Final = "benchmark-passphrase-2026"  # noqa: S105 - a throwaway account in a temp folder
REDIRECT_URI: Final = "https://housing.example.gov.uk/pds/callback"
ASSERTION_TYPE: Final = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
JWT_BEARER: Final = "urn:ietf:params:oauth:grant-type:jwt-bearer"
FORM: Final = {"content-type": "application/x-www-form-urlencoded"}
ASSERTION_LIFETIME: Final = 240
"""Seconds a client assertion lives (the server accepts up to 300)."""
_CSRF: Final = re.compile(r'name="csrf_token" value="([^"]+)"')

DATA_REQUEST: Final[list[dict[str, Any]]] = [
    {
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
]


class SeenSet:
    """The in-memory replay set ``verify_proof`` is given."""

    def __init__(self) -> None:
        self.pairs: set[tuple[str, str]] = set()

    def __call__(self, jti: str, jkt: str, expires_at: int) -> bool:
        del expires_at
        if (jti, jkt) in self.pairs:
            return True
        self.pairs.add((jti, jkt))
        return False


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def bare_parts(compact: str) -> tuple[bytes, bytes]:
    """(signing input, DER signature) of a compact ES256 JWS, for ``cryptography``."""
    signing_input, _, signature = compact.rpartition(".")
    raw = _unb64(signature)
    r, s = int.from_bytes(raw[:32], "big"), int.from_bytes(raw[32:], "big")
    return signing_input.encode("ascii"), encode_dss_signature(r, s)


def bare_public_key(jwk: Mapping[str, str]) -> ec.EllipticCurvePublicKey:
    x, y = (int.from_bytes(_unb64(jwk[name]), "big") for name in ("x", "y"))
    return ec.EllipticCurvePublicNumbers(x, y, ec.SECP256R1()).public_key()


def _new_key() -> ec.EllipticCurvePrivateKey:
    return ec.generate_private_key(ec.SECP256R1())


@dataclass
class ServiceKit:
    """One service system: a client key (assertions), a DPoP key, the nonce it last saw."""

    issuer: str
    client_key: ec.EllipticCurvePrivateKey = field(default_factory=_new_key)
    dpop_key: ec.EllipticCurvePrivateKey = field(default_factory=_new_key)
    client_id: str = ""
    nonce: str | None = None

    def __post_init__(self) -> None:
        self.kid = thumbprint(ec_public_jwk(self.client_key))
        self.dpop_jwk = ec_public_jwk(self.dpop_key)

    @property
    def token_url(self) -> str:
        return self.issuer + "/oauth/token"

    def manifest(self) -> dict[str, Any]:
        return {
            "name": "Housing Options (benchmark)",
            "organisation": "Example Borough Council",
            "kind": "council_service",
            "contact_email": "housing@example.gov.uk",
            "redirect_uris": [REDIRECT_URI],
            "jwks": {"keys": [{**ec_public_jwk(self.client_key), "kid": self.kid, "alg": "ES256"}]},
            "purposes": ["sector-publicservices:HousingWelfareManagement"],
            "categories": ["address", "residency", "household"],
            "privacy_notice_url": "https://example.gov.uk/privacy/housing",
        }

    def assertion(self, now: int) -> str:
        """A ``private_key_jwt`` client assertion with a fresh ``jti``."""
        claims = {
            "iss": self.client_id,
            "sub": self.client_id,
            "aud": self.issuer,
            "iat": now,
            "exp": now + ASSERTION_LIFETIME,
            "jti": secrets.token_urlsafe(12),
        }
        header = {"kid": self.kid, "typ": "client-authentication+jwt"}
        return pyjwt.encode(claims, self.client_key, algorithm="ES256", headers=header)

    def proof(self, method: str, url: str, now: int) -> str:
        """A DPoP proof with a fresh ``jti`` and the last nonce the server sent."""
        claims: dict[str, Any] = {"jti": str(uuid.uuid4()), "htm": method, "htu": url, "iat": now}
        if self.nonce:
            claims["nonce"] = self.nonce
        header = {"typ": "dpop+jwt", "jwk": self.dpop_jwk}
        return pyjwt.encode(claims, self.dpop_key, algorithm="ES256", headers=header)

    def signed(self) -> tuple[str, str]:
        """A fresh (client assertion, DPoP proof) pair for one token request."""
        now = int(time.time())
        return self.assertion(now), self.proof("POST", self.token_url, now)

    def authenticated(self, signed: str | None = None, /, **params: str) -> dict[str, str]:
        return {
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": signed or self.assertion(int(time.time())),
            **params,
        }


async def register(settings: Settings, kit: ServiceKit) -> None:
    """Register the kit's client in the (migrated) database before serving, and make the
    token signing key there in a committed write: left to the server, the consent page (a
    GET, so a deferred read transaction) makes it on first use, and that insert now and
    then fails with "database is locked" while the audit sequencer writes (2 of 12 starts).
    """
    keys = LocalKeyFileProvider.open(prepare_data_dir(settings) / KEK_FILE)
    db = open_database(settings)
    try:
        async with db.sessions() as session:
            manifest = parse_manifest(json.dumps(kit.manifest()).encode())
            kit.client_id = (await register_client(session, manifest)).client_id
        async with db.sessions() as session:
            await server_keys(session, keys)
            await session.commit()
    finally:
        await db.dispose()


async def post_token(
    client: httpx.AsyncClient,
    kit: ServiceKit,
    params: dict[str, str],
    signed: tuple[str, str] | None = None,
) -> tuple[httpx.Response, bool]:
    """POST /oauth/token; on ``use_dpop_nonce`` re-sign with the nonce sent and retry once.

    Any ``DPoP-Nonce`` in an answer is kept for the next proof signed. Returns the
    response and whether it took the retry.
    """
    assertion, proof = signed or kit.signed()
    response = await _token_once(client, kit, params, assertion, proof)
    kit.nonce = response.headers.get("DPoP-Nonce", kit.nonce)
    if response.status_code == 400 and response.json().get("error") == "use_dpop_nonce":
        assertion, proof = kit.signed()
        response = await _token_once(client, kit, params, assertion, proof)
        kit.nonce = response.headers.get("DPoP-Nonce", kit.nonce)
        return response, True
    return response, False


async def _token_once(
    client: httpx.AsyncClient, kit: ServiceKit, params: dict[str, str], assertion: str, proof: str
) -> httpx.Response:
    return await client.post(
        "/oauth/token",
        data=kit.authenticated(assertion, **params),
        headers={**FORM, "DPoP": proof},
    )


def failure(response: httpx.Response) -> str:
    """``status error`` of a refused request, e.g. ``500 internal_error``."""
    is_json = response.headers.get("content-type", "").endswith("json")
    body = response.json() if is_json else {}
    return f"{response.status_code} {body.get('error', body.get('code'))}"


def _expect(response: httpx.Response, status: int) -> httpx.Response:
    if response.status_code != status:
        raise RuntimeError(f"{response.request.url.path}: {response.status_code} {response.text}")
    return response


async def consent_token(
    client: httpx.AsyncClient, kit: ServiceKit, details: list[dict[str, Any]] | None = None
) -> str:
    """A new citizen signs in and approves the kit's PAR; the code buys the consent token.
    ``client`` keeps the citizen's session cookie afterwards."""
    creds = {"email": f"bench-{time.time_ns()}@example.com", "password": PASSWORD}
    _expect(await client.post("/api/v1/citizens", json=creds), 201)
    _expect(await client.post("/api/v1/session", json=creds), 201)
    verifier = secrets.token_urlsafe(48)
    pushed = await client.post(
        "/oauth/par",
        data=kit.authenticated(
            response_type="code",
            client_id=kit.client_id,
            redirect_uri=REDIRECT_URI,
            code_challenge=challenge_for(verifier),
            code_challenge_method="S256",
            state="bench",
            authorization_details=json.dumps(details or DATA_REQUEST),
        ),
        headers=FORM,
    )
    request_uri = _expect(pushed, 201).json()["request_uri"]
    where = {"client_id": kit.client_id, "request_uri": request_uri}
    page = _expect(await client.get("/oauth/authorize", params=where), 200)
    found = _CSRF.search(page.text)
    if found is None:
        raise RuntimeError("the consent page has no decision form")
    decision: dict[str, str | list[str]] = {
        **where,
        "csrf_token": found.group(1),
        "decision": "approve",
        "items": ["1"],
    }
    answered = await client.post(
        "/oauth/authorize", data=decision, headers=FORM, follow_redirects=False
    )
    location = _expect(answered, 303).headers["location"]
    [code] = parse_qs(urlsplit(location).query)["code"]
    exchanged, _ = await post_token(
        client,
        kit,
        {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": REDIRECT_URI,
            "code_verifier": verifier,
        },
    )
    return str(_expect(exchanged, 200).json()["consent_token"])


def jwt_bearer_params(token: str) -> dict[str, str]:
    return {"grant_type": JWT_BEARER, "assertion": token}


def wait_for_sequencer(database: Path, timeout: float = 120) -> int:
    """Block until the server's audit sequencer has taken in every entry (``leaf_index``
    set), so one load level's backlog does not run into the next; the backlog seen first."""
    deadline = time.monotonic() + timeout
    with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as db:
        sql = "SELECT count(*) FROM audit_entries WHERE leaf_index IS NULL"
        backlog = first = int(db.execute(sql).fetchone()[0])
        while backlog and time.monotonic() < deadline:
            time.sleep(0.25)
            backlog = int(db.execute(sql).fetchone()[0])
    if backlog:
        raise RuntimeError(f"the audit sequencer still has {backlog} entries after {timeout} s")
    return first


async def profile_token_requests(
    settings: Settings, kit: ServiceKit, count: int, statements: list[Any]
) -> cProfile.Profile:
    """``count`` jwt-bearer token requests to the app in process, one at a time, pre-signed,
    under cProfile; ``statements`` receives each SQL statement they ran."""
    app = create_app(settings)
    # In this thread and loop: litestar's test client would run it in a portal thread,
    # out of cProfile's sight. Its lifespan only starts the sequencer, which is off here.
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type] # ASGI typing differs
    profiler = cProfile.Profile()

    def counted(*statement: Any) -> None:
        statements.append(statement[2])

    async with httpx.AsyncClient(transport=transport, base_url=settings.base_url) as client:
        params = jwt_bearer_params(await consent_token(client, kit))
        for _ in range(20):
            await post_token(client, kit, params)
        material = [kit.signed() for _ in range(count)]
        db = app.state.db
        # Writing sessions use their own engine on SQLite: count on every engine there is.
        engines = {id(e): e.sync_engine for e in (db.engine, db.write_engine)}.values()
        for engine in engines:
            event.listen(engine, "before_cursor_execute", counted)
        profiler.enable()
        for signed in material:
            response, _ = await post_token(client, kit, params, signed)
            if response.status_code != 200:
                raise RuntimeError(f"/oauth/token: {response.status_code} {response.text[:200]}")
        profiler.disable()
        for engine in engines:
            event.remove(engine, "before_cursor_execute", counted)
    await app.state.db.dispose()
    return profiler
