"""Issuers' Token Status Lists in the database: allocate a slot, flip it, serve the token.

Each issuer client has its own lists, signed with its own issuer key, so a verifier
checks a credential's status with the same keys as the credential. A list holds
``LIST_SIZE`` two-bit entries (32 KiB, a few hundred bytes compressed while few are set);
a full list is closed and a new one opened. Every index handed out is recorded in
``credential_status_allocations`` and never reused, even after the credential's citizen
is erased (the draft forbids reusing a ``uri`` + ``idx`` pair).

The signed token is cached on the row and re-signed whenever an entry changes, so a
revocation is visible to the very next fetch; verifiers may cache it for ``TTL`` seconds
(the token's ``ttl`` claim and ``Cache-Control: max-age`` agree), so a revoked credential
fails verification within one ``TTL`` everywhere. The token lives ``LIFETIME`` and is
re-signed on a fetch once half of that has passed.

Writers lock the list row (``FOR UPDATE`` on PostgreSQL; SQLite's write lock, taken at
BEGIN, does the same), so two revocations on one list cannot lose each other's bit.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Final, cast

from sqlalchemy import select

from credentials.errors import StatusListUnknown
from credentials.keys import issuer_signer
from credentials.models import StatusAllocation, StatusListRow
from credentials.status_list import DEFAULT_BITS, StatusList, allocate_index, sign_token

if TYPE_CHECKING:
    import uuid

    from joserfc.jwk import ECKey
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database
    from pds.keys.provider import KeyProvider

LIST_SIZE: Final = 1 << 17
TTL: Final = 300
LIFETIME: Final = 24 * 3600


def status_uri(base: str, list_id: uuid.UUID) -> str:
    return f"{base.rstrip('/')}/status-lists/{list_id}"


def entries(row: StatusListRow) -> StatusList:
    """The row's list as a ``StatusList`` (a copy: change it, then ``store``)."""
    return StatusList(row.size, row.bits, bytearray(row.data))


async def allocate(
    session: AsyncSession, client_id: str, *, lock: bool
) -> tuple[StatusListRow, int]:
    """A fresh random slot in the client's open list (opening one when needed)."""
    query = (
        select(StatusListRow)
        .where(StatusListRow.issuer_client_id == client_id, StatusListRow.allocated < LIST_SIZE)
        .order_by(StatusListRow.created_at)
        .limit(1)
    )
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        empty = StatusList(LIST_SIZE, DEFAULT_BITS)
        row = StatusListRow(
            issuer_client_id=client_id,
            bits=empty.bits,
            size=empty.size,
            data=bytes(empty.data),
            allocated=0,
        )
        session.add(row)
        await session.flush()
    taken = set(
        await session.scalars(
            select(StatusAllocation.idx).where(StatusAllocation.list_id == row.id)
        )
    )
    idx = allocate_index(row.size, taken)
    session.add(StatusAllocation(list_id=row.id, idx=idx))
    row.allocated = len(taken) + 1
    await session.flush()
    return row, idx


async def locked_list(session: AsyncSession, list_id: uuid.UUID, *, lock: bool) -> StatusListRow:
    query = select(StatusListRow).where(StatusListRow.id == list_id)
    row = await session.scalar(query.with_for_update() if lock else query)
    if row is None:
        raise StatusListUnknown("There is no status list with this id.")
    return row


async def set_entry(
    session: AsyncSession,
    keys: KeyProvider,
    row: StatusListRow,
    idx: int,
    value: int,
    *,
    base: str,
    now: dt.datetime,
) -> None:
    """Write one entry and re-sign the token, in the caller's transaction."""
    status = entries(row)
    status[idx] = value
    row.data = bytes(status.data)
    row.updated_at = now
    await resign(session, keys, row, base=base, now=now)


async def resign(
    session: AsyncSession, keys: KeyProvider, row: StatusListRow, *, base: str, now: dt.datetime
) -> str:
    """Sign the list as it stands with its issuer's current key, and cache the token."""
    signer = await issuer_signer(session, keys, row.issuer_client_id)
    token = sign_token(
        entries(row),
        cast("ECKey", signer.key),
        uri=status_uri(base, row.id),
        now=int(now.timestamp()),
        lifetime=LIFETIME,
        ttl=TTL,
        kid=signer.kid,
    )
    row.token = token
    row.token_expires_at = now + dt.timedelta(seconds=LIFETIME)
    await session.flush()
    return token


def fresh_token(row: StatusListRow, now: dt.datetime) -> str | None:
    """The cached token while more than half its life is left; None when it needs signing."""
    expires = row.token_expires_at
    if row.token is None or expires is None:
        return None
    return row.token if expires - now > dt.timedelta(seconds=LIFETIME // 2) else None


async def current_token(
    session: AsyncSession, keys: KeyProvider, row: StatusListRow, *, base: str, now: dt.datetime
) -> str:
    """The list's token, re-signed first if it is missing or past half its life."""
    return fresh_token(row, now) or await resign(session, keys, row, base=base, now=now)


async def served_token(
    db: Database, keys: KeyProvider, list_id: uuid.UUID, *, base: str, now: dt.datetime
) -> str:
    """What ``GET /status-lists/{id}`` answers: the cached token, or a fresh one (committed)."""
    async with db.read_sessions() as session:
        row = await locked_list(session, list_id, lock=False)
        token = fresh_token(row, now)
    if token is not None:
        return token
    async with db.sessions() as session:
        row = await locked_list(session, list_id, lock=not db.is_sqlite)
        token = await current_token(session, keys, row, base=base, now=now)
        await session.commit()
    return token
