"""Recording expiries: the event, the receipt and the audit entry, once, by whoever sees it first.

Expiry takes effect by itself (every use folds the history at ``now``); recording it
gives the citizen's history, the receipt and the audit log the moment the grant ended.
The token endpoint records an expiry it meets; ``pds serve`` also sweeps for grants
that ran out unused, so the log does not depend on a service coming back.
"""

from __future__ import annotations

import asyncio
import logging
from typing import TYPE_CHECKING

from sqlalchemy import select

from consent.grants import GrantState, ImpossibleTransition
from consent.keys import server_keys
from consent.models import Grant
from consent.receipting import issue_receipt
from consent.service import load_grant, settle_expiry
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import utcnow

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.token_keys import TokenSigner
    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.consent")
SWEEP_BATCH = 100


async def record_expiry(
    session: AsyncSession,
    signer: TokenSigner,
    grant: Grant,
    state: GrantState,
    *,
    issuer: str,
    now: dt.datetime,
) -> tuple[GrantState, bool]:
    """Record a lapsed grant's expiry with its receipt and audit entry (not committed);
    True when this call recorded it."""
    state, recorded = await settle_expiry(session, grant, state, now)
    if not recorded:
        return state, False
    await issue_receipt(session, signer, grant, state, issuer=issuer, now=now)
    append(
        session,
        Entry(
            actor=Actor.SYSTEM,
            action=Action.CONSENT_EXPIRED,
            citizen_id=grant.citizen_id,
            client_id=grant.client_id,
            grant_id=grant.id,
            purpose=state.scope.purpose.term,
            resource=f"grants/{grant.id}",
        ),
    )
    return state, True


async def sweep_expired(
    db: Database, keys: KeyProvider, *, issuer: str, now: dt.datetime | None = None
) -> int:
    """Record every expiry not yet recorded, one grant per transaction; returns how many."""
    now = now or utcnow()
    async with db.read_sessions() as session:
        due = list(
            await session.scalars(
                select(Grant.id)
                .where(Grant.status == "active", Grant.expires_at <= now)
                .order_by(Grant.expires_at)
                .limit(SWEEP_BATCH)
            )
        )
    recorded = 0
    for grant_id in due:
        recorded += await _expire_one(db, keys, grant_id, issuer=issuer, now=now)
    return recorded


async def _expire_one(
    db: Database, keys: KeyProvider, grant_id: uuid.UUID, *, issuer: str, now: dt.datetime
) -> int:
    async with db.sessions() as session:
        loaded = await load_grant(session, grant_id)
        if loaded is None:
            return 0
        try:
            signer = (await server_keys(session, keys)).signer
            _, done = await record_expiry(session, signer, *loaded, issuer=issuer, now=now)
        except ImpossibleTransition:  # another process recorded it (or revoked) first
            return 0
        await session.commit()
        return int(done)


async def sweep_forever(
    db: Database, keys: KeyProvider, issuer: str, interval: float = 60.0
) -> None:
    """The loop ``pds serve`` runs beside the audit sequencer; errors are logged, never fatal."""
    while True:
        try:
            await sweep_expired(db, keys, issuer=issuer)
        except Exception:  # the server must keep serving; the next turn retries
            log.exception("recording expired grants failed")
        await asyncio.sleep(interval)
