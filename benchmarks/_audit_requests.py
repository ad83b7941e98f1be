"""The audit log's request cost (``benchmarks.audit``): a minimal authenticated read, as
``GET /api/v1/me`` does it, against the same read in a write transaction that appends one
entry and commits; variants take turns, medians are kept."""

from __future__ import annotations

import datetime as dt
import secrets
import statistics
import time
from typing import TYPE_CHECKING, Any, Final

from litestar.testing import AsyncTestClient

from benchmarks._scratch import add_accounts
from pds.accounts.models import Session
from pds.accounts.service import hash_token, resolve_session
from pds.app import create_app
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import transaction, utcnow
from pds.web.deps import SESSION_COOKIE

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.settings import Settings

Row = dict[str, Any]
READ: Final = "read (as GET /me)"
HTTP_ME: Final = "HTTP GET /me"


async def _signed_in(db: Database) -> str:
    token = secrets.token_urlsafe(32)
    [account_id] = await add_accounts(db, 1)
    async with transaction(db.sessions) as session:
        session.add(
            Session(
                token_hash=hash_token(token),
                account_id=account_id,
                expires_at=utcnow() + dt.timedelta(hours=1),
            )
        )
    return token


def _request_variants(db: Database, token: str) -> dict[str, Callable[[], Awaitable[None]]]:
    async def read() -> None:
        async with db.read_sessions() as session:
            await resolve_session(session, token)

    async def read_in_write_tx() -> None:
        async with db.sessions() as session:
            await resolve_session(session, token)
            await session.commit()

    async def read_and_append() -> None:
        async with db.sessions() as session:
            account = await resolve_session(session, token)
            append(session, Entry(actor=Actor.CITIZEN, action=Action.READ, actor_id=account.id))
            await session.commit()

    return {READ: read, "read, write tx": read_in_write_tx, "read + append": read_and_append}


async def _interleaved(
    variants: dict[str, Callable[[], Awaitable[None]]], rounds: int, per_round: int
) -> dict[str, list[float]]:
    """Seconds per call of each variant, taking turns in runs of ``per_round``."""
    timings: dict[str, list[float]] = {name: [] for name in variants}
    for work in variants.values():  # warm-up: pool connections, statement caches
        for _ in range(20):
            await work()
    for _ in range(rounds):
        for name, work in variants.items():
            for _ in range(per_round):
                started = time.perf_counter()
                await work()
                timings[name].append(time.perf_counter() - started)
    return timings


async def request_rows(
    db: Database, settings: Settings, keys: KeyProvider, rounds: int, per_round: int
) -> list[Row]:
    token = await _signed_in(db)
    variants = _request_variants(db, token)
    async with AsyncTestClient(app=create_app(settings, keys=keys)) as client:
        client.cookies.set(SESSION_COOKIE, token)

        async def http_get_me() -> None:  # context: the whole request, in-process, no socket
            (await client.get("/api/v1/me")).raise_for_status()

        variants[HTTP_ME] = http_get_me
        timings = await _interleaved(variants, rounds, per_round)
    medians = {name: statistics.median(values) for name, values in timings.items()}
    return [
        {
            "bench": "request",
            "variant": name,
            "median_us": median * 1e6,
            "added_us": (median - medians[READ]) * 1e6,
            "ratio": median / medians[READ],
            "share_of_http": (median - medians[READ]) / medians[HTTP_ME],
        }
        for name, median in medians.items()
    ]
