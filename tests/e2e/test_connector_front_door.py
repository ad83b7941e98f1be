"""The front door for plain reads of ``/data`` (``connectors.api.data_front``) on both
databases: every answer it gives, and every refusal it hands on, is what the Litestar
route alone gives for the same request — status, headers, body and audit entry.

Each case runs twice on one app: once with the front door (recording whether it
answered), once with ``front_doors`` emptied so the route takes the request.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

import pytest
from sqlalchemy import select

from connectors.api.data_front import plain_read, plain_target
from e2e.connect_kit import CONNECT, client_token, dpop_headers
from e2e.oauth_kit import ServiceKit
from e2e.test_connector_api import setup_grant
from pds.audit.models import AuditEntry

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    import httpx
    from litestar import Litestar
    from litestar.testing import AsyncTestClient
    from litestar.types import HTTPScope, Receive, Send

    from pds.db import Database

    Client = AsyncTestClient[Any]

REQUEST_ID = "front-door-parity-1"
_VOLATILE_HEADERS = frozenset({"content-length"})


class Recorder:
    """``plain_read`` as the app's only front door, remembering what it returned."""

    def __init__(self) -> None:
        self.answered: list[bool] = []

    async def __call__(self, app: Litestar, scope: HTTPScope, receive: Receive, send: Send) -> bool:
        result = await plain_read(app, scope, receive, send)
        self.answered.append(result)
        return result


async def both_ways(
    app: Litestar, send: Callable[[], Awaitable[httpx.Response]]
) -> tuple[httpx.Response, httpx.Response, list[bool]]:
    """``send`` through the front door, then through the route alone."""
    recorder = Recorder()
    app.front_doors = (recorder,)  # type: ignore[attr-defined]
    through_front = await send()
    app.front_doors = ()  # type: ignore[attr-defined]
    through_route = await send()
    return through_front, through_route, recorder.answered


def headers_of(response: httpx.Response) -> dict[str, str]:
    assert int(response.headers["content-length"]) == len(response.content)
    return {k: v for k, v in response.headers.items() if k not in _VOLATILE_HEADERS}


async def read_entries(db: Database) -> list[AuditEntry]:
    async with db.read_sessions() as session:
        return list(await session.scalars(select(AuditEntry).order_by(AuditEntry.created_at)))


def entry_view(entry: AuditEntry) -> tuple[Any, ...]:
    return (
        entry.actor,
        entry.action,
        entry.outcome,
        entry.client_id,
        entry.citizen_id,
        entry.grant_id,
        entry.purpose,
        entry.resource,
        entry.request_id,
        entry.detail,
    )


