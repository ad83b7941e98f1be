"""The database layer: UTC datetimes on every backend, units of work, SQLite made safe."""

from __future__ import annotations

import asyncio
import datetime as dt
import sqlite3
from typing import TYPE_CHECKING

import pytest
from conftest import terminate_backends
from sqlalchemy import func, select, text
from sqlalchemy.exc import DBAPIError, StatementError

from pds.audit.models import AuditEntry
from pds.db import open_database, transaction, utcnow
from pds.db_failures import Unavailable, unavailable
from pds.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator
    from pathlib import Path

    from sqlalchemy.ext.asyncio import AsyncConnection

    from pds.db import Database

IST = dt.timezone(dt.timedelta(hours=5, minutes=30))


def entry(created_at: dt.datetime | None = None) -> AuditEntry:
    row = AuditEntry(actor="system", action="key.rotated", outcome="allowed", detail={})
    if created_at is not None:
        row.created_at = created_at
    return row


async def count_entries(db: Database) -> int:
    async with db.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry)) or 0


def test_utcnow_is_aware_utc() -> None:
    assert utcnow().tzinfo is dt.UTC


async def test_a_naive_datetime_is_refused_on_write(db: Database) -> None:
    async with db.sessions() as session:
        session.add(entry(created_at=dt.datetime(2026, 11, 27, 12, 0)))
        with pytest.raises(StatementError) as refused:
            await session.flush()

    assert isinstance(refused.value.orig, ValueError)
    assert "naive datetime" in str(refused.value.orig)
    assert await count_entries(db) == 0


async def test_a_naive_datetime_is_refused_in_a_query(db: Database) -> None:
    async with db.read_sessions() as session:
        query = select(AuditEntry).where(AuditEntry.created_at < dt.datetime(2026, 1, 1))
        with pytest.raises(StatementError):
            await session.execute(query)


async def test_an_aware_datetime_comes_back_as_the_same_instant_in_utc(db: Database) -> None:
    written = dt.datetime(2026, 3, 29, 1, 30, 15, 123456, tzinfo=IST)
    async with transaction(db.sessions) as session:
        row = entry(created_at=written)
        session.add(row)

    async with db.read_sessions() as session:
        read = await session.scalar(select(AuditEntry.created_at).where(AuditEntry.id == row.id))

    assert read is not None
    assert read.tzinfo is dt.UTC
    assert read == written
    assert read == dt.datetime(2026, 3, 28, 20, 0, 15, 123456, tzinfo=dt.UTC)


async def test_aware_datetimes_in_any_offset_match_in_queries(db: Database) -> None:
    # SQLite compares text: this only works because every value is stored in UTC.
    written = dt.datetime(2026, 6, 1, 9, 0, tzinfo=dt.UTC)
    async with transaction(db.sessions) as session:
        session.add(entry(created_at=written))

    async with db.read_sessions() as session:
        same = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.created_at == written.astimezone(IST))
        )
        earlier = await session.scalar(
            select(func.count())
            .select_from(AuditEntry)
            .where(AuditEntry.created_at < dt.datetime(2026, 6, 1, 14, 0, tzinfo=IST))
        )

    assert same == 1
    assert earlier == 0  # 14:00 in India is 08:30 UTC, before the entry


async def test_transaction_commits_on_success(db: Database) -> None:
    async with transaction(db.sessions) as session:
        session.add(entry())

    assert await count_entries(db) == 1


async def test_transaction_rolls_back_on_any_exception(db: Database) -> None:
    async def fail_half_way() -> None:
        async with transaction(db.sessions) as session:
            session.add(entry())
            await session.flush()  # the row reached the database inside the transaction
            raise RuntimeError("half-way")

    with pytest.raises(RuntimeError, match="half-way"):
        await fail_half_way()

    assert await count_entries(db) == 0


# --- SQLite only: the settings SQLite leaves off by default ------------------------------


