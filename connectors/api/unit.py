"""One authenticated unit of work for every ``/connect/v1`` handler (connector and
credential routes alike): the caller proven, counted against its rate limit, and a
writing session the handler commits.
"""

from __future__ import annotations

import time
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from connectors.api.bearer import Caller, Presented, authenticate_caller
from connectors.api.commit import GroupCommitter
from connectors.api.data_read import GrantCache
from connectors.api.ratelimit import RateLimiter
from connectors.api.reads import Read
from connectors.api.tokens import TokenCache
from connectors.dpop import DPOP_ALGORITHMS
from connectors.errors import DPoPError
from connectors.oauth.metadata import protected_resource_metadata_url, resource_identifier
from connectors.oauth.replay import deferred_check, replay_check, respend
from consent.errors import InvalidToken
from consent.keys import server_keys
from pds import errors
from pds.db import utcnow
from pds.web.problems import handle_domain_error

if TYPE_CHECKING:
    import uuid
    from collections.abc import AsyncIterator, Callable, Mapping

    from litestar import Request, Response
    from litestar.datastructures import State
    from litestar.types import HTTPScope
    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.api.tokens import LoadKeys
    from connectors.dpop import SeenJtiAsync
    from pds.db import Database

CONNECT_PATH = "/connect/v1"
DPOP_ALGS = " ".join(DPOP_ALGORITHMS)  # RFC 9449 §7.1: the algs the proofs may use


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


class ClientLevelOnly(errors.Forbidden):
    code = "client_token_required"
    title = "This needs a client-level token"


@dataclass(frozen=True, slots=True)
class Unit:
    session: AsyncSession
    caller: Caller
    state: State

    def client_level(self, acts: str) -> None:
        """Refuse a token bound to one grant: these acts are the client's own, and a grant
        the citizen revoked must not leave its token good for anything."""
        if self.caller.grant_id is not None:
            raise ClientLevelOnly(f"Use a client_credentials token for {acts}.")

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
async def authenticated(request: Request[Any, Any, Any], state: State) -> AsyncIterator[Unit]:
    """One unit of work for an authenticated, counted caller: a writing session the
    handler commits, the proof spent in it, the token and client checked live in it."""
    async with state.db.sessions() as session:
        now = time.time()
        try:
            caller = await _authenticate(
                request.scope,
                state,
                now,
                seen=replay_check(session, "dpop"),
                load_keys=_session_keys(session, state),
                live_session=session,
            )
            yield Unit(session, caller, state)
        except errors.DomainError:
            # A refusal that did not commit (the rate limit, a live check, the handler):
            # roll back what was done, but keep a checked proof spent. A proof signs no
            # body, so left unspent the same headers could carry another body within its
            # iat window. Nothing to spend when the proof was never checked.
            await session.rollback()
            await respend(session)
            await session.commit()
            raise
    # Outside the request's transaction: the sync takes SQLite's write lock itself.
    state.resource_server.limiter.maybe_sync(state.db, now)


async def reading_caller(scope: HTTPScope, state: State) -> ReadingCaller:
    """An authenticated, counted caller for the read path, with no session at all (the
    hot path: opening one costs 30 µs). The proof's ``jti`` is collected for the group
    commit (``connectors.api.commit``), which also checks the token and client live."""
    jti_rows: list[dict[str, Any]] = []
    now = time.time()

    async def load_keys() -> Mapping[str, Mapping[str, Any]]:
        async with state.db.read_sessions() as session:
            return await _session_keys(session, state)()

    try:
        caller = await _authenticate(
            scope, state, now, seen=deferred_check("dpop", jti_rows), load_keys=load_keys
        )
    except errors.RateLimited:
        # Counted only after the proof was checked: spend it, or the same read could be
        # sent again once the allowance frees up, within the proof's iat window.
        await state.resource_server.committer.spend(jti_rows, utcnow())
        raise
    state.resource_server.limiter.maybe_sync(state.db, now)
    return ReadingCaller(caller, jti_rows)


@dataclass(frozen=True, slots=True)
class ReadingCaller:
    caller: Caller
    jti_rows: list[dict[str, Any]]
    """The proof's ``jti`` rows, spent later by the group commit."""


def presented(scope: HTTPScope, base_url: str) -> Presented:
    """What the request carried, read straight off the ASGI scope (header names arrive
    lower-cased): the ``Authorization`` (one only: it is not a list, RFC 9110 §11.6.2,
    and a second one would leave which token counts to whoever reads the headers), every
    ``DPoP`` (more than one is refused later), and the URL the proof must name."""
    authorization: str | None = None
    proofs: list[str] = []
    for name, value in scope["headers"]:
        if name == b"authorization":
            if authorization is not None:
                raise InvalidToken("repeated_authorization")
            authorization = value.decode("latin-1")
        elif name == b"dpop":
            proofs.append(value.decode("latin-1"))
    return Presented(
        authorization=authorization,
        dpop=proofs,
        method=scope["method"],
        url=base_url + _raw_path(scope),
    )


def _raw_path(scope: HTTPScope) -> str:
    """The path as the client sent it, which its proof's ``htu`` names. ASGI lets a server
    leave ``raw_path`` out; then the decoded path, quoted back."""
    raw = scope.get("raw_path")
    return raw.decode("latin-1") if raw else quote(scope["path"], safe="/:@!$&'()*+,;=-._~")


async def _authenticate(
    scope: HTTPScope,
    state: State,
    now: float,
    *,
    seen: SeenJtiAsync,
    load_keys: LoadKeys,
    live_session: AsyncSession | None = None,
) -> Caller:
    settings = state.settings
    server: ResourceServer = state.resource_server
    return await authenticate_caller(
        presented(scope, settings.base_url),
        cache=server.tokens,
        load_keys=load_keys,
        issuer=settings.base_url,
        audience=resource_identifier(settings.base_url),
        now=int(now),
        seen=seen,
        admit=lambda client_id: server.limiter.take(client_id, now),
        live_session=live_session,
    )


def _session_keys(session: AsyncSession, state: State) -> LoadKeys:
    async def load() -> Mapping[str, Mapping[str, Any]]:
        return (await server_keys(session, state.key_provider)).verification_keys

    return load


def _unauthorized(request: Request[Any, Any, Any], exc: errors.DomainError) -> Response[Any]:
    """401 with ``WWW-Authenticate: DPoP`` naming the error (RFC 9449 §7.1, RFC 6750 §3)
    and where this API's metadata is (RFC 9728 §5.1), so a client can discover its AS."""
    response = handle_domain_error(request, exc)
    code = "invalid_dpop_proof" if isinstance(exc, DPoPError) else "invalid_token"
    metadata = protected_resource_metadata_url(request.app.state.settings.base_url)
    response.headers["WWW-Authenticate"] = (
        f'DPoP error="{code}", algs="{DPOP_ALGS}", resource_metadata="{metadata}"'
    )
    return response


RESOURCE_SERVER_ERRORS: dict[
    int | type[Exception], Callable[[Request[Any, Any, Any], Any], Response[Any]]
] = {
    InvalidToken: _unauthorized,
    DPoPError: _unauthorized,
}
"""Exception handlers every ``/connect/v1`` controller sets."""
