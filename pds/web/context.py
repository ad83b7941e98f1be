"""Per-request context that must cover every response, including 404 and 405.

Litestar runs route middleware only for matched routes, so the request id, the
security headers and the access log are attached at the application's ASGI
entry (``PdsLitestar.__call__``) and in a ``before_send`` hook, which see every
response the app sends.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from litestar import Litestar
from litestar.enums import ScopeType

from pds.logs import request_id_var

if TYPE_CHECKING:
    from litestar.types import (
        HTTPScope,
        LifeSpanReceive,
        LifeSpanScope,
        LifeSpanSend,
        Message,
        Receive,
        Scope,
        Send,
    )

access_log = logging.getLogger("pds.access")

REQUEST_ID_HEADER = "x-request-id"
_CLIENT_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{8,64}$")

CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
SECURITY_HEADERS = {
    "content-security-policy": CONTENT_SECURITY_POLICY,
    "x-content-type-options": "nosniff",
    "referrer-policy": "no-referrer",
    "x-frame-options": "DENY",
    "cross-origin-opener-policy": "same-origin",
    "cross-origin-resource-policy": "same-origin",
    "permissions-policy": "camera=(), microphone=(), geolocation=(), payment=()",
}
HSTS = "max-age=31536000; includeSubDomains"


def _request_id(scope: Scope) -> str:
    """Keep a well-formed id the caller sent (to correlate across systems), else make one."""
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            candidate = value.decode("latin-1")
            if _CLIENT_REQUEST_ID.match(candidate):
                return candidate
    return secrets.token_hex(12)


FrontDoor = Callable[[Litestar, "HTTPScope", "Receive", "Send"], Awaitable[bool]]
"""Answers a request ahead of the router and returns True, or returns False to leave it
to Litestar (``connectors.api.data_front``)."""


class PdsLitestar(Litestar):
    """Litestar with a request id and a start time set before any routing happens, and
    front doors that may answer a request before Litestar routes it."""

    front_doors: tuple[FrontDoor, ...] = ()

    async def __call__(
        self,
        scope: Scope | LifeSpanScope,
        receive: Receive | LifeSpanReceive,
        send: Send | LifeSpanSend,
    ) -> None:
        if scope["type"] != ScopeType.HTTP:
            await super().__call__(scope, receive, send)
            return
        http_scope = cast("HTTPScope", scope)
        request_id = _request_id(http_scope)
        state = http_scope.setdefault("state", {})
        state["request_id"] = request_id
        state["started"] = time.perf_counter()
        token = request_id_var.set(request_id)
        try:
            for door in self.front_doors:
                if await door(self, http_scope, cast("Receive", receive), cast("Send", send)):
                    return
            await super().__call__(scope, receive, send)
        finally:
            request_id_var.reset(token)


def make_before_send(*, https: bool) -> Any:
    """A hook adding the request id and security headers, and writing the access log.

    It runs for every response, so it works on the raw header list: the names already
    present are collected once and the missing headers appended as prepared bytes
    (``MutableScopeHeaders`` scans and decodes the list for every lookup).
    """
    defaults = [(name.encode(), value.encode()) for name, value in SECURITY_HEADERS.items()]
    if https:
        defaults.append((b"strict-transport-security", HSTS.encode()))
    defaults.append((b"cache-control", b"no-store"))

    async def before_send(message: Message, scope: Scope) -> None:
        if message["type"] != "http.response.start":
            return
        state = scope.get("state", {})
        headers = list(message.get("headers") or ())
        present = {name.lower() for name, _ in headers}
        request_id = state.get("request_id")
        if request_id:
            headers = [(n, v) for n, v in headers if n.lower() != b"x-request-id"]
            headers.append((b"x-request-id", request_id.encode("latin-1")))
        headers.extend(item for item in defaults if item[0] not in present)
        message["headers"] = headers
        _log_access(scope, message["status"], state.get("started"))

    return before_send


def _log_access(scope: Scope, status: int, started: float | None) -> None:
    # Path only: query strings can carry identifiers a client chose to send.
    duration = round((time.perf_counter() - started) * 1000, 2) if started else None
    access_log.info(
        "%s %s %s",
        scope.get("method"),
        scope.get("path"),
        status,
        extra={"status": status, "duration_ms": duration},
    )
