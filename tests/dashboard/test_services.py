"""Services with access: approved through /oauth/authorize, seen, stopped, receipted."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from conftest import TEST_PASSWORD
from e2e.oauth_kit import Pkce, ServiceKit, approve, push

from dashboard.kit import FORM, post_form, sign_up

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database

_GRANT = re.compile(r'href="/dashboard/services/([0-9a-f-]{36})"')


async def approved(
    client: AsyncTestClient[Any], db: Database, name: str = "Housing Options"
) -> str:
    """A service asks, the signed-in citizen says yes on the consent page: the grant id."""
    kit = ServiceKit()
    await kit.register(db, name=name)
    pushed = await push(client, kit, Pkce())
    assert pushed.status_code == 201, pushed.text
    await approve(client, kit, pushed.json()["request_uri"], items=(1,))
    page = await client.get("/dashboard/services")
    found = _GRANT.findall(page.text)
    assert found
    return found[0]


async def test_a_grant_shows_what_the_service_can_see_and_until_when(
    client: AsyncTestClient[Any], db: Database
) -> None:
    await sign_up(client, "amara@example.com")
    grant_id = await approved(client, db)
    listed = await client.get("/dashboard/services")
    assert "Housing Options" in listed.text
    assert "Proof of address" in listed.text
    assert "just the band" in listed.text
    assert "Until" in listed.text
    detail = await client.get(f"/dashboard/services/{grant_id}")
    assert "To check your address for your housing application." in detail.text
    assert "Can see your data" in detail.text
    home = await client.get("/dashboard")
    assert f"/dashboard/services/{grant_id}" in home.text


async def test_stop_sharing_asks_first_then_ends_the_grant(
    client: AsyncTestClient[Any], db: Database
) -> None:
    await sign_up(client, "st@example.com")
    grant_id = await approved(client, db)
    path = f"/dashboard/services/{grant_id}/stop"
    ask = await client.get(path)
    assert "Stop sharing with Housing Options?" in ask.text
    forged = await client.post(path, data={"csrf_token": "guess"}, headers=FORM)
    assert forged.status_code == 403
    done = await post_form(client, path, {})
    assert done.status_code == 303
    assert done.headers["location"] == "/dashboard/services?stopped=1"
    detail = await client.get(f"/dashboard/services/{grant_id}")
    assert "Stopped" in detail.text
    again = await client.get(path, follow_redirects=False)
    assert again.status_code == 303  # nothing left to stop


async def test_the_receipt_downloads_as_a_signed_jws(
    client: AsyncTestClient[Any], db: Database
) -> None:
    await sign_up(client, "rc@example.com")
    grant_id = await approved(client, db)
    receipt = await client.get(f"/dashboard/services/{grant_id}/receipt")
    assert receipt.status_code == 200
    assert receipt.headers["content-type"].startswith("application/jose")
    assert "attachment" in receipt.headers["content-disposition"]
    assert receipt.text.count(".") == 2


async def test_stop_all_needs_the_password(client: AsyncTestClient[Any], db: Database) -> None:
    await sign_up(client, "all@example.com")
    first = await approved(client, db, "Housing Options")
    second = await approved(client, db, "Council Tax")
    path = "/dashboard/services/stop-all"
    ask = await client.get(path)
    assert "Housing Options" in ask.text
    assert "Council Tax" in ask.text
    empty = await post_form(client, path, {"password": ""})
    assert empty.status_code == 400
    assert "Enter your password" in empty.text
    wrong = await post_form(client, path, {"password": "not my password at all"})
    assert wrong.status_code == 400
    assert "The password is not right" in wrong.text
    done = await post_form(client, path, {"password": TEST_PASSWORD})
    assert done.status_code == 303
    for grant_id in (first, second):
        page = await client.get(f"/dashboard/services/{grant_id}")
        assert "Stopped" in page.text


async def test_another_citizens_grant_is_not_found(
    client: AsyncTestClient[Any], db: Database
) -> None:
    from e2e.helpers import browser  # noqa: PLC0415

    await sign_up(client, "mine@example.com")
    grant_id = await approved(client, db)
    async with browser(client) as other:
        await sign_up(other, "theirs@example.com")
        for path in ("", "/stop", "/receipt"):
            answer = await other.get(f"/dashboard/services/{grant_id}{path}")
            assert answer.status_code == 404
        stop = await post_form(
            other, f"/dashboard/services/{grant_id}/stop", {}, token_from="/dashboard/sign-out"
        )
        assert stop.status_code == 404
    assert "Can see your data" in (await client.get(f"/dashboard/services/{grant_id}")).text
