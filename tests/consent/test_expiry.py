"""Grants that run out unused are recorded as expired by the sweep: once, with receipt and entry."""

from __future__ import annotations

import datetime as dt
import json
from typing import TYPE_CHECKING

from e2e.helpers import audit_entries
from e2e.oauth_kit import ServiceKit, data_request
from sqlalchemy import func, select

from consent.expiry import sweep_expired
from consent.grants import Approved, GrantStatus
from consent.models import ConsentReceipt, Grant
from consent.requests import parse_authorization_details
from consent.service import load_grant, open_request, record
from pds.accounts.service import Role, create_account
from pds.audit.models import AuditEntry

if TYPE_CHECKING:
    import uuid

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider

T0 = dt.datetime(2026, 12, 1, 9, 0, tzinfo=dt.UTC)
ISSUER = "http://127.0.0.1:8000"


async def approved_grant(
    db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy, duration: str
) -> uuid.UUID:
    client_id = await ServiceKit().register(db)
    async with db.sessions() as session:
        citizen = await create_account(
            session,
            keys,
            email="sam@example.com",
            password="quartz meadow lantern 2026",
            role=Role.CITIZEN,
            policy=policy,
        )
    details = parse_authorization_details(json.dumps(data_request(duration=duration)))
    async with db.sessions() as session:
        grant, state = await open_request(session, client_id=client_id, request=details, now=T0)
        await record(session, grant, state, Approved(at=T0, citizen_id=str(citizen.id)))
        await session.commit()
        return grant.id


async def test_the_sweep_records_an_expiry_once_and_only_after_it_happened(
    db: Database, keys: InMemoryKeyProvider, policy: AccountPolicy
) -> None:
    grant_id = await approved_grant(db, keys, policy, "PT10M")

    assert await sweep_expired(db, keys, issuer=ISSUER, now=T0 + dt.timedelta(minutes=9)) == 0
    assert await sweep_expired(db, keys, issuer=ISSUER, now=T0 + dt.timedelta(minutes=11)) == 1
    assert await sweep_expired(db, keys, issuer=ISSUER, now=T0 + dt.timedelta(minutes=12)) == 0

    async with db.read_sessions() as session:
        loaded = await load_grant(session, grant_id)
        receipts = await session.scalar(
            select(func.count(ConsentReceipt.id)).where(ConsentReceipt.grant_id == grant_id)
        )
        status = await session.scalar(select(Grant.status).where(Grant.id == grant_id))
    assert loaded is not None
    assert loaded[1].status is GrantStatus.EXPIRED
    assert loaded[1].ended_at == T0 + dt.timedelta(minutes=10)  # when it ran out, not when seen
    assert status == "expired"
    assert receipts == 1  # the expiry's own (approval here went straight to the store)
    [entry] = await audit_entries(db, AuditEntry.action == "consent.expired")
    assert (entry.actor, entry.grant_id) == ("system", grant_id)
