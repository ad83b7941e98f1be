"""The sequencer runs inside the server unless switched off."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import TYPE_CHECKING

from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from pds.app import create_app
from pds.audit.models import AuditCheckpoint, AuditEntry

if TYPE_CHECKING:
    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings


async def _sequenced(db: Database) -> tuple[int, int]:
    async with db.read_sessions() as session:
        pending = await session.scalar(
            select(func.count()).select_from(AuditEntry).where(AuditEntry.leaf_index.is_(None))
        )
        checkpoints = await session.scalar(select(func.count()).select_from(AuditCheckpoint))
    return int(pending or 0), int(checkpoints or 0)


async def test_a_running_server_sequences_and_signs_what_it_appends(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    app = create_app(
        dataclasses.replace(settings, audit_sequencer=True), keys=keys, account_policy=policy
    )
    async with AsyncTestClient(app=app) as client:
        created = await client.post(
            "/api/v1/citizens",
            json={"email": "sam@example.com", "password": "correct horse battery staple"},
        )
        assert created.status_code == 201
        for _ in range(100):  # the loop runs every second; allow up to 10 s
            pending, checkpoints = await _sequenced(db)
            if pending == 0 and checkpoints:
                break
            await asyncio.sleep(0.1)
    assert (pending, checkpoints > 0) == (0, True)


async def test_with_the_sequencer_off_entries_wait(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    app = create_app(settings, keys=keys, account_policy=policy)  # tests run with it off
    async with AsyncTestClient(app=app) as client:
        created = await client.post(
            "/api/v1/citizens",
            json={"email": "sam@example.com", "password": "correct horse battery staple"},
        )
        assert created.status_code == 201
        await asyncio.sleep(1.5)
        assert await _sequenced(db) == (1, 0)
