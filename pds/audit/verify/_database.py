"""``verify_log``: stream the stored audit log from the database through ``LogVerifier``.

Entries are read in ``leaf_index`` order in batches, each with the tree nodes it
completes and the checkpoints it reaches, so memory stays flat however long the
log. Rows whose citizen id was cleared are finally tested against the live salts.
"""

from __future__ import annotations

import base64
import binascii
from typing import TYPE_CHECKING, Final, cast

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import and_, func, or_, select

from pds.audit.leaf import subject_commitment
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode, AuditSubject
from pds.audit.sequencer import leaf_fields
from pds.audit.verify._core import (
    LogVerifier,
    StoredCheckpoint,
    StoredEntry,
    Tampered,
    VerifyResult,
)
from pds.keys.signing import AUDIT_CHECKPOINTS, public_keys

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping, Sequence

    from sqlalchemy import Select
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database

BATCH_SIZE: Final = 2000


async def verify_log(
    db: Database,
    origin: str,
    *,
    trusted_note: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    batch_size: int = BATCH_SIZE,
) -> VerifyResult:
    """Verify the stored log against its checkpoints (and a trusted one, if given).

    ``progress(done, total)`` is called after each batch. Entries sequenced
    after the walk starts are left for the next run.
    """
    trusted_size: int | None = None
    verifier: LogVerifier | None = None
    failure: Tampered | None = None
    try:
        async with db.read_sessions() as session:
            keys = await _checkpoint_keys(session)
            total = await _extent(session)
        verifier = LogVerifier(origin, keys)
        if trusted_note is not None:
            trusted_size = verifier.trust(trusted_note).size
        await _walk(db, verifier, total, batch_size, progress)
    except Tampered as e:
        failure = e
    if verifier is not None and verifier.cleared_subjects:
        # Every cleared row precedes any other failure, so an unlinking wins.
        failure = verifier.unlinked(await _live_subjects(db, verifier.cleared_subjects)) or failure
    return VerifyResult(
        ok=failure is None,
        entries_checked=verifier.entries_checked if verifier else 0,
        checkpoints_checked=verifier.checkpoints_checked if verifier else 0,
        first_bad_index=failure.index if failure else None,
        reason=failure.reason if failure else "",
        checkpoint_size=failure.checkpoint_size if failure else None,
        trusted_size=trusted_size,
    )


async def _walk(
    db: Database,
    verifier: LogVerifier,
    total: int,
    batch_size: int,
    progress: Callable[[int, int], None] | None,
) -> None:
    fed = -1  # checkpoints up to this size have been handed to the verifier
    while True:
        start = verifier.size
        async with db.read_sessions() as session:
            rows = (await session.execute(_entry_batch(start, total, batch_size))).all()
            end = start + len(rows)  # without gaps, these rows are exactly [start, end)
            checkpoints = await _checkpoints(session, fed, end)
            nodes = await _nodes(session, start, end)
        for checkpoint in checkpoints:
            verifier.checkpoint(checkpoint)
        fed = end
        for row, salt in rows:
            verifier.entry(_stored_entry(row, salt, nodes))
        if progress is not None and rows:
            progress(verifier.size, total)
        if len(rows) < batch_size:
            break
    async with db.read_sessions() as session:
        beyond = await _checkpoints(session, fed, total, limit=1)
        orphan = await session.scalar(
            select(func.min(AuditNode.index)).where(
                AuditNode.level == 0, AuditNode.index >= verifier.size, AuditNode.index < total
            )
        )
    for checkpoint in beyond:
        verifier.checkpoint(checkpoint)
    verifier.end(orphan)


def _entry_batch(start: int, total: int, limit: int) -> Select[AuditEntry, bytes]:
    return (
        select(AuditEntry, AuditSubject.salt)
        .outerjoin(AuditSubject, AuditSubject.citizen_id == AuditEntry.citizen_id)
        .where(AuditEntry.leaf_index >= start, AuditEntry.leaf_index < total)
        .order_by(AuditEntry.leaf_index)
        .limit(limit)
    )


