"""The whole OAuth flow over real HTTP, driven by an independent client library.

A live uvicorn server (in a thread, on a free port of 127.0.0.1) serves the app;
requests-oauth2client plays the service: it reads the discovery document, pushes the
authorization request (PAR, PKCE S256, RAR ``authorization_details``, DPoP), validates
the authorization response (``state``, ``iss``), exchanges the code under DPoP (doing
the ``use_dpop_nonce`` retry itself), trades the consent token through the RFC 7523
jwt-bearer grant, and introspects and revokes, authenticating with ``private_key_jwt``.
The citizen is plain ``requests`` with a cookie jar. Tokens are verified with PyJWT and
with joserfc against the served JWKS. Nothing of ``oauth_kit`` signs or sends anything
here; only its test data (the request, the redirect URI, the manifest) is reused.

Library notes (requests-oauth2client 1.8.0):

- ``PrivateKeyJwt`` puts the URL of the endpoint it calls in ``aud`` unless ``aud=`` is
  given. The server wants the issuer identifier as the sole audience (RFC 7523 as updated
  by draft-ietf-oauth-rfc7523bis, which this codebase cites as RFC 10070), so the test
  passes ``aud=issuer``, and shows the library's default is refused.
- ``OAuth2Client.authorization_request`` does not carry the discovery document's
  ``authorization_response_iss_parameter_supported`` into the request, so ``iss`` would
  only be checked when present; the test passes it explicitly so a missing ``iss`` fails.
- The library sends some requests (discovery, JWKS, PAR, introspection, revocation)
  without a timeout; the ``requests.Session`` it is given adds one to every request.
"""

from __future__ import annotations

import asyncio
import dataclasses
import json
import re
import socket
import threading
import time
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qs, urlsplit

import jwt as pyjwt
import pytest
import requests
import uvicorn
from conftest import TEST_PASSWORD
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet
from jwskate import Jwk
from requests_oauth2client import (
    DPoPKey,
    DPoPToken,
    InvalidClient,
    InvalidGrant,
    OAuth2Client,
    PrivateKeyJwt,
)

from connectors.registry import parse_manifest, register_client
from e2e.helpers import audit_entries
from e2e.oauth_kit import REDIRECT_URI, ServiceKit, data_request
from pds.app import create_app
from pds.audit.models import AuditEntry
from pds.vault.evidence_types import EXAMPLE_CLAIMS

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

TIMEOUT = 10.0
"""Seconds any one HTTP request may take; nothing in this test waits without a limit."""
STARTUP_LIMIT = 15.0
CITIZEN_EMAIL = "amara@example.com"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')
_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


class TimeoutSession(requests.Session):
    """A session that gives every request a timeout, whoever sends it."""

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> Any:  # type: ignore[override]
        kwargs.setdefault("timeout", TIMEOUT)
        return super().request(method, url, *args, **kwargs)


# --- the live server ---------------------------------------------------------------------------


