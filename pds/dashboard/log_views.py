"""Access-log lines in plain English (``pds.audit.wording``), for citizens and auditors.

``wording`` names a service by its client id; a page can do better, so services are
named as registered, and the purpose's DPV term is shown by its reviewed label.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy.exc import NoResultFound

from consent.receipting import client_party
from consent.vocabulary import Purpose
from pds.audit.wording import describe_action, describe_actor, describe_resource

if TYPE_CHECKING:
    import datetime as dt
    import uuid
    from collections.abc import Iterable, Mapping

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.audit.models import AuditEntry


@dataclass(frozen=True, slots=True)
class LogLine:
    id: uuid.UUID
    when: dt.datetime
    sentence: str
    why: str | None
    outcome: str
    sequenced: bool


def purpose_words(term: str | None) -> str | None:
    if term is None:
        return None
    try:
        return Purpose(term).label
    except ValueError:
        return term


async def client_names(session: AsyncSession, entries: Iterable[AuditEntry]) -> dict[str, str]:
    """The registered name of every service the entries mention (unknown ones left out)."""
    names: dict[str, str] = {}
    for client_id in {entry.client_id for entry in entries if entry.client_id}:
        try:
            names[client_id] = (await client_party(session, client_id)).name
        except NoResultFound:
            continue
    return names


def log_line(
    entry: AuditEntry, viewer_id: uuid.UUID, names: Mapping[str, str] | None = None
) -> LogLine:
    """One plain sentence (for example, Your data was read, by Housing Options) and its reason."""
    who = describe_actor(
        actor=entry.actor,
        actor_id=entry.actor_id,
        viewer_id=viewer_id,
        action=entry.action,
        outcome=entry.outcome,
        client_id=entry.client_id,
    )
    who = (names or {}).get(who, who)
    what = describe_action(entry.action)
    data = describe_resource(entry.resource)
    said = data and data.removeprefix("a ").removeprefix("the ") in what.lower()
    sentence = f"{what}, by {who}" + (f" ({data})" if data and not said else "")
    return LogLine(
        id=entry.id,
        when=entry.created_at,
        sentence=sentence,
        why=purpose_words(entry.purpose),
        outcome=entry.outcome,
        sequenced=entry.leaf_index is not None,
    )


def b64(data: bytes) -> str:
    return base64.b64encode(data).decode("ascii")
