"""Readers racing a revocation, on both databases, against a live server.

A real uvicorn server (in a thread) and a real HTTP client give real concurrency: fifty
reads in flight at once, and once twenty have finished the citizen revokes. Every read
must end allowed or denied, never in an error; every read sent after the revocation
returned must be denied (so no read succeeds after the revocation committed, since the
revocation answers only after its commit); and the audit log must hold one entry per
read, with its outcome.
"""

from __future__ import annotations

import asyncio
import time
from typing import TYPE_CHECKING, Any

import httpx
from sqlalchemy import func, select

from e2e.connect_kit import connect_get
from e2e.oauth_kit import ServiceKit
from e2e.test_connector_api import setup_grant
from e2e.test_oauth_independent_client import live_server
from pds.audit.entry import Action
from pds.audit.models import AuditEntry

if TYPE_CHECKING:
    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

READERS = 50
REVOKE_AFTER = 20
LATE = 5


async def audit_count(db: Database, action: Action) -> int:
    async with db.read_sessions() as session:
        found = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.action == action.value)
        )
        return int(found or 0)


async def test_no_read_succeeds_after_a_revocation_commits(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    with live_server(settings, keys, policy) as base_url:
        limits = httpx.Limits(max_connections=READERS + 1)
        async with httpx.AsyncClient(base_url=base_url, timeout=30, limits=limits) as http:
            kit = ServiceKit(issuer=base_url)
            tokens = await setup_grant(http, db, kit)  # type: ignore[arg-type]
            results, revoked_at = await race(http, kit, tokens)

    statuses = [status for _, status in results]
    assert set(statuses) <= {200, 403}, statuses
    assert statuses.count(200) >= REVOKE_AFTER
    after = [status for sent, status in results if sent > revoked_at]
    assert len(after) >= LATE
    assert set(after) == {403}
    assert await audit_count(db, Action.READ) == statuses.count(200)
    assert await audit_count(db, Action.DENY) == statuses.count(403)


async def race(
    http: httpx.AsyncClient, kit: ServiceKit, tokens: dict[str, Any]
) -> tuple[list[tuple[float, int]], float]:
    """Fifty concurrent reads with a revocation once twenty are done: (sent, status) of
    each read, and when the revocation's answer arrived."""
    path = f"/grants/{tokens['grant_id']}/data"
    finished = 0
    enough = asyncio.Event()
    results: list[tuple[float, int]] = []
    revoked_at: list[float] = []
    revoked = asyncio.Event()

    async def read() -> None:
        nonlocal finished
        sent = time.monotonic()
        response = await connect_get(http, kit, tokens["access_token"], path)  # type: ignore[arg-type]
        results.append((sent, response.status_code))
        finished += 1
        if finished >= REVOKE_AFTER:
            enough.set()

    async def revoke() -> None:
        await enough.wait()
        response = await http.post(f"/api/v1/me/grants/{tokens['grant_id']}/revoke")
        assert response.status_code == 200, response.text
        revoked_at.append(time.monotonic())
        revoked.set()

    async def late_reads() -> None:
        """Reads sent after the revocation answered: each must be denied."""
        await revoked.wait()
        await asyncio.gather(*(read() for _ in range(LATE)))

    await asyncio.gather(revoke(), late_reads(), *(read() for _ in range(READERS)))
    return results, revoked_at[0]
