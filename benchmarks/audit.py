"""Audit log costs, each against a baseline measured in the same run.

* **Sequencer throughput.** N entries are appended with ``pds.audit.service.append``
  in committed transactions of ``APPEND_CHUNK`` (the baseline), then
  ``sequence_all`` folds them into the tree. Once on an empty log, once on top of
  the largest log the proof benchmark built, where a per-batch cost that grows
  with the log would show.
* **Inclusion proofs.** One database grows through each size: every perfect
  subtree, one entry row per leaf and a checkpoint are bulk-loaded (building a
  million entries through the sequencer would take minutes and measure nothing
  new), then ``prove_inclusion`` is timed, and its proof verified, for random
  indexes inside an open read transaction. The ratio to the smallest size is the
  growth (target: at most 3x from 10^3 to 10^6).
* **Request cost.** A minimal authenticated read (``resolve_session`` in a read
  transaction, as ``GET /api/v1/me`` does) against the same read in a write
  transaction that appends one entry and commits (target: under 10% more). A
  write transaction that only commits splits the append from the transaction it
  needs, and the whole ``GET /api/v1/me`` through the app in-process shows what
  the added time amounts to in a request. Variants take turns; medians are kept.

SQLite always; PostgreSQL when ``--postgres URL`` or ``PDS_TEST_POSTGRES_URL`` names a
server (a fresh database is created beside it and dropped afterwards).

Run with ``python -m benchmarks.audit [--quick] [--postgres URL]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import delete, insert, text

from benchmarks._audit_requests import request_rows
from benchmarks._scratch import add_accounts, fresh_postgres_database
from pds import migrate
from pds.audit import proofs, sequencer
from pds.audit.compact_range import CompactRange
from pds.audit.entry import Action, Actor, Entry
from pds.audit.merkle import leaf_hash, verify_inclusion
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode
from pds.audit.service import append
from pds.db import open_database, transaction, utcnow
from pds.ids import uuid7
from pds.keys.provider import InMemoryKeyProvider
from pds.settings import Settings

if TYPE_CHECKING:
    import datetime as dt
    import uuid
    from collections.abc import Iterator

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database
    from pds.keys.provider import KeyProvider

Row = dict[str, Any]

ORIGIN: Final = "bench.example/audit"
APPEND_CHUNK: Final = 100
LOAD_CHUNK: Final = 50_000
CITIZENS: Final = 50
WARM_UP: Final = 20
MIN_SAMPLES: Final = 30
PROOF_BUDGET_S: Final = 60.0
BENCHES: Final = ("sequencer", "proof", "request")
# A realistic leaf (~330 bytes of canonical JSON); only the id varies, so a million
# of them cost a format each instead of a full encode_leaf.
LEAF_TEMPLATE: Final = (
    b'{"action":"read","actor":"client","actor_ref":null,"client":"council-housing",'
    b'"detail":{"claims":3,"type":"proof_of_address"},"grant":"0190f3c1-2b4d-7e8f-9a0b-'
    b'1c2d3e4f5a6b","id":"bench-%012d","outcome":"allowed","purpose":"housing-benefit",'
    b'"request":"req-0123456789abcdef","resource":"evidence/0190f3c1-2b4d-7e8f-9a0b",'
    b'"subject":"Xq3r0c8mY2bJkO1n5c4Vb9s7Zt6Wd2Ae1Rf0Gh3Ij4k","time":"2026-11-27T10:00:00+00:00",'
    b'"v":1}'
)


# -- scratch databases --------------------------------------------------------------------------


@contextlib.contextmanager
def scratch_database(postgres_url: str | None) -> Iterator[Settings]:
    """A migrated, empty database: SQLite in a temp folder, or a fresh PostgreSQL one."""
    data_dir = Path(tempfile.mkdtemp(prefix="pds-bench-audit-"))
    with contextlib.ExitStack() as stack:
        stack.callback(shutil.rmtree, data_dir, ignore_errors=True)
        url = stack.enter_context(fresh_postgres_database(postgres_url)) if postgres_url else ""
        settings = Settings(
            data_dir=data_dir, database_url=url, audit_sequencer=False, log_level="WARNING"
        )
        migrate.upgrade(settings)
        yield settings


# -- sequencer throughput -----------------------------------------------------------------------


def _entry(i: int, citizens: list[uuid.UUID]) -> Entry:
    return Entry(
        actor=Actor.CLIENT,
        action=Action.READ,
        citizen_id=citizens[i % len(citizens)],
        client_id="council-housing",
        grant_id=citizens[(i * 7) % len(citizens)],
        purpose="housing-benefit",
        resource=f"evidence/{i}",
        request_id=f"req-{i:016x}",
        detail={"claims": 3, "type": "proof_of_address"},
    )


async def _append_entries(db: Database, count: int, citizens: list[uuid.UUID]) -> float:
    """Append ``count`` entries in committed chunks; returns the seconds it took."""
    started = time.perf_counter()
    for first in range(0, count, APPEND_CHUNK):
        async with transaction(db.sessions) as session:
            for i in range(first, min(first + APPEND_CHUNK, count)):
                append(session, _entry(i, citizens))
    return time.perf_counter() - started


async def _sequencer_row(db: Database, keys: KeyProvider, count: int, log_size: int) -> Row:
    citizens = await add_accounts(db, CITIZENS)
    append_s = await _append_entries(db, count, citizens)
    started = time.perf_counter()
    sequenced = await sequencer.sequence_all(db, keys, ORIGIN)
    sequence_s = time.perf_counter() - started
    if sequenced != count:
        raise RuntimeError(f"sequenced {sequenced} of {count} entries")
    return {
        "bench": "sequencer",
        "log_size": log_size,
        "entries": count,
        "append_per_s": count / append_s,
        "sequence_per_s": count / sequence_s,
        "ratio": sequence_s / append_s,
    }


# -- inclusion proofs ---------------------------------------------------------------------------


async def _bulk_insert(db: Database, table: Any, rows: list[dict[str, Any]]) -> None:
    async with transaction(db.sessions) as session:
        await session.execute(insert(table), rows)


async def _load_leaves(db: Database, compact: CompactRange, size: int) -> None:
    """Grow the stored tree to ``size`` leaves, as the sequencer would have left it."""
    created_at = utcnow()
    while compact.size < size:
        nodes: list[dict[str, Any]] = []
        entries: list[dict[str, Any]] = []
        for i in range(compact.size, min(compact.size + LOAD_CHUNK, size)):
            leaf = LEAF_TEMPLATE % i
            nodes.extend(
                {"level": level, "index": index, "hash": node}
                for level, index, node in compact.append(leaf_hash(leaf))
            )
            entries.append(_entry_row(i, leaf, created_at))
        await _bulk_insert(db, AuditNode, nodes)
        await _bulk_insert(db, AuditEntry, entries)
    async with transaction(db.sessions) as session:
        session.add(AuditCheckpoint(tree_size=size, root_hash=compact.root(), note="", key_id="-"))
        if not db.is_sqlite:  # autovacuum would have done this on a log that grew slowly
            await session.execute(text("ANALYZE audit_nodes, audit_entries"))


def _entry_row(i: int, leaf: bytes, created_at: dt.datetime) -> dict[str, Any]:
    return {
        "id": uuid7(),
        "created_at": created_at,
        "actor": "client",
        "action": "read",
        "outcome": "allowed",
        "client_id": "council-housing",
        "detail": {},
        "leaf_index": i,
        "leaf": leaf,
    }


async def _timed_proof(session: AsyncSession, index: int, size: int, root: bytes) -> float:
    started = time.perf_counter()
    proof = await proofs.prove_inclusion(session, index, size)
    elapsed = time.perf_counter() - started
    verify_inclusion(leaf_hash(proof.leaf), index, size, proof.hashes, root)
    return elapsed


async def _time_proofs(db: Database, size: int, root: bytes, samples: int) -> list[float]:
    """Seconds per verified proof for random indexes, after a warm-up."""
    rng = random.Random(size)
    timings: list[float] = []
    budget = time.perf_counter() + PROOF_BUDGET_S
    async with db.read_sessions() as session:
        for turn in range(samples + WARM_UP):
            elapsed = await _timed_proof(session, rng.randrange(size), size, root)
            if turn >= WARM_UP:
                timings.append(elapsed)
            if turn >= WARM_UP + MIN_SAMPLES and time.perf_counter() > budget:
                break  # a lookup that regressed to a scan must not stall the whole run
    return timings


async def _proof_rows(db: Database, sizes: tuple[int, ...], samples: int) -> list[Row]:
    compact = CompactRange()
    rows: list[Row] = []
    for size in sizes:
        started = time.perf_counter()
        await _load_leaves(db, compact, size)
        load_s = time.perf_counter() - started
        timings = await _time_proofs(db, size, compact.root(), samples)
        rows.append(
            {
                "bench": "proof",
                "size": size,
                "load_s": load_s,
                "samples": len(timings),
                "median_us": statistics.median(timings) * 1e6,
                "p90_us": statistics.quantiles(timings, n=10)[-1] * 1e6,
            }
        )
    for row in rows:
        row["ratio"] = row["median_us"] / rows[0]["median_us"]
    return rows


# -- runner -------------------------------------------------------------------------------------


async def _measure(settings: Settings, quick: bool) -> list[Row]:
    sizes = (1_000, 10_000) if quick else (1_000, 100_000, 1_000_000)
    count = 1_000 if quick else 10_000
    keys = InMemoryKeyProvider()  # one per database: it holds the signing key's KEK
    db = open_database(settings)
    try:
        rows = [await _sequencer_row(db, keys, count, 0)]
        rounds = 5 if quick else 20
        rows.extend(await request_rows(db, settings, keys, rounds=rounds, per_round=40))
    finally:
        await db.dispose()
    samples = 200 if quick else 500
    return rows + await _grown_log_rows(settings, keys, sizes, count, samples)


async def _grown_log_rows(
    settings: Settings, keys: KeyProvider, sizes: tuple[int, ...], count: int, samples: int
) -> list[Row]:
    """Proofs on a fresh log (only the sizes' own rows), then sequencing on the biggest."""
    db = open_database(settings)
    try:
        async with transaction(db.sessions) as session:  # sequencer-built rows would skew sizes
            for model in (AuditCheckpoint, AuditNode, AuditEntry):
                await session.execute(delete(model))
        rows = await _proof_rows(db, sizes, samples)
        rows.append(await _sequencer_row(db, keys, count, sizes[-1]))
    finally:
        await db.dispose()
    return rows


def run(quick: bool = False, postgres_url: str | None = None) -> list[Row]:
    """Every table's rows, each tagged with ``bench`` and ``backend``."""
    postgres_url = postgres_url or os.environ.get("PDS_TEST_POSTGRES_URL") or None
    backends: list[tuple[str, str | None]] = [("sqlite", None)]
    if postgres_url:
        backends.append(("postgresql", postgres_url))
    rows: list[Row] = []
    for backend, url in backends:
        with scratch_database(url) as settings:
            measured = asyncio.run(_measure(settings, quick))
        rows.extend({"backend": backend, **row} for row in measured)
    return rows


def format_tables(rows: list[Row]) -> str:
    """Fixed-width text, one table per benchmark, so runs pasted into reviews line up."""
    by_bench = {name: [r for r in rows if r["bench"] == name] for name in BENCHES}
    return "\n\n".join(
        (
            _table(
                "sequencer throughput: append in committed chunks of"
                f" {APPEND_CHUNK}, then sequence_all",
                f"{'backend':<11} {'log before':>10} {'entries':>8}"
                f" {'append/s':>9} {'sequence/s':>11} {'seq/append time':>16}",
                [
                    f"{r['backend']:<11} {r['log_size']:>10} {r['entries']:>8}"
                    f" {r['append_per_s']:>9.0f} {r['sequence_per_s']:>11.0f} {r['ratio']:>16.2f}"
                    for r in by_bench["sequencer"]
                ],
            ),
            _table(
                "prove_inclusion (us, random indexes, open read transaction)"
                "\n(target: the largest size's median at most 3x the smallest's)",
                f"{'backend':<11} {'tree size':>10} {'median':>8} {'p90':>8} {'vs 1st':>7}"
                f" {'samples':>8} {'load s':>7}",
                [
                    f"{r['backend']:<11} {r['size']:>10} {r['median_us']:>8.0f}"
                    f" {r['p90_us']:>8.0f} {r['ratio']:>7.2f}"
                    f" {r['samples']:>8} {r['load_s']:>7.1f}"
                    for r in by_bench["proof"]
                ],
            ),
            _table(
                "request cost: resolve_session in a read transaction, vs with an audit append"
                " committed (target: under 10% more)\n(HTTP GET /me: the whole request"
                " in-process, for scale; 'of HTTP' = added us / HTTP GET /me us)",
                f"{'backend':<11} {'variant':<18} {'median us':>10} {'added us':>9}"
                f" {'vs read':>8} {'of HTTP':>8}",
                [
                    f"{r['backend']:<11} {r['variant']:<18} {r['median_us']:>10.0f}"
                    f" {r['added_us']:>9.0f} {r['ratio']:>8.2f} {r['share_of_http']:>8.0%}"
                    for r in by_bench["request"]
                ],
            ),
        )
    )


def _table(title: str, header: str, lines: list[str]) -> str:
    return "\n".join([title, header, "-" * len(header), *lines])


def main(argv: list[str]) -> None:
    postgres_url = argv[argv.index("--postgres") + 1] if "--postgres" in argv else None
    print(format_tables(run(quick="--quick" in argv, postgres_url=postgres_url)))


if __name__ == "__main__":
    main(sys.argv[1:])
