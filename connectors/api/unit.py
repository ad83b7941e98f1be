"""One authenticated unit of work for every ``/connect/v1`` handler (connector and
credential routes alike): the caller proven, counted against its rate limit, and a
writing session the handler commits.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from connectors.api.bearer import Caller, Presented, authenticate_caller
from connectors.api.commit import GroupCommitter
from connectors.api.data_read import GrantCache
from connectors.api.ratelimit import RateLimiter
from connectors.api.reads import Read
from connectors.api.tokens import TokenCache
from connectors.errors import DPoPError
from connectors.oauth.metadata import resource_identifier
from connectors.oauth.replay import deferred_check
from consent.errors import InvalidToken
from pds.db import utcnow
from pds.web.problems import handle_domain_error

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Callable

    from litestar import Request, Response
    from litestar.datastructures import State
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds import errors
    from pds.db import Database

CONNECT_PATH = "/connect/v1"
DPOP_ALGS = "ES256 Ed25519 EdDSA PS256 RS256"


@dataclass(slots=True)
class ResourceServer:
    """Per-process state of the connector API: verified tokens, request counts, approved
    grants, and the group commit of reads."""

    committer: GroupCommitter
    tokens: TokenCache = field(default_factory=TokenCache)
    limiter: RateLimiter = field(default_factory=RateLimiter)
    grants: GrantCache = field(default_factory=GrantCache)

    @classmethod
    def for_database(cls, db: Database, *, rate_limit: int) -> ResourceServer:
        committer = GroupCommitter(db)
        return cls(committer=committer, limiter=RateLimiter(limit=rate_limit))

    async def close(self) -> None:
        await self.committer.close()
        await self.limiter.close()


@dataclass(frozen=True, slots=True)
class Unit:
    session: AsyncSession
    caller: Caller
    state: State
    jti_rows: list[dict[str, Any]] = field(default_factory=list)
    """For a reading unit: the proof's ``jti`` rows, spent later by the group commit."""

    def read(self, grant_id: uuid.UUID) -> Read:
        db = self.state.db
        return Read(
            session=self.session,
            keys=self.state.key_provider,
            caller=self.caller,
            grant_id=grant_id,
            now=utcnow(),
            lock=not db.is_sqlite,
        )


@asynccontextmanager
async def authenticated(
    request: Request[Any, Any, Any], state: State, *, reading: bool = False
) -> AsyncIterator[Unit]:
    """One unit of work for an authenticated, counted caller. Writing (the default): a
    writing session the handler commits, the proof spent in it. ``reading``: a read-only
    snapshot, the proof's ``jti`` collected for the group commit (``connectors.api.commit``),
    which also does the token and client checks."""
    settings = state.settings
    server: ResourceServer = state.resource_server
    presented = Presented(
        authorization=request.headers.get("authorization"),
        dpop=request.headers.getall("dpop", []),
        method=request.method,
        url=settings.base_url + request.scope["raw_path"].decode("latin-1"),
    )
    jti_rows: list[dict[str, Any]] = []
    sessions = state.db.read_sessions if reading else state.db.sessions
    async with sessions() as session:
        now = time.time()
        caller = await authenticate_caller(
            session,
            presented,
            cache=server.tokens,
            keys=state.key_provider,
            issuer=settings.base_url,
            audience=resource_identifier(settings.base_url),
            now=int(now),
            admit=lambda client_id: server.limiter.take(client_id, now),
            seen=deferred_check("dpop", jti_rows) if reading else None,
            live_checks=not reading,
        )
        yield Unit(session, caller, state, jti_rows)
    # Outside the request's transaction: the sync takes SQLite's write lock itself.
    server.limiter.maybe_sync(state.db, now)


def _unauthorized(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    """401 with ``WWW-Authenticate: DPoP`` naming the error (RFC 9449 §7.1, RFC 6750 §3)."""
    response = handle_domain_error(request, exc)
    code = "invalid_dpop_proof" if isinstance(exc, DPoPError) else "invalid_token"
    response.headers["WWW-Authenticate"] = f'DPoP error="{code}", algs="{DPOP_ALGS}"'
    return response


RESOURCE_SERVER_ERRORS: dict[
    int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]
] = {
    InvalidToken: _unauthorized,
    DPoPError: _unauthorized,
}
"""Exception handlers every ``/connect/v1`` controller sets."""
