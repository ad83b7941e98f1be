"""Steps the dashboard tests share: reading a page's token, signing up and in by form."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from conftest import TEST_PASSWORD

from pds.accounts.service import AccountPolicy, Role, create_account

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from pds.db import Database
    from pds.keys.provider import KeyProvider

FORM = {"content-type": "application/x-www-form-urlencoded"}
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


def csrf_of(html: str) -> str:
    found = _CSRF.search(html)
    assert found, "the page has no form token"
    return found.group(1)


async def token_for(client: AsyncTestClient[Any], path: str) -> str:
    page = await client.get(path)
    assert page.status_code == 200, page.text
    return csrf_of(page.text)


async def post_form(
    client: AsyncTestClient[Any], path: str, data: dict[str, Any], *, token_from: str | None = None
) -> httpx.Response:
    """POST ``data`` as a browser would, with the token from ``token_from`` (default: ``path``)."""
    token = await token_for(client, token_from or path)
    return await client.post(
        path, data={"csrf_token": token, **data}, headers=FORM, follow_redirects=False
    )


async def sign_up(
    client: AsyncTestClient[Any], email: str, password: str = TEST_PASSWORD
) -> httpx.Response:
    answer = await post_form(
        client, "/dashboard/sign-up", {"email": email, "password": password, "confirm": password}
    )
    assert answer.status_code == 303, answer.text
    assert answer.headers["location"] == "/dashboard"
    return answer


AUDITOR_EMAIL = "auditor@example.gov.uk"


async def make_auditor(db: Database, keys: KeyProvider, policy: AccountPolicy) -> None:
    """Auditors are made by the operator (``pds users create``), never by signing up."""
    async with db.sessions() as session:
        await create_account(
            session,
            keys,
            email=AUDITOR_EMAIL,
            password=TEST_PASSWORD,
            role=Role.AUDITOR,
            policy=policy,
        )


async def sign_in(client: AsyncTestClient[Any], email: str) -> None:
    answer = await post_form(
        client, "/dashboard/sign-in", {"email": email, "password": TEST_PASSWORD}
    )
    assert answer.status_code == 303, answer.text
