"""Reading the audit log: auditors' search and export, each citizen's own access log.

Pages are keyset pages over the entry id (a UUIDv7, so ids sort by creation):
the cursor is the last id of the page, and the next page starts after it, so
paging never repeats an entry, and entries appended meanwhile land on later
pages. (Ids are made at insert, not commit: an entry whose transaction commits
after a newer id was already paged past is found by a new search, not that walk.)
Exports walk the same keyset in batches, each in its own short read, so a
million rows never sit in memory and no connection is held while a slow client
downloads.

An auditor reading the log is reading personal data, so every search and export
is itself appended to the log and committed: a search's entry before its
results are returned, an export's before its first byte is sent.
"""

from __future__ import annotations

import contextlib
import datetime as dt  # noqa: TC003 - Litestar (msgspec) reads EntryFilter's hints at runtime
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from sqlalchemy import select

from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.models import AuditCheckpoint, AuditEntry
from pds.audit.proofs import InclusionProof, NoCheckpoint, inclusion_paths, latest_checkpoint
from pds.audit.service import append
from pds.errors import InvalidInput

if TYPE_CHECKING:
    from collections.abc import AsyncIterator

    from sqlalchemy import ColumnElement, Select
    from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

DEFAULT_LIMIT: Final = 50
MAX_LIMIT: Final = 500
EXPORT_BATCH: Final = 1000
_MAX_CURSOR_LENGTH: Final = 64
AUDIT_LOG_RESOURCE: Final = "audit/entries"


class InvalidCursor(InvalidInput):
    code = "invalid_cursor"


class InvalidTimeRange(InvalidInput):
    code = "invalid_time_range"


class InvalidLimit(InvalidInput):
    code = "invalid_limit"


