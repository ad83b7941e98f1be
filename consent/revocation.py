"""Withdrawal by the citizen: one action, effective for the very next request.

The grant's history gains a ``Revoked`` event, a new receipt is signed, and the audit
entry is written, all in one transaction. Every later use of the grant (token
exchange, introspection, connector read) folds the history again and finds it ended.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from consent.grants import GrantState, GrantStatus, ImpossibleTransition, Revoked, RevokedBy
from consent.grants import state_at as grant_state_at
from consent.receipting import issue_receipt
from consent.service import citizens_grant, record
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.keys import ServerKeys
    from consent.models import Grant


async def revoke_by_citizen(
    session: AsyncSession,
    keys: ServerKeys,
    *,
    citizen_id: uuid.UUID,
    grant_id: uuid.UUID,
    issuer: str,
    now: dt.datetime,
) -> tuple[Grant, GrantState]:
    """Withdraw an active grant; 409 when it has already ended. Commits."""
    grant, state = await citizens_grant(session, citizen_id, grant_id)
    if grant_state_at(state, now).status is not GrantStatus.ACTIVE:
        raise ImpossibleTransition("This grant has already ended; there is nothing to stop.")
    state = await record(session, grant, state, Revoked(at=now, by=RevokedBy.CITIZEN))
    await issue_receipt(session, keys.signer, grant, state, issuer=issuer, now=now)
    append(
        session,
        Entry(
            actor=Actor.CITIZEN,
            action=Action.CONSENT_REVOKED,
            actor_id=citizen_id,
            citizen_id=citizen_id,
            client_id=grant.client_id,
            grant_id=grant.id,
            purpose=state.scope.purpose.term,
            resource=f"grants/{grant.id}",
            detail={"by": RevokedBy.CITIZEN.value},
        ),
    )
    await session.commit()
    return grant, state
