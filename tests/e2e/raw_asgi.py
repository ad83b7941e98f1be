"""One request straight into the ASGI app, headers exactly as given.

The test client joins repeated header lines into one (``a, b``) before the app sees
them; a real server passes each line on. Tests about repeated lines call the app here,
on the test client's own event loop (its portal), where the app's database connections
live: asyncpg's are bound to the loop that made them.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from collections.abc import Sequence

    from litestar.testing import AsyncTestClient
    from litestar.types import ASGIApp


@dataclass(frozen=True, slots=True)
class RawAnswer:
    status: int
    headers: dict[str, str]
    body: bytes


async def call(
    client: AsyncTestClient[Any], path: str, headers: Sequence[tuple[str, str]]
) -> RawAnswer:
    """GET ``path`` with ``headers``, each one its own line, through ``client``'s app."""
    portal = client.blocking_portal
    return await asyncio.to_thread(portal.call, _call, client.app, path, headers)


async def _call(app: ASGIApp, path: str, headers: Sequence[tuple[str, str]]) -> RawAnswer:
    scope: dict[str, Any] = {
        "type": "http",
        "asgi": {"version": "3.0"},
        "http_version": "1.1",
        "method": "GET",
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(name.lower().encode(), value.encode()) for name, value in headers],
        "client": ("127.0.0.1", 50000),
        "server": ("testserver.local", 80),
        "state": {},
    }
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        sent.append(message)

    await app(scope, receive, send)  # type: ignore[arg-type]
    start = next(m for m in sent if m["type"] == "http.response.start")
    body = b"".join(m.get("body", b"") for m in sent if m["type"] == "http.response.body")
    named = {k.decode("latin-1"): v.decode("latin-1") for k, v in start["headers"]}
    return RawAnswer(start["status"], named, body)
