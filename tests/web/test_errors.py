"""The error contract: every failure is an RFC 9457 problem document, and writes nothing."""

from __future__ import annotations

import json
import logging
import sqlite3
from typing import TYPE_CHECKING, Any

import pytest
from litestar import Router, get, post
from litestar.testing import AsyncTestClient
from sqlalchemy import func, select

from pds import migrate
from pds.accounts.models import Account
from pds.app import MAX_JSON_BODY_BYTES, create_app
from pds.audit.entry import Action, Actor, Entry
from pds.audit.models import AuditEntry
from pds.audit.service import append
from pds.dashboard.errors import EXCEPTION_HANDLERS as DASHBOARD_ERRORS
from pds.db_failures import ConnectionLost
from pds.settings import Settings
from pds.web.deps import DbSession  # noqa: TC001 - Litestar reads handler annotations at runtime
from pds.web.problems import PROBLEM_JSON

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Iterator
    from pathlib import Path

    import httpx
    from litestar import Litestar

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider

SIGN_UP = "/api/v1/citizens"
JSON = {"content-type": "application/json"}
# A body that would create an account if it got through; every refusal below must
# be the reason nothing is written, not a defect in the body.
GOOD_BODY = json.dumps({"email": "sam@example.com", "password": "correct horse battery staple"})
PROBLEM_MEMBERS = {"type", "title", "status", "detail", "code", "request_id"}


async def row_counts(db: Database) -> tuple[int, int]:
    async with db.read_sessions() as session:
        accounts = await session.scalar(select(func.count()).select_from(Account))
        entries = await session.scalar(select(func.count()).select_from(AuditEntry))
    return accounts or 0, entries or 0


