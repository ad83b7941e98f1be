"""SQLite driven from the event loop: brief writes commit inline while the write lock is
free, wait their turn in a worker thread (never blocking the loop) while it is not, and
roll back cleanly."""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import func, insert, select

from pds import sqlite_direct
from pds.audit.models import AuditEntry
from pds.db import open_database

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable

    from sqlalchemy import Connection

    from pds.db import Database
    from pds.settings import Settings


@pytest.fixture
def sqlite_settings(migrated: Callable[[str], Settings]) -> Settings:
    return migrated("sqlite")  # migrating runs its own event loop: not inside an async fixture


@pytest.fixture
async def sqlite_db(sqlite_settings: Settings) -> AsyncIterator[Database]:
    database = open_database(sqlite_settings)
    async with database.sessions() as session:
        await session.execute(AuditEntry.__table__.delete())
        await session.commit()
    yield database
    await database.dispose()


def _database_file(db: Database) -> str:
    assert db.sync_engine is not None
    path = db.sync_engine.url.database
    assert path
    return path


def _append(connection: Connection) -> int:
    """Insert one entry; the id of the thread that ran the statement."""
    connection.execute(
        insert(AuditEntry),
        [{"actor": "system", "action": "key.rotated", "outcome": "allowed", "detail": {}}],
    )
    return threading.get_ident()


async def _count(db: Database) -> int:
    async with db.read_sessions() as session:
        return await session.scalar(select(func.count()).select_from(AuditEntry)) or 0


async def test_a_brief_write_commits_on_the_loop_thread(sqlite_db: Database) -> None:
    ran_on = await sqlite_db.run_write(_append, brief=True)

    assert ran_on == threading.get_ident()
    assert await _count(sqlite_db) == 1
    # Committed for everyone, not only visible to its own connection:
    with sqlite3.connect(_database_file(sqlite_db)) as other:
        assert other.execute("SELECT count(*) FROM audit_entries").fetchone() == (1,)


async def test_the_inline_writer_commits_durably(sqlite_db: Database) -> None:
    """The group commit answers reads once their entries are committed: that commit must
    reach the disk, not only the operating system (synchronous=FULL, not NORMAL)."""

    def synchronous(connection: Connection) -> int:
        return int(connection.exec_driver_sql("PRAGMA synchronous").scalar_one())

    assert await sqlite_db.run_write(synchronous, brief=True) == 2
    assert await sqlite_db.run_write(synchronous) == 2


async def test_a_held_lock_sends_it_to_a_worker_thread_without_blocking_the_loop(
    sqlite_db: Database,
) -> None:
    holder = sqlite3.connect(_database_file(sqlite_db), isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")  # another process's writer, say
    try:
        write = asyncio.create_task(sqlite_db.run_write(_append, brief=True))
        ticks = 0
        for _ in range(20):  # the loop keeps turning while the write waits
            await asyncio.sleep(0.005)
            ticks += 1
        assert not write.done()
    finally:
        holder.execute("COMMIT")
        holder.close()

    ran_on = await asyncio.wait_for(write, 10)
    assert ticks == 20
    assert ran_on != threading.get_ident()
    assert await _count(sqlite_db) == 1


async def test_a_failing_brief_write_rolls_back_and_leaves_the_lock_free(
    sqlite_db: Database,
) -> None:
    def fail_half_way(connection: Connection) -> None:
        _append(connection)
        raise RuntimeError("refused")

    with pytest.raises(RuntimeError, match="refused"):
        await sqlite_db.run_write(fail_half_way, brief=True)

    assert await _count(sqlite_db) == 0
    assert await sqlite_db.run_write(_append, brief=True) == threading.get_ident()
    assert await _count(sqlite_db) == 1


async def test_inline_commits_are_checkpointed_off_the_loop(
    sqlite_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(sqlite_direct, "CHECKPOINT_EVERY", 3)
    checkpoints: list[int] = []
    direct = sqlite_db.direct
    assert direct is not None
    blocking = direct._checkpoint_blocking

    def counted() -> None:
        checkpoints.append(threading.get_ident())
        blocking()

    monkeypatch.setattr(direct, "_checkpoint_blocking", counted)
    for _ in range(2):
        await sqlite_db.run_write(_append, brief=True)
    assert checkpoints == []
    for _ in range(5):
        await sqlite_db.run_write(_append, brief=True)
    await sqlite_db.dispose()  # waits for a checkpoint in flight

    # At the 3rd and 6th commit, unless the first was still running at the 6th.
    assert 1 <= len(checkpoints) <= 2
    assert threading.get_ident() not in checkpoints
