"""Shared fixtures: real databases (SQLite and PostgreSQL), the app, signed-in clients.

Every test that touches data runs once per backend through the ``backend``
parameter. SQLite always runs; PostgreSQL runs when ``PDS_TEST_POSTGRES_URL``
is set (CI always sets it, and ``.ci/run`` fails if it cannot be reached).
Each backend is migrated once per test session and emptied before each test.
"""

from __future__ import annotations

import os
import uuid
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient
from sqlalchemy import text

from pds import migrate
from pds.accounts.passwords import HashingParams
from pds.accounts.service import AccountPolicy
from pds.app import create_app
from pds.db import Database, open_database
from pds.keys.provider import InMemoryKeyProvider
from pds.models import metadata
from pds.settings import Settings

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Collection, Iterator
    from pathlib import Path

    from litestar import Litestar

POSTGRES_URL = os.environ.get("PDS_TEST_POSTGRES_URL", "")
if os.environ.get("PDS_REQUIRE_POSTGRES") and not POSTGRES_URL:
    raise pytest.UsageError("PDS_REQUIRE_POSTGRES is set but PDS_TEST_POSTGRES_URL is empty")
BACKENDS = [
    "sqlite",
    pytest.param(
        "postgres",
        marks=[
            pytest.mark.postgres,
            pytest.mark.skipif(not POSTGRES_URL, reason="PDS_TEST_POSTGRES_URL is not set"),
        ],
    ),
]
TEST_PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="session")
def postgres_admin_url() -> str:
    return POSTGRES_URL


def fresh_postgres_database(admin_url: str) -> tuple[str, str]:
    """Create an empty database beside the one in ``admin_url``; returns (url, name)."""
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    name = f"pds_test_{uuid.uuid4().hex[:12]}"
    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")

    async def create() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    base, _, _ = admin_url.rpartition("/")
    return f"{base}/{name}", name


def drop_postgres_database(admin_url: str, name: str) -> None:
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    dsn = admin_url.replace("postgresql+asyncpg://", "postgresql://")

    async def drop() -> None:
        conn = await asyncpg.connect(dsn)
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(drop())


@pytest.fixture(scope="session")
def migrated(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Callable[[str], Settings]]:
    """One migrated database per backend for the whole run (created lazily)."""
    made: dict[str, Settings] = {}
    dropped: list[str] = []

    def get(backend: str) -> Settings:
        if backend not in made:
            data_dir = tmp_path_factory.mktemp(f"data-{backend}")
            url = ""
            if backend == "postgres":
                url, name = fresh_postgres_database(POSTGRES_URL)
                dropped.append(name)
            # Tests sequence explicitly; a background sequencer would race them.
            settings = Settings(data_dir=data_dir, database_url=url, audit_sequencer=False)
            migrate.upgrade(settings)
            made[backend] = settings
        return made[backend]

    yield get
    for name in dropped:
        drop_postgres_database(POSTGRES_URL, name)


@pytest.fixture
def empty_settings(backend: str, tmp_path: Path, postgres_admin_url: str) -> Iterator[Settings]:
    """Settings for a brand-new, empty (unmigrated) database of the backend under test."""
    if backend == "sqlite":
        yield Settings(data_dir=tmp_path / "data")
        return
    url, name = fresh_postgres_database(postgres_admin_url)
    try:
        yield Settings(data_dir=tmp_path / "data", database_url=url)
    finally:
        drop_postgres_database(postgres_admin_url, name)


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def settings(backend: str, migrated: Callable[[str], Settings]) -> Settings:
    return migrated(backend)


async def empty_all_tables(db: Database) -> None:
    async with db.sessions() as session:
        if db.is_sqlite:
            for table in reversed(metadata.sorted_tables):
                await session.execute(table.delete())
        else:
            names = ", ".join(f'"{t.name}"' for t in metadata.sorted_tables)
            await session.execute(text(f"TRUNCATE {names} CASCADE"))
        await session.commit()


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = open_database(settings)
    await empty_all_tables(database)
    yield database
    await database.dispose()


@pytest.fixture
def keys() -> InMemoryKeyProvider:
    return InMemoryKeyProvider()


@pytest.fixture
def policy() -> AccountPolicy:
    return AccountPolicy(hashing=HashingParams.fast_for_tests())


@pytest.fixture
def app(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> Litestar:
    return create_app(settings, keys=keys, account_policy=policy)


@pytest.fixture
async def client(app: Litestar) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=app) as test_client:
        yield test_client


async def sign_up_and_in(
    client: AsyncTestClient[Any], email: str, password: str = TEST_PASSWORD
) -> dict[str, Any]:
    """Create a citizen and sign in; the client keeps the session cookie."""
    created = await client.post("/api/v1/citizens", json={"email": email, "password": password})
    assert created.status_code == 201, created.text
    signed_in = await client.post("/api/v1/session", json={"email": email, "password": password})
    assert signed_in.status_code == 201, signed_in.text
    body: dict[str, Any] = signed_in.json()
    return body


@pytest.fixture
def tmp_data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


async def terminate_backends(settings: Settings, pids: Collection[int] | None = None) -> int:
    """What a PostgreSQL restart does to its clients: end these backends (by default every
    other one on the database ``settings`` names) and wait until they are gone, and until
    this event loop has seen their sockets close. How many were ended."""
    import asyncio  # noqa: PLC0415

    import asyncpg  # noqa: PLC0415

    admin = await asyncpg.connect(settings.resolved_database_url.replace("+asyncpg", ""))
    try:
        if pids is None:
            pids = await admin.fetchval(
                "SELECT coalesce(array_agg(pid), '{}') FROM pg_stat_activity"
                " WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        targets = list(pids)
        await admin.execute("SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid", targets)
        for _ in range(500):
            left = await admin.fetchval(
                "SELECT count(*) FROM pg_stat_activity WHERE pid = ANY($1::int[])", targets
            )
            if not left:
                break
            await asyncio.sleep(0.01)
        else:
            pytest.fail(f"backends {targets} outlived pg_terminate_backend by 5 s")
    finally:
        await admin.close()
    await asyncio.sleep(0.1)  # their sockets' end reaches the drivers on this loop
    return len(targets)