def _stored_entry(
    row: AuditEntry, salt: bytes | None, nodes: Mapping[int, dict[int, bytes]]
) -> StoredEntry:
    index = cast("int", row.leaf_index)  # the batch query selects sequenced rows only
    return StoredEntry(
        index=index,
        leaf=row.leaf,
        recomputed=leaf_fields(row, salt),
        citizen_cleared=row.citizen_id is None,
        actor_cleared=row.actor_id is None,
        nodes=nodes.get(index, {}),
    )


async def _nodes(session: AsyncSession, start: int, end: int) -> dict[int, dict[int, bytes]]:
    """The stored subtrees leaves ``[start, end)`` complete, by completing leaf, then level.

    Subtree (level, k) completes at leaf ``((k + 1) << level) - 1``, so at each
    level those are exactly ``start >> level <= k < end >> level``.
    """
    ranges = [
        and_(AuditNode.level == level, AuditNode.index >= lo, AuditNode.index < hi)
        for level in range(end.bit_length())
        if (lo := start >> level) < (hi := end >> level)
    ]
    if not ranges:
        return {}
    rows = await session.execute(
        select(AuditNode.level, AuditNode.index, AuditNode.hash).where(or_(*ranges))
    )
    by_leaf: dict[int, dict[int, bytes]] = {}
    for level, index, node in rows:
        by_leaf.setdefault(((index + 1) << level) - 1, {})[level] = node
    return by_leaf


async def _checkpoints(
    session: AsyncSession, after: int, upto: int, limit: int | None = None
) -> Sequence[StoredCheckpoint]:
    rows = await session.execute(
        select(AuditCheckpoint.tree_size, AuditCheckpoint.root_hash, AuditCheckpoint.note)
        .where(AuditCheckpoint.tree_size > after, AuditCheckpoint.tree_size <= upto)
        .order_by(AuditCheckpoint.tree_size)
        .limit(limit)
    )
    return [StoredCheckpoint(size, root, note) for size, root, note in rows]


async def _extent(session: AsyncSession) -> int:
    """How far the log reaches by any account: entries, checkpoints or leaf nodes."""
    highest_entry, highest_checkpoint, highest_node = (
        await session.execute(
            select(
                select(func.max(AuditEntry.leaf_index)).scalar_subquery(),
                select(func.max(AuditCheckpoint.tree_size)).scalar_subquery(),
                select(func.max(AuditNode.index)).where(AuditNode.level == 0).scalar_subquery(),
            )
        )
    ).one()
    return max(
        -1 if highest_entry is None else highest_entry + 1,
        highest_checkpoint or 0,
        -1 if highest_node is None else highest_node + 1,
        0,
    )


async def _checkpoint_keys(session: AsyncSession) -> list[Ed25519PublicKey]:
    """Every key the log has signed checkpoints with, retired ones included."""
    keys = []
    for kid, jwk in (await public_keys(session, AUDIT_CHECKPOINTS)).items():
        try:
            x = str(jwk["x"])
            raw = base64.urlsafe_b64decode(x + "=" * (-len(x) % 4))
            keys.append(Ed25519PublicKey.from_public_bytes(raw))
        except (KeyError, ValueError, binascii.Error) as e:
            raise Tampered(f"the checkpoint signing key {kid} is malformed") from e
    return keys


async def _live_subjects(db: Database, wanted: Mapping[str, int]) -> list[str]:
    """Which of ``wanted`` are the commitments of citizens who still have a salt."""
    found = []
    async with db.read_sessions() as session:
        rows = await session.stream(select(AuditSubject.citizen_id, AuditSubject.salt))
        async for citizen_id, salt in rows:
            if (commitment := subject_commitment(salt, citizen_id)) in wanted:
                found.append(commitment)
    return found
