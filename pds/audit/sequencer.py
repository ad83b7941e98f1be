"""The sequencer: folds pending audit entries into the Merkle tree and signs a checkpoint.

Each batch runs in one transaction: assign indexes, store the exact leaf bytes,
store every perfect subtree that completes, sign a checkpoint. Exactly one
sequencer works at a time: on PostgreSQL a transaction-scoped advisory lock
(others skip their turn), on SQLite the write lock every writing transaction
takes at BEGIN. Entries wait between their append and their batch; the
sequencer inside ``pds serve`` runs every second to keep that window short.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Final
from urllib.parse import urlsplit

from sqlalchemy import func, insert, select, text

from pds.accounts.models import Account
from pds.audit.leaf import LeafFields, encode_leaf, new_salt, subject_commitment
from pds.audit.merkle import CompactRange, leaf_hash, peak_positions
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode, AuditSubject
from pds.audit.note import Checkpoint, sign_note
from pds.audit.proofs import read_nodes
from pds.keys.signing import AUDIT_CHECKPOINTS, active_signing_key

if TYPE_CHECKING:
    import uuid

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.audit.sequencer")

BATCH_SIZE: Final = 1000
ADVISORY_LOCK_KEY: Final = 0x5D5A_0D17  # any constant shared by every PDS process


def log_origin(base_url: str) -> str:
    """The checkpoint origin (and note key name): this PDS's host plus '/audit'."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit"


def leaf_fields(row: AuditEntry, salt: bytes | None) -> LeafFields:
    """What a row commits to; the citizen only as a commitment under their salt."""
    subject = (
        subject_commitment(salt, row.citizen_id) if row.citizen_id and salt is not None else None
    )
    if row.actor_id is not None and row.actor_id == row.citizen_id:
        actor_ref = subject
    else:
        actor_ref = str(row.actor_id) if row.actor_id else None
    return LeafFields(
        entry_id=str(row.id),
        time=row.created_at.isoformat(),
        actor=row.actor,
        actor_ref=actor_ref,
        action=row.action,
        outcome=row.outcome,
        subject=subject,
        client_id=row.client_id,
        grant_id=str(row.grant_id) if row.grant_id else None,
        purpose=row.purpose,
        resource=row.resource,
        request_id=row.request_id,
        detail=dict(row.detail),
    )


async def _take_turn(session: AsyncSession) -> bool:
    if session.get_bind().dialect.name != "postgresql":
        return True  # SQLite: this transaction already holds the database's write lock
    taken = await session.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
    )
    return bool(taken)


async def tree_size(session: AsyncSession) -> int:
    """How many entries the tree holds (indexes are dense from 0)."""
    highest = await session.scalar(select(func.max(AuditEntry.leaf_index)))
    return 0 if highest is None else int(highest) + 1


async def _compact_range(session: AsyncSession, size: int) -> CompactRange:
    positions = peak_positions(size)
    if not positions:
        return CompactRange()
    stored = await read_nodes(session, positions)
    return CompactRange.from_peaks(size, [stored[position] for position in positions])


async def _salts(session: AsyncSession, citizen_ids: set[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """Salts for these citizens, made for any live account that has none yet."""
    if not citizen_ids:
        return {}
    found = dict(
        (
            await session.execute(
                select(AuditSubject.citizen_id, AuditSubject.salt).where(
                    AuditSubject.citizen_id.in_(citizen_ids)
                )
            )
        ).all()
    )
    missing = citizen_ids - found.keys()
    if missing:
        live = set(await session.scalars(select(Account.id).where(Account.id.in_(missing))))
        for citizen_id in live:
            found[citizen_id] = new_salt()
            session.add(AuditSubject(citizen_id=citizen_id, salt=found[citizen_id]))
    return found


def _forget_erased(row: AuditEntry, salts: dict[uuid.UUID, bytes]) -> None:
    """Clear the bare id of a citizen erased before this entry was sequenced.

    Erasure clears the ids of entries committed before it; an entry that
    committed concurrently, just after, is caught here, so no row keeps the
    id of a person who no longer has an account (and so no salt).
    """
    if row.citizen_id is not None and row.citizen_id not in salts:
        if row.actor_id == row.citizen_id:
            row.actor_id = None
        row.citizen_id = None


async def sequence_batch(
    db: Database, keys: KeyProvider, origin: str, limit: int = BATCH_SIZE
) -> int:
    """Sequence up to ``limit`` pending entries; returns how many (0 if none or not our turn)."""
    async with db.sessions() as session:
        if not await _take_turn(session):
            return 0
        rows = list(
            await session.scalars(
                select(AuditEntry)
                .where(AuditEntry.leaf_index.is_(None))
                .order_by(AuditEntry.id)
                .limit(limit)
            )
        )
        if not rows:
            return 0
        compact = await _compact_range(session, await tree_size(session))
        salts = await _salts(session, {row.citizen_id for row in rows if row.citizen_id})
        nodes: list[dict[str, object]] = []
        for row in rows:
            _forget_erased(row, salts)
            row.leaf = encode_leaf(
                leaf_fields(row, salts.get(row.citizen_id) if row.citizen_id else None)
            )
            row.leaf_index = compact.size
            nodes.extend(
                {"level": level, "index": index, "hash": node}
                for level, index, node in compact.append(leaf_hash(row.leaf))
            )
        await session.flush()
        await session.execute(insert(AuditNode), nodes)
        await _sign_checkpoint(session, keys, origin, compact)
        await session.commit()
    return len(rows)


async def _sign_checkpoint(
    session: AsyncSession, keys: KeyProvider, origin: str, compact: CompactRange
) -> None:
    signing_key = await active_signing_key(session, keys, AUDIT_CHECKPOINTS)
    checkpoint = Checkpoint(origin=origin, size=compact.size, root_hash=compact.root())
    session.add(
        AuditCheckpoint(
            tree_size=checkpoint.size,
            root_hash=checkpoint.root_hash,
            note=sign_note(checkpoint.body(), origin, signing_key.private_key),
            key_id=signing_key.kid,
        )
    )


async def sequence_all(db: Database, keys: KeyProvider, origin: str) -> int:
    """Sequence until nothing is pending (or another sequencer holds the turn)."""
    total = 0
    while count := await sequence_batch(db, keys, origin):
        total += count
    return total
