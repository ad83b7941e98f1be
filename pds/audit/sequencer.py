"""The sequencer: folds pending audit entries into the Merkle tree and signs a checkpoint.

Each batch runs in one transaction: assign indexes, store the exact leaf bytes,
store every perfect subtree that completes, sign a checkpoint. On SQLite the read
path's group commit places its own entries as it inserts them (``place_new``); the
sequencer then only signs for them. Exactly one sequencer works at a time: on
PostgreSQL a transaction-scoped advisory lock (others skip their turn), on SQLite the
write lock every writing transaction takes at BEGIN. Entries wait between their append
and their batch; the sequencer inside ``pds serve`` runs every second to keep that
window short.

The batch is plain Core statements over one blocking connection
(``Database.run_write``), not ORM objects through the async driver: it runs in the
server's own process, where a thousand tracked rows, flushed statement by statement
with thread hand-offs for each, cost more CPU (and GIL the requests need) than the
hashing the batch is for.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any, Final, NamedTuple, cast
from urllib.parse import urlsplit

from sqlalchemy import bindparam, func, insert, select, text, update

from pds.accounts.models import Account
from pds.audit.compact_range import CompactRange
from pds.audit.leaf import LeafFields, encode_leaf, new_salt, subject_commitment
from pds.audit.merkle import leaf_hash, peak_positions
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode, AuditSubject
from pds.audit.note import Checkpoint, sign_note
from pds.audit.proofs import read_nodes_on
from pds.keys.signing import AUDIT_CHECKPOINTS, active_signing_key_on

if TYPE_CHECKING:
    import datetime as dt
    import uuid

    from sqlalchemy import Connection, Table

    from pds.db import Database
    from pds.keys.provider import KeyProvider

log = logging.getLogger("pds.audit.sequencer")

BATCH_SIZE: Final = 1000
ADVISORY_LOCK_KEY: Final = 0x5D5A_0D17  # any constant shared by every PDS process


class PendingEntry(NamedTuple):
    """The columns of an ``AuditEntry`` its leaf is made of, as the sequencer reads them."""

    id: uuid.UUID
    created_at: dt.datetime
    actor: str
    actor_id: uuid.UUID | None
    action: str
    outcome: str
    citizen_id: uuid.UUID | None
    client_id: str | None
    grant_id: uuid.UUID | None
    purpose: str | None
    resource: str | None
    request_id: str | None
    detail: dict[str, Any]


_ENTRIES: Final = cast("Table", AuditEntry.__table__)
_SUBJECTS: Final = cast("Table", AuditSubject.__table__)
_NODES: Final = cast("Table", AuditNode.__table__)
_CHECKPOINTS: Final = cast("Table", AuditCheckpoint.__table__)
_PENDING: Final = (
    select(*(_ENTRIES.c[name] for name in PendingEntry._fields))
    .where(_ENTRIES.c.leaf_index.is_(None))
    .order_by(_ENTRIES.c.id)
    .limit(bindparam("b_limit"))
)
# Parameters are named apart from the columns: an UPDATE's SET clause claims those names.
_PLACE: Final = (
    update(_ENTRIES)
    .where(_ENTRIES.c.id == bindparam("b_id"))
    .values(leaf=bindparam("b_leaf"), leaf_index=bindparam("b_leaf_index"))
)
_FORGET_CITIZEN: Final = (
    update(_ENTRIES).where(_ENTRIES.c.id == bindparam("b_id")).values(citizen_id=None)
)
_FORGET_CITIZEN_AND_ACTOR: Final = _FORGET_CITIZEN.values(actor_id=None)
# Built once, like the statements above: the group commit runs these for every batch of
# reads, and building and cache-keying a statement cost more than running it.
_HIGHEST_INDEX: Final = select(func.max(_ENTRIES.c.leaf_index))
_SALTS: Final = select(_SUBJECTS.c.citizen_id, _SUBJECTS.c.salt).where(
    _SUBJECTS.c.citizen_id.in_(bindparam("b_ids", expanding=True))
)
_LIVE_ACCOUNTS: Final = select(Account.id).where(Account.id.in_(bindparam("b_ids", expanding=True)))
_ADD_SALTS: Final = insert(_SUBJECTS)
_ADD_NODES: Final = insert(_NODES)


def log_origin(base_url: str) -> str:
    """The checkpoint origin (and note key name): this PDS's host plus '/audit'."""
    parts = urlsplit(base_url)
    return f"{parts.netloc}{parts.path.rstrip('/')}/audit"


