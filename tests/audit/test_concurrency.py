"""Two app processes on one PostgreSQL database, each appending and sequencing at once.

The advisory lock must let exactly one sequencer work at a time, so the tree
ends up with indexes 0..N-1 (no gap, no duplicate), every entry sequenced, one
signed checkpoint per batch with strictly growing sizes, and stored nodes and
roots that agree with a tree recomputed from the stored leaves.
"""

from __future__ import annotations

import asyncio
import base64
import itertools
import json
import os
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from sqlalchemy import select

from pds import migrate
from pds.accounts.models import Account
from pds.audit.compact_range import CompactRange
from pds.audit.leaf import decode_leaf
from pds.audit.merkle import leaf_hash
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode
from pds.audit.note import open_checkpoint
from pds.audit.sequencer import sequence_all
from pds.db import open_database, transaction
from pds.keys.provider import LocalKeyFileProvider
from pds.keys.signing import AUDIT_CHECKPOINTS, public_keys

if TYPE_CHECKING:
    import uuid

    from pds.db import Database
    from pds.keys.provider import KeyProvider
    from pds.settings import Settings

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.skipif(
        not os.environ.get("PDS_TEST_POSTGRES_URL"), reason="PDS_TEST_POSTGRES_URL is not set"
    ),
]

WORKER = Path(__file__).with_name("concurrent_worker.py")
ORIGIN = "pds.test/audit"  # the worker's origin
WORKERS = 2
PER_WORKER = 300
TIMEOUT_S = 45


async def add_citizens(settings: Settings, count: int) -> None:
    db = open_database(settings)
    try:
        async with transaction(db.sessions) as session:
            session.add_all(
                Account(email=f"c{n}@example.com", role="citizen", password_hash="-")
                for n in range(count)
            )
    finally:
        await db.dispose()


def run_workers(settings: Settings, key_file: Path, barrier: Path) -> list[dict[str, Any]]:
    """Start every worker at once, wait for all (bounded), and return their summaries."""
    processes = [
        subprocess.Popen(  # noqa: S603 - our own script, fixed arguments
            [
                sys.executable,
                str(WORKER),
                settings.database_url,
                str(key_file),
                str(barrier),
                str(WORKERS),
                f"worker-{n}",
                str(PER_WORKER),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for n in range(WORKERS)
    ]
    summaries = []
    try:
        for process in processes:
            out, err = process.communicate(timeout=TIMEOUT_S)
            assert process.returncode == 0, err
            summaries.append(json.loads(out))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return summaries


def recompute(
    leaves: list[bytes], sizes: set[int]
) -> tuple[dict[tuple[int, int], bytes], dict[int, bytes]]:
    """Every perfect subtree of the tree over ``leaves``, and its root at each of ``sizes``."""
    compact = CompactRange()
    nodes: dict[tuple[int, int], bytes] = {}
    roots: dict[int, bytes] = {}
    for leaf in leaves:
        nodes.update(
            ((level, index), node) for level, index, node in compact.append(leaf_hash(leaf))
        )
        if compact.size in sizes:
            roots[compact.size] = compact.root()
    return nodes, roots


async def checkpoint_verifier(db: Database) -> Ed25519PublicKey:
    """The one checkpoint key both processes must have shared."""
    async with db.read_sessions() as session:
        [jwk] = (await public_keys(session, AUDIT_CHECKPOINTS)).values()
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


@dataclass(frozen=True)
class Stored:
    entries: list[tuple[uuid.UUID, int | None, bytes | None]]
    checkpoints: list[AuditCheckpoint]
    nodes: dict[tuple[int, int], bytes]
    verifier: Ed25519PublicKey


async def sequence_rest_and_read(settings: Settings, keys: KeyProvider) -> Stored:
    db = open_database(settings)
    try:
        await sequence_all(db, keys, ORIGIN)
        async with db.read_sessions() as session:
            entries = await session.execute(
                select(AuditEntry.id, AuditEntry.leaf_index, AuditEntry.leaf).order_by(
                    AuditEntry.leaf_index
                )
            )
            checkpoints = await session.scalars(
                select(AuditCheckpoint).order_by(AuditCheckpoint.created_at, AuditCheckpoint.id)
            )
            nodes = await session.execute(select(AuditNode.level, AuditNode.index, AuditNode.hash))
            return Stored(
                entries=[(entry_id, index, leaf) for entry_id, index, leaf in entries],
                checkpoints=list(checkpoints),
                nodes={(level, index): node for level, index, node in nodes},
                verifier=await checkpoint_verifier(db),
            )
    finally:
        await db.dispose()


def dense_leaves(stored: Stored, total: int) -> list[bytes]:
    """The leaves in index order, after checking indexes are exactly 0..total-1."""
    assert [index for _, index, _ in stored.entries] == list(range(total))  # none NULL either
    leaves: list[bytes] = []
    for entry_id, _, leaf in stored.entries:
        assert leaf is not None
        assert decode_leaf(leaf).entry_id == str(entry_id)  # each row kept its own leaf
        leaves.append(leaf)
    return leaves


@pytest.mark.parametrize("backend", ["postgres"])
def test_two_processes_appending_and_sequencing_build_one_tree(
    empty_settings: Settings, tmp_path: Path
) -> None:
    migrate.upgrade(empty_settings)
    asyncio.run(add_citizens(empty_settings, 4))
    key_file = tmp_path / "kek.json"
    keys = LocalKeyFileProvider.open(key_file)  # created once, shared by every process
    barrier = tmp_path / "barrier"
    barrier.mkdir()

    summaries = run_workers(empty_settings, key_file, barrier)

    assert [s["appended"] for s in summaries] == [PER_WORKER] * WORKERS
    # Both sequencers worked, and at least once one found the other holding the lock.
    assert all(s["sequenced"] > 0 for s in summaries), summaries
    assert sum(s["turns_refused"] for s in summaries) > 0, summaries

    stored = asyncio.run(sequence_rest_and_read(empty_settings, keys))

    total = WORKERS * PER_WORKER
    leaves = dense_leaves(stored, total)
    sizes = [checkpoint.tree_size for checkpoint in stored.checkpoints]
    assert len(sizes) > WORKERS, sizes
    assert all(a < b for a, b in itertools.pairwise(sizes)), sizes
    assert sizes[-1] == total
    nodes, roots = recompute(leaves, set(sizes))
    assert stored.nodes == nodes
    for checkpoint in stored.checkpoints:
        assert checkpoint.root_hash == roots[checkpoint.tree_size]
        signed = open_checkpoint(checkpoint.note, ORIGIN, {ORIGIN: stored.verifier})
        assert (signed.size, signed.root_hash) == (checkpoint.tree_size, checkpoint.root_hash)
