"""The replay cache for ``jti`` values, in the database so every process shares it.

A proof or assertion is remembered until it could no longer be accepted anyway
(``expires_at``: its own signed ``iat`` or ``exp`` plus a fixed window, and part of
the key, see ``UsedJti``). A replay is the same signed bytes, so it has the same key;
the same ``jti`` under another ``iat`` is a new signature, which only the key's holder
could make. The insert happens in the request's own transaction, so a racing second use
waits for that commit and then finds it taken. A request refused after its credentials
were checked rolls back; ``respend`` then records them again beside the refusal's audit
entry, so nothing presented once can be presented twice.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from typing import TYPE_CHECKING

from sqlalchemy import delete

from connectors.models import UsedJti
from pds.db import insert_if_absent, utcnow

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

PRUNE_PROBABILITY = 0.01
_SPENT = "pds.spent_jtis"
"""About one request in a hundred clears expired rows; no background job needed."""


def _key(kind: str, scope: str, jti: str) -> bytes:
    material = "\x1f".join((kind, scope, jti)).encode("utf-8", "surrogatepass")
    return hashlib.sha256(material).digest()


def replay_check(session: AsyncSession, kind: str) -> Callable[[str, str, int], Awaitable[bool]]:
    """A ``seen(jti, scope, expires_at)`` callback for the pure verifiers."""

    async def seen(jti: str, scope: str, expires_at: int) -> bool:
        if random.random() < PRUNE_PROBABILITY:  # noqa: S311 - load spreading, not security
            await session.execute(delete(UsedJti).where(UsedJti.expires_at < utcnow()))
        row = {
            "jti_hash": _key(kind, scope, jti),
            "expires_at": dt.datetime.fromtimestamp(expires_at, dt.UTC),
        }
        inserted = await _insert(session, row)
        if inserted:
            session.info.setdefault(_SPENT, []).append(row)
        return not inserted

    return seen


async def _insert(session: AsyncSession, row: dict[str, object]) -> bool:
    return await insert_if_absent(session, UsedJti.__table__, row)  # type: ignore[arg-type]


async def respend(session: AsyncSession) -> None:
    """After a rollback: record again every value this session had spent."""
    for row in session.info.pop(_SPENT, []):
        await _insert(session, row)


def deferred_check(
    kind: str, rows: list[dict[str, object]]
) -> Callable[[str, str, int], Awaitable[bool]]:
    """A ``seen`` callback that only collects the row to insert: for a caller that spends
    the values later, in one batch (``connectors.api.commit``), where a replay loses."""

    async def seen(jti: str, scope: str, expires_at: int) -> bool:
        rows.append(
            {
                "jti_hash": _key(kind, scope, jti),
                "expires_at": dt.datetime.fromtimestamp(expires_at, dt.UTC),
            }
        )
        return False

    return seen
