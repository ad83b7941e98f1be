"""Database engine, session factory and the declarative base shared by every area.

SQLite (the embedded default) gets WAL, foreign keys and a busy timeout on every
connection because SQLite leaves them off by default and each is needed for
correctness under concurrent requests. PostgreSQL needs nothing special.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Connection, DateTime, Engine, MetaData, event
from sqlalchemy import create_engine as create_sync_engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.ext.asyncio import (
    AsyncEngine,
    AsyncSession,
    async_sessionmaker,
    create_async_engine,
)
from sqlalchemy.orm import DeclarativeBase, Session
from sqlalchemy.types import TypeDecorator

from pds.db_failures import known_closed
from pds.held_reads import HeldConnections
from pds.settings import prepare_data_dir
from pds.sqlite_direct import INLINE_OPTION, DirectSqlite

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Mapping

    from sqlalchemy import Table
    from sqlalchemy.engine.interfaces import Dialect

    from pds.plain_select import PlainSelect, Row
    from pds.settings import Settings

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

T = TypeVar("T")

SQLITE_BUSY_TIMEOUT_MS = 5000
POOL_SIZE = 32
PG_POOL_RECYCLE_S = 1800
HELD_READ_CONNECTIONS = 8
"""Connections kept out of the pool for ``Database.fetch`` on PostgreSQL: a fetch holds
one for a round trip, so even 32 reads at once rarely have more than a few in flight."""


class UTCDateTime(TypeDecorator[dt.datetime]):
    """Timezone-aware UTC datetimes on every backend.

    SQLite stores no offset, so values come back naive; this type refuses naive
    input and re-attaches UTC on the way out, so no code ever compares naive and
    aware times.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(
        self,
        value: dt.datetime | None,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy calls it with this signature
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given; use an aware UTC datetime")
        return value.astimezone(dt.UTC)

    def process_result_value(
        self,
        value: Any,
        dialect: Dialect,  # noqa: ARG002 - SQLAlchemy calls it with this signature
    ) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=dt.UTC)  # type: ignore[no-any-return]
        return value.astimezone(dt.UTC)  # type: ignore[no-any-return]


