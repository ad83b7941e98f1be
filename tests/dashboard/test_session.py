"""Sign-up, sign-in and sign-out forms: CSRF, errors that say how to fix, redirects."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from conftest import TEST_PASSWORD

from dashboard.kit import FORM, csrf_of, make_auditor, post_form, sign_up
from pds.web.context import CONTENT_SECURITY_POLICY
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import KeyProvider

PAGES = [
    "/dashboard",
    "/dashboard/evidence",
    "/dashboard/evidence/add",
    "/dashboard/services",
    "/dashboard/activity",
    "/dashboard/account",
    "/dashboard/account/delete",
    "/dashboard/sign-out",
    "/dashboard/audit",
    "/dashboard/audit/checkpoint",
]


@pytest.mark.parametrize("path", PAGES)
async def test_signed_out_pages_send_you_to_sign_in(
    client: AsyncTestClient[Any], path: str
) -> None:
    answer = await client.get(path, follow_redirects=False)
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard/sign-in"


async def test_sign_in_page_is_gov_uk_styled_with_a_strict_policy(
    client: AsyncTestClient[Any],
) -> None:
    page = await client.get("/dashboard/sign-in")
    assert page.status_code == 200
    assert "govuk-frontend.min.css" in page.text
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    assert "<script>" not in page.text  # the CSP allows no inline script
    assert page.headers["cache-control"] == "no-store"
    assert "pds_csrf" in page.headers["set-cookie"]
    assert csrf_of(page.text)


async def test_sign_up_signs_you_in_and_sign_out_ends_the_session(
    client: AsyncTestClient[Any],
) -> None:
    await sign_up(client, "ada@example.com")
    home = await client.get("/dashboard")
    assert home.status_code == 200
    assert "Signed in as ada@example.com" in home.text
    out = await post_form(client, "/dashboard/sign-out", {})
    assert out.status_code == 200
    assert "You have signed out" in out.text
    again = await client.get("/dashboard", follow_redirects=False)
    assert again.status_code == 303


async def test_sign_in_with_the_right_password(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "bo@example.com")
    client.cookies.delete(SESSION_COOKIE)
    answer = await post_form(
        client, "/dashboard/sign-in", {"email": "bo@example.com", "password": TEST_PASSWORD}
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/dashboard"


async def test_a_wrong_password_says_what_to_check(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "cy@example.com")
    client.cookies.delete(SESSION_COOKIE)
    answer = await post_form(
        client, "/dashboard/sign-in", {"email": "cy@example.com", "password": "nope nope nope"}
    )
    assert answer.status_code == 401
    assert "There is a problem" in answer.text
    assert "Check both and try again" in answer.text
    assert 'href="#email"' in answer.text
    assert 'value="cy@example.com"' in answer.text


async def test_empty_sign_in_names_each_missing_field(client: AsyncTestClient[Any]) -> None:
    answer = await post_form(client, "/dashboard/sign-in", {"email": "", "password": ""})
    assert answer.status_code == 400
    assert "Enter your email address" in answer.text
    assert "Enter your password" in answer.text


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"email": "not-an-email"}, "Enter an email address like name@example.com"),
        ({"password": "short", "confirm": "short"}, "Use at least 12 characters"),
        ({"confirm": "something else entirely"}, "The passwords do not match"),
    ],
)
async def test_sign_up_errors_say_how_to_fix(
    client: AsyncTestClient[Any], fields: dict[str, str], message: str
) -> None:
    data = {"email": "dee@example.com", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
    answer = await post_form(client, "/dashboard/sign-up", {**data, **fields})
    assert answer.status_code == 400
    assert message in answer.text
    assert "govuk-error-summary" in answer.text


async def test_signing_up_twice_points_to_sign_in(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "eve@example.com")
    client.cookies.delete(SESSION_COOKIE)
    data = {"email": "eve@example.com", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
    answer = await post_form(client, "/dashboard/sign-up", data)
    assert answer.status_code == 400
    assert "Sign in instead" in answer.text


@pytest.mark.parametrize("path", ["/dashboard/sign-in", "/dashboard/sign-up"])
async def test_forms_without_the_token_change_nothing(
    client: AsyncTestClient[Any], path: str
) -> None:
    data = {"email": "fay@example.com", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
    await client.get(path)  # the browser has its pds_csrf cookie; the attacker's form has no token
    answer = await client.post(path, data=data, headers=FORM)
    assert answer.status_code == 403
    assert "This page has expired" in answer.text
    forged = await client.post(path, data={**data, "csrf_token": "forged"}, headers=FORM)
    assert forged.status_code == 403
    assert SESSION_COOKIE not in client.cookies


async def test_a_token_from_another_browser_is_refused(client: AsyncTestClient[Any]) -> None:
    page = await client.get("/dashboard/sign-up")
    token = csrf_of(page.text)
    client.cookies.clear()  # a fresh browser: different pds_csrf cookie
    await client.get("/dashboard/sign-up")
    data = {"email": "gus@example.com", "password": TEST_PASSWORD, "confirm": TEST_PASSWORD}
    answer = await client.post(
        "/dashboard/sign-up", data={**data, "csrf_token": token}, headers=FORM
    )
    assert answer.status_code == 403


async def test_sign_out_needs_the_session_token(client: AsyncTestClient[Any]) -> None:
    await sign_up(client, "hal@example.com")
    answer = await client.post("/dashboard/sign-out", data={"csrf_token": "x"}, headers=FORM)
    assert answer.status_code == 403
    still = await client.get("/dashboard")
    assert still.status_code == 200


async def test_auditors_are_sent_to_their_own_pages(
    client: AsyncTestClient[Any], db: Database, keys: KeyProvider, policy: AccountPolicy
) -> None:
    await make_auditor(db, keys, policy)
    answer = await post_form(
        client,
        "/dashboard/sign-in",
        {"email": "auditor@example.gov.uk", "password": TEST_PASSWORD},
    )
    assert answer.headers["location"] == "/dashboard/audit"
    home = await client.get("/dashboard", follow_redirects=False)
    assert home.headers["location"] == "/dashboard/audit"