def leaf_fields(row: AuditEntry | PendingEntry, salt: bytes | None) -> LeafFields:
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


def _take_turn(connection: Connection) -> bool:
    if connection.dialect.name != "postgresql":
        return True  # SQLite: this transaction already holds the database's write lock
    taken = connection.scalar(
        text("SELECT pg_try_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY}
    )
    return bool(taken)


def tree_size(connection: Connection) -> int:
    """How many entries the tree holds (indexes are dense from 0)."""
    highest = connection.scalar(_HIGHEST_INDEX)
    return 0 if highest is None else int(highest) + 1


def _compact_range(connection: Connection, size: int) -> CompactRange:
    positions = peak_positions(size)
    if not positions:
        return CompactRange()
    stored = read_nodes_on(connection, positions)
    return CompactRange.from_peaks(size, [stored[position] for position in positions])


def _salts(connection: Connection, citizen_ids: set[uuid.UUID]) -> dict[uuid.UUID, bytes]:
    """Salts for these citizens, made for any live account that has none yet."""
    if not citizen_ids:
        return {}
    found: dict[uuid.UUID, bytes] = dict(
        connection.execute(_SALTS, {"b_ids": list(citizen_ids)}).all()
    )
    missing = citizen_ids - found.keys()
    if missing:
        live = connection.scalars(_LIVE_ACCOUNTS, {"b_ids": list(missing)}).all()
        made = {citizen_id: new_salt() for citizen_id in live}
        if made:
            connection.execute(_ADD_SALTS, [{"citizen_id": c, "salt": s} for c, s in made.items()])
            found.update(made)
    return found


def _forget_erased(row: PendingEntry, salts: dict[uuid.UUID, bytes]) -> PendingEntry:
    """Clear the bare id of a citizen erased before this entry was sequenced.

    Erasure clears the ids of entries committed before it; an entry that
    committed concurrently, just after, is caught here, so no row keeps the
    id of a person who no longer has an account (and so no salt).
    """
    if row.citizen_id is None or row.citizen_id in salts:
        return row
    if row.actor_id == row.citizen_id:
        return row._replace(citizen_id=None, actor_id=None)
    return row._replace(citizen_id=None)


def _sequence(
    connection: Connection, keys: KeyProvider, origin: str, limit: int, *, sign_full: bool
) -> int:
    """One batch, in the transaction ``Database.run_write`` opened."""
    if not _take_turn(connection):
        return 0
    rows = [PendingEntry._make(row) for row in connection.execute(_PENDING, {"b_limit": limit})]
    if not rows:
        _sign_if_behind(connection, keys, origin)
        return 0
    compact = _compact_range(connection, tree_size(connection))
    salts = _salts(connection, {row.citizen_id for row in rows if row.citizen_id})
    placed: list[dict[str, object]] = []
    forget_citizen: list[dict[str, object]] = []
    forget_both: list[dict[str, object]] = []
    nodes: list[dict[str, object]] = []
    for pending in rows:
        row, leaf, index = _place(pending, salts, compact, nodes)
        # Only the ids cleared here are written: an erasure may have cleared others since.
        if row.citizen_id != pending.citizen_id:
            cleared = forget_both if row.actor_id != pending.actor_id else forget_citizen
            cleared.append({"b_id": row.id})
        placed.append({"b_id": row.id, "b_leaf": leaf, "b_leaf_index": index})
    connection.execute(_PLACE, placed)
    if forget_citizen:
        connection.execute(_FORGET_CITIZEN, forget_citizen)
    if forget_both:
        connection.execute(_FORGET_CITIZEN_AND_ACTOR, forget_both)
    connection.execute(_ADD_NODES, nodes)
    if sign_full or len(rows) < limit:
        _sign_checkpoint(connection, keys, origin, compact)
    return len(rows)


def place_new(connection: Connection, rows: list[dict[str, Any]]) -> bool:
    """Fold ``rows``, audit entries about to be inserted by this transaction, into the
    tree right here, if this transaction can take the sequencer's turn; False (the rows
    untouched, left for the sequencer) if another holds it.

    The read path's group commit calls it on SQLite: the entries' values are in memory
    and the write lock is held anyway, so reading them back, parsing them and updating
    every row in a batch of the sequencer's would be work done twice (measured: 4% less
    CPU per read than leaving them to the sequencer). Each row gains its ``leaf`` and
    ``leaf_index`` (and loses a citizen's bare id exactly as ``_forget_erased`` says);
    the completed subtrees are stored; the checkpoint is left to the sequencer's next
    turn (``_sign_if_behind``). Entries placed here may take indexes ahead of older entries
    still pending from other writers: the tree's order is the order of placement.
    """
    if not rows or not _take_turn(connection):
        return False
    compact = _compact_range(connection, tree_size(connection))
    salts = _salts(connection, {row["citizen_id"] for row in rows if row["citizen_id"]})
    nodes: list[dict[str, object]] = []
    for row in rows:
        pending = PendingEntry(*(row[name] for name in PendingEntry._fields))
        entry, row["leaf"], row["leaf_index"] = _place(pending, salts, compact, nodes)
        row["citizen_id"], row["actor_id"] = entry.citizen_id, entry.actor_id
    connection.execute(_ADD_NODES, nodes)
    return True


def _place(
    pending: PendingEntry,
    salts: dict[uuid.UUID, bytes],
    compact: CompactRange,
    nodes: list[dict[str, object]],
) -> tuple[PendingEntry, bytes, int]:
    """One entry into the tree, the same whoever places it: the entry as committed (an
    erased citizen's bare id gone), its leaf bytes and its index; the subtrees its leaf
    completes are added to ``nodes``."""
    row = _forget_erased(pending, salts)
    leaf = encode_leaf(leaf_fields(row, salts.get(row.citizen_id) if row.citizen_id else None))
    index = compact.size
    nodes.extend(
        {"level": level, "index": node_index, "hash": node}
        for level, node_index, node in compact.append(leaf_hash(leaf))
    )
    return row, leaf, index


def _sign_if_behind(connection: Connection, keys: KeyProvider, origin: str) -> None:
    """Sign the tree as it stands if its last batch went unsigned (see ``sequence_batch``)."""
    size = tree_size(connection)
    signed = connection.scalar(select(func.max(_CHECKPOINTS.c.tree_size))) or 0
    if size > signed:
        _sign_checkpoint(connection, keys, origin, _compact_range(connection, size))


def _sign_checkpoint(
    connection: Connection, keys: KeyProvider, origin: str, compact: CompactRange
) -> None:
    signing_key = active_signing_key_on(connection, keys, AUDIT_CHECKPOINTS)
    checkpoint = Checkpoint(origin=origin, size=compact.size, root_hash=compact.root())
    connection.execute(
        insert(_CHECKPOINTS).values(
            tree_size=checkpoint.size,
            root_hash=checkpoint.root_hash,
            note=sign_note(checkpoint.body(), origin, signing_key.private_key),
            key_id=signing_key.kid,
        )
    )


async def sequence_batch(
    db: Database,
    keys: KeyProvider,
    origin: str,
    limit: int = BATCH_SIZE,
    *,
    brief: bool = False,
    sign_full: bool = True,
) -> int:
    """Sequence up to ``limit`` pending entries; returns how many (0 if none or not our turn).

    A batch that leaves nothing pending is always signed. ``sign_full=False``: a full batch
    (more may be waiting) is not, so a server working off a backlog in small batches signs
    a checkpoint at the pace it chooses rather than one per batch; the next batch that
    finds nothing pending signs the tree as it stands. ``brief``: see
    ``Database.run_write``.
    """
    return await db.run_write(
        lambda connection: _sequence(connection, keys, origin, limit, sign_full=sign_full),
        brief=brief,
    )


async def sequence_all(db: Database, keys: KeyProvider, origin: str) -> int:
    """Sequence until nothing is pending (or another sequencer holds the turn)."""
    total = 0
    while count := await sequence_batch(db, keys, origin):
        total += count
    return total
