"""The sequencer finds its next batch through the index of pending entries, so a batch
costs the same however long the log or the backlog: before revision 0008 PostgreSQL
walked the log or sorted the backlog for every batch of 100, and under sustained load
the sequencer fell further behind a busy server the longer it ran."""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import insert, text

from pds.audit.models import AuditEntry
from pds.audit.sequencer import _PENDING
from pds.db import utcnow
from pds.ids import uuid7

if TYPE_CHECKING:
    from pds.db import Database

PLACED = 20_000
PENDING = 2_000
"""A backlog a tenth of the log, as a busy server builds. Without the pending index
PostgreSQL sorted the whole backlog here, and with a larger log walked the primary key
past every placed entry (44 ms a batch at 200,000)."""


def entries(count: int, *, first_index: int | None) -> list[dict[str, object]]:
    return [
        {
            "id": uuid7(),
            "created_at": utcnow(),
            "actor": "client",
            "action": "read",
            "outcome": "allowed",
            "detail": {},
            "leaf": None if first_index is None else b"\x00",
            "leaf_index": None if first_index is None else first_index + i,
        }
        for i in range(count)
    ]


async def test_the_next_batch_is_found_through_the_pending_index(db: Database) -> None:
    async with db.engine.begin() as connection:
        await connection.execute(insert(AuditEntry), entries(PLACED, first_index=0))
        await connection.execute(insert(AuditEntry), entries(PENDING, first_index=None))
        await connection.execute(text("ANALYZE"))
    query = str(_PENDING.compile(dialect=db.engine.dialect, compile_kwargs={"literal_binds": True}))
    explain = "EXPLAIN QUERY PLAN " if db.is_sqlite else "EXPLAIN "

    async with db.engine.connect() as connection:
        plan = "\n".join(str(row) for row in await connection.execute(text(explain + query)))

    if db.is_sqlite:
        # SQLite may as well search the leaf_index index for NULLs and sort the backlog
        # (small there: the group commit places reads itself); never a walk of the log.
        assert "SCAN audit_entries" not in plan, plan
    else:
        assert "ix_audit_entries_pending" in plan, plan
