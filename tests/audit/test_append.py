"""append(): the entry lives or dies with the caller's transaction."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

import pytest
from sqlalchemy import select

from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.models import AuditEntry
from pds.audit.service import append
from pds.db import transaction
from pds.ids import uuid7
from pds.logs import request_id_var

if TYPE_CHECKING:
    from collections.abc import Iterator

    from pds.db import Database

ROTATED = Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED)


async def stored(db: Database) -> list[AuditEntry]:
    async with db.read_sessions() as session:
        return list(await session.scalars(select(AuditEntry)))


@pytest.fixture
def request_id() -> Iterator[str]:
    """A request id in context, as the web layer sets one for each request."""
    token = request_id_var.set("req-0123456789abcdef")
    yield "req-0123456789abcdef"
    request_id_var.reset(token)


async def test_a_rolled_back_transaction_leaves_no_entry(db: Database) -> None:
    async def act_that_fails() -> None:
        async with transaction(db.sessions) as session:
            append(session, ROTATED)
            await session.flush()  # the entry reached the database inside the transaction
            raise RuntimeError("the act failed")

    with pytest.raises(RuntimeError, match="the act failed"):
        await act_that_fails()

    assert await stored(db) == []


async def test_append_never_commits_by_itself(db: Database) -> None:
    async with db.sessions() as session:
        append(session, ROTATED)
        await session.flush()
        # closed without commit

    assert await stored(db) == []


async def test_a_committed_transaction_leaves_exactly_one_entry(
    db: Database, request_id: str
) -> None:
    citizen_id, grant_id = uuid7(), uuid7()
    before = dt.datetime.now(dt.UTC)
    async with transaction(db.sessions) as session:
        returned = append(
            session,
            Entry(
                actor=Actor.CLIENT,
                action=Action.READ,
                outcome=Outcome.DENIED,
                citizen_id=citizen_id,
                client_id="council-housing",
                grant_id=grant_id,
                purpose="housing-benefit",
                resource="evidence:proof-of-address",
                detail={"reason": "grant_expired", "claims": 2},
            ),
        )

    [row] = await stored(db)
    assert row.id == returned.id
    assert row.id.version == 7
    assert row.request_id == request_id
    assert (row.actor, row.action, row.outcome) == ("client", "read", "denied")
    assert (row.citizen_id, row.client_id, row.grant_id) == (
        citizen_id,
        "council-housing",
        grant_id,
    )
    assert row.purpose == "housing-benefit"
    assert row.resource == "evidence:proof-of-address"
    assert row.detail == {"reason": "grant_expired", "claims": 2}
    assert before <= row.created_at <= dt.datetime.now(dt.UTC)


async def test_an_explicit_request_id_wins_over_the_context(db: Database, request_id: str) -> None:
    async with transaction(db.sessions) as session:
        append(session, Entry(actor=Actor.SYSTEM, action=Action.EXPORT, request_id="job-42"))

    [row] = await stored(db)
    assert row.request_id == "job-42" != request_id


async def test_outside_a_request_the_entry_has_no_request_id(db: Database) -> None:
    assert request_id_var.get() is None
    async with transaction(db.sessions) as session:
        append(session, ROTATED)

    [row] = await stored(db)
    assert row.request_id is None
    assert row.detail == {}
