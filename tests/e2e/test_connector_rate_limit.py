"""Per-client rate limits: 429 with Retry-After over HTTP, and counts shared by processes.

Two ``RateLimiter`` instances over one database stand for two server processes: what one
has counted reaches the other at its next sync, so together they allow the limit, not
twice the limit.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from connectors.api.ratelimit import RateLimiter
from connectors.models import UsedJti
from e2e.connect_kit import CONNECT, client_token, connect_get, dpop_headers
from e2e.oauth_kit import ServiceKit
from e2e.test_connector_api import setup_grant
from pds.app import create_app
from pds.audit.models import AuditEntry
from pds.errors import RateLimited

if TYPE_CHECKING:
    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

LIMIT = 3


async def test_a_client_over_its_limit_gets_429_with_retry_after(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    limited = dataclasses.replace(settings, connect_rate_limit=LIMIT)
    app = create_app(limited, keys=keys, account_policy=policy)
    async with AsyncTestClient(app=app) as client:
        kit = ServiceKit()
        other = ServiceKit()
        await kit.register(db)
        await other.register(db)
        token = await client_token(client, kit)
        other_token = await client_token(client, other)

        answers = [await connect_get(client, kit, token, "/events") for _ in range(LIMIT + 1)]
        elsewhere = await connect_get(client, other, other_token, "/events")

    assert [a.status_code for a in answers] == [200] * LIMIT + [429]
    refused = answers[-1]
    assert refused.headers["content-type"].startswith("application/problem+json")
    assert refused.json()["code"] == "rate_limited"
    assert 1 <= int(refused.headers["retry-after"]) <= 60
    assert elsewhere.status_code == 200  # the limit is per client


async def test_only_the_holder_of_the_tokens_key_spends_its_clients_allowance(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    """A token leaked without its DPoP key (from a log, say) buys no requests, and must
    not use up the ones its client is allowed either. A request over the limit still
    spends its checked proof: the same headers cannot go again with another body."""
    limited = dataclasses.replace(settings, connect_rate_limit=LIMIT)
    app = create_app(limited, keys=keys, account_policy=policy)
    async with AsyncTestClient(app=app) as client:
        kit = ServiceKit()
        await kit.register(db)
        token = await client_token(client, kit)
        thief = dataclasses.replace(kit, dpop_key=ServiceKit().dpop_key)  # not the token's key

        stolen = [await connect_get(client, thief, token, "/events") for _ in range(LIMIT + 2)]
        owned = [await connect_get(client, kit, token, "/events") for _ in range(LIMIT)]
        headers = dpop_headers(kit, "GET", f"{CONNECT}/events", token)
        spent_before = await _spent(db)
        over = await client.get(f"{CONNECT}/events", headers=headers)
        spent_after = await _spent(db)

    assert {a.status_code for a in stolen} == {401}
    assert [a.status_code for a in owned] == [200] * LIMIT
    assert over.status_code == 429
    assert spent_after == spent_before + 1


async def test_a_read_over_the_limit_spends_its_proof_too(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    """The read path spends proofs in its group commit; a read refused by the limit is
    spent there too, with no entry."""
    limited = dataclasses.replace(settings, connect_rate_limit=LIMIT)
    app = create_app(limited, keys=keys, account_policy=policy)
    async with AsyncTestClient(app=app) as client:
        kit = ServiceKit()
        tokens = await setup_grant(client, db, kit)
        path = f"{CONNECT}/grants/{tokens['grant_id']}/data"
        token = tokens["access_token"]
        for _ in range(LIMIT):
            assert (
                await client.get(path, headers=dpop_headers(kit, "GET", path, token))
            ).is_success
        spent_before, reads_before = await _spent(db), await _entries(db)
        over = await client.get(path, headers=dpop_headers(kit, "GET", path, token))
        spent_after, reads_after = await _spent(db), await _entries(db)

    assert over.status_code == 429
    assert spent_after == spent_before + 1
    assert reads_after == reads_before


async def _entries(db: Database) -> int:
    async with db.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry)) or 0


async def _spent(db: Database) -> int:
    async with db.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(UsedJti)) or 0


async def test_two_processes_share_one_limit(db: Database) -> None:
    kit = ServiceKit()
    client_id = await kit.register(db)
    first, second = RateLimiter(limit=10), RateLimiter(limit=10)
    now = 1_800_000_010.0  # 10 s into a window

    for _ in range(6):
        first.take(client_id, now)
    await first.sync(db, now)
    await second.sync(db, now)  # learns the first process's six
    for _ in range(4):
        second.take(client_id, now)

    with pytest.raises(RateLimited) as refused:
        second.take(client_id, now)
    assert refused.value.retry_after == 50
    await second.sync(db, now)
    await first.sync(db, now)
    with pytest.raises(RateLimited):
        first.take(client_id, now)  # the first learns the second's four
    first.take(client_id, now + 60)  # a new window starts from zero