@contextmanager
def live_server(
    settings: Settings, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> Iterator[str]:
    """Serve the app on a free port of 127.0.0.1 in a thread; yields its base URL.

    The socket is bound before the app is built, so the issuer identifier (``base_url``)
    names the port the server really listens on.
    """
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    base_url = f"http://127.0.0.1:{port}"
    app = create_app(
        dataclasses.replace(settings, base_url=base_url), keys=keys, account_policy=policy
    )
    config = uvicorn.Config(
        app,
        loop="asyncio",
        http="h11",
        ws="none",
        lifespan="on",
        log_config=None,
        access_log=False,
        timeout_graceful_shutdown=5,
    )
    server = uvicorn.Server(config)  # off the main thread, it installs no signal handlers
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name="live-pds", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_LIMIT
        while not server.started:
            assert thread.is_alive(), "the server stopped while starting"
            assert time.monotonic() < deadline, "the server did not start in time"
            time.sleep(0.02)
        yield base_url
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        if thread.is_alive():  # pragma: no cover - only if a connection refuses to close
            server.force_exit = True
            thread.join(timeout=5)
        sock.close()
        assert not thread.is_alive(), "the server did not stop"


async def register(db: Database, client_key: Jwk) -> str:
    """Register the service with the public half of the key the library signs with."""
    public = dict(client_key.public_jwk().with_usage_parameters())
    public["key_ops"] = list(public["key_ops"])
    body = ServiceKit().manifest(jwks={"keys": [public]})
    async with db.sessions() as session:
        client = await register_client(session, parse_manifest(json.dumps(body).encode()))
        return client.client_id


# --- verification with two other JOSE implementations -------------------------------------------


def pyjwt_claims(
    token: str, jwks: dict[str, Any], *, typ: str, issuer: str, audience: str
) -> dict[str, Any]:
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == typ
    assert header["alg"] == "ES256"
    [jwk] = [k for k in jwks["keys"] if k["kid"] == header["kid"]]
    claims: dict[str, Any] = pyjwt.decode(
        token,
        key=pyjwt.PyJWK(jwk),
        algorithms=["ES256"],
        audience=audience,
        issuer=issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return claims


def joserfc_claims(
    token: str, jwks: dict[str, Any], *, typ: str, issuer: str, audience: str
) -> dict[str, Any]:
    verified = jose_jwt.decode(token, KeySet.import_key_set(jwks), algorithms=["ES256"])
    assert verified.header["typ"] == typ
    jose_jwt.JWTClaimsRegistry(
        iss={"essential": True, "value": issuer},
        aud={"essential": True, "value": audience},
        sub={"essential": True},
        exp={"essential": True},
        jti={"essential": True},
    ).validate(verified.claims)
    claims: dict[str, Any] = dict(verified.claims)
    return claims


def both_verify(
    token: str, jwks: dict[str, Any], *, typ: str, issuer: str, audience: str
) -> dict[str, Any]:
    claims = pyjwt_claims(token, jwks, typ=typ, issuer=issuer, audience=audience)
    assert joserfc_claims(token, jwks, typ=typ, issuer=issuer, audience=audience) == claims
    return claims


def discovered(
    session: requests.Session, issuer: str, auth: PrivateKeyJwt, **options: Any
) -> OAuth2Client:
    """The library's client, configured from the RFC 8414 metadata the server publishes."""
    return OAuth2Client.from_discovery_endpoint(
        url=issuer + "/.well-known/oauth-authorization-server",
        issuer=issuer,
        auth=auth,
        session=session,
        dpop_bound_access_tokens=True,
        testing=True,  # http://127.0.0.1:port fails the library's https-only URL checks
        **options,
    )


# --- the citizen's browser ---------------------------------------------------------------------


def citizen_approves(browser: requests.Session, base_url: str, authorize_url: str) -> str:
    """Sign up, open the consent page, sign in there, say yes; the redirect's Location."""
    created = browser.post(
        base_url + "/api/v1/citizens", json={"email": CITIZEN_EMAIL, "password": TEST_PASSWORD}
    )
    assert created.status_code == 201, created.text
    page = browser.get(authorize_url)
    assert page.status_code == 200, page.text
    assert 'action="/oauth/authorize/sign-in"' in page.text
    hidden = dict(_HIDDEN.findall(page.text))
    signed_in = browser.post(  # the sign-in answers 303 back to the consent page: followed
        base_url + "/oauth/authorize/sign-in",
        data={**hidden, "email": CITIZEN_EMAIL, "password": TEST_PASSWORD},
    )
    assert signed_in.status_code == 200, signed_in.text
    assert [r.status_code for r in signed_in.history] == [303]
    found = _CSRF.search(signed_in.text)
    assert found, "the consent page has no decision form"
    answered = browser.post(
        base_url + "/oauth/authorize",
        data={
            **dict(_HIDDEN.findall(signed_in.text)),
            "csrf_token": found.group(1),
            "decision": "approve",
            "items": ["1"],  # share the optional council tax band too
        },
        allow_redirects=False,  # the redirect URI's host does not resolve
    )
    assert answered.status_code == 303, answered.text
    location: str = answered.headers["location"]
    assert location.startswith(REDIRECT_URI + "?")
    return location


# --- the test ----------------------------------------------------------------------------------


async def test_an_independent_client_library_completes_the_flow_over_http(
    settings: Settings,
    db: Database,
    keys: InMemoryKeyProvider,
    policy: AccountPolicy,
) -> None:
    client_key = Jwk.generate(alg="ES256").with_kid_thumbprint()
    client_id = await register(db, client_key)
    with live_server(settings, keys, policy) as base_url:
        grant_id = await asyncio.to_thread(the_flow, base_url, client_id, client_key)
    entries = await audit_entries(db, AuditEntry.client_id == client_id)
    actions = [entry.action for entry in entries]
    for expected in (
        "consent.requested",
        "consent.given",
        "token.issued",
        "token.introspected",
        "token.revoked",
        "consent.revoked",
    ):
        assert expected in actions, actions
    issued = [
        e.detail.get("grant_type") or e.detail.get("token")
        for e in entries
        if e.action == "token.issued"
    ]
    # The code's tokens, the consent token the grant view handed out, the renewal.
    assert issued == ["authorization_code", "consent_token", "jwt_bearer"], issued
    assert all(str(e.grant_id) == grant_id for e in entries if e.action == "consent.revoked")


def the_flow(base_url: str, client_id: str, client_key: Jwk) -> str:
    """Everything over HTTP, in a worker thread (it blocks); returns the grant id."""
    service, browser = TimeoutSession(), TimeoutSession()
    try:
        return _flow(service, browser, base_url, client_id, client_key)
    finally:
        service.close()
        browser.close()


def _flow(
    service: requests.Session,
    browser: requests.Session,
    base_url: str,
    client_id: str,
    client_key: Jwk,
) -> str:
    issuer = base_url
    # The library's default audience is the URL it posts to: the server refuses it.
    default_aud = PrivateKeyJwt(client_id, client_key)
    probe = requests.Request("POST", issuer + "/oauth/introspect", data={"token": "x"}).prepare()
    sent = parse_qs(str(default_aud(probe).body))["client_assertion"][0]
    assert pyjwt.decode(sent, options={"verify_signature": False})["aud"] == (
        issuer + "/oauth/introspect"
    )

    client = discovered(
        service, issuer, PrivateKeyJwt(client_id, client_key, aud=issuer), redirect_uri=REDIRECT_URI
    )
    assert client.pushed_authorization_request_endpoint == issuer + "/oauth/par"
    assert client.authorization_response_iss_parameter_supported is True
    assert client.code_challenge_method == "S256"

    with_default_aud = discovered(service, issuer, default_aud)
    with pytest.raises(InvalidClient):  # aud is the endpoint URL, not the issuer
        with_default_aud.introspect_token("anything")

    # PAR: PKCE S256, RAR, DPoP-bound code (dpop_jkt and a DPoP proof on the push).
    dpop_key = DPoPKey.generate(alg="ES256")
    request = client.authorization_request(
        # RAR only. The library's default scope "openid" would also add an OIDC nonce;
        # the server refuses both as unknown PAR parameters (RFC 6749 §3.1 says ignore).
        scope=None,
        dpop_key=dpop_key,
        authorization_details=json.dumps(data_request()),
        authorization_response_iss_parameter_supported=client.authorization_response_iss_parameter_supported,
    )
    assert request.code_challenge_method == "S256"
    pushed = client.pushed_authorization_request(request)
    assert pushed.request_uri.startswith("urn:ietf:params:oauth:request_uri:")
    assert set(parse_qs(urlsplit(pushed.uri).query)) == {"client_id", "request_uri"}

    location = citizen_approves(browser, base_url, pushed.uri)
    response = request.validate_callback(location)  # checks state and iss (RFC 9207)
    assert response.code
    assert response.iss == issuer

    # The code exchange: the server asks for a DPoP nonce first; the library retries.
    assert dpop_key.as_nonce is None
    tokens = client.authorization_code(response)
    assert dpop_key.as_nonce is not None, "the server never asked for a DPoP nonce"
    assert isinstance(tokens, DPoPToken)
    assert tokens.token_type == "DPoP"
    assert tokens.dpop_key is dpop_key
    assert tokens.refresh_token is None
    assert tokens.expires_in is not None
    assert 0 < tokens.expires_in <= 300
    consent_token = tokens.consent_token
    grant_id = tokens.grant_id
    assert isinstance(consent_token, str)
    assert isinstance(grant_id, str)

    jwks_response = service.get(issuer + "/.well-known/jwks.json")
    assert jwks_response.status_code == 200
    jwks: dict[str, Any] = jwks_response.json()
    access = both_verify(
        tokens.access_token, jwks, typ="at+jwt", issuer=issuer, audience=issuer + "/connect/v1"
    )
    assert access["cnf"] == {"jkt": dpop_key.dpop_jkt}
    assert access["client_id"] == client_id
    assert access["grant_id"] == grant_id
    assert access["exp"] - access["iat"] <= 300
    [details] = access["authorization_details"]
    assert details["type"] == "pds_data_request"
    assert [item["evidence_type"] for item in details["items"]] == [
        "proof_of_address",
        "council_tax_bill",
    ]
    assert tokens.authorization_details == access["authorization_details"]
    consent = both_verify(
        consent_token, jwks, typ="pds-consent+jwt", issuer=issuer, audience=issuer
    )
    assert consent["sub"] == access["sub"]
    assert consent["grant_id"] == grant_id

    # The connector API with the library's own DPoP proofs (htm, htu, ath, its key).
    created = browser.post(
        base_url + "/api/v1/me/evidence",
        json={"type": "proof_of_address", "claims": EXAMPLE_CLAIMS["proof_of_address"]},
    )
    assert created.status_code == 201, created.text
    data_url = f"{issuer}/connect/v1/grants/{grant_id}/data"
    read = service.get(data_url, auth=tokens)
    assert read.status_code == 200, read.text
    assert read.json()["subject"] == access["sub"]
    [item] = read.json()["items"]
    assert item["claims"] == EXAMPLE_CLAIMS["proof_of_address"]
    view = service.get(f"{issuer}/connect/v1/grants/{grant_id}", auth=tokens)
    assert view.status_code == 200, view.text
    assert view.json()["status"] == "active"

    # RFC 7523 §2.1: the consent token buys a fresh access token, bound to the same key.
    fresh = client.jwt_bearer(consent_token, dpop_key=dpop_key)
    assert isinstance(fresh, DPoPToken)
    assert fresh.grant_id == grant_id
    assert "consent_token" not in fresh.kwargs  # only the code exchange hands one out
    assert fresh.access_token != tokens.access_token
    fresh_claims = both_verify(
        fresh.access_token, jwks, typ="at+jwt", issuer=issuer, audience=issuer + "/connect/v1"
    )
    assert fresh_claims["cnf"] == {"jkt": dpop_key.dpop_jkt}
    assert fresh_claims["sub"] == access["sub"]

    # Introspection (RFC 7662) and revocation (RFC 7009), authenticated the same way.
    seen = client.introspect_token(tokens)
    assert seen["active"] is True
    assert seen["token_type"] == "DPoP"
    assert seen["client_id"] == client_id
    assert seen["cnf"] == {"jkt": dpop_key.dpop_jkt}
    assert seen["grant_id"] == grant_id
    seen_consent = client.introspect_token(consent_token, token_type_hint="consent_token")
    assert seen_consent["active"] is True
    assert seen_consent["token_type"] == "consent_token"
    assert client.revoke_access_token(fresh) is True
    assert client.introspect_token(fresh) == {"active": False}
    assert client.introspect_token(tokens)["active"] is True  # only the one given up

    # The citizen stops sharing: every token of the grant goes inactive at once.
    revoked = browser.post(f"{base_url}/api/v1/me/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    assert client.introspect_token(tokens) == {"active": False}
    assert client.introspect_token(consent_token) == {"active": False}
    with pytest.raises(InvalidGrant):  # a revoked grant's consent token buys nothing
        client.jwt_bearer(consent_token, dpop_key=dpop_key)
    denied = service.get(data_url, auth=tokens)  # the token is unexpired; the grant is not
    assert denied.status_code == 403, denied.text
    assert "items" not in denied.json()
    return grant_id


async def test_a_fresh_servers_first_token_request_succeeds_after_the_nonce_retry(
    settings: Settings,
    db: Database,
    keys: InMemoryKeyProvider,
    policy: AccountPolicy,
) -> None:
    """RFC 9449 §8: the nonce a ``use_dpop_nonce`` answer hands out must be accepted on the
    retry, also when that first request is the very first use of a fresh server's keys
    (the ``db`` fixture emptied every table, keys included). The library retries twice,
    then gives up with ``InvalidTokenResponse``."""
    client_key = Jwk.generate(alg="ES256").with_kid_thumbprint()
    client_id = await register(db, client_key)
    with live_server(settings, keys, policy) as base_url:
        await asyncio.to_thread(client_credentials_first, base_url, client_id, client_key)


def client_credentials_first(base_url: str, client_id: str, client_key: Jwk) -> None:
    issuer = base_url
    with TimeoutSession() as service:
        client = discovered(service, issuer, PrivateKeyJwt(client_id, client_key, aud=issuer))
        dpop_key = DPoPKey.generate(alg="ES256")
        token = client.client_credentials(dpop_key=dpop_key)
        assert isinstance(token, DPoPToken)
        assert dpop_key.as_nonce is not None
        jwks_response = service.get(issuer + "/.well-known/jwks.json")
        assert jwks_response.status_code == 200
        claims = both_verify(
            token.access_token,
            jwks_response.json(),
            typ="at+jwt",
            issuer=issuer,
            audience=issuer + "/connect/v1",
        )
        assert claims["sub"] == client_id
        assert claims["client_id"] == client_id
        assert claims["cnf"] == {"jkt": dpop_key.dpop_jkt}
        assert "grant_id" not in claims
