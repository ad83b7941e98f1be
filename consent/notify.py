"""Telling services that data under their live grants changed.

The vault calls ``evidence_changed`` inside the transaction that changed an item, so the
event commits with the change or not at all. Only grants that reach the item hear of it,
and the event names the evidence type and version, never a value: the service fetches
the data again under its grant, and that read is audited like any other.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import select

from consent.events import EventType, emit
from consent.grants import GrantStatus, state_at
from consent.models import Grant
from consent.policy import covering_items
from consent.service import load_grant

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession


async def evidence_changed(
    session: AsyncSession,
    citizen_id: uuid.UUID,
    *,
    evidence_type: str,
    category: str,
    change: str,
    version: int,
    now: dt.datetime,
) -> int:
    """Emit ``grant.data_changed`` to every active grant reaching this item; how many."""
    ids = await session.scalars(
        select(Grant.id).where(
            Grant.citizen_id == citizen_id, Grant.status == GrantStatus.ACTIVE.value
        )
    )
    told = 0
    for grant_id in list(ids):
        loaded = await load_grant(session, grant_id)
        if loaded is None:  # pragma: no cover - the id came from the same transaction
            continue
        grant, state = loaded
        if state_at(state, now).status is not GrantStatus.ACTIVE:
            continue
        if not covering_items(state.scope, evidence_type, category):
            continue
        data = {"evidence_type": evidence_type, "change": change, "version": version}
        await emit(
            session, grant.client_id, EventType.DATA_CHANGED, at=now, grant_id=grant.id, data=data
        )
        told += 1
    return told
