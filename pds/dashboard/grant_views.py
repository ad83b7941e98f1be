"""A citizen's grants as the dashboard shows them: who, what they can see, since, until.

The wording of what a service can see is the consent page's own (``screen``), so the
citizen reads the same words when deciding and when checking later.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from connectors.oauth.consent_screen import ConsentScreen, screen
from consent.grants import GrantStatus, state_at
from consent.receipting import client_party
from consent.service import citizens_grant, citizens_grants

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.grants import GrantState

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
