"""A PostgreSQL server that drops every connection (a restart, a failover, an
administrator): once the app has seen the sockets close it carries on without a single
refused request; a request whose connection dies under it is told to come back (503 with
``Retry-After``, see tests/web/test_errors.py), never shown a 500."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import pytest
from conftest import terminate_backends

from e2e.connect_kit import CONNECT, dpop_headers
from e2e.oauth_kit import ServiceKit
from e2e.test_connector_api import setup_grant

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from pds.db import Database
    from pds.settings import Settings

    Client = AsyncTestClient[Any]


async def test_after_the_server_dropped_every_connection_reads_and_pages_go_on(
    client: Client, db: Database, settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("an embedded SQLite database has no connection to lose")
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"

    async def read() -> httpx.Response:
        proof = dpop_headers(kit, "GET", path, tokens["access_token"])
        return await client.get(path, headers=proof)

    # Every kind of connection in use: kept for the evidence query, pooled for the group
    # commit, pooled for a dashboard page's session.
    assert (await read()).status_code == 200
    assert (await client.get("/dashboard/evidence")).status_code == 200
    assert await terminate_backends(settings) > 0

    after = [await read(), await client.get("/dashboard/evidence"), await read()]

    assert [answer.status_code for answer in after] == [200, 200, 200], after[0].text
    assert after[0].json()["items"]