async def test_a_plain_read_is_answered_at_the_front_door_as_the_route_answers_it(
    client: Client, app: Litestar, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    path = f"{CONNECT}/grants/{tokens['grant_id']}/data"
    before = len(await read_entries(db))

    async def read() -> httpx.Response:
        headers = dpop_headers(kit, "GET", path, tokens["access_token"])
        return await client.get(path, headers={**headers, "X-Request-Id": REQUEST_ID})

    front, route, answered = await both_ways(app, read)

    assert answered == [True]
    assert front.status_code == route.status_code == 200, (front.text, route.text)
    assert headers_of(front) == headers_of(route)
    front_body, route_body = front.json(), route.json()
    assert front_body["items"], "the grant reaches evidence: an empty answer proves nothing"
    # The same bytes, but for the moment of each read.
    stamp = front_body.pop("retrieved_at"), route_body.pop("retrieved_at")
    assert front_body == route_body
    assert front.content.replace(stamp[0].encode(), stamp[1].encode()) == route.content
    new = (await read_entries(db))[before:]
    assert len(new) == 2
    assert entry_view(new[0]) == entry_view(new[1])
    assert new[0].action == "read"


async def test_refusals_are_handed_to_the_route_and_answered_alike(
    client: Client, app: Litestar, db: Database
) -> None:
    kit = ServiceKit()
    tokens = await setup_grant(client, db, kit)
    grant_id = tokens["grant_id"]
    path = f"{CONNECT}/grants/{grant_id}/data"
    stranger = ServiceKit()
    await stranger.register(db)
    stranger_token = await client_token(client, stranger)
    spent = dpop_headers(kit, "GET", path, tokens["access_token"])
    assert (await client.get(path, headers=spent)).status_code == 200

    async def get(headers: dict[str, str], target: str = path) -> httpx.Response:
        return await client.get(target, headers={**headers, "X-Request-Id": REQUEST_ID})

    unknown = f"{CONNECT}/grants/{uuid.uuid4()}/data"
    cases: dict[str, tuple[int, Callable[[], Awaitable[httpx.Response]]]] = {
        "no proof": (401, lambda: get({"Authorization": f"DPoP {tokens['access_token']}"})),
        "replayed proof": (401, lambda: get(spent)),
        "another client's grant": (
            404,
            lambda: get(dpop_headers(stranger, "GET", path, stranger_token)),
        ),
        "unknown grant": (
            404,
            lambda: get(dpop_headers(kit, "GET", unknown, tokens["access_token"]), unknown),
        ),
    }
    for name, (status, send) in cases.items():
        front, route, answered = await both_ways(app, send)
        assert answered == [False], name
        assert front.status_code == route.status_code == status, (name, front.text)
        assert headers_of(front) == headers_of(route), name
        assert front.json() == route.json(), name
        assert front.json()["request_id"] == REQUEST_ID

    revoked = await client.post(f"/api/v1/me/grants/{grant_id}/revoke")
    assert revoked.status_code == 200, revoked.text
    front, route, answered = await both_ways(
        app, lambda: get(dpop_headers(kit, "GET", path, tokens["access_token"]))
    )
    assert answered == [False]
    assert front.status_code == route.status_code == 403
    assert front.json() == route.json()
    denials = [e for e in await read_entries(db) if e.action == "deny"]
    assert [e.detail["reason"] for e in denials[-2:]] == ["not_active", "not_active"]


def scope(path: str, *, method: str = "GET", query: bytes = b"", accept: str = "") -> Any:
    headers = [(b"accept", accept.encode())] if accept else []
    return {"method": method, "path": path, "query_string": query, "headers": headers}


GRANT = uuid.UUID("0b7c2a1e-9d4f-4c3b-8e2a-5f6d7c8b9a01")
PLAIN = f"{CONNECT}/grants/{GRANT}/data"


def test_the_front_door_takes_only_the_plain_shape() -> None:
    assert plain_target(scope(PLAIN)) == GRANT
    assert plain_target(scope(PLAIN, accept="application/json")) == GRANT
    # JSON ranked above JOSE, or JOSE refused outright: a plain JSON answer.
    assert plain_target(scope(PLAIN, accept="application/json, application/jose;q=0.5")) == GRANT
    assert plain_target(scope(PLAIN, accept="application/jose;q=0")) == GRANT


@pytest.mark.parametrize(
    "other",
    [
        scope(PLAIN, method="HEAD"),
        scope(PLAIN, method="POST"),
        scope(PLAIN, query=b"claims=address"),
        scope(PLAIN, accept="application/jose"),
        scope(PLAIN, accept="application/jose;q=0.5, application/json;q=0.4"),
        scope(
            PLAIN.upper()
            .replace("/CONNECT/V1/GRANTS/", f"{CONNECT}/grants/")
            .replace("/DATA", "/data")
        ),
        scope(f"{CONNECT}/grants/{GRANT.hex}/data"),
        scope(f"{CONNECT}/grants/{{{GRANT}}}/data"),
        scope(PLAIN + "/"),
        scope(f"{CONNECT}/grants/{GRANT}/documents"),
        scope(f"{CONNECT}/grants/{str(GRANT)[:-1]}x/data"),
        scope(f"/connect/v2/grants/{GRANT}/data"),
    ],
)
def test_every_other_shape_is_left_to_the_route(other: Any) -> None:
    assert plain_target(other) is None
