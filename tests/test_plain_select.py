"""``PlainSelect`` rows are the values an ordinary SQLAlchemy execution gives, on both
backends: UUIDs, aware UTC datetimes, JSON, bytes and NULLs converted the same way."""

from __future__ import annotations

import asyncio
import datetime as dt
import uuid
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import Uuid, bindparam, select

from pds.audit.models import AuditEntry
from pds.db import HELD_READ_CONNECTIONS, open_database
from pds.plain_select import PlainSelect

if TYPE_CHECKING:
    from pds.db import Database
    from pds.settings import Settings

_entries = AuditEntry.__table__.c
QUERY = (
    select(
        _entries.id,
        _entries.created_at,
        _entries.actor,
        _entries.citizen_id,
        _entries.detail,
        _entries.leaf,
        _entries.leaf_index,
    )
    .where(_entries.actor == bindparam("actor"))
    .where(
        (_entries.citizen_id == bindparam("citizen", type_=Uuid())) | _entries.citizen_id.is_(None)
    )
    .order_by(_entries.id)
)


async def _add(db: Database, citizen: uuid.UUID) -> None:
    async with db.sessions() as session:
        session.add_all([
            AuditEntry(
                actor="system",
                action="key.rotated",
                outcome="allowed",
                citizen_id=citizen,
                detail={"kek": 2, "note": "façade ✓"},
                created_at=dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.UTC),
                leaf=b"\x00\xffleaf",
                leaf_index=7,
            ),
            AuditEntry(actor="system", action="key.rotated", outcome="allowed", detail={}),
            AuditEntry(actor="citizen", action="account.created", outcome="allowed", detail={}),
        ])  # fmt: skip
        await session.commit()


async def test_rows_match_an_ordinary_execution(db: Database) -> None:
    citizen = uuid.uuid4()
    await _add(db, citizen)
    values = {"actor": "system", "citizen": citizen}

    plain = await db.fetch(PlainSelect(QUERY), values)
    async with db.read_sessions() as session:
        ordinary = [tuple(row) for row in (await session.execute(QUERY, values)).all()]

    assert plain == ordinary
    assert len(plain) == 2
    first = next(row for row in plain if row[3] == citizen)
    assert isinstance(first[0], uuid.UUID)
    assert first[1] == dt.datetime(2026, 12, 1, 9, 30, 15, 123456, tzinfo=dt.UTC)
    assert first[1].tzinfo is dt.UTC
    assert first[4] == {"kek": 2, "note": "façade ✓"}
    assert first[5] == b"\x00\xffleaf"


async def test_no_rows_is_an_empty_list(db: Database) -> None:
    assert await db.fetch(PlainSelect(QUERY), {"actor": "nobody", "citizen": uuid.uuid4()}) == []


async def test_a_statement_is_compiled_once_per_dialect(db: Database) -> None:
    query = PlainSelect(QUERY)
    dialect = db.engine.dialect
    assert query.compiled(dialect) is query.compiled(dialect)
    assert [name for name, _ in query.compiled(dialect).binds] == ["actor", "citizen"]


async def test_concurrent_fetches_beyond_the_pool_return_every_connection(
    settings: Settings, backend: str
) -> None:
    """More fetches at once than the pool holds: the extra (overflow) connections are
    closed on return, which the async driver must do inside SQLAlchemy's greenlet (a
    leaked connection would surface here as an unclosed-socket warning). Only the
    connections kept for fetches (``pds.held_reads``) stay checked out, until disposal."""
    if backend != "postgres":
        pytest.skip("SQLite fetches run on a connection per thread, not from the pool")
    database = open_database(settings, pool_size=2, max_overflow=30)
    try:
        await _add(database, uuid.uuid4())
        query = PlainSelect(QUERY)
        results = await asyncio.gather(
            *(
                database.fetch(query, {"actor": "citizen", "citizen": uuid.uuid4()})
                for _ in range(30)
            )
        )
        assert all(len(rows) == 1 for rows in results)
        held = database.held_reads
        assert held is not None
        assert 0 < held.held <= HELD_READ_CONNECTIONS
        assert database.engine.pool.checkedout() == held.held
        await held.close()
        assert database.engine.pool.checkedout() == 0
    finally:
        await database.dispose()
