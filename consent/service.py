"""Grants over the database: the event history, its folded state, pairwise subjects.

Every change goes through ``record``: it applies the event to the folded history
(``consent.grants.apply`` refuses an impossible one), appends the event row and
refreshes the copy of the state kept on ``grants``, all in the caller's transaction.
Two writers racing on one grant both try to append the same ``seq``; the loser's
insert fails and its transaction rolls back, so no grant ever has a forked history.
"""

from __future__ import annotations

import secrets
import uuid
from collections import defaultdict
from typing import TYPE_CHECKING, Any

import msgspec
from sqlalchemy import Select, select
from sqlalchemy.exc import IntegrityError

from consent.events import EventType, emit
from consent.grants import (
    Approved,
    Expired,
    GrantEvent,
    GrantState,
    GrantStatus,
    ImpossibleTransition,
    Refused,
    Requested,
    Revoked,
    apply,
    fold,
    state_at,
)
from consent.models import Grant, PairwiseSubject
from consent.models import GrantEvent as GrantEventRow
from pds.db import insert_if_absent
from pds.errors import NotFound

if TYPE_CHECKING:
    import datetime as dt

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.requests import DataRequest

SUBJECT_BYTES = 24


def encode_event(event: GrantEvent) -> dict[str, Any]:
    built: dict[str, Any] = msgspec.to_builtins(event)
    return built


def decode_event(stored: dict[str, Any]) -> GrantEvent:
    event: GrantEvent = msgspec.convert(stored, GrantEvent)
    return event


async def open_request(
    session: AsyncSession,
    *,
    client_id: str,
    request: DataRequest,
    now: dt.datetime,
    citizen_id: uuid.UUID | None = None,
) -> tuple[Grant, GrantState]:
    """A new grant in ``requested``: pushed to ``citizen_id``, or for whoever signs in."""
    event = Requested(
        at=now,
        client_id=client_id,
        request=request,
        citizen_id=str(citizen_id) if citizen_id is not None else None,
    )
    state = apply(None, event)
    grant = Grant(
        client_id=client_id,
        citizen_id=citizen_id,
        status=state.status.value,
        pushed=citizen_id is not None,
        created_at=now,
        updated_at=now,
    )
    session.add(grant)
    await session.flush()
    session.add(GrantEventRow(grant_id=grant.id, seq=1, at=now, event=encode_event(event)))
    await session.flush()
    return grant, state


async def load_grant(session: AsyncSession, grant_id: uuid.UUID) -> tuple[Grant, GrantState] | None:
    """The grant row and the fold of its whole history, or None when there is no such grant."""
    grant = await session.get(Grant, grant_id)
    if grant is None:
        return None
    rows = await session.scalars(
        select(GrantEventRow.event)
        .where(GrantEventRow.grant_id == grant_id)
        .order_by(GrantEventRow.seq)
    )
    return grant, fold(decode_event(row) for row in rows)


async def record(
    session: AsyncSession, grant: Grant, state: GrantState, event: GrantEvent
) -> GrantState:
    """Append ``event`` to the grant's history; the new state, or ``ImpossibleTransition``."""
    after = apply(state, event)
    session.add(
        GrantEventRow(
            grant_id=grant.id, seq=after.event_count, at=event.at, event=encode_event(event)
        )
    )
    grant.status = after.status.value
    grant.expires_at = after.expires_at
    grant.updated_at = event.at
    if after.citizen_id is not None and grant.citizen_id is None:
        grant.citizen_id = uuid.UUID(after.citizen_id)
    try:
        await session.flush()
    except IntegrityError as exc:
        raise ImpossibleTransition(
            "The grant changed while this request was being handled; try again."
        ) from exc
    kind = _event_type(event)
    if kind is not None:
        await emit(
            session, grant.client_id, kind, at=event.at, grant_id=grant.id, data=_data(event)
        )
    return after


def _event_type(event: GrantEvent) -> EventType | None:
    """What the client hears of each change; it hears nothing of a request being opened."""
    if isinstance(event, Approved):
        return EventType.GRANT_NARROWED if event.declined else EventType.GRANT_APPROVED
    if isinstance(event, Refused):
        return EventType.GRANT_REFUSED
    if isinstance(event, Revoked):
        return EventType.GRANT_REVOKED
    if isinstance(event, Expired):
        return EventType.GRANT_EXPIRED
    return None


