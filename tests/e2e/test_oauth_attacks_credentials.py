"""Attacks on the credentials every back-channel request carries, on both databases.

Client assertions (RFC 7523 as updated by RFC 10070), DPoP proofs (RFC 9449) and a
suspended client. Each refusal must carry the RFC's error code and only the generic
text, be audited as denied with the real reason, and leave nothing behind: no token,
no grant, no spent code (``oauth_kit.expect_refusal`` checks the first three).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sign_up_and_in
from cryptography.hazmat.primitives import serialization
from litestar.testing import transport as test_transport

from connectors.models import AuthorizationCode
from connectors.registry import suspend_client
from consent.models import Grant
from e2e.helpers import browser, count
from e2e.oauth_kit import (
    ASSERTION_TYPE,
    FORM,
    ISSUER,
    JWT_BEARER,
    Pkce,
    ServiceKit,
    audit_mark,
    authorization_code,
    b64,
    code_exchange,
    entries_since,
    expect_refusal,
    granted,
    hs256_jwt,
    public_jwk,
    push,
    unsigned_jwt,
)

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from pds.db import Database

TOKEN_URL = ISSUER + "/oauth/token"
TOKEN_REFUSED = "token.refused"
CLIENT_CREDENTIALS = {"grant_type": "client_credentials"}


@pytest.fixture
async def kit(client: AsyncTestClient[Any], db: Database) -> ServiceKit:
    """A registered service that has already learnt the server's DPoP nonce."""
    service = ServiceKit()
    await service.register(db)
    await service.learn_nonce(client)
    return service


async def test_first_token_request_on_a_fresh_server_can_follow_the_nonce(
    client: AsyncTestClient[Any], db: Database
) -> None:
    """The nonce in the first use_dpop_nonce answer must be accepted on the retry, even
    when that first request is what made the server's token key."""
    service = ServiceKit()
    await service.register(db)
    first = await service.send_token(client, CLIENT_CREDENTIALS)
    assert first.json()["error"] == "use_dpop_nonce"
    nonce = first.headers["DPoP-Nonce"]
    retried = await service.send_token(
        client, CLIENT_CREDENTIALS, proofs=[service.proof("POST", TOKEN_URL, nonce=nonce)]
    )
    assert retried.status_code == 200, retried.text


async def refused_assertion(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, assertion: str, reason: str
) -> None:
    """``assertion`` at the token endpoint (with a good proof) is refused as ``reason``."""
    mark = await audit_mark(db)
    response = await kit.send_token(client, CLIENT_CREDENTIALS, assertion=assertion)
    await expect_refusal(
        db, mark, response, error="invalid_client", action=TOKEN_REFUSED, reason=reason
    )


# --- client assertions -----------------------------------------------------------------------


@pytest.mark.parametrize("alg", ["none", "None"])
async def test_unsigned_assertion_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, alg: str
) -> None:
    header = {"alg": alg, "typ": "client-authentication+jwt", "kid": kit.kid}
    forged = unsigned_jwt(header, kit.assertion_claims())
    await refused_assertion(client, db, kit, forged, "alg_not_allowed")


def _public_pem(kit: ServiceKit) -> bytes:
    return kit.client_key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )


def _registered_jwk(kit: ServiceKit) -> bytes:
    [jwk] = kit.manifest()["jwks"]["keys"]
    return json.dumps(jwk).encode()


@pytest.mark.parametrize("secret", [_public_pem, _registered_jwk], ids=["pem", "jwk"])
async def test_hs256_assertion_keyed_with_the_public_key_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, secret: Any
) -> None:
    header = {"alg": "HS256", "typ": "client-authentication+jwt", "kid": kit.kid}
    forged = hs256_jwt(header, kit.assertion_claims(), secret(kit))
    await refused_assertion(client, db, kit, forged, "alg_not_allowed")