def assert_problem(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is a complete problem document for ``status`` with ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == PROBLEM_JSON
    body: dict[str, Any] = response.json()
    assert body.keys() >= PROBLEM_MEMBERS
    assert body["status"] == status
    assert body["code"] == code
    assert body["title"]
    assert body["detail"]
    assert body["request_id"] == response.headers["x-request-id"]
    return body


async def test_a_good_sign_up_writes_an_account_and_its_audit_entry(
    client: AsyncTestClient[Litestar], db: Database
) -> None:
    # The control for the tests below: the same body, sent properly, does write.
    response = await client.post(
        SIGN_UP, content=GOOD_BODY, headers={"content-type": "application/json; charset=utf-8"}
    )

    assert response.status_code == 201, response.text
    assert await row_counts(db) == (1, 1)


def refused(
    case: str, status: int, code: str, *, method: str = "POST", url: str = SIGN_UP, **sent: Any
) -> Any:
    """One refused request: what is sent, and the status and code it must get."""
    return pytest.param({"method": method, "url": url, **sent}, status, code, id=case)


FORM = {"email": "sam@example.com", "password": "correct horse battery staple"}
NOT_JSON = GOOD_BODY.replace('"email"', "email")


@pytest.mark.parametrize(
    ("sent", "status", "code"),
    [
        refused("truncated-json", 400, "malformed_json", content=GOOD_BODY[:-5], headers=JSON),
        refused("bad-syntax", 400, "malformed_json", content=NOT_JSON, headers=JSON),
        refused("not-utf8", 400, "malformed_json", content=b"\xff\xfe{}", headers=JSON),
        refused(
            "text-plain",
            415,
            "unsupported_media_type",
            content=GOOD_BODY,
            headers={"content-type": "text/plain"},
        ),
        refused("form-encoded", 415, "unsupported_media_type", data=FORM),
        refused("no-content-type", 415, "unsupported_media_type", content=GOOD_BODY),
        refused(
            "missing-field",
            400,
            "invalid_request",
            content='{"email": "sam@example.com"}',
            headers=JSON,
        ),
        refused(
            "unknown-field",
            400,
            "invalid_request",
            content=GOOD_BODY[:-1] + ', "role": "admin"}',
            headers=JSON,
        ),
        refused(
            "unknown-route",
            404,
            "not_found",
            url="/api/v1/no-such-thing",
            content=GOOD_BODY,
            headers=JSON,
        ),
        refused(
            "wrong-method", 405, "method_not_allowed", method="PUT", content=GOOD_BODY, headers=JSON
        ),
        refused(
            "oversize",
            413,
            "payload_too_large",
            content=GOOD_BODY + " " * MAX_JSON_BODY_BYTES,
            headers=JSON,
        ),
    ],
)
async def test_a_refused_request_gets_a_problem_and_writes_nothing(
    client: AsyncTestClient[Litestar], db: Database, sent: dict[str, Any], status: int, code: str
) -> None:
    response = await client.request(**sent)

    assert_problem(response, status, code)
    assert await row_counts(db) == (0, 0)


async def test_wrong_method_says_which_are_allowed(client: AsyncTestClient[Litestar]) -> None:
    response = await client.delete(SIGN_UP)

    assert_problem(response, 405, "method_not_allowed")
    assert "POST" in response.headers["allow"]


async def test_a_body_just_under_the_limit_is_read(
    client: AsyncTestClient[Litestar], db: Database
) -> None:
    body = GOOD_BODY + " " * (MAX_JSON_BODY_BYTES - len(GOOD_BODY))
    assert len(body) == MAX_JSON_BODY_BYTES

    response = await client.post(SIGN_UP, content=body, headers=JSON)

    assert response.status_code == 201, response.text
    assert await row_counts(db) == (1, 1)


async def test_an_oversize_body_without_a_length_is_cut_off(app: Litestar, db: Database) -> None:
    # Chunked upload: no Content-Length to refuse up front, so the limit must hold
    # while reading. (Driven through ASGI directly: the test client cannot stream.)
    chunk = b" " * 65536
    chunks = [chunk] * (MAX_JSON_BODY_BYTES // len(chunk)) + [GOOD_BODY.encode()]
    status, body = await asgi_post(app, SIGN_UP, chunks)

    assert status == 413
    assert json.loads(body)["code"] == "payload_too_large"
    assert await row_counts(db) == (0, 0)


async def asgi_post(app: Litestar, path: str, chunks: list[bytes]) -> tuple[int, bytes]:
    messages = [
        {"type": "http.request", "body": part, "more_body": i < len(chunks) - 1}
        for i, part in enumerate(chunks)
    ]
    sent: list[dict[str, Any]] = []
    scope = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "POST",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "root_path": "",
        "query_string": b"",
        "headers": [(b"host", b"testserver"), (b"content-type", b"application/json")],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver", 80),
    }

    async def receive() -> dict[str, Any]:
        return messages.pop(0) if messages else {"type": "http.disconnect"}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    [start] = [m for m in sent if m["type"] == "http.response.start"]
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    return start["status"], body


async def test_a_weak_password_is_a_domain_problem_naming_the_field(
    client: AsyncTestClient[Litestar], db: Database
) -> None:
    response = await client.post(
        SIGN_UP, json={"email": "sam@example.com", "password": "password1234"}
    )

    body = assert_problem(response, 422, "weak_password")
    assert body["field"] == "password"
    assert body["type"] == "urn:pds:problem:weak_password"
    assert await row_counts(db) == (0, 0)


async def test_a_conflict_leaves_only_the_first_account(
    client: AsyncTestClient[Litestar], db: Database
) -> None:
    assert (await client.post(SIGN_UP, content=GOOD_BODY, headers=JSON)).status_code == 201

    again = await client.post(
        SIGN_UP, json={"email": "SAM@example.com", "password": "another long passphrase"}
    )

    assert_problem(again, 409, "email_taken")
    assert await row_counts(db) == (1, 1)


# --- unexpected failures -----------------------------------------------------------------


@get("/test/boom", operation_id="testBoom", sync_to_thread=False)
def boom() -> None:
    raise RuntimeError("secret SQL here: SELECT password_hash FROM accounts")


@post("/test/write-then-boom", operation_id="testWriteThenBoom")
async def write_then_boom(db_session: DbSession) -> None:
    append(db_session, Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED))
    await db_session.flush()  # the row is in the database, inside the open transaction
    raise RuntimeError("secret failure after a write")


@get("/test/database-gone", operation_id="testDatabaseGone", sync_to_thread=False)
def database_gone() -> None:
    raise ConnectionLost("the database server closed the connection")


@get("/gone", operation_id="testDashboardDatabaseGone", sync_to_thread=False)
def dashboard_database_gone() -> None:
    raise ConnectionLost("the database server closed the connection")