def _data(event: GrantEvent) -> dict[str, Any]:
    if isinstance(event, Revoked):
        return {"revoked_by": event.by.value}
    if isinstance(event, Approved) and event.declined:
        return {"declined_items": list(event.declined)}
    return {}


async def settle_expiry(
    session: AsyncSession, grant: Grant, state: GrantState, now: dt.datetime
) -> tuple[GrantState, bool]:
    """Record the expiry that time already caused, once; True when this call recorded it.

    Expiry needs no event to take effect (``state_at``); recording it gives the history,
    the receipt and the audit log the moment the grant ended.
    """
    if state_at(state, now).status is not GrantStatus.EXPIRED or state.status is not (
        GrantStatus.ACTIVE
    ):
        return state, False
    return await record(session, grant, state, Expired(at=now)), True


# --- pairwise subjects ---------------------------------------------------------------------


async def pairwise_subject(session: AsyncSession, client_id: str, citizen_id: uuid.UUID) -> str:
    """The pseudonym ``client_id`` knows ``citizen_id`` by, made on first need.

    Random, so the subject itself carries nothing linkable; made with one
    conflict-free insert, so two first requests racing agree on one value.
    """
    found = await _subject(session, client_id, citizen_id)
    if found is not None:
        return found
    await insert_if_absent(
        session,
        PairwiseSubject.__table__,  # type: ignore[arg-type]
        {
            "client_id": client_id,
            "citizen_id": citizen_id,
            "subject": secrets.token_urlsafe(SUBJECT_BYTES),
        },
    )
    made = await _subject(session, client_id, citizen_id)
    if made is None:  # pragma: no cover - the insert or a racing one made it
        raise RuntimeError("pairwise subject vanished")
    return made


async def _subject(session: AsyncSession, client_id: str, citizen_id: uuid.UUID) -> str | None:
    return await session.scalar(
        select(PairwiseSubject.subject).where(
            PairwiseSubject.client_id == client_id, PairwiseSubject.citizen_id == citizen_id
        )
    )


async def citizen_for_subject(
    session: AsyncSession, client_id: str, subject: str
) -> uuid.UUID | None:
    """Who ``subject`` is, but only as ``client_id`` knows them (another client's: None)."""
    return await session.scalar(
        select(PairwiseSubject.citizen_id).where(
            PairwiseSubject.client_id == client_id, PairwiseSubject.subject == subject
        )
    )


# --- the citizen's own grants ------------------------------------------------------------


class GrantNotFound(NotFound):
    """No such grant, or not this citizen's: the answer is the same (STYLE.md 9)."""

    code = "grant_not_found"
    title = "Grant not found"


async def citizens_grant(
    session: AsyncSession, citizen_id: uuid.UUID, grant_id: uuid.UUID
) -> tuple[Grant, GrantState]:
    loaded = await load_grant(session, grant_id)
    if loaded is None or loaded[0].citizen_id != citizen_id:
        raise GrantNotFound("There is no such grant.")
    return loaded


async def citizens_grants(
    session: AsyncSession, citizen_id: uuid.UUID
) -> list[tuple[Grant, GrantState]]:
    """Every request the citizen answered or was sent, newest first."""
    return await load_grants(
        session,
        select(Grant.id).where(Grant.citizen_id == citizen_id).order_by(Grant.created_at.desc()),
    )


async def load_grants(
    session: AsyncSession, ids: Select[uuid.UUID]
) -> list[tuple[Grant, GrantState]]:
    """The grants whose ids ``ids`` selects, in its order, each with the fold of its
    history: three queries however many grants, not two per grant."""
    wanted = list(await session.scalars(ids))
    if not wanted:
        return []
    rows = {row.id: row for row in await session.scalars(select(Grant).where(Grant.id.in_(wanted)))}
    histories: dict[uuid.UUID, list[GrantEvent]] = defaultdict(list)
    events = await session.execute(
        select(GrantEventRow.grant_id, GrantEventRow.event)
        .where(GrantEventRow.grant_id.in_(wanted))
        .order_by(GrantEventRow.grant_id, GrantEventRow.seq)
    )
    for grant_id, stored in events:
        histories[grant_id].append(decode_event(stored))
    return [(rows[i], fold(histories[i])) for i in wanted if i in rows]