async def test_jwt_typed_as_dpop_proof_is_not_a_client_assertion(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """Signed by the client's own key with every assertion claim, but typed ``dpop+jwt``."""
    confused = kit.assertion(headers={"typ": "dpop+jwt"})
    await refused_assertion(client, db, kit, confused, "typ_confusion")


async def test_real_dpop_proof_is_not_a_client_assertion(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    proof = kit.proof("POST", TOKEN_URL)
    await refused_assertion(client, db, kit, proof, "malformed")


async def test_servers_own_access_token_is_not_a_client_assertion(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """A client_credentials token is signed by the PDS and its ``sub`` is the client."""
    issued = await kit.token(client, CLIENT_CREDENTIALS)
    await refused_assertion(client, db, kit, issued.json()["access_token"], "typ_confusion")


@pytest.mark.parametrize(
    "audience",
    [TOKEN_URL, [ISSUER, TOKEN_URL], ISSUER + "/oauth/par", ISSUER + "/"],
    ids=["token-endpoint", "issuer-and-token-endpoint", "par-endpoint", "trailing-slash"],
)
async def test_assertion_not_addressed_to_the_issuer_alone_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, audience: Any
) -> None:
    await refused_assertion(client, db, kit, kit.assertion(aud=audience), "wrong_aud")


async def test_expired_assertion_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    stale = kit.assertion_claims()
    expired = kit.assertion(iat=stale["iat"] - 120, exp=stale["iat"] - 60)
    await refused_assertion(client, db, kit, expired, "expired")


@pytest.mark.parametrize("again_at", ["/oauth/introspect", "/oauth/token"])
async def test_assertion_is_accepted_once(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, again_at: str
) -> None:
    """The replay cache is shared by every endpoint: one assertion, one request."""
    assertion = kit.assertion()
    first = await kit.send(client, "/oauth/introspect", {"token": "x"}, assertion=assertion)
    assert first.status_code == 200, first.text
    mark = await audit_mark(db)
    proofs = [kit.proof("POST", ISSUER + again_at)]
    params = {"token": "x"} if again_at == "/oauth/introspect" else CLIENT_CREDENTIALS
    again = await kit.send(client, again_at, params, assertion=assertion, proofs=proofs)
    await expect_refusal(
        db, mark, again, error="invalid_client", action=TOKEN_REFUSED, reason="replayed_jti"
    )


async def test_assertion_for_one_client_is_refused_under_another_client_id(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    other = ServiceKit()
    await other.register(db)
    mark = await audit_mark(db)
    response = await kit.send_token(client, {**CLIENT_CREDENTIALS, "client_id": other.client_id})
    await expect_refusal(
        db,
        mark,
        response,
        error="invalid_client",
        action=TOKEN_REFUSED,
        reason="client_id_mismatch",
    )


# --- DPoP proofs --------------------------------------------------------------------------------


class KeepRepeatedHeaders(test_transport.TestClientTransport):  # type: ignore[type-arg]
    """The test transport, but a repeated header reaches the app as separate lines, as
    an ASGI server delivers it (the stock one joins them with commas)."""

    def parse_request(self, request: httpx.Request) -> dict[str, Any]:
        scope = super().parse_request(request)  # takes the host header out
        [host] = [value for name, value in scope["headers"] if name == b"host"]
        lines = [(name.lower(), value) for name, value in request.headers.raw]
        scope["headers"] = [(b"host", host), *lines]
        return scope


async def refused_proofs(
    client: AsyncTestClient[Any],
    db: Database,
    kit: ServiceKit,
    proofs: list[str],
    reason: str,
    error: str = "invalid_dpop_proof",
) -> httpx.Response:
    mark = await audit_mark(db)
    response = await kit.send_token(client, CLIENT_CREDENTIALS, proofs=proofs)
    await expect_refusal(db, mark, response, error=error, action=TOKEN_REFUSED, reason=reason)
    return response


async def test_proof_for_another_method_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    await refused_proofs(client, db, kit, [kit.proof("GET", TOKEN_URL)], "htm_mismatch")


async def test_proof_for_another_url_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    proof = kit.proof("POST", ISSUER + "/oauth/par")
    await refused_proofs(client, db, kit, [proof], "htu_mismatch")


async def test_proof_carrying_its_private_key_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    private = kit.dpop_key.private_numbers().private_value.to_bytes(32, "big")
    jwk = {**public_jwk(kit.dpop_key), "d": b64(private)}
    proof = kit.proof("POST", TOKEN_URL, headers={"jwk": jwk})
    await refused_proofs(client, db, kit, [proof], "private_key_in_header")


async def test_proof_is_accepted_once(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    proof = kit.proof("POST", TOKEN_URL)
    first = await kit.send_token(client, CLIENT_CREDENTIALS, proofs=[proof])
    assert first.status_code == 200, first.text
    await refused_proofs(client, db, kit, [proof], "replayed_jti")


async def test_request_without_a_proof_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    await refused_proofs(client, db, kit, [], "dpop_header_count")


async def test_request_with_two_proof_headers_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """Sent as two header lines (the test client would fold them into one)."""
    form = {
        "client_assertion_type": ASSERTION_TYPE,
        "client_assertion": kit.assertion(),
        **CLIENT_CREDENTIALS,
    }
    headers = [("content-type", FORM["content-type"])]
    headers += [("DPoP", kit.proof("POST", TOKEN_URL)), ("DPoP", kit.proof("POST", TOKEN_URL))]
    mark = await audit_mark(db)
    async with browser(client) as raw:
        raw._transport = KeepRepeatedHeaders(client=raw)  # type: ignore[assignment]
        response = await raw.post("/oauth/token", data=form, headers=headers)
    await expect_refusal(
        db,
        mark,
        response,
        error="invalid_dpop_proof",
        action=TOKEN_REFUSED,
        reason="dpop_header_count",
    )


async def test_two_proofs_folded_into_one_header_are_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """RFC 9110 §5.3: "a, b" in one field means the same as two fields."""
    folded = kit.proof("POST", TOKEN_URL) + ", " + kit.proof("POST", TOKEN_URL)
    mark = await audit_mark(db)
    response = await kit.send_token(client, CLIENT_CREDENTIALS, proofs=[folded])
    await expect_refusal(
        db,
        mark,
        response,
        error="invalid_dpop_proof",
        action=TOKEN_REFUSED,
        reason=lambda why: why in {"dpop_header_count", "malformed"},
    )


@pytest.mark.parametrize(
    ("nonce", "reason"), [(None, "missing_nonce"), ("bm90LWEtbm9uY2U", "stale_nonce")]
)
async def test_proof_without_the_servers_nonce_is_answered_with_one(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, nonce: str | None, reason: str
) -> None:
    kit.nonce = None
    proof = kit.proof("POST", TOKEN_URL, nonce=nonce)
    response = await refused_proofs(client, db, kit, [proof], reason, error="use_dpop_nonce")
    fresh = response.headers["DPoP-Nonce"]
    assert fresh
    assert fresh != nonce
    retried = await kit.send_token(
        client, CLIENT_CREDENTIALS, proofs=[kit.proof("POST", TOKEN_URL, nonce=fresh)]
    )
    assert retried.status_code == 200, retried.text


async def test_refused_proof_leaves_the_code_unspent(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    await sign_up_and_in(client, "amara@example.com")
    code, pkce = await authorization_code(client, kit)
    mark = await audit_mark(db)
    response = await kit.send_token(
        client, code_exchange(code, pkce), proofs=[kit.proof("GET", TOKEN_URL)]
    )
    await expect_refusal(
        db, mark, response, error="invalid_dpop_proof", action=TOKEN_REFUSED, reason="htm_mismatch"
    )
    assert await count(db, AuthorizationCode.code_hash, AuthorizationCode.used_at.isnot(None)) == 0
    exchanged = await kit.send_token(client, code_exchange(code, pkce))
    assert exchanged.status_code == 200, exchanged.text


# --- a suspended client ---------------------------------------------------------------------


async def _suspended_with_tokens(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> dict[str, Any]:
    await sign_up_and_in(client, "amara@example.com")
    tokens = await granted(client, kit)
    async with db.sessions() as session:
        await suspend_client(session, kit.client_id, "Security review after a reported breach.")
    return tokens


async def _grant_status(client: AsyncTestClient[Any], grant_id: str) -> str:
    response = await client.get(f"/api/v1/me/grants/{grant_id}")
    assert response.status_code == 200, response.text
    status: str = response.json()["status"]
    return status


async def test_suspended_client_cannot_push_a_request(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    await _suspended_with_tokens(client, db, kit)
    grants = await count(db, Grant.id)
    mark = await audit_mark(db)
    response = await push(client, kit, Pkce())
    entry = await expect_refusal(
        db,
        mark,
        response,
        error="invalid_client",
        action="authorization.refused",
        reason="client_suspended",
    )
    assert entry.client_id == kit.client_id
    assert await count(db, Grant.id) == grants


async def test_suspended_client_cannot_get_a_token_with_its_consent_token(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    tokens = await _suspended_with_tokens(client, db, kit)
    mark = await audit_mark(db)
    response = await kit.send_token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    await expect_refusal(
        db, mark, response, error="invalid_client", action=TOKEN_REFUSED, reason="client_suspended"
    )


@pytest.mark.parametrize("endpoint", ["/oauth/introspect", "/oauth/revoke"])
async def test_suspended_client_cannot_introspect_or_revoke(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, endpoint: str
) -> None:
    tokens = await _suspended_with_tokens(client, db, kit)
    mark = await audit_mark(db)
    response = await kit.send(client, endpoint, {"token": tokens["consent_token"]})
    await expect_refusal(
        db, mark, response, error="invalid_client", action=TOKEN_REFUSED, reason="client_suspended"
    )
    assert await _grant_status(client, tokens["grant_id"]) == "active"


async def test_refused_requests_are_not_attributed_to_a_client_id_nobody_registered(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    mark = await audit_mark(db)
    response = await client.post(
        "/oauth/token",
        data={
            "client_id": "made-up-client",
            "client_assertion_type": ASSERTION_TYPE,
            "client_assertion": "not.a.jwt",
            "grant_type": "client_credentials",
        },
        headers=FORM,
    )
    entry = await expect_refusal(
        db, mark, response, error="invalid_client", action=TOKEN_REFUSED, reason="malformed"
    )
    assert entry.client_id is None
    assert [e.action for e in await entries_since(db, mark)] == [TOKEN_REFUSED]
