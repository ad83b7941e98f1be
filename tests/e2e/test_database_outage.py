"""A PostgreSQL server that drops every connection (a restart, a failover, an
administrator): callers are told to come back (503 with ``Retry-After``), never shown a
500, and the service recovers by itself once the server answers again."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import asyncpg
import pytest

from e2e.connect_kit import CONNECT, dpop_headers
from e2e.oauth_kit import ServiceKit
from e2e.test_connector_api import setup_grant

if TYPE_CHECKING:
    import httpx
    from litestar.testing import AsyncTestClient

    from pds.db import Database
    from pds.settings import Settings

    Client = AsyncTestClient[Any]

ATTEMPTS = 40
"""More than the connections the app can hold (pool, overflow and kept ones), each of
which may fail once before it is replaced."""


async def drop_every_connection(settings: Settings) -> int:
    """What ``pg_terminate_backend`` does to a server's clients in a restart; how many."""
    admin = await asyncpg.connect(settings.resolved_database_url.replace("+asyncpg", ""))
    try:
        dropped: int = await admin.fetchval(
            "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )
    finally:
        await admin.close()
    return dropped


def assert_come_back_later(answer: httpx.Response) -> None:
    assert answer.status_code == 503, answer.text
    assert answer.headers["retry-after"] == "1"
    assert answer.headers["content-type"].startswith("application/problem+json")
    problem = answer.json()
    assert problem["code"] == "unavailable"
    assert problem["title"] == "Service unavailable"


async def test_reads_after_the_server_dropped_every_connection_are_503_until_it_recovers(
    client: Client, db: Database, settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("an embedded SQLite database has no connection to lose")
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"

    async def read() -> httpx.Response:
        return await client.get(
            path, headers=dpop_headers(kit, "GET", path, tokens["access_token"])
        )

    assert (await read()).status_code == 200
    assert await drop_every_connection(settings) > 0

    refused: list[httpx.Response] = []
    for _ in range(ATTEMPTS):
        answer = await read()
        if answer.status_code == 200:
            break
        refused.append(answer)
    else:
        pytest.fail(f"no read succeeded in {ATTEMPTS} attempts after the connections dropped")

    # The read that used the kept connection the server dropped is the first to fail.
    assert refused, "the first read after the drop must have met a dead connection"
    for refusal in refused:
        assert_come_back_later(refusal)
    assert answer.json()["items"], "recovered: the data is there again"


async def test_dashboard_pages_after_the_drop_say_to_try_again(
    client: Client, db: Database, settings: Settings, backend: str
) -> None:
    if backend != "postgres":
        pytest.skip("an embedded SQLite database has no connection to lose")
    await setup_grant(client, db, ServiceKit())
    assert (await client.get("/dashboard/evidence")).status_code == 200
    await drop_every_connection(settings)

    statuses = []
    for _ in range(ATTEMPTS):
        page = await client.get("/dashboard/evidence")
        statuses.append(page.status_code)
        if page.status_code == 200:
            break
        assert page.status_code == 503, page.text
        assert page.headers["retry-after"] == "1"
        assert "Sorry, the service is unavailable" in page.text

    assert statuses[0] == 503
    assert statuses[-1] == 200
