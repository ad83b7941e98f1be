"""Attacks on what a grant is made of, on both databases: the pushed request, the
citizen's answer, the code, the consent token, and other clients' credentials.

Each refusal must carry the RFC's error code, say nothing an attacker can use, be
audited as denied with the real reason, and change nothing: no token issued, no code
spent, no grant opened or moved (``oauth_kit.expect_refusal`` checks the first three).
"""

from __future__ import annotations

import asyncio
import json
import re
from typing import TYPE_CHECKING, Any

import pytest
from conftest import sign_up_and_in
from sqlalchemy import select

from connectors.models import AuthorizationCode, AuthorizationRequest
from consent.models import Grant
from e2e.helpers import audit_entries, citizen, count
from e2e.oauth_kit import (
    ASSERTION_TYPE,
    FORM,
    JWT_BEARER,
    REDIRECT_URI,
    Pkce,
    ServiceKit,
    approve,
    audit_mark,
    authorization_code,
    code_exchange,
    data_request,
    entries_since,
    expect_refusal,
    granted,
    push,
)
from pds.audit.models import AuditEntry

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from pds.db import Database

TOKEN_REFUSED = "token.refused"
PAR_REFUSED = "authorization.refused"
FRAUD = {"term": "dpv:FraudPreventionAndDetection", "description": "To check for fraud."}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def kit(client: AsyncTestClient[Any], db: Database) -> ServiceKit:
    """A registered service, and a citizen signed in on ``client`` to answer it."""
    service = ServiceKit()
    await service.register(db)
    await service.learn_nonce(client)
    await sign_up_and_in(client, "amara@example.com")
    return service


async def grant_status(client: AsyncTestClient[Any], grant_id: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1/me/grants/{grant_id}")
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


async def spent_codes(db: Database) -> int:
    return await count(db, AuthorizationCode.code_hash, AuthorizationCode.used_at.isnot(None))


async def introspect(client: AsyncTestClient[Any], kit: ServiceKit, token: str) -> dict[str, Any]:
    response = await kit.send(client, "/oauth/introspect", {"token": token})
    assert response.status_code == 200, response.text
    body: dict[str, Any] = response.json()
    return body


# --- one kind of token where another is expected ----------------------------------------------


async def test_consent_token_is_not_an_authorization_code(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    tokens = await granted(client, kit)
    mark = await audit_mark(db)
    response = await kit.token(client, code_exchange(tokens["consent_token"], Pkce()))
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="unknown_code"
    )


async def test_access_token_is_not_a_consent_token(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    tokens = await granted(client, kit)
    mark = await audit_mark(db)
    response = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["access_token"]}
    )
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="wrong_typ"
    )


async def test_consent_receipt_is_not_a_consent_token(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    tokens = await granted(client, kit)
    receipt = await client.get(f"/api/v1/me/grants/{tokens['grant_id']}/receipt")
    assert receipt.status_code == 200, receipt.text
    mark = await audit_mark(db)
    response = await kit.token(client, {"grant_type": JWT_BEARER, "assertion": receipt.text})
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="wrong_typ"
    )


async def test_one_off_grants_consent_token_buys_no_second_token(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    tokens = await granted(client, kit, details=data_request(access="one_off", duration="PT1H"))
    assert tokens.get("consent_token"), "a one-off grant still gets its consent token"
    mark = await audit_mark(db)
    response = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="one_off_grant"
    )


# --- the authorization code ---------------------------------------------------------------


@pytest.mark.parametrize(
    "verifier",
    ["wrong", "missing", "the-challenge"],
)
async def test_code_with_the_wrong_pkce_verifier_is_refused_and_stays_unspent(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, verifier: str
) -> None:
    code, pkce = await authorization_code(client, kit)
    given = {"wrong": Pkce().verifier, "missing": None, "the-challenge": pkce.challenge}[verifier]
    mark = await audit_mark(db)
    response = await kit.token(client, code_exchange(code, pkce, code_verifier=given))
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="pkce_mismatch"
    )
    assert await spent_codes(db) == 0


