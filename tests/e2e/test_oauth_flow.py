"""The consent flow over HTTP on both databases: PAR → consent page → code → tokens → use.

Tokens are checked with PyJWT and with joserfc against the published JWKS; the
service's assertions and proofs are signed with PyJWT (see ``oauth_kit``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import jwt as pyjwt
from conftest import TEST_PASSWORD, sign_up_and_in
from joserfc import jwt as jose_jwt
from joserfc.jwk import KeySet

from consent.models import ConsentReceipt, Grant, GrantEvent, PairwiseSubject
from e2e.helpers import audit_entries, count
from e2e.oauth_kit import (
    _CSRF,
    FORM,
    ISSUER,
    JWT_BEARER,
    Pkce,
    ServiceKit,
    approve,
    code_exchange,
    data_request,
    push,
)
from pds.audit.models import AuditEntry
from pds.keys.signing import TOKENS, public_keys

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database


async def jwks(client: AsyncTestClient[Any]) -> dict[str, Any]:
    response = await client.get("/.well-known/jwks.json")
    assert response.status_code == 200
    body: dict[str, Any] = response.json()
    return body


def pyjwt_claims(token: str, keys: dict[str, Any], *, typ: str, audience: str) -> dict[str, Any]:
    header = pyjwt.get_unverified_header(token)
    assert header["typ"] == typ
    [jwk] = [k for k in keys["keys"] if k["kid"] == header["kid"]]
    claims: dict[str, Any] = pyjwt.decode(
        token,
        key=pyjwt.PyJWK(jwk),
        algorithms=["ES256"],
        audience=audience,
        issuer=ISSUER,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
    )
    return claims


async def consented(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, *, items: tuple[int, ...] = (1,)
) -> tuple[dict[str, Any], Pkce]:
    """Register, push, approve as a new citizen, and exchange the code: the token answer."""
    await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    pkce = Pkce()
    pushed = await push(client, kit, pkce)
    assert pushed.status_code == 201, pushed.text
    query = await approve(client, kit, pushed.json()["request_uri"], items=items)
    assert query["state"] == ["state-123"]
    assert query["iss"] == [ISSUER]
    answer = await kit.token(client, code_exchange(query["code"][0], pkce))
    assert answer.status_code == 200, answer.text
    return answer.json(), pkce


async def test_the_token_key_is_made_at_start_up_not_by_the_first_request(
    client: AsyncTestClient[Any], db: Database
) -> None:
    async with db.read_sessions() as session:
        published = await public_keys(session, TOKENS)
    [jwk] = published.values()
    assert (jwk["kty"], jwk["crv"], jwk["alg"]) == ("EC", "P-256", "ES256")
    assert jwk in (await jwks(client))["keys"]


async def test_metadata_names_every_endpoint(client: AsyncTestClient[Any]) -> None:
    response = await client.get("/.well-known/oauth-authorization-server")
    body = response.json()
    assert body["issuer"] == ISSUER
    assert body["pushed_authorization_request_endpoint"] == ISSUER + "/oauth/par"
    assert body["require_pushed_authorization_requests"] is True
    assert body["dpop_signing_alg_values_supported"]
    assert body["authorization_details_types_supported"] == ["pds_data_request"]
    assert body["code_challenge_methods_supported"] == ["S256"]


async def test_the_whole_flow_issues_bound_tokens_both_libraries_verify(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    tokens, _ = await consented(client, db, kit)
    assert tokens["token_type"] == "DPoP"
    assert 0 < tokens["expires_in"] <= 300
    assert "refresh_token" not in tokens
    keys = await jwks(client)
    access = pyjwt_claims(
        tokens["access_token"], keys, typ="at+jwt", audience=ISSUER + "/connect/v1"
    )
    assert access["cnf"] == {"jkt": kit.jkt}
    assert access["client_id"] == kit.client_id
    assert access["grant_id"] == tokens["grant_id"]
    assert access["exp"] - access["iat"] <= 300
    [details] = access["authorization_details"]
    assert [item["evidence_type"] for item in details["items"]] == [
        "proof_of_address",
        "council_tax_bill",
    ]
    consent = pyjwt_claims(tokens["consent_token"], keys, typ="pds-consent+jwt", audience=ISSUER)
    assert consent["sub"] == access["sub"]
    receipt = await client.get(f"/api/v1/me/grants/{tokens['grant_id']}/receipt")
    assert tokens["consent_receipt"] == receipt.text  # both sides hold the same signed bytes
    verified = jose_jwt.decode(
        tokens["access_token"], KeySet.import_key_set(keys), algorithms=["ES256"]
    )
    assert verified.claims == access


async def test_unticked_optional_items_are_left_out_of_the_grant(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    tokens, _ = await consented(client, db, kit, items=())
    [details] = pyjwt.decode(tokens["access_token"], options={"verify_signature": False})[
        "authorization_details"
    ]
    assert [item["evidence_type"] for item in details["items"]] == ["proof_of_address"]


async def test_citizen_revocation_ends_the_grant_for_every_later_use(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    tokens, _ = await consented(client, db, kit)
    grant_id = tokens["grant_id"]
    introspected = await client.post(
        "/oauth/introspect",
        data=kit.authenticated(token=tokens["access_token"]),
        headers=FORM,
    )
    assert introspected.json()["active"] is True
    revoked = await client.post(f"/api/v1/me/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["status"] == "revoked"
    after = await client.post(
        "/oauth/introspect",
        data=kit.authenticated(token=tokens["access_token"]),
        headers=FORM,
    )
    assert after.json() == {"active": False}
    refreshed = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    assert refreshed.status_code == 400
    assert refreshed.json()["error"] == "invalid_grant"
    receipt = await client.get(f"/api/v1/me/grants/{grant_id}/receipt")
    assert receipt.status_code == 200
    body = pyjwt.decode(receipt.text, options={"verify_signature": False})
    assert body["record_id"] == grant_id or grant_id in receipt.text
    entries = await audit_entries(db, AuditEntry.grant_id.isnot(None))
    actions = [entry.action for entry in entries]
    for expected in ("consent.requested", "consent.given", "token.issued", "consent.revoked"):
        assert expected in actions, actions


async def test_consent_token_buys_a_fresh_access_token_while_the_grant_lives(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    tokens, _ = await consented(client, db, kit)
    fresh = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    assert fresh.status_code == 200, fresh.text
    body = fresh.json()
    assert body["grant_id"] == tokens["grant_id"]
    assert "consent_token" not in body
    assert body["access_token"] != tokens["access_token"]


async def test_erasure_takes_the_grants_and_the_pseudonyms_with_the_account(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    tokens, _ = await consented(client, db, kit)
    erased = await client.request("DELETE", "/api/v1/me", json={"password": TEST_PASSWORD})
    assert erased.status_code == 204, erased.text
    for table in (Grant.id, GrantEvent.seq, ConsentReceipt.id, PairwiseSubject.subject):
        assert await count(db, table) == 0, table
    refreshed = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    assert refreshed.json()["error"] == "invalid_grant"
    introspected = await client.post(
        "/oauth/introspect", data=kit.authenticated(token=tokens["access_token"]), headers=FORM
    )
    assert introspected.json() == {"active": False}


async def test_unticking_every_item_keeps_the_page_with_its_error(
    client: AsyncTestClient[Any], db: Database
) -> None:
    kit = ServiceKit()
    await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    details = data_request(
        items=[{"evidence_type": "council_tax_bill", "claims": ["band"], "required": False}]
    )
    pushed = await push(client, kit, Pkce(), details=details)
    request_uri = pushed.json()["request_uri"]
    where = {"client_id": kit.client_id, "request_uri": request_uri}
    page = await client.get("/oauth/authorize", params=where)
    token = _CSRF.search(page.text)
    assert token

    answered = await client.post(
        "/oauth/authorize",
        data={**where, "csrf_token": token.group(1), "decision": "approve"},
        headers=FORM,
        follow_redirects=False,
    )

    assert answered.status_code >= 400
    assert "Tick at least one item to share" in answered.text
    assert 'name="items"' in answered.text  # the choice is offered again
    assert await count(db, Grant.id, Grant.status == "requested") == 1


async def test_the_par_answer_hands_out_the_nonce_the_token_request_needs(
    client: AsyncTestClient[Any], db: Database
) -> None:
    """RFC 9449 §8: with the nonce from the PAR answer, the first token request is
    accepted; without one it would be refused once with use_dpop_nonce."""
    kit = ServiceKit()
    await kit.register(db)
    await sign_up_and_in(client, "amara@example.com")
    pkce = Pkce()
    pushed = await push(client, kit, pkce)
    assert pushed.status_code == 201, pushed.text
    nonce = pushed.headers["DPoP-Nonce"]
    assert pushed.headers["Cache-Control"] == "no-store"
    query = await approve(client, kit, pushed.json()["request_uri"], items=(1,))

    answer = await kit.send_token(
        client,
        code_exchange(query["code"][0], pkce),
        proofs=[kit.proof("POST", ISSUER + "/oauth/token", nonce=nonce)],
    )

    assert answer.status_code == 200, answer.text
    assert answer.headers["DPoP-Nonce"]
