"""``GET /grants/{id}/data``: the read, and its commonest shape answered ahead of the router.

``grant_data`` is the read itself (authenticate, decide, decrypt, audit through the group
commit) for both ways in. The Litestar route (``connectors.api.routes``) takes every
shape of the request and is what the OpenAPI document describes. ``plain_read`` answers
the shape service systems send nearly every time — a JSON answer, no query, a canonical
grant id — straight from the ASGI scope: routing, the handler's signature model and the
response objects were nearly a fifth of a read's CPU (18%, benchmarks.connector_read,
alternating rounds in one server), spent for nothing that shape needs. The answer is
the same bytes, the same headers (the app's ``before_send`` hooks run), the same audit
entry.

A refusal found here is not answered here: the exception travels in the scope to the
Litestar route, whose ``before_request`` hook (``raise_carried``) raises it, so every
error is shaped by the same exception handlers whichever way the request came in.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

import msgspec

from connectors.api import data_read
from connectors.api.data_read import DataRead, read_data
from connectors.api.jwe import wants_jwe
from connectors.api.schemas import GrantDataOut, grant_data_out
from connectors.api.unit import reading_caller
from connectors.oauth.metadata import RESOURCE_PATH
from consent.disclosure import Asked
from pds.db import utcnow

if TYPE_CHECKING:
    from litestar import Litestar, Request
    from litestar.datastructures import State
    from litestar.types import HTTPScope, Receive, Send

    from connectors.api.unit import ResourceServer

CARRIED: Final = "pds.carried_refusal"
"""Where a refusal found by ``plain_read`` waits, in the scope's state, for the route."""

_PREFIX: Final = f"{RESOURCE_PATH}/grants/"
_SUFFIX: Final = "/data"
_ID_LENGTH: Final = 36
_ANYTHING: Final = Asked(evidence_types=None, claims=None)
_JSON_HEADERS: Final = ((b"content-type", b"application/json"), (b"cache-control", b"no-store"))
_encode = msgspec.json.Encoder().encode


@dataclass(frozen=True, slots=True)
class DataAnswer:
    """The granted data, and the client's encryption key when the answer is to be a JWE."""

    body: GrantDataOut
    key: dict[str, Any] | None


async def grant_data(
    scope: HTTPScope, state: State, grant_id: uuid.UUID, asked: Asked, *, jwe: bool
) -> DataAnswer:
    """One read of ``/data``: answered only once its audit entry has committed."""
    server: ResourceServer = state.resource_server
    reading = await reading_caller(scope, state)
    read = DataRead(
        db=state.db,
        keys=state.key_provider,
        caller=reading.caller,
        grant_id=grant_id,
        asked=asked,
        now=utcnow(),
        jti_rows=reading.jti_rows,
    )
    key = await data_read.answer_key(read, server.committer, wants_jwe=jwe)
    data = await read_data(read, server.grants, server.committer)
    return DataAnswer(grant_data_out(data, read.now), key)


def plain_target(scope: HTTPScope) -> uuid.UUID | None:
    """The grant id of a plain JSON read (GET, no query, lower-case canonical id, no
    ``Accept`` asking for a JWE); None for anything else, which the route takes."""
    path = scope["path"]
    if (
        scope["method"] != "GET"
        or scope["query_string"]
        or len(path) != len(_PREFIX) + _ID_LENGTH + len(_SUFFIX)
        or not path.startswith(_PREFIX)
        or not path.endswith(_SUFFIX)
    ):
        return None
    text = path[len(_PREFIX) : len(_PREFIX) + _ID_LENGTH]
    try:
        grant_id = uuid.UUID(text)
    except ValueError:
        return None
    if str(grant_id) != text:
        return None
    accept = [value for name, value in scope["headers"] if name == b"accept"]
    if accept and wants_jwe(b", ".join(accept).decode("latin-1")):
        return None
    return grant_id


async def plain_read(app: Litestar, scope: HTTPScope, receive: Receive, send: Send) -> bool:
    """Answer a plain JSON read and return True; False leaves the request to Litestar
    (not this shape, or refused: see the module's docstring)."""
    del receive  # a GET's body is never read, by the route either
    grant_id = plain_target(scope)
    if grant_id is None:
        return False
    try:
        answer = await grant_data(scope, app.state, grant_id, _ANYTHING, jwe=False)
    except Exception as refusal:
        scope["state"][CARRIED] = refusal
        return False
    body = _encode(answer.body)
    headers = [*_JSON_HEADERS, (b"content-length", str(len(body)).encode())]
    await _send(
        app, scope, send, {"type": "http.response.start", "status": 200, "headers": headers}
    )
    await _send(app, scope, send, {"type": "http.response.body", "body": body, "more_body": False})
    return True


async def _send(app: Litestar, scope: HTTPScope, send: Send, message: Any) -> None:
    for hook in app.before_send:
        await hook(message, scope)
    await send(message)


async def raise_carried(request: Request[Any, Any, Any]) -> None:
    """The route's ``before_request``: raise a refusal ``plain_read`` found, so the route
    answers it exactly as if it had found it itself."""
    refusal = request.scope["state"].pop(CARRIED, None)
    if refusal is not None:
        raise refusal
