"""A citizen's grants as the dashboard shows them: who, what they can see, since, until.

The wording of what a service can see is the consent page's own (``screen``), so the
citizen reads the same words when deciding and when checking later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.oauth.consent_screen import ConsentScreen, screen
from consent.grants import GrantStatus, state_at
from consent.inbox import AlreadyAnswered, pending_for
from consent.receipting import client_party
from consent.service import GrantNotFound, citizens_grant, citizens_grants

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.grants import GrantState
    from consent.models import Grant

STATUS_WORDS = {
    GrantStatus.REQUESTED: "Waiting for your answer",
    GrantStatus.ACTIVE: "Can see your data",
    GrantStatus.REFUSED: "You said no",
    GrantStatus.REVOKED: "Stopped",
    GrantStatus.EXPIRED: "Ended",
}
STATUS_TAGS = {
    GrantStatus.REQUESTED: "yellow",
    GrantStatus.ACTIVE: "green",
    GrantStatus.REFUSED: "grey",
    GrantStatus.REVOKED: "red",
    GrantStatus.EXPIRED: "grey",
}


@dataclass(frozen=True, slots=True)
class GrantCard:
    id: uuid.UUID
    status: GrantStatus
    status_words: str
    status_tag: str
    screen: ConsentScreen
    since: dt.datetime | None
    until: dt.datetime | None
    ended: dt.datetime | None

    @property
    def active(self) -> bool:
        return self.status is GrantStatus.ACTIVE

    @property
    def has_receipt(self) -> bool:
        return self.status is not GrantStatus.REQUESTED


async def _card(
    session: AsyncSession, grant_id: uuid.UUID, state: GrantState, now: dt.datetime
) -> GrantCard:
    current = state_at(state, now)
    party = await client_party(session, current.client_id)
    return GrantCard(
        id=grant_id,
        status=current.status,
        status_words=STATUS_WORDS[current.status],
        status_tag=STATUS_TAGS[current.status],
        screen=screen(
            current.scope,
            client_name=party.name,
            organisation=party.organisation,
            kind=party.kind,
            privacy_notice_url=party.privacy_notice_url,
        ),
        since=current.decided_at,
        until=current.expires_at,
        ended=current.ended_at,
    )


async def grant_cards(
    session: AsyncSession, citizen_id: uuid.UUID, now: dt.datetime
) -> list[GrantCard]:
    """Every grant, newest first (answered or not)."""
    found = await citizens_grants(session, citizen_id)
    return [await _card(session, grant.id, state, now) for grant, state in found]


async def grant_card(
    session: AsyncSession, citizen_id: uuid.UUID, grant_id: uuid.UUID, now: dt.datetime
) -> GrantCard:
    grant, state = await citizens_grant(session, citizen_id, grant_id)
    return await _card(session, grant.id, state, now)


# --- requests services pushed, waiting for an answer ---------------------------------------


@dataclass(frozen=True, slots=True)
class RequestCard:
    """A pushed request as the inbox shows it, worded as the consent page words it."""

    id: uuid.UUID
    screen: ConsentScreen
    asked_at: dt.datetime

    @property
    def optional(self) -> frozenset[int]:
        return frozenset(item.index for item in self.screen.items if not item.required)


async def _request_card(session: AsyncSession, grant: Grant, state: GrantState) -> RequestCard:
    party = await client_party(session, state.client_id)
    return RequestCard(
        id=grant.id,
        screen=screen(
            state.request,
            client_name=party.name,
            organisation=party.organisation,
            kind=party.kind,
            privacy_notice_url=party.privacy_notice_url,
        ),
        asked_at=state.requested_at,
    )


async def request_cards(session: AsyncSession, citizen_id: uuid.UUID) -> list[RequestCard]:
    """The requests waiting for this citizen's answer, oldest first."""
    return [
        await _request_card(session, grant, state)
        for grant, state in await pending_for(session, citizen_id)
    ]


async def waiting_count(session: AsyncSession, citizen_id: uuid.UUID) -> int:
    return len(await pending_for(session, citizen_id))


async def request_card(
    session: AsyncSession, citizen_id: uuid.UUID, grant_id: uuid.UUID
) -> RequestCard:
    """One pushed request still waiting; ``GrantNotFound`` for anything not this citizen's
    pushed request, ``AlreadyAnswered`` once it has an answer."""
    grant, state = await citizens_grant(session, citizen_id, grant_id)
    if not grant.pushed:
        raise GrantNotFound("There is no such request.")
    if state.status is not GrantStatus.REQUESTED:
        raise AlreadyAnswered("This request has already been answered.")
    return await _request_card(session, grant, state)