class Base(DeclarativeBase):
    """Declarative base with deterministic constraint names, so migrations diff cleanly."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> dt.datetime:
    """The current time, aware and in UTC."""
    return dt.datetime.now(dt.UTC)


def create_engine(settings: Settings, **kwargs: Any) -> AsyncEngine:
    """Build the async engine for the configured URL, with SQLite made safe for concurrency."""
    url = settings.resolved_database_url
    # Enough pooled connections for a busy server's concurrent requests: beyond the pool,
    # "overflow" connections are opened and closed per use, and opening one (the file,
    # the PRAGMAs below; a TCP and auth round trip on PostgreSQL) costs more than a read.
    if ":memory:" not in url:  # an in-memory database has one connection (StaticPool)
        kwargs.setdefault("pool_size", POOL_SIZE)
        kwargs.setdefault("max_overflow", POOL_SIZE)
    if url.startswith("sqlite"):
        if not settings.database_url:
            prepare_data_dir(settings)
        engine = create_async_engine(
            url, connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000}, **kwargs
        )
        event.listen(engine.sync_engine, "connect", _sqlite_on_connect)
        event.listen(engine.sync_engine, "begin", _sqlite_on_begin)
        return engine
    # No ping before each checkout: it cost a round trip per use (5% of a connector read's
    # CPU under load). A connection the driver already knows is closed (a server restart
    # closes every socket, and the event loop sees it) is swapped for a new one at
    # checkout, for the price of reading a flag. One found dead in use is reported by
    # SQLAlchemy as a disconnect, which throws out every pooled connection at once, so
    # only the requests in flight fail (503, ``pds.db_failures``); recycling retires
    # connections before an idle timeout somewhere between us and the server can cut them.
    kwargs.setdefault("pool_recycle", PG_POOL_RECYCLE_S)
    engine = create_async_engine(url, **kwargs)
    event.listen(engine.sync_engine, "checkout", _swap_if_closed)
    return engine


def _swap_if_closed(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
    """The pool's checkout hook: a closed connection raises ``DisconnectionError``, on
    which the pool discards it and checks out afresh (connecting if need be)."""
    if known_closed(getattr(dbapi_connection, "driver_connection", None)):
        raise DisconnectionError("the database server closed this connection")


def open_database(settings: Settings, **kwargs: Any) -> Database:
    """Engine and session factories for the configured database.

    SQLite takes one writer at a time whatever we do; left to its busy handler, waiting
    writers sleep and poll (1, 2, 5 … 100 ms), so under load a writer can sleep long after
    the lock came free, and not in arrival order. Writing sessions therefore share one
    connection: in this process they queue for it in order and start the moment it is
    released. Other processes still meet the busy handler, as before.
    """
    engine = create_engine(settings, **kwargs)
    if engine.dialect.name != "sqlite" or ":memory:" in settings.resolved_database_url:
        return Database(engine)
    writer = create_engine(
        settings, pool_size=1, max_overflow=0, pool_timeout=SQLITE_BUSY_TIMEOUT_MS / 1000, **kwargs
    )
    return Database(engine, writer, _sync_sqlite_engine(settings))


async def finish(task: asyncio.Task[Any] | None) -> None:
    """Wait for a background database task to end (cancel it only if it overruns the
    busy timeout)."""
    if task is None or task.done():
        return
    try:
        await asyncio.wait_for(asyncio.shield(task), SQLITE_BUSY_TIMEOUT_MS / 1000)
    except TimeoutError:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError, Exception):
            await task
    except Exception:  # noqa: S110 - the task logs its own failure
        pass


def _in_transaction(connection: Connection, work: Callable[[Connection], T]) -> T:
    with connection.begin():
        return work(connection)


def _sync_sqlite_engine(settings: Settings) -> Engine:
    url = settings.resolved_database_url.replace("sqlite+aiosqlite", "sqlite+pysqlite", 1)
    engine = create_sync_engine(
        url,
        connect_args={"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, "check_same_thread": False},
        pool_size=POOL_SIZE,
        max_overflow=POOL_SIZE,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    return engine


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy own transactions (pysqlite's implicit BEGIN is disabled) so
    # that ``_sqlite_on_begin`` can take the write lock up front.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}")
    # FULL: a commit returns only once the WAL is on disk. NORMAL would survive a crash
    # of this process but not of the machine, and after a power cut the log could come
    # back shorter than a signed checkpoint already handed out, with reads answered
    # that no entry records. Measured on the read path: ~10% more CPU a read.
    cursor.execute("PRAGMA synchronous=FULL")
    # Deleted rows are overwritten, so an erased citizen's wrapped data key does
    # not linger in free pages of the file.
    cursor.execute("PRAGMA secure_delete=ON")
    cursor.close()


def _sqlite_on_begin(connection: Any) -> None:
    # A writing unit of work takes the write lock at BEGIN, so two writers queue on
    # the busy timeout instead of one failing with "database is locked" when its
    # read snapshot cannot be upgraded. Readers stay deferred and never block.
    options = connection.get_execution_options()
    if options.get(INLINE_OPTION, False):
        return  # ``DirectSqlite.begin_inline`` has begun it already
    writes = options.get(WRITE_OPTION, False)
    connection.exec_driver_sql("BEGIN IMMEDIATE" if writes else "BEGIN")


WRITE_OPTION = "pds_writes"


class Database:
    """The engine plus two session factories: one for units of work that write."""

    def __init__(
        self,
        engine: AsyncEngine,
        write_engine: AsyncEngine | None = None,
        sync_engine: Engine | None = None,
    ) -> None:
        self.engine = engine
        self.write_engine = write_engine or engine
        self.sync_engine = sync_engine
        """SQLite only: a blocking engine for ``run_read`` (see there)."""
        self.sessions = async_sessionmaker(
            self.write_engine.execution_options(**{WRITE_OPTION: True}), expire_on_commit=False
        )
        self.read_sessions = async_sessionmaker(engine, expire_on_commit=False)
        self.direct = DirectSqlite(sync_engine) if sync_engine is not None else None
        """SQLite only: connections driven from the event loop (see ``pds.sqlite_direct``)."""
        self.held_reads = (
            HeldConnections(engine, size=HELD_READ_CONNECTIONS, recycle=PG_POOL_RECYCLE_S)
            if self.direct is None
            else None
        )
        """PostgreSQL: connections kept for ``fetch`` (see ``pds.held_reads``)."""

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    async def dispose(self) -> None:
        if self.held_reads is not None:
            await self.held_reads.close()
        await self.engine.dispose()
        if self.write_engine is not self.engine:
            await self.write_engine.dispose()
        if self.direct is not None:
            await self.direct.close()
        if self.sync_engine is not None:
            self.sync_engine.dispose()

    async def run_write(self, work: Callable[[Connection], T], *, brief: bool = False) -> T:
        """Run ``work`` (plain statements over a ``Connection``) in one writing transaction.

        On SQLite it runs in a worker thread on the blocking engine, one hand-off for the
        whole transaction instead of three per statement, while this process's writing
        connection is held as the gate: other writers here queue behind it in order, as
        they queue behind each other (see ``open_database``). Elsewhere it runs through
        the async driver.

        ``brief``: ``work`` takes a few milliseconds at most (the read path's group commit,
        the rate-limit sync, the server's small sequencer batches). On SQLite it is then
        tried right here first, when the write lock is free this instant
        (``pds.sqlite_direct``): no thread hand-offs, whose cost under load (each waits
        for the busy event loop to let go of the GIL) was several times the work.
        """
        if self.direct is not None:
            inline = self.direct.begin_inline() if brief else None
            if inline is not None:
                return self.direct.write_inline(inline, work)
            async with self.write_engine.connect():
                return await asyncio.to_thread(self._write_blocking, work)
        async with self.write_engine.connect() as connection:
            return await connection.run_sync(_in_transaction, work)

    def _write_blocking(self, work: Callable[[Connection], T]) -> T:
        assert self.sync_engine is not None
        with self.sync_engine.connect() as connection:
            return _in_transaction(connection.execution_options(**{WRITE_OPTION: True}), work)

    async def run_read(self, work: Callable[[Session], T]) -> T:
        """Run ``work`` (read-only statements over a plain ``Session``) in one snapshot.

        On SQLite it runs right here, blocking: a read in WAL mode takes no lock and an
        indexed query takes microseconds, while the async driver pays three thread
        hand-offs per statement (~0.3 ms each, measured). Elsewhere it runs through the
        async driver, where each statement is a network round trip anyway.
        """
        if self.sync_engine is not None:
            with Session(self.sync_engine) as session:
                return work(session)
        async with self.read_sessions() as session:
            return await session.run_sync(work)

    async def fetch(self, query: PlainSelect, values: Mapping[str, Any]) -> list[Row]:
        """The rows of ``query`` (one statement, its own snapshot) with ``values`` bound:
        on SQLite right here (see ``pds.sqlite_direct``), elsewhere on a connection kept
        for such reads (``pds.held_reads``)."""
        if self.direct is not None:
            return query.on_sqlite(self.direct.reader(), self.engine.dialect, values)
        assert self.held_reads is not None  # set whenever ``direct`` is not
        return await self.held_reads.fetch(query, values)


@asynccontextmanager
async def transaction(
    sessions: async_sessionmaker[AsyncSession],
) -> AsyncIterator[AsyncSession]:
    """One unit of work: commit on success, roll back on any exception."""
    async with sessions() as session, session.begin():
        yield session


def upsert_insert(dialect: str) -> Callable[..., Any]:
    """The ``insert`` that offers ``ON CONFLICT`` for this dialect (PostgreSQL or SQLite)."""
    return postgresql.insert if dialect == "postgresql" else sqlite.insert


async def insert_if_absent(session: AsyncSession, table: Table, values: dict[str, Any]) -> bool:
    """Insert one row unless its key is taken; True when this call inserted it.

    One statement (``ON CONFLICT DO NOTHING``) on both backends, so two processes
    racing for the same key never see an integrity error: exactly one of them wins.
    """
    insert = upsert_insert(session.get_bind().dialect.name)
    result = await session.execute(insert(table).values(**values).on_conflict_do_nothing())
    return bool(getattr(result, "rowcount", 0) == 1)