@dataclass(frozen=True, slots=True)
class EntryFilter:
    """What an auditor asks for; every field left None matches everything.

    The time range is half-open: ``since`` inclusive, ``until`` exclusive, both
    aware datetimes. ``check`` says whether the filter can be run at all.
    """

    citizen_id: uuid.UUID | None = None
    client_id: str | None = None
    action: Action | None = None
    purpose: str | None = None
    outcome: Outcome | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def check(self) -> None:
        for name, value in (("from", self.since), ("to", self.until)):
            if value is not None and value.utcoffset() is None:
                raise InvalidTimeRange(
                    f"Give `{name}` as an RFC 3339 time with a zone, like 2026-01-31T09:00:00Z.",
                    field=name,
                )
        if self.since is not None and self.until is not None and self.since >= self.until:
            raise InvalidTimeRange("`from` must be earlier than `to`.", field="from")

    def conditions(self) -> list[ColumnElement[bool]]:
        found: list[ColumnElement[bool]] = []
        if self.citizen_id is not None:
            found.append(AuditEntry.citizen_id == self.citizen_id)
        if self.client_id is not None:
            found.append(AuditEntry.client_id == self.client_id)
        if self.action is not None:
            found.append(AuditEntry.action == self.action.value)
        if self.purpose is not None:
            found.append(AuditEntry.purpose == self.purpose)
        if self.outcome is not None:
            found.append(AuditEntry.outcome == self.outcome.value)
        if self.since is not None:
            found.append(AuditEntry.created_at >= self.since)
        if self.until is not None:
            found.append(AuditEntry.created_at < self.until)
        return found

    def described(self) -> dict[str, str | int | bool | None]:
        """The filter as audit detail: only the terms used, ids and codes only."""
        terms: dict[str, str | int | bool | None] = {
            "client": self.client_id,
            "action": self.action.value if self.action else None,
            "purpose": self.purpose,
            "outcome": self.outcome.value if self.outcome else None,
            "from": self.since.isoformat() if self.since else None,
            "to": self.until.isoformat() if self.until else None,
        }
        return {name: value for name, value in terms.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Page:
    entries: list[AuditEntry]
    next_cursor: str | None


@dataclass(frozen=True, slots=True)
class AccessLog:
    """A citizen's page, the checkpoint its proofs are against, and those proofs."""

    page: Page
    checkpoint: AuditCheckpoint | None
    proofs: dict[uuid.UUID, InclusionProof] = field(default_factory=dict)


def encode_cursor(entry_id: uuid.UUID) -> str:
    return str(entry_id)


def decode_cursor(cursor: str | None) -> uuid.UUID | None:
    """The id a cursor stands for; callers must treat cursors as opaque strings."""
    if cursor is None:
        return None
    try:
        if len(cursor) > _MAX_CURSOR_LENGTH:
            raise ValueError(cursor)
        return uuid.UUID(cursor)
    except ValueError as exc:
        raise InvalidCursor("The cursor is not one this server gave out.", field="cursor") from exc


def _check_limit(limit: int) -> None:
    if not 1 <= limit <= MAX_LIMIT:
        raise InvalidLimit(f"`limit` must be between 1 and {MAX_LIMIT}.", field="limit")


def _keyset(
    filters: EntryFilter, after: uuid.UUID | None, *, newest_first: bool = False
) -> Select[AuditEntry]:
    query = select(AuditEntry).where(*filters.conditions())
    if after is not None:
        query = query.where(AuditEntry.id < after if newest_first else AuditEntry.id > after)
    return query.order_by(AuditEntry.id.desc() if newest_first else AuditEntry.id)


async def search_page(
    session: AsyncSession,
    filters: EntryFilter,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
    newest_first: bool = False,
) -> Page:
    """One page of matching entries (oldest first unless asked) and the cursor to the next."""
    filters.check()
    _check_limit(limit)
    after = decode_cursor(cursor)
    query = _keyset(filters, after, newest_first=newest_first).limit(limit + 1)
    rows = list(await session.scalars(query))
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(entries=rows, next_cursor=encode_cursor(rows[-1].id) if more else None)


async def _record(
    session: AsyncSession,
    action: Action,
    auditor_id: uuid.UUID,
    filters: EntryFilter,
    detail: dict[str, str | int | bool | None],
) -> None:
    # End the read first: on SQLite a transaction that has read cannot take the
    # write lock once another writer has committed; a fresh one waits its turn.
    await session.commit()
    append(
        session,
        Entry(
            actor=Actor.AUDITOR,
            action=action,
            actor_id=auditor_id,
            citizen_id=filters.citizen_id,
            resource=AUDIT_LOG_RESOURCE,
            detail={**filters.described(), **detail},
        ),
    )
    await session.commit()


async def auditor_search(
    session: AsyncSession,
    auditor_id: uuid.UUID,
    filters: EntryFilter,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> Page:
    """An auditor's search: the page, once the search itself is on the record."""
    page = await search_page(session, filters, cursor=cursor, limit=limit)
    await _record(session, Action.AUDIT_SEARCH, auditor_id, filters, {"results": len(page.entries)})
    return page


async def start_export(
    session: AsyncSession, auditor_id: uuid.UUID, filters: EntryFilter, *, export_format: str
) -> uuid.UUID | None:
    """Record an export and return its high-water mark: the newest id it may include.

    Fixing the end before streaming means an export is the log as it stood when
    asked for, and never chases entries appended while it downloads.
    """
    filters.check()
    upto = await session.scalar(select(AuditEntry.id).order_by(AuditEntry.id.desc()).limit(1))
    await _record(session, Action.AUDIT_EXPORT, auditor_id, filters, {"format": export_format})
    return upto


async def iter_entries(
    sessions: async_sessionmaker[AsyncSession],
    filters: EntryFilter,
    *,
    upto: uuid.UUID | None,
    batch_size: int = EXPORT_BATCH,
) -> AsyncIterator[AuditEntry]:
    """Every matching entry up to ``upto``, oldest first, ``batch_size`` rows per short read."""
    if upto is None:
        return
    after: uuid.UUID | None = None
    while True:
        async with sessions() as session:
            query = _keyset(filters, after).where(AuditEntry.id <= upto).limit(batch_size)
            batch = list(await session.scalars(query))
        for row in batch:
            yield row
        if len(batch) < batch_size:
            return
        after = batch[-1].id


async def access_log(
    session: AsyncSession,
    citizen_id: uuid.UUID,
    *,
    cursor: str | None = None,
    limit: int = DEFAULT_LIMIT,
) -> AccessLog:
    """A citizen's own entries, newest first, each sequenced one with its inclusion proof.

    Proofs are against the latest checkpoint, read first: an entry sequenced
    after it is shown like a pending one (no proof yet) until the next request.
    """
    checkpoint = None
    with contextlib.suppress(NoCheckpoint):
        checkpoint = await latest_checkpoint(session)
    page = await search_page(
        session, EntryFilter(citizen_id=citizen_id), cursor=cursor, limit=limit, newest_first=True
    )
    proofs: dict[uuid.UUID, InclusionProof] = {}
    if checkpoint is not None:
        size = checkpoint.tree_size
        proven = [
            (row.id, row.leaf_index, row.leaf)
            for row in page.entries
            if row.leaf_index is not None and row.leaf is not None and row.leaf_index < size
        ]
        paths = await inclusion_paths(session, [index for _, index, _ in proven], size)
        proofs = {
            entry_id: InclusionProof(index, size, leaf, paths[index])
            for entry_id, index, leaf in proven
        }
    return AccessLog(page=page, checkpoint=checkpoint, proofs=proofs)
