"""A citizen's credentials as the dashboard shows them: what each is, who vouches for it,
what it says (in the claim labels its type gives) and whether it still counts."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Final

from credentials.service import Held, Shown, held_credentials

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.keys.provider import KeyProvider

_DATE: Final = re.compile(r"\d{4}-\d{2}-\d{2}")
STATUS_WORDS: Final = {
    Shown.VALID: "Valid",
    Shown.REVOKED: "Revoked",
    Shown.SUSPENDED: "Suspended",
    Shown.EXPIRED: "Expired",
}
STATUS_TAGS: Final = {
    Shown.VALID: "green",
    Shown.REVOKED: "red",
    Shown.SUSPENDED: "yellow",
    Shown.EXPIRED: "grey",
}


@dataclass(frozen=True, slots=True)
class ClaimLine:
    label: str
    value: str


@dataclass(frozen=True, slots=True)
class CredentialCard:
    id: uuid.UUID
    name: str
    description: str
    issuer_name: str
    issued_at: dt.datetime
    expires_at: dt.datetime
    status: Shown
    status_words: str
    status_tag: str
    claims: tuple[ClaimLine, ...]
    evidence_id: uuid.UUID | None


def claim_value(value: Any) -> str:
    """A claim's value as words: yes/no, dates as "1 April 2024", lists joined."""
    if isinstance(value, bool):
        return "Yes" if value else "No"
    if isinstance(value, list | tuple):
        return ", ".join(claim_value(part) for part in value)
    if isinstance(value, dict):
        return ", ".join(f"{key.replace('_', ' ')}: {claim_value(v)}" for key, v in value.items())
    if isinstance(value, str) and _DATE.fullmatch(value):
        try:
            return dt.date.fromisoformat(value).strftime("%-d %B %Y")
        except ValueError:
            return value
    return str(value)


def card(held: Held) -> CredentialCard:
    kind = held.kind
    if kind is not None:
        labels = {claim.name: claim.label for claim in kind.claims}
        order = [claim.name for claim in kind.claims]
        order += sorted(name for name in held.claims if name not in labels)
    else:
        labels, order = {}, sorted(held.claims)
    return CredentialCard(
        id=held.id,
        name=kind.display_name if kind else held.vct,
        description=kind.description if kind else "",
        issuer_name=held.issuer_name,
        issued_at=held.issued_at,
        expires_at=held.expires_at,
        status=held.status,
        status_words=STATUS_WORDS[held.status],
        status_tag=STATUS_TAGS[held.status],
        claims=tuple(
            ClaimLine(
                labels.get(name, name.replace("_", " ").capitalize()),
                claim_value(held.claims[name]),
            )
            for name in order
            if name in held.claims
        ),
        evidence_id=held.evidence_id,
    )


async def credential_cards(
    session: AsyncSession, keys: KeyProvider, citizen_id: uuid.UUID, *, base: str, now: dt.datetime
) -> list[CredentialCard]:
    """Every credential the citizen holds, newest first."""
    return [
        card(held) for held in await held_credentials(session, keys, citizen_id, base=base, now=now)
    ]


async def credential_card(
    session: AsyncSession,
    keys: KeyProvider,
    citizen_id: uuid.UUID,
    credential_id: uuid.UUID,
    *,
    base: str,
    now: dt.datetime,
) -> CredentialCard:
    """One of the citizen's credentials; ``CredentialNotFound`` if it is not theirs."""
    [held] = await held_credentials(
        session, keys, citizen_id, base=base, now=now, credential_id=credential_id
    )
    return card(held)
