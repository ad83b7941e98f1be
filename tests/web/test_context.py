"""Per-request context on every response: request id, security headers, the access log."""

from __future__ import annotations

import dataclasses
import json
import logging
import re
from typing import TYPE_CHECKING, Any

import pytest
from litestar.testing import AsyncTestClient

from pds.app import create_app
from pds.logs import JsonFormatter
from pds.web.context import HSTS

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Callable, Iterator

    from litestar import Litestar

    from pds.accounts.service import AccountPolicy
    from pds.keys.provider import InMemoryKeyProvider
    from pds.settings import Settings

GENERATED_ID = re.compile(r"^[0-9a-f]{24}$")
SECURITY_HEADERS = {
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cache-control": "no-store",
}


@pytest.fixture
def settings(migrated: Callable[[str], Settings]) -> Settings:
    """Headers and ids do not depend on the backend; these tests write nothing, so one
    migrated SQLite database serves them all (the error tests cover both backends)."""
    return migrated("sqlite")


@pytest.fixture
async def client(
    settings: Settings, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> AsyncIterator[AsyncTestClient[Litestar]]:
    async with AsyncTestClient(app=create_app(settings, keys=keys, account_policy=policy)) as c:
        yield c


EVERY_KIND_OF_RESPONSE = [
    pytest.param("GET", "/healthz", {}, 200, id="json-200"),
    pytest.param("GET", "/", {}, 200, id="html-page"),
    pytest.param("GET", "/schema/openapi.json", {}, 200, id="openapi"),
    pytest.param("GET", "/no/such/page", {}, 404, id="unknown-route-404"),
    pytest.param("PUT", "/api/v1/citizens", {"json": {}}, 405, id="wrong-method-405"),
    pytest.param(
        "POST",
        "/api/v1/citizens",
        {"content": "{", "headers": {"content-type": "application/json"}},
        400,
        id="malformed-400",
    ),
    pytest.param("POST", "/api/v1/citizens", {"content": "{}"}, 415, id="media-type-415"),
    pytest.param("GET", "/api/v1/me", {}, 401, id="signed-out-401"),
]


@pytest.mark.parametrize(("method", "path", "request_args", "status"), EVERY_KIND_OF_RESPONSE)
async def test_every_response_carries_the_request_id_and_security_headers(
    client: AsyncTestClient[Litestar],
    method: str,
    path: str,
    request_args: dict[str, Any],
    status: int,
) -> None:
    response = await client.request(method, path, **request_args)

    assert response.status_code == status
    assert GENERATED_ID.match(response.headers["x-request-id"])
    for name, value in SECURITY_HEADERS.items():
        assert response.headers[name] == value, name
    csp = response.headers["content-security-policy"]
    assert "default-src 'self'" in csp
    assert "frame-ancestors 'none'" in csp
    assert "object-src 'none'" in csp
    # Plain-http settings (the test base URL is localhost): no HSTS.
    assert "strict-transport-security" not in response.headers


async def test_each_request_gets_its_own_id(client: AsyncTestClient[Litestar]) -> None:
    ids = {(await client.get("/healthz")).headers["x-request-id"] for _ in range(5)}

    assert len(ids) == 5


@pytest.mark.parametrize(
    "incoming", ["abcdefgh", "trace.2026-11-27_0001", "A" * 64, "0af7651916cd43dd8448eb211c80319c"]
)
async def test_a_well_formed_incoming_request_id_is_kept(
    client: AsyncTestClient[Litestar], incoming: str
) -> None:
    response = await client.get("/no/such/page", headers={"X-Request-ID": incoming})

    assert response.headers["x-request-id"] == incoming
    assert response.json()["request_id"] == incoming


@pytest.mark.parametrize(
    "incoming",
    [
        "short",
        "A" * 65,
        "has spaces in it",
        "<script>alert(1)</script>",
        "../../etc/passwd",
        "id;drop table accounts",
        "",
    ],
)
async def test_a_malformed_incoming_request_id_is_replaced(
    client: AsyncTestClient[Litestar], incoming: str
) -> None:
    response = await client.get("/no/such/page", headers={"X-Request-ID": incoming})

    echoed = response.headers["x-request-id"]
    assert echoed != incoming
    assert GENERATED_ID.match(echoed)
    assert response.json()["request_id"] == echoed


async def test_https_deployments_send_hsts(
    settings: Settings, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    https = dataclasses.replace(settings, base_url="https://pds.example.gov.uk")
    app = create_app(https, keys=keys, account_policy=policy)
    async with AsyncTestClient(app=app) as client:
        for path in ("/healthz", "/no/such/page"):
            response = await client.get(path)
            assert response.headers["strict-transport-security"] == HSTS


class FormattedLines(logging.Handler):
    """Formats each record as it is emitted, as the production stderr handler does."""

    def __init__(self) -> None:
        super().__init__()
        self.setFormatter(JsonFormatter())
        self.lines: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.lines.append(self.format(record))


@pytest.fixture
def access_log() -> Iterator[FormattedLines]:
    handler = FormattedLines()
    logger = logging.getLogger("pds.access")
    logger.addHandler(handler)
    yield handler
    logger.removeHandler(handler)


async def test_the_access_log_is_one_json_line_per_request_with_its_id(
    client: AsyncTestClient[Litestar], access_log: FormattedLines
) -> None:
    await client.get("/healthz", headers={"X-Request-ID": "probe-00000001"})
    await client.put("/api/v1/citizens", headers={"X-Request-ID": "probe-00000002"})

    lines = [json.loads(line) for line in access_log.lines]
    assert [(line["message"], line["request_id"], line["status"]) for line in lines] == [
        ("GET /healthz 200", "probe-00000001", 200),
        ("PUT /api/v1/citizens 405", "probe-00000002", 405),
    ]
    for line in lines:
        assert line["logger"] == "pds.access"
        assert line["level"] == "INFO"
        assert isinstance(line["duration_ms"], float)
        assert line["time"].endswith("+00:00")


async def test_the_access_log_leaves_out_the_query_string(
    client: AsyncTestClient[Litestar], access_log: FormattedLines
) -> None:
    await client.get("/healthz", params={"email": "sam@example.com"})

    [line] = access_log.lines
    assert "sam@example.com" not in line
    assert "sam%40example.com" not in line
    assert json.loads(line)["message"] == "GET /healthz 200"
