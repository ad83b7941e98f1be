"""Sign-up, sign-in, sessions and their limits, over HTTP against a real database."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import secrets
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from conftest import TEST_PASSWORD, sign_up_and_in
from litestar.testing import AsyncTestClient
from sqlalchemy import update

from e2e.helpers import EVIDENCE, audit_entries, browser, count, problem
from pds.accounts.models import Account, Session
from pds.accounts.service import AccountPolicy, Role, create_account
from pds.app import create_app
from pds.audit.entry import Action, Actor, Outcome
from pds.audit.models import AuditEntry
from pds.vault.models import CitizenKey
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar import Litestar

    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

Client = AsyncTestClient[Any]
EMAIL = "sam.citizen@example.com"


def cookie_attributes(header: str) -> tuple[str, str, dict[str, str]]:
    """``name=value; A; B=c`` -> (name, value, {"a": "", "b": "c"}) with lower-cased keys."""
    first, *rest = (part.strip() for part in header.split(";"))
    name, _, value = first.partition("=")
    attributes = {}
    for part in rest:
        key, _, val = part.partition("=")
        attributes[key.lower()] = val
    return name, value, attributes


async def sign_in(client: Client, email: str, password: str) -> Any:
    return await client.post("/api/v1/session", json={"email": email, "password": password})


# --- sign-up --------------------------------------------------------------------------------


async def test_sign_up_creates_a_citizen_with_a_data_key_and_an_audit_entry(
    client: Client, db: Database
) -> None:
    response = await client.post(
        "/api/v1/citizens", json={"email": "  Sam.Citizen@Example.COM ", "password": TEST_PASSWORD}
    )

    assert response.status_code == 201, response.text
    body = response.json()
    assert body["email"] == EMAIL
    assert body["role"] == "citizen"
    assert set(body) == {"id", "email", "role", "created_at"}
    citizen_id = uuid.UUID(body["id"])
    assert await count(db, CitizenKey.citizen_id, CitizenKey.citizen_id == citizen_id) == 1
    [entry] = await audit_entries(db, AuditEntry.action == Action.ACCOUNT_CREATED.value)
    assert (entry.outcome, entry.citizen_id, entry.actor_id) == (
        Outcome.ALLOWED.value,
        citizen_id,
        citizen_id,
    )


@pytest.mark.parametrize(
    "case",
    [
        pytest.param((EMAIL, "short pass", "weak_password", "password"), id="short-password"),
        pytest.param((EMAIL, "password1234", "weak_password", "password"), id="common-password"),
        pytest.param((EMAIL, "sam.citizen 2024!", "weak_password", "password"), id="email-in-pw"),
        pytest.param(("not-an-email", TEST_PASSWORD, "invalid_input", "email"), id="bad-email"),
        pytest.param(("two@@example.com", TEST_PASSWORD, "invalid_input", "email"), id="two-ats"),
    ],
)
async def test_sign_up_refuses_bad_input_naming_the_field(
    client: Client, db: Database, case: tuple[str, str, str, str]
) -> None:
    email, password, code, field = case
    response = await client.post("/api/v1/citizens", json={"email": email, "password": password})

    body = problem(response, 422, code)
    assert body["field"] == field
    assert await count(db, Account.id) == 0
    assert await count(db, CitizenKey.citizen_id) == 0


async def test_sign_up_twice_with_the_same_email_is_a_conflict(
    client: Client, db: Database
) -> None:
    await sign_up_and_in(client, EMAIL)

    again = await client.post(
        "/api/v1/citizens", json={"email": EMAIL.upper(), "password": "another long passphrase"}
    )

    problem(again, 409, "email_taken")
    assert await count(db, Account.id) == 1
    assert await count(db, CitizenKey.citizen_id) == 1
    # The original password still works: the refused sign-up changed nothing.
    assert (await sign_in(client, EMAIL, TEST_PASSWORD)).status_code == 201


# --- sign-in and the session cookie ----------------------------------------------------------


async def test_sign_in_sets_an_httponly_lax_session_cookie_without_secure_on_http(
    client: Client, db: Database, policy: AccountPolicy, settings: Settings
) -> None:
    assert settings.base_url.startswith("http://")
    await client.post("/api/v1/citizens", json={"email": EMAIL, "password": TEST_PASSWORD})

    response = await sign_in(client, EMAIL, TEST_PASSWORD)

    assert response.status_code == 201, response.text
    [header] = response.headers.get_list("set-cookie")
    name, token, attributes = cookie_attributes(header)
    assert name == SESSION_COOKIE
    assert len(token) >= 40
    assert "httponly" in attributes
    assert attributes["samesite"].lower() == "lax"
    assert attributes["path"] == "/"
    assert attributes["max-age"] == str(int(policy.session_lifetime.total_seconds()))
    assert "secure" not in attributes
    body = response.json()
    assert body["account"]["email"] == EMAIL
    expires = dt.datetime.fromisoformat(body["expires_at"])
    assert abs(expires - (dt.datetime.now(dt.UTC) + policy.session_lifetime)) < dt.timedelta(
        minutes=1
    )
    me = await client.get("/api/v1/me")
    assert me.status_code == 200
    assert me.json()["id"] == body["account"]["id"]
    # Only a hash of the token is stored, so a copy of the table is not a set of sessions.
    token_hash = hashlib.sha256(token.encode()).digest()
    assert await count(db, Session.id, Session.token_hash == token_hash) == 1


async def test_session_cookie_is_secure_when_the_base_url_is_https(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    https = dataclasses.replace(settings, base_url="https://pds.example.gov.uk")
    app = create_app(https, keys=keys, account_policy=policy)
    async with AsyncTestClient(app=app, base_url="https://pds.example.gov.uk") as client:
        await client.post("/api/v1/citizens", json={"email": EMAIL, "password": TEST_PASSWORD})
        response = await sign_in(client, EMAIL, TEST_PASSWORD)

    assert response.status_code == 201, response.text
    _, _, attributes = cookie_attributes(response.headers["set-cookie"])
    assert "secure" in attributes
    assert "httponly" in attributes


async def test_wrong_password_and_unknown_email_get_the_same_answer(
    client: Client, db: Database
) -> None:
    account = (await sign_up_and_in(client, EMAIL))["account"]

    wrong_password = await sign_in(client, EMAIL, "not the right password at all")
    unknown_email = await sign_in(client, "nobody.here@example.com", TEST_PASSWORD)

    assert problem(wrong_password, 401, "invalid_credentials") == problem(unknown_email, 401)
    assert "set-cookie" not in wrong_password.headers
    assert "set-cookie" not in unknown_email.headers
    # Both failures are committed to the audit log even though the request failed.
    denied = await audit_entries(
        db, AuditEntry.action == Action.SIGN_IN.value, AuditEntry.outcome == Outcome.DENIED.value
    )
    assert [(e.actor, e.citizen_id) for e in denied] == [
        (Actor.CITIZEN.value, uuid.UUID(account["id"])),
        (Actor.SYSTEM.value, None),
    ]
    allowed = await audit_entries(
        db, AuditEntry.action == Action.SIGN_IN.value, AuditEntry.outcome == Outcome.ALLOWED.value
    )
    assert [e.citizen_id for e in allowed] == [uuid.UUID(account["id"])]


# --- sign-out ----------------------------------------------------------------------------------


async def test_sign_out_clears_the_cookie_and_the_old_token_stops_working(
    app: Litestar, client: Client, db: Database
) -> None:
    account = (await sign_up_and_in(client, EMAIL))["account"]
    token = client.cookies[SESSION_COOKIE]
    async with browser(client) as other_browser:
        await sign_in(other_browser, EMAIL, TEST_PASSWORD)

        response = await client.delete("/api/v1/session")

        assert response.status_code == 204
        name, value, attributes = cookie_attributes(response.headers["set-cookie"])
        assert name == SESSION_COOKIE
        assert value in {"", '""'}
        assert attributes["max-age"] == "0"
        assert SESSION_COOKIE not in client.cookies
        problem(await client.get("/api/v1/me"), 401, "session_invalid")
        async with browser(client, token) as replay:
            problem(await replay.get("/api/v1/me"), 401, "session_invalid")
            problem(await replay.get(EVIDENCE), 401, "session_invalid")
        # Signing out one browser leaves the citizen's other sessions alone.
        assert (await other_browser.get("/api/v1/me")).status_code == 200

    token_hash = hashlib.sha256(token.encode()).digest()
    assert await count(db, Session.id, Session.token_hash == token_hash) == 0
    [entry] = await audit_entries(db, AuditEntry.action == Action.SIGN_OUT.value)
    assert entry.citizen_id == uuid.UUID(account["id"])


async def test_sign_out_without_a_session_is_401(client: Client, db: Database) -> None:
    problem(await client.delete("/api/v1/session"), 401, "session_invalid")


# --- rate limits ------------------------------------------------------------------------------


async def test_too_many_failures_for_one_email_lock_it_even_with_the_right_password(
    client: Client, db: Database, policy: AccountPolicy
) -> None:
    await sign_up_and_in(client, EMAIL)
    client.cookies.clear()
    for _ in range(policy.max_failures_per_account):
        problem(await sign_in(client, EMAIL, "a wrong guess at it"), 401, "invalid_credentials")

    locked = await sign_in(client, EMAIL, TEST_PASSWORD)

    problem(locked, 429, "rate_limited")
    assert locked.headers["retry-after"] == str(int(policy.window.total_seconds()))
    assert "set-cookie" not in locked.headers
    assert SESSION_COOKIE not in client.cookies
    # The email is compared the way it is stored, so changing its case does not help.
    problem(await sign_in(client, EMAIL.upper(), TEST_PASSWORD), 429, "rate_limited")
    # Another account from the same address is not locked by this one's failures.
    await sign_up_and_in(client, "someone.else@example.com")
    refused = await audit_entries(db, AuditEntry.outcome == Outcome.DENIED.value)
    assert len(refused) == policy.max_failures_per_account + 2
    assert refused[-1].detail == {"reason": "rate_limited"}


async def test_an_unknown_email_is_locked_the_same_way(
    client: Client, db: Database, policy: AccountPolicy
) -> None:
    for _ in range(policy.max_failures_per_account):
        await sign_in(client, "ghost.account@example.com", "a wrong guess at it")

    problem(await sign_in(client, "ghost.account@example.com", TEST_PASSWORD), 429, "rate_limited")


async def test_too_many_failures_from_one_address_lock_every_email(
    client: Client, db: Database, policy: AccountPolicy
) -> None:
    await client.post("/api/v1/citizens", json={"email": EMAIL, "password": TEST_PASSWORD})
    assert policy.max_failures_per_address > policy.max_failures_per_account
    for attempt in range(policy.max_failures_per_address):
        response = await sign_in(client, f"guess{attempt}@example.com", TEST_PASSWORD)
        problem(response, 401, "invalid_credentials")

    locked = await sign_in(client, EMAIL, TEST_PASSWORD)

    problem(locked, 429, "rate_limited")
    assert locked.headers["retry-after"] == str(int(policy.window.total_seconds()))


# --- sessions that must not work -----------------------------------------------------------------


async def test_an_expired_session_is_refused(app: Litestar, client: Client, db: Database) -> None:
    await sign_up_and_in(client, EMAIL)
    assert (await client.get("/api/v1/me")).status_code == 200
    async with db.sessions() as session:
        past = dt.datetime.now(dt.UTC) - dt.timedelta(seconds=1)
        await session.execute(update(Session).values(expires_at=past))
        await session.commit()

    problem(await client.get("/api/v1/me"), 401, "session_invalid")
    problem(await client.get(EVIDENCE), 401, "session_invalid")


@pytest.mark.parametrize(
    "token",
    [
        pytest.param(secrets.token_urlsafe(32), id="random"),
        pytest.param("x" * 5000, id="oversized"),
        pytest.param("", id="empty"),
    ],
)
async def test_a_forged_cookie_is_refused(
    app: Litestar, client: Client, db: Database, token: str
) -> None:
    await sign_up_and_in(client, EMAIL)  # a real session exists; the forged one is not it

    async with browser(client, token) as forger:
        problem(await forger.get("/api/v1/me"), 401, "session_invalid")
        problem(await forger.get(EVIDENCE), 401, "session_invalid")


async def test_a_refused_request_gives_its_database_connection_back(
    app: Litestar, client: Client, db: Database
) -> None:
    # Litestar skips generator-dependency cleanup when a later dependency raises; the
    # session must still be closed, or each refusal holds a connection (on SQLite, for a
    # POST, the write lock) until garbage collection.
    pool = app.state.db.engine.pool
    await sign_up_and_in(client, EMAIL)
    async with browser(client, secrets.token_urlsafe(32)) as forger:
        problem(await forger.get("/api/v1/me"), 401)
        problem(await forger.post(EVIDENCE, json={"type": "blue_badge", "claims": {}}), 401)
        assert pool.checkedout() == 0
    await client.delete("/api/v1/session")
    problem(await client.post(EVIDENCE, json={"type": "blue_badge", "claims": {}}), 401)
    assert pool.checkedout() == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/api/v1/me"),
        ("GET", EVIDENCE),
        ("GET", "/api/v1/me/export"),
        ("DELETE", "/api/v1/session"),
    ],
)
async def test_no_cookie_is_401(client: Client, db: Database, method: str, path: str) -> None:
    problem(await client.request(method, path), 401, "session_invalid")


# --- roles ---------------------------------------------------------------------------------------


async def test_an_auditor_cannot_use_the_citizen_vault(
    app: Litestar, client: Client, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    async with db.sessions() as session:
        auditor = await create_account(
            session,
            keys,
            email="auditor@council.example.gov.uk",
            password=TEST_PASSWORD,
            role=Role.AUDITOR,
            policy=policy,
            actor=Actor.ADMIN,
        )
    assert (await sign_in(client, auditor.email, TEST_PASSWORD)).status_code == 201
    me = await client.get("/api/v1/me")
    assert (me.status_code, me.json()["role"]) == (200, "auditor")

    problem(await client.get(EVIDENCE), 403, "wrong_role")
    problem(
        await client.post(EVIDENCE, json={"type": "blue_badge", "claims": {}}), 403, "wrong_role"
    )
    problem(await client.get("/api/v1/me/export"), 403, "wrong_role")
    assert app.state.db.engine.pool.checkedout() == 0  # refused, and its session closed
    assert await count(db, CitizenKey.citizen_id) == 0
    [created] = await audit_entries(db, AuditEntry.action == Action.ACCOUNT_CREATED.value)
    assert created.citizen_id is None
    assert created.detail == {"role": "auditor"}
