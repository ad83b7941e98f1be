"""Early renewal, against a live server on both databases.

The SDK renews an access token 30 s before it runs out. A redirect-flow one-off grant
comes with a consent token that buys no second access token, so that early renewal
fails with ``invalid_grant`` while the token in hand still works: the read must go on
with it (and not ask again for the same token), where it used to stop with
``GrantRevoked``. A grant the citizen revoked must still end in ``GrantRevoked`` on
every path, carrying the server's problem document (its ``request_id``) with it.
"""

from __future__ import annotations

import time
from typing import TYPE_CHECKING

import pytest
from e2e.oauth_kit import data_request

from connectors.sdk import Grant, GrantRevoked, InvalidToken
from sdk import citizen
from sdk.granted import approved_grant, watched_service

if TYPE_CHECKING:
    import httpx

    from pds.db import Database

JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


async def test_a_one_off_grant_reads_on_with_its_token_near_expiry(db: Database, live: str) -> None:
    async with watched_service(db, live) as watched:
        pds, browser, tally = watched.pds, watched.browser, watched.tally
        one_off = data_request(access="one_off", duration="P1D")
        grant = await approved_grant(pds, browser, "amara@example.com", one_off)
        assert grant.consent_token is not None  # it comes, but buys no second token
        token = grant.access_token
        tally.answers.clear()

        # The token's last 25 s (it really has minutes left): inside the refresh margin.
        grant.expires_at = time.time() + 25
        assert (await pds.get_data(grant)).grant_id == grant.grant_id
        assert grant.access_token == token
        assert tally.answers == [(JWT_BEARER, 400, "invalid_grant")]

        # Not asked again for the same token.
        assert (await pds.get_data(grant)).grant_id == grant.grant_id
        assert len(tally.answers) == 1

        # Once its time is up there is nothing more to read under it.
        grant.expires_at = time.time() - 1
        with pytest.raises(GrantRevoked) as over:
            await pds.get_data(grant)
        assert over.value.code == "invalid_grant"
        assert tally.answers == [(JWT_BEARER, 400, "invalid_grant")] * 2


@pytest.mark.parametrize(
    ("token_left", "refreshes", "status", "code"),
    [
        pytest.param(300.0, 0, 403, "read_denied", id="token_fresh"),  # the API refuses
        pytest.param(25.0, 1, 403, "read_denied", id="token_near_expiry"),  # refresh, API
        pytest.param(-1.0, 1, 400, "invalid_grant", id="token_expired"),  # the refresh
    ],
)
async def test_a_revoked_grant_ends_in_grant_revoked(
    db: Database, live: str, token_left: float, refreshes: int, status: int, code: str
) -> None:
    async with watched_service(db, live) as watched:
        pds, browser, tally = watched.pds, watched.browser, watched.tally
        grant = await approved_grant(pds, browser, "tom@example.com")
        await citizen.revoke(browser, grant.grant_id)
        tally.answers.clear()

        grant.expires_at = time.time() + token_left
        with pytest.raises(GrantRevoked) as revoked:
            await pds.get_data(grant)
        assert tally.answers == [(JWT_BEARER, 400, "invalid_grant")] * refreshes
        # The server's problem document came along: its request id, to quote.
        assert revoked.value.request_id is not None, revoked.value.problem
        assert (revoked.value.status, revoked.value.code) == (status, code)


async def test_a_refused_token_with_nothing_to_renew_it_is_sent_once(
    db: Database, live: str
) -> None:
    """Without a consent token there is no fresh token to try: the 401 is the answer, not
    a reason to send the same request again."""
    reads: list[int] = []

    async def count(response: httpx.Response) -> None:
        if response.url.path.startswith("/connect/v1/"):
            reads.append(response.status_code)

    async with watched_service(db, live, count) as watched:
        pds, browser = watched.pds, watched.browser
        grant = await approved_grant(pds, browser, "ada@example.com")
        stranded = Grant(grant.grant_id, grant.access_token + "x", time.time() + 300)

        with pytest.raises(InvalidToken):
            await pds.get_data(stranded)
    assert reads == [401]
