"""Requests in flight together, against a live server on both databases.

A service reads from many coroutines at once. Two things went wrong there: requests sent
before the client knew the server's DPoP nonce were refused and only the first of them
retried (the rest saw the nonce as already learnt), and every coroutine that found a
token spent asked for its own new one. Each request must retry once with the nonce, and
one renewal must serve every caller waiting on the same token.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING

import httpx
import pytest

from connectors.sdk import Grant, PdsClient, generate_signing_key
from sdk.granted import TokenTally, approved_grant, watched_service
from sdk.test_client_live import register

if TYPE_CHECKING:
    from pds.db import Database

TIMEOUT = 10.0
JWT_BEARER = "urn:ietf:params:oauth:grant-type:jwt-bearer"


@pytest.mark.parametrize("first", ["read_and_feed", "two_refreshes"])
async def test_a_restarted_service_s_first_requests_run_together(
    db: Database, live: str, first: str
) -> None:
    """README "Notes": a restarted service rebuilds its grants as ``Grant(grant_id, "",
    0.0, consent_token=…)`` under a new DPoP key and no nonce, then makes its first
    requests concurrently. Both token requests go out without a nonce; both must retry."""
    signing = generate_signing_key()
    client_id = await register(db, signing)
    async with (
        httpx.AsyncClient(base_url=live, timeout=TIMEOUT) as browser,
        PdsClient(live, client_id, signing) as before,
    ):
        grant = await approved_grant(before, browser, "amara@example.com")
    assert grant.consent_token is not None

    tally = TokenTally()
    async with (
        httpx.AsyncClient(timeout=TIMEOUT, event_hooks={"response": [tally]}) as http,
        PdsClient(live, client_id, signing, http=http) as pds,
    ):
        await pds.discover()  # so both token requests are sent before either is answered
        stored = Grant(grant.grant_id, "", 0.0, consent_token=grant.consent_token)
        if first == "read_and_feed":
            data, page = await asyncio.gather(pds.get_data(stored), pds.events_page(0))
            assert data.grant_id == grant.grant_id
            assert [e.grant_id for e in page.events] == [grant.grant_id]
            assert tally.issued(JWT_BEARER) == tally.issued("client_credentials") == 1
        else:
            again = Grant(grant.grant_id, "", 0.0, consent_token=grant.consent_token)
            await asyncio.gather(pds.refresh(stored), pds.refresh(again))
            assert stored.access_token
            assert again.access_token
            assert stored.access_token != again.access_token
            assert tally.issued(JWT_BEARER) == 2
            assert (await pds.get_data(stored)).grant_id == grant.grant_id
    # Each of the two was refused for want of the nonce, and sent again once with it.
    assert tally.refused("use_dpop_nonce") == 2, tally.answers
    assert len(tally.answers) == 4, tally.answers


async def test_concurrent_reads_of_an_expired_grant_share_one_refresh(
    db: Database, live: str
) -> None:
    """Eight reads find the grant's access token expired: one refresh serves them all."""
    async with watched_service(db, live) as watched:
        pds, browser, tally = watched.pds, watched.browser, watched.tally
        grant = await approved_grant(pds, browser, "tom@example.com")
        spent = grant.access_token
        grant.expires_at = time.time() - 1
        tally.answers.clear()

        reads = await asyncio.gather(*(pds.get_data(grant) for _ in range(8)))
        assert [r.grant_id for r in reads] == [grant.grant_id] * 8
        assert grant.access_token != spent
        assert tally.answers == [(JWT_BEARER, 200, "")]


async def test_concurrent_feed_reads_share_one_client_token(db: Database, live: str) -> None:
    """Eight reads of the event feed before the client has a client token: one
    ``client_credentials`` request, and that token is cached from then on."""
    async with watched_service(db, live) as watched:
        pds, browser, tally = watched.pds, watched.browser, watched.tally
        grant = await approved_grant(pds, browser, "tom@example.com")  # learns the nonce
        tally.answers.clear()

        pages = await asyncio.gather(*(pds.events_page(0) for _ in range(8)))
        assert [[e.grant_id for e in p.events] for p in pages] == [[grant.grant_id]] * 8
        assert tally.answers == [("client_credentials", 200, "")]
        token = await pds.client_credentials()
        assert token is await pds.client_credentials()
        assert len(tally.answers) == 1
