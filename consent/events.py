"""Each client's event feed: what happened to its grants, in the order it was committed.

``emit`` runs inside the transaction that made the change, so an event exists exactly
when its change does. The per-client ``seq`` comes from incrementing a counter row: the
row stays locked until that transaction commits, so a later ``seq`` can never commit
before an earlier one and a cursor never skips an event that was still in flight (an
autoincrement id gives no such promise on PostgreSQL). The cost is that event-making
transactions of one client queue behind each other; they are rare (consent decisions),
and reads never make events.

Webhook delivery (a later issue) reads the same rows: ``id`` is the idempotency key a
receiver dedupes on, ``seq`` the order.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select, update

from consent.models import ClientEvent, ClientEventCounter
from pds.db import insert_if_absent
from pds.ids import uuid7

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

MAX_PAGE: Final = 200


class EventType(StrEnum):
    GRANT_APPROVED = "grant.approved"
    GRANT_NARROWED = "grant.narrowed"
    """Approved with some optional items unticked: the scope is less than was asked."""
    GRANT_REFUSED = "grant.refused"
    GRANT_REVOKED = "grant.revoked"
    GRANT_EXPIRED = "grant.expired"
    DATA_CHANGED = "grant.data_changed"


@dataclass(frozen=True, slots=True)
class FeedPage:
    events: list[ClientEvent]
    next_cursor: int
    """The highest ``seq`` returned, or the cursor given when nothing new: pass it back."""
    more: bool


async def emit(
    session: AsyncSession,
    client_id: str,
    kind: EventType,
    *,
    at: dt.datetime,
    grant_id: uuid.UUID | None,
    data: dict[str, Any] | None = None,
) -> ClientEvent:
    """Add the event to the caller's transaction with the client's next ``seq``."""
    seq = await _next_seq(session, client_id)
    row = ClientEvent(
        id=uuid7(),
        client_id=client_id,
        seq=seq,
        type=kind.value,
        grant_id=grant_id,
        occurred_at=at,
        data=data or {},
    )
    session.add(row)
    return row


async def _next_seq(session: AsyncSession, client_id: str) -> int:
    counters = ClientEventCounter.__table__
    await insert_if_absent(session, counters, {"client_id": client_id, "last_seq": 0})  # type: ignore[arg-type]
    result = await session.execute(
        update(ClientEventCounter)
        .where(ClientEventCounter.client_id == client_id)
        .values(last_seq=ClientEventCounter.last_seq + 1)
        .returning(ClientEventCounter.last_seq)
    )
    return int(result.scalar_one())


async def feed(session: AsyncSession, client_id: str, *, after: int, limit: int) -> FeedPage:
    """The client's events with ``seq > after``, oldest first, at most ``limit``."""
    limit = max(1, min(limit, MAX_PAGE))
    rows = list(
        await session.scalars(
            select(ClientEvent)
            .where(ClientEvent.client_id == client_id, ClientEvent.seq > after)
            .order_by(ClientEvent.seq)
            .limit(limit + 1)
        )
    )
    more = len(rows) > limit
    rows = rows[:limit]
    return FeedPage(events=rows, next_cursor=rows[-1].seq if rows else after, more=more)
