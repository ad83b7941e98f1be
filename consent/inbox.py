"""Requests pushed to a known citizen: how they arrive and how the citizen answers them.

A service that already knows a citizen (by its pairwise subject) may ask again without
sending them through a redirect: the request waits in the citizen's inbox, and the
answer is recorded exactly as on the consent page — the same events, receipt and audit
entries — so a grant means the same whichever way it was asked for.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from sqlalchemy import JSON, column, select, table

from consent.grants import Approved, GrantState, GrantStatus, Refused
from consent.models import Grant
from consent.receipting import issue_receipt
from consent.requests import check_allowed, parse_authorization_details
from consent.service import (
    GrantNotFound,
    citizen_for_subject,
    load_grant,
    load_grants,
    open_request,
    record,
)
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.errors import Conflict, NotFound

if TYPE_CHECKING:
    import datetime as dt
    import uuid
    from collections.abc import Collection

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.keys import ServerKeys


# The registry's table, read bare: consent never imports the connectors package.
_clients = table(
    "clients", column("client_id"), column("purposes", JSON), column("categories", JSON)
)


class SubjectUnknown(NotFound):
    code = "subject_not_found"
    title = "No such citizen"


class AlreadyAnswered(Conflict):
    code = "already_answered"
    title = "This request has already been answered"


async def push_request(
    session: AsyncSession,
    *,
    client_id: str,
    subject: str,
    authorization_details: str,
    now: dt.datetime,
) -> tuple[Grant, GrantState]:
    """Check the request as PAR would, against the purposes and categories the client
    registered, and file it in the citizen's inbox. Commits.

    A subject the client was never given is "not found", whether or not it belongs to
    anyone: pairwise subjects are per client, so another client's subject is unknown here.
    """
    request = parse_authorization_details(authorization_details)
    purposes, categories = await _registered_scope(session, client_id)
    check_allowed(request, purposes=purposes, categories=categories)
    citizen_id = await citizen_for_subject(session, client_id, subject)
    if citizen_id is None:
        raise SubjectUnknown("This client knows no citizen by this subject.")
    grant, state = await open_request(
        session, client_id=client_id, request=request, now=now, citizen_id=citizen_id
    )
    append(
        session,
        Entry(
            actor=Actor.CLIENT,
            action=Action.CONSENT_REQUESTED,
            client_id=client_id,
            citizen_id=citizen_id,
            grant_id=grant.id,
            purpose=request.purpose.term,
            resource=f"grants/{grant.id}",
            detail={"pushed": True},
        ),
    )
    await session.commit()
    return grant, state


async def _registered_scope(
    session: AsyncSession, client_id: str
) -> tuple[Collection[str], Collection[str]]:
    """The purposes and categories ``client_id`` registered. It must be registered: the
    caller was authenticated as this client in the same transaction."""
    query = select(_clients.c.purposes, _clients.c.categories)
    row = (await session.execute(query.where(_clients.c.client_id == client_id))).one()
    return row.purposes, row.categories


async def pending_for(
    session: AsyncSession, citizen_id: uuid.UUID
) -> list[tuple[Grant, GrantState]]:
    """The requests waiting for this citizen's answer, oldest first."""
    return await load_grants(
        session,
        select(Grant.id)
        .where(
            Grant.citizen_id == citizen_id,
            Grant.pushed.is_(True),
            Grant.status == GrantStatus.REQUESTED.value,
        )
        .order_by(Grant.created_at),
    )


async def answer(
    session: AsyncSession,
    keys: ServerKeys,
    *,
    citizen_id: uuid.UUID,
    grant_id: uuid.UUID,
    approve: bool,
    declined: tuple[int, ...],
    issuer: str,
    now: dt.datetime,
) -> tuple[Grant, GrantState]:
    """Approve (untick optional items by index) or refuse one pushed request. Commits."""
    loaded = await load_grant(session, grant_id)
    if loaded is None or loaded[0].citizen_id != citizen_id or not loaded[0].pushed:
        raise GrantNotFound("There is no such request.")
    grant, state = loaded
    if state.status is not GrantStatus.REQUESTED:
        raise AlreadyAnswered("This request has already been answered.")
    event = (
        Approved(at=now, citizen_id=str(citizen_id), declined=declined)
        if approve
        else Refused(at=now, citizen_id=str(citizen_id))
    )
    state = await record(session, grant, state, event)
    if approve:
        action = Action.CONSENT_NARROWED if declined else Action.CONSENT_GIVEN
    else:
        action = Action.CONSENT_REFUSED
    append(
        session,
        Entry(
            actor=Actor.CITIZEN,
            action=action,
            actor_id=citizen_id,
            citizen_id=citizen_id,
            client_id=grant.client_id,
            grant_id=grant.id,
            purpose=state.request.purpose.term,
            resource=f"grants/{grant.id}",
            detail={"pushed": True, "declined": len(declined)},
        ),
    )
    if approve:  # as on the consent page: a receipt records a grant, not a refusal
        await issue_receipt(session, keys.signer, grant, state, issuer=issuer, now=now)
    await session.commit()
    return grant, state