@pytest.fixture
async def sqlite_db(tmp_path: Path) -> AsyncIterator[Database]:
    database = open_database(Settings(data_dir=tmp_path / "data"))
    yield database
    await database.dispose()


async def test_sqlite_connections_get_wal_foreign_keys_and_secure_delete(
    sqlite_db: Database,
) -> None:
    async with sqlite_db.read_sessions() as session:
        pragmas = {
            name: (await session.execute(text(f"PRAGMA {name}"))).scalar_one()
            for name in (
                "journal_mode",
                "foreign_keys",
                "secure_delete",
                "busy_timeout",
                "synchronous",
            )
        }

    assert pragmas == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "secure_delete": 1,
        "busy_timeout": 5000,
        "synchronous": 2,  # FULL: a committed audit entry survives a power cut
    }


async def test_sqlite_data_folder_is_created_for_its_owner_only(tmp_path: Path) -> None:
    database = open_database(Settings(data_dir=tmp_path / "data"))
    await database.dispose()

    assert (tmp_path / "data").stat().st_mode & 0o777 == 0o700


def other_writer_can_begin(path: Path) -> bool:
    """Whether a second connection could take the write lock right now (no waiting)."""
    other = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
    except sqlite3.OperationalError as exc:
        if "locked" not in str(exc):
            raise
        return False
    else:
        other.execute("ROLLBACK")
        return True
    finally:
        other.close()


async def test_sqlite_writing_sessions_take_the_write_lock_at_begin(
    sqlite_db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "data" / "pds.sqlite3"
    async with sqlite_db.sessions() as session:
        await session.execute(text("SELECT 1"))  # begins; nothing written yet
        assert not other_writer_can_begin(path)
    assert other_writer_can_begin(path)


async def test_sqlite_reading_sessions_do_not_block_writers(
    sqlite_db: Database, tmp_path: Path
) -> None:
    path = tmp_path / "data" / "pds.sqlite3"
    async with sqlite_db.read_sessions() as session:
        await session.execute(text("SELECT 1"))
        assert other_writer_can_begin(path)


# --- PostgreSQL only: connections lost under the pool ------------------------------------


@pytest.fixture
async def pg(settings: Settings, backend: str) -> AsyncIterator[Database]:
    if backend != "postgres":
        pytest.skip("SQLite has no server to lose")
    database = open_database(settings)
    try:
        yield database
    finally:
        await database.dispose()


async def backend_pid(connection: AsyncConnection) -> int:
    pid: int = (await connection.execute(text("SELECT pg_backend_pid()"))).scalar_one()
    return pid


async def test_a_pooled_connection_the_server_closed_is_swapped_at_checkout(
    pg: Database, settings: Settings
) -> None:
    """A restart closes every socket; the driver sees it, so checkout swaps the connection
    for a new one (no ping, no round trip) and the request never meets it."""
    async with pg.engine.connect() as connection:
        mine = await backend_pid(connection)
    assert await terminate_backends(settings, [mine]) == 1

    async with pg.engine.connect() as connection:
        assert await backend_pid(connection) != mine


async def test_a_connection_dropped_mid_query_fails_only_that_request(
    pg: Database, settings: Settings
) -> None:
    """Found dead in use, a connection is reported as a disconnect (503 to the caller,
    ``pds.db_failures``), which empties the pool, so the next use connects afresh."""
    async with pg.engine.connect() as connection:
        mine = await backend_pid(connection)

        async def drop_it_soon() -> None:
            await asyncio.sleep(0.3)
            await terminate_backends(settings, [mine])

        dropping = asyncio.create_task(drop_it_soon())
        with pytest.raises(DBAPIError) as lost:
            await connection.execute(text("SELECT pg_sleep(5)"))
        await dropping

    assert lost.value.connection_invalidated
    assert unavailable(lost.value) is Unavailable.UNREACHABLE
    async with pg.engine.connect() as connection:
        assert await backend_pid(connection) != mine
