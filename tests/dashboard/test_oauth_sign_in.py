"""The sign-in form on /oauth/authorize: GOV.UK styled, and refused without its token.

Without the token another site could sign a visitor in to an account of the
attacker's choosing and have them answer a request as that account (login CSRF).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any
from urllib.parse import urlencode

from conftest import TEST_PASSWORD, sign_up_and_in
from e2e.helpers import browser
from e2e.oauth_kit import Pkce, ServiceKit, push

from dashboard.kit import FORM
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from litestar.testing import AsyncTestClient

    from pds.db import Database

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)"')


async def test_the_authorize_sign_in_form_needs_its_token(
    client: AsyncTestClient[Any], db: Database
) -> None:
    async with browser(client) as other:
        await sign_up_and_in(other, "victim@example.com")
    kit = ServiceKit()
    await kit.register(db)
    pushed = await push(client, kit, Pkce())
    query = urlencode({"client_id": kit.client_id, "request_uri": pushed.json()["request_uri"]})
    async with browser(client) as visitor:
        page = await visitor.get(f"/oauth/authorize?{query}")
        assert page.status_code == 200
        assert "govuk-frontend.min.css" in page.text
        hidden = dict(_HIDDEN.findall(page.text))
        assert hidden.get("csrf_token")
        login = {"email": "victim@example.com", "password": TEST_PASSWORD}
        forged = {**hidden, "csrf_token": "made-up", **login}
        refused = await visitor.post(
            "/oauth/authorize/sign-in", data=forged, headers=FORM, follow_redirects=False
        )
        assert refused.status_code == 403
        assert "This page had expired" in refused.text
        assert SESSION_COOKIE not in visitor.cookies
        accepted = await visitor.post(
            "/oauth/authorize/sign-in",
            data={**dict(_HIDDEN.findall(refused.text)), **login},
            headers=FORM,
            follow_redirects=False,
        )
        assert accepted.status_code == 303
        assert SESSION_COOKIE in visitor.cookies