async def test_code_refused_for_a_wrong_verifier_still_works_with_the_right_one(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """Behaviour, not a wish: a failed exchange rolls back, so the code is not burnt."""
    code, pkce = await authorization_code(client, kit)
    wrong = await kit.token(client, code_exchange(code, pkce, code_verifier=Pkce().verifier))
    assert wrong.json()["error"] == "invalid_grant"
    right = await kit.token(client, code_exchange(code, pkce))
    assert right.status_code == 200, right.text


async def test_reused_code_revokes_the_grant_and_everything_it_issued(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    code, pkce = await authorization_code(client, kit)
    first = await kit.token(client, code_exchange(code, pkce))
    assert first.status_code == 200, first.text
    tokens = first.json()
    assert (await introspect(client, kit, tokens["access_token"]))["active"] is True
    mark = await audit_mark(db)
    again = await kit.token(client, code_exchange(code, pkce))
    await expect_refusal(
        db,
        mark,
        again,
        error="invalid_grant",
        action=TOKEN_REFUSED,
        reason="code_reused",
        also=["consent.revoked"],
    )
    [revoked] = [e for e in await entries_since(db, mark) if e.action == "consent.revoked"]
    assert revoked.detail == {"reason": "code_reused"}
    assert str(revoked.grant_id) == tokens["grant_id"]
    grant = await grant_status(client, tokens["grant_id"])
    assert (grant["status"], grant["revoked_by"]) == ("revoked", "security")
    assert await introspect(client, kit, tokens["access_token"]) == {"active": False}
    assert await introspect(client, kit, tokens["consent_token"]) == {"active": False}
    mark = await audit_mark(db)
    refreshed = await kit.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    await expect_refusal(
        db, mark, refreshed, error="invalid_grant", action=TOKEN_REFUSED, reason="grant_not_active"
    )


async def test_code_raced_twice_is_exchanged_once_and_the_grant_revoked(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    code, pkce = await authorization_code(client, kit)
    mark = await audit_mark(db)
    answers = await asyncio.gather(
        kit.send_token(client, code_exchange(code, pkce)),
        kit.send_token(client, code_exchange(code, pkce)),
    )
    assert sorted(answer.status_code for answer in answers) == [200, 400]
    [loser] = [answer for answer in answers if answer.status_code == 400]
    assert loser.json()["error"] == "invalid_grant"
    actions = sorted(entry.action for entry in await entries_since(db, mark))
    assert actions == ["consent.revoked", "token.issued", TOKEN_REFUSED]
    grant_id = next(answer.json()["grant_id"] for answer in answers if answer.status_code == 200)
    assert (await grant_status(client, grant_id))["revoked_by"] == "security"


@pytest.mark.parametrize(
    "redirect_uri",
    ["https://housing.example.gov.uk/pds/other", REDIRECT_URI + "/", None],
    ids=["another-path", "trailing-slash", "missing"],
)
async def test_code_with_another_redirect_uri_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, redirect_uri: str | None
) -> None:
    code, pkce = await authorization_code(client, kit)
    mark = await audit_mark(db)
    response = await kit.token(client, code_exchange(code, pkce, redirect_uri=redirect_uri))
    await expect_refusal(
        db,
        mark,
        response,
        error="invalid_grant",
        action=TOKEN_REFUSED,
        reason="redirect_uri_mismatch",
    )
    assert await spent_codes(db) == 0


async def test_code_bound_to_a_dpop_key_refuses_another_key(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    code, pkce = await authorization_code(client, kit, dpop_jkt=kit.jkt)
    thief = ServiceKit(client_key=kit.client_key, client_id=kit.client_id, nonce=kit.nonce)
    mark = await audit_mark(db)
    response = await thief.token(client, code_exchange(code, pkce))
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="dpop_key_mismatch"
    )
    assert await spent_codes(db) == 0


# --- the pushed request --------------------------------------------------------------------


async def refused_push(
    client: AsyncTestClient[Any],
    db: Database,
    kit: ServiceKit,
    reason: Any,
    *,
    error: str = "invalid_request",
    details: list[dict[str, Any]] | None = None,
    **params: str,
) -> httpx.Response:
    """The push is refused with ``error``, audited, and opens no grant and no request."""
    mark = await audit_mark(db)
    response = await push(client, kit, Pkce(), details=details, **params)
    entry = await expect_refusal(db, mark, response, error=error, action=PAR_REFUSED, reason=reason)
    assert entry.client_id == kit.client_id
    assert await count(db, Grant.id) == 0
    assert await count(db, AuthorizationRequest.id) == 0
    return response


def names(*words: str) -> Any:
    """An audit reason that says which rule refused the request, not just the error code."""
    return lambda why: any(word in why for word in words)


@pytest.mark.parametrize(
    "redirect_uri",
    [
        "https://attacker.example/callback",
        REDIRECT_URI + "/../../evil",
        REDIRECT_URI + "?next=https://attacker.example",
        "",
    ],
    ids=["other-host", "dot-segments", "added-query", "missing"],
)
async def test_push_with_an_unregistered_redirect_uri_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, redirect_uri: str
) -> None:
    response = await refused_push(client, db, kit, names("redirect_uri"), redirect_uri=redirect_uri)
    assert "attacker.example" not in response.text


@pytest.mark.parametrize(
    "pkce",
    [
        {"code_challenge": "", "code_challenge_method": ""},
        {"code_challenge_method": "plain"},
        {"code_challenge_method": ""},
        {"code_challenge": ""},
        {"code_challenge": "too-short"},
    ],
    ids=["none", "plain", "no-method", "no-challenge", "bad-challenge"],
)
async def test_push_without_s256_pkce_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, pkce: dict[str, str]
) -> None:
    await refused_push(client, db, kit, names("pkce", "code_challenge"), **pkce)