@pytest.fixture
async def failing_client(
    settings: Settings, db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    app = create_app(settings, keys=keys, account_policy=policy)
    app.register(boom)
    app.register(write_then_boom)
    app.register(database_gone)
    # Under the dashboard's own error pages, as its routes are.
    app.register(
        Router(
            "/dashboard/test",
            route_handlers=[dashboard_database_gone],
            exception_handlers=DASHBOARD_ERRORS,
        )
    )
    async with AsyncTestClient(app=app) as client:
        yield client


class Remember(logging.Handler):
    def __init__(self) -> None:
        super().__init__()
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def web_log() -> Iterator[Remember]:
    handler = Remember()
    logger = logging.getLogger("pds.web")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_an_unexpected_exception_is_a_bare_500_and_logged(
    failing_client: AsyncTestClient[Litestar], web_log: Remember
) -> None:
    response = await failing_client.get("/test/boom")

    body = assert_problem(response, 500, "internal_error")
    assert body.keys() == PROBLEM_MEMBERS
    for leak in ("secret", "SELECT", "RuntimeError", "Traceback", "boom", ".py"):
        assert leak not in response.text
    # The details go to the log instead, where the request id finds them.
    [logged] = [r for r in web_log.records if r.exc_info]
    assert logged.levelno == logging.ERROR
    assert "secret SQL here" in str(logged.exc_info[1])  # type: ignore[index]


async def test_a_failure_after_a_write_leaves_nothing_behind(
    failing_client: AsyncTestClient[Litestar], db: Database
) -> None:
    response = await failing_client.post("/test/write-then-boom")

    assert_problem(response, 500, "internal_error")
    assert "secret" not in response.text
    assert await row_counts(db) == (0, 0)


async def test_a_connection_lost_under_a_request_is_503_with_retry_after(
    failing_client: AsyncTestClient[Litestar], web_log: Remember
) -> None:
    """The database, not the service, is at fault for a moment: come back, don't report."""
    response = await failing_client.get("/test/database-gone")

    body = assert_problem(response, 503, "unavailable")
    assert body["title"] == "Service unavailable"
    assert response.headers["retry-after"] == "1"
    assert "closed the connection" not in response.text
    assert not [r for r in web_log.records if r.exc_info]  # a warning, not a traceback


async def test_a_dashboard_page_whose_connection_is_lost_says_to_try_again(
    failing_client: AsyncTestClient[Litestar],
) -> None:
    response = await failing_client.get("/dashboard/test/gone")

    assert response.status_code == 503
    assert response.headers["retry-after"] == "1"
    assert response.headers["content-type"].startswith("text/html")
    assert "Sorry, the service is unavailable" in response.text


@pytest.fixture
def migrated_sqlite(tmp_path: Path) -> Settings:
    settings = Settings(data_dir=tmp_path / "data", audit_sequencer=False)
    migrate.upgrade(settings)  # Alembic runs its own event loop: outside the test's
    return settings


async def test_a_write_lock_held_past_the_busy_timeout_answers_503_and_writes_nothing(
    tmp_path: Path,
    migrated_sqlite: Settings,
    keys: InMemoryKeyProvider,
    policy: AccountPolicy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """SQLite overload is a 503 with Retry-After, never a 500, and the request left no row."""
    monkeypatch.setattr("pds.db.SQLITE_BUSY_TIMEOUT_MS", 100)
    settings = migrated_sqlite
    app = create_app(settings, keys=keys, account_policy=policy)
    blocker = sqlite3.connect(tmp_path / "data" / "pds.sqlite3", isolation_level=None)
    try:
        blocker.execute("BEGIN IMMEDIATE")
        async with AsyncTestClient(app=app) as client:
            response = await client.post(
                "/api/v1/citizens",
                json={"email": "busy@example.com", "password": "quartz meadow lantern 2026"},
            )
        blocker.execute("ROLLBACK")
        accounts = blocker.execute("SELECT count(*) FROM accounts").fetchone()
    finally:
        blocker.close()

    assert response.status_code == 503, response.text
    assert response.headers["retry-after"] == "1"
    assert response.json()["code"] == "unavailable"
    assert accounts == (0,)


def test_an_errors_extras_cannot_replace_the_problem_members() -> None:
    from pds.errors import Conflict  # noqa: PLC0415 - only this test needs it
    from pds.web.problems import handle_domain_error  # noqa: PLC0415

    exc = Conflict("It changed.", status="revoked", code="x", title="y", current="revoked")

    response = handle_domain_error(None, exc)  # type: ignore[arg-type]

    assert response.status_code == 409
    body = response.content
    assert body["status"] == 409
    assert body["detail"] == "It changed."
    assert body["code"] == "conflict"
    assert body["current"] == "revoked"  # other extras still travel
