"""Liveness and readiness: ready only when the database is reachable and at head."""

from __future__ import annotations

import threading
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from alembic.script import ScriptDirectory
from litestar.testing import AsyncTestClient

import migrations
from pds import migrate
from pds.app import create_app
from pds.keys.provider import InMemoryKeyProvider
from pds.settings import Settings
from pds.web.problems import PROBLEM_JSON

if TYPE_CHECKING:
    import httpx
    from litestar import Litestar

CLOSED_PORT_URL = "postgresql+asyncpg://postgres@127.0.0.1:1/pds"


async def get(settings: Settings, path: str) -> httpx.Response:
    """One request to a fresh app on ``settings``, run from start-up to shutdown."""
    before = set(threading.enumerate())
    app = create_app(settings, keys=InMemoryKeyProvider())
    async with AsyncTestClient(app=app) as client:
        response = await client.get(path)
    # aiosqlite stops the worker thread of a failed connect without waiting for it;
    # let it finish while this test's event loop is still open.
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
    return response


def assert_not_ready(response: httpx.Response, code: str) -> dict[str, Any]:
    assert response.status_code == 503
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body["code"] == code
    assert body["status"] == 503
    assert body["request_id"] == response.headers["x-request-id"]
    return body


@pytest.fixture
def behind_settings(empty_settings: Settings) -> Settings:
    """A database migrated to the first revision only (a deploy that skipped upgrade)."""
    migrate.upgrade(empty_settings, first_revision())
    return empty_settings


@pytest.fixture
def unreachable_settings(backend: str, tmp_path: Path, postgres_admin_url: str) -> Settings:
    """A database that cannot be opened: a folder where the SQLite file should be, or a
    PostgreSQL database that does not exist on a running server."""
    if backend == "sqlite":
        (tmp_path / "data" / "pds.sqlite3").mkdir(parents=True)
        return Settings(data_dir=tmp_path / "data")
    base, _, _ = postgres_admin_url.rpartition("/")
    return Settings(data_dir=tmp_path / "data", database_url=f"{base}/pds_test_never_created")


def first_revision() -> str:
    [base] = ScriptDirectory(str(Path(migrations.__file__).parent)).get_bases()
    return str(base)


async def test_healthz_is_ok(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/healthz")

    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


async def test_healthz_does_not_depend_on_the_database(tmp_path: Path) -> None:
    response = await get(Settings(data_dir=tmp_path, database_url=CLOSED_PORT_URL), "/healthz")

    assert response.status_code == 200


async def test_readyz_is_ok_on_a_migrated_database(client: AsyncTestClient[Litestar]) -> None:
    response = await client.get("/readyz")

    assert response.status_code == 200
    assert response.json() == {
        "status": "ok",
        "database": "reachable",
        "revision": migrate.head_revision(),
    }


async def test_readyz_is_503_on_an_empty_database(empty_settings: Settings) -> None:
    body = assert_not_ready(await get(empty_settings, "/readyz"), "migrations_pending")

    assert body["revision"] is None
    assert "pds db upgrade" in body["detail"]


async def test_readyz_is_503_on_a_database_behind_head(behind_settings: Settings) -> None:
    body = assert_not_ready(await get(behind_settings, "/readyz"), "migrations_pending")

    assert body["revision"] == first_revision() != migrate.head_revision()


async def test_readyz_is_503_when_the_database_cannot_be_opened(
    unreachable_settings: Settings,
) -> None:
    # Not "migrations_pending": running `pds db upgrade` would not help here.
    response = await get(unreachable_settings, "/readyz")

    body = assert_not_ready(response, "database_unreachable")
    assert body["detail"] == "The database cannot be reached."
    for leak in ("does not exist", "unable to open", "pds_test_never_created", "sqlite3"):
        assert leak not in response.text


async def test_readyz_is_503_when_the_database_server_is_down(tmp_path: Path) -> None:
    response = await get(Settings(data_dir=tmp_path, database_url=CLOSED_PORT_URL), "/readyz")

    assert_not_ready(response, "database_unreachable")
    assert "127.0.0.1" not in response.text