@pytest.mark.parametrize(
    ("details", "word"),
    [
        (data_request(purpose=FRAUD), "purpose"),
        (data_request(items=[{"category": "health_and_care", "required": True}]), "categor"),
    ],
    ids=["purpose", "category"],
)
async def test_push_asking_beyond_the_registration_is_refused(
    client: AsyncTestClient[Any],
    db: Database,
    kit: ServiceKit,
    details: list[dict[str, Any]],
    word: str,
) -> None:
    response = await refused_push(
        client,
        db,
        kit,
        names(word),
        error="invalid_authorization_details",
        details=details,
    )
    assert word in response.json()["field"]


@pytest.mark.parametrize(
    "raw",
    [
        "not json",
        json.dumps([{"type": "pds_data_request"}]),
        json.dumps(data_request() * 2),
        json.dumps([{**data_request()[0], "type": "payment_initiation"}]),
        json.dumps({"type": "pds_data_request"}),
    ],
    ids=["not-json", "no-items", "two-requests", "other-type", "not-an-array"],
)
async def test_push_with_malformed_authorization_details_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, raw: str
) -> None:
    await refused_push(
        client,
        db,
        kit,
        lambda why: why != "invalid_authorization_details",  # parse error, not "not allowed"
        error="invalid_authorization_details",
        authorization_details=raw,
    )


@pytest.mark.parametrize(
    "extra",
    [
        {"redirect_uri": "https://attacker.example/callback"},
        {"response_type": "token"},
        {"scope": "openid"},
        {"request_uri": "urn:ietf:params:oauth:request_uri:second"},
        {"request_uri": None},
    ],
    ids=["redirect_uri", "response_type", "scope", "repeated-request_uri", "no-request_uri"],
)
async def test_front_channel_with_other_parameters_shows_a_page_not_a_redirect(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, extra: dict[str, str | None]
) -> None:
    pushed = await push(client, kit, Pkce())
    request_uri = pushed.json()["request_uri"]
    query: list[tuple[str, str]] = [("client_id", kit.client_id)]
    if "request_uri" not in extra or extra["request_uri"] is not None:
        query.append(("request_uri", request_uri))
    query += [(name, value) for name, value in extra.items() if value is not None]
    page = await client.get("/oauth/authorize", params=query, follow_redirects=False)
    assert page.status_code == 400, page.text
    assert page.headers["content-type"].startswith("text/html")
    assert "location" not in page.headers
    assert "attacker.example" not in page.text
    assert "csrf_token" not in page.text
    answered = await approve(client, kit, request_uri)  # the request is still there to answer
    assert answered["code"]


# --- the citizen's answer ---------------------------------------------------------------------


async def consent_page(
    browser: AsyncTestClient[Any], kit: ServiceKit, request_uri: str
) -> httpx.Response:
    return await browser.get(
        "/oauth/authorize", params={"client_id": kit.client_id, "request_uri": request_uri}
    )


async def decide(
    browser: AsyncTestClient[Any], kit: ServiceKit, request_uri: str, csrf: str | None
) -> httpx.Response:
    form = {"client_id": kit.client_id, "request_uri": request_uri, "decision": "approve"}
    if csrf is not None:
        form["csrf_token"] = csrf
    return await browser.post("/oauth/authorize", data=form, headers=FORM, follow_redirects=False)


async def requested_grants(db: Database) -> int:
    return await count(db, Grant.id, Grant.status == "requested")


@pytest.mark.parametrize("csrf", ["missing", "made-up", "another-citizens"])
async def test_decision_without_this_sessions_csrf_token_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, csrf: str
) -> None:
    pushed = await push(client, kit, Pkce())
    request_uri = pushed.json()["request_uri"]
    page = await consent_page(client, kit, request_uri)
    assert page.status_code == 200, page.text
    given: str | None = {"missing": None, "made-up": "A" * 43}.get(csrf)
    if csrf == "another-citizens":
        async with citizen(client, "bea@example.com") as (other, _):
            found = _CSRF.search((await consent_page(other, kit, request_uri)).text)
            assert found
            given = found.group(1)
    refused = await decide(client, kit, request_uri, given)
    assert refused.status_code == 403, refused.text
    assert refused.headers["content-type"].startswith("text/html")
    assert "location" not in refused.headers
    assert await count(db, AuthorizationCode.code_hash) == 0
    assert await requested_grants(db) == 1
    decided = AuthorizationRequest.decided_at.isnot(None)
    assert await count(db, AuthorizationRequest.id, decided) == 0
    answered = await approve(client, kit, request_uri)  # still there for the real answer
    assert answered["code"]


async def test_answered_request_cannot_be_answered_again_by_anyone(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    pushed = await push(client, kit, Pkce())
    request_uri = pushed.json()["request_uri"]
    found = _CSRF.search((await consent_page(client, kit, request_uri)).text)
    assert found
    first = await decide(client, kit, request_uri, found.group(1))
    assert first.status_code == 303, first.text
    async with citizen(client, "bea@example.com") as (other, _):
        page = await consent_page(other, kit, request_uri)
        assert page.status_code == 404, page.text
        assert "csrf_token" not in page.text
        second = await decide(other, kit, request_uri, found.group(1))
        assert second.status_code == 404, second.text
    again = await decide(client, kit, request_uri, found.group(1))
    assert again.status_code == 404, again.text
    assert await count(db, AuthorizationCode.code_hash) == 1
    async with db.read_sessions() as session:
        grant = await session.scalar(select(Grant))
    assert grant is not None
    assert grant.status == "active"
    decided = await audit_entries(db, AuditEntry.action.in_(["consent.given", "consent.narrowed"]))
    assert [entry.citizen_id for entry in decided] == [grant.citizen_id]


# --- another client's credentials -------------------------------------------------------------


@pytest.fixture
async def rival(client: AsyncTestClient[Any], db: Database) -> ServiceKit:
    service = ServiceKit()
    await service.register(db, name="Rival Lettings")
    await service.learn_nonce(client)
    return service


async def test_another_clients_code_is_refused_and_stays_its_owners(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, rival: ServiceKit
) -> None:
    code, pkce = await authorization_code(client, kit)
    mark = await audit_mark(db)
    response = await rival.token(client, code_exchange(code, pkce))
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="unknown_code"
    )
    assert await spent_codes(db) == 0
    owners = await kit.token(client, code_exchange(code, pkce))
    assert owners.status_code == 200, owners.text


async def test_another_clients_consent_token_is_refused(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, rival: ServiceKit
) -> None:
    tokens = await granted(client, kit)
    mark = await audit_mark(db)
    response = await rival.token(
        client, {"grant_type": JWT_BEARER, "assertion": tokens["consent_token"]}
    )
    await expect_refusal(
        db, mark, response, error="invalid_grant", action=TOKEN_REFUSED, reason="wrong_client"
    )


@pytest.mark.parametrize("kind", ["access_token", "consent_token"])
async def test_another_clients_token_introspects_as_inactive_and_nothing_more(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, rival: ServiceKit, kind: str
) -> None:
    tokens = await granted(client, kit)
    mark = await audit_mark(db)
    assert await introspect(client, rival, tokens[kind]) == {"active": False}
    [entry] = await entries_since(db, mark)
    assert (entry.action, entry.client_id) == ("token.introspected", rival.client_id)
    assert entry.grant_id is None
    assert entry.detail == {"active": False}


async def test_another_client_cannot_give_up_a_grant_it_does_not_hold(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit, rival: ServiceKit
) -> None:
    tokens = await granted(client, kit)
    mark = await audit_mark(db)
    response = await rival.send(client, "/oauth/revoke", {"token": tokens["consent_token"]})
    assert response.status_code == 200, response.text
    assert await entries_since(db, mark) == []
    assert (await grant_status(client, tokens["grant_id"]))["status"] == "active"
    assert (await introspect(client, kit, tokens["access_token"]))["active"] is True


async def test_credentials_of_a_refused_request_are_spent_all_the_same(
    client: AsyncTestClient[Any], db: Database, kit: ServiceKit
) -> None:
    """The refusal rolls the request back, but the assertion and proof it presented stay
    used: sent again (even with the mistake corrected) they are replays."""
    code, pkce = await authorization_code(client, kit)
    await kit.learn_nonce(client)
    url = kit.issuer + "/oauth/token"
    assertion, proof = kit.assertion(), kit.proof("POST", url)
    form = {"client_assertion_type": ASSERTION_TYPE, "client_assertion": assertion}
    wrong = code_exchange(code, pkce, code_verifier=Pkce().verifier)
    refused = await client.post(
        "/oauth/token", data={**form, **wrong}, headers={**FORM, "DPoP": proof}
    )
    assert refused.json()["error"] == "invalid_grant"
    mark = await audit_mark(db)
    replayed = await client.post(
        "/oauth/token",
        data={**form, **code_exchange(code, pkce)},
        headers={**FORM, "DPoP": proof},
    )
    await expect_refusal(
        db, mark, replayed, error="invalid_client", action=TOKEN_REFUSED, reason="replayed_jti"
    )
    fresh_proof = await kit.token(client, code_exchange(code, pkce))
    assert fresh_proof.status_code == 200, fresh_proof.text
