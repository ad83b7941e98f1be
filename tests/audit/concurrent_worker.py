"""One app process for ``test_concurrency.py``: append audit entries while sequencing.

Usage: ``python concurrent_worker.py DATABASE_URL KEY_FILE BARRIER_DIR WORKERS NAME COUNT``.

The process opens its own engine and key provider, waits at a file barrier until
all ``WORKERS`` processes are ready (so they really overlap), then appends
``COUNT`` entries in committed transactions of one to three entries, from a few
concurrent tasks, while a sequencer loop calls ``sequence_batch`` with small
random limits beside them. It prints one JSON line of counts and exits non-zero
on any error, so the test sees a sequencer that crashed on a duplicate index.
"""

from __future__ import annotations

import asyncio
import json
import random
import sys
import time
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from sqlalchemy import select

from pds.accounts.models import Account
from pds.audit import sequencer
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import open_database, transaction
from pds.keys.provider import LocalKeyFileProvider
from pds.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy import Connection

    from pds.db import Database
    from pds.keys.provider import KeyProvider

ORIGIN: Final = "pds.test/audit"
APPENDERS: Final = 3
BARRIER_TIMEOUT_S: Final = 20.0
WORK_TIMEOUT_S: Final = 20.0


class TurnCounter:
    """Counts sequencer turns refused because the other process held the advisory lock."""

    def __init__(self) -> None:
        self.refused = 0
        self._take_turn = sequencer._take_turn

    def __call__(self, connection: Connection) -> bool:
        taken = self._take_turn(connection)
        self.refused += not taken
        return taken


def wait_at_barrier(barrier: Path, workers: int, name: str) -> None:
    (barrier / f"ready-{name}").touch()
    deadline = time.monotonic() + BARRIER_TIMEOUT_S
    while len(list(barrier.glob("ready-*"))) < workers:
        if time.monotonic() > deadline:
            raise TimeoutError("the other workers never became ready")
        time.sleep(0.01)


async def append_entries(
    db: Database, count: int, citizens: list[uuid.UUID | None], name: str, rng: random.Random
) -> None:
    while count:
        batch = min(count, rng.randint(1, 3))
        async with transaction(db.sessions) as session:
            for _ in range(batch):
                entry = Entry(
                    actor=Actor.CLIENT,
                    action=Action.READ,
                    citizen_id=rng.choice(citizens),
                    client_id=name,
                    detail={"worker": name},
                )
                append(session, entry)
        count -= batch
        await asyncio.sleep(rng.random() * 0.002)


async def sequence_until(
    db: Database, keys: KeyProvider, done: asyncio.Event, rng: random.Random
) -> int:
    sequenced = 0
    while not done.is_set():
        sequenced += await sequencer.sequence_batch(db, keys, ORIGIN, limit=rng.randint(1, 25))
        await asyncio.sleep(rng.random() * 0.005)
    return sequenced


async def work(db: Database, keys: KeyProvider, name: str, count: int) -> dict[str, Any]:
    rng = random.Random(name)  # noqa: S311 - timing jitter, not secrets
    async with db.read_sessions() as session:
        accounts: list[uuid.UUID | None] = list(await session.scalars(select(Account.id)))
    citizens = [*accounts, None, uuid.uuid4()]  # live, no citizen, and an erased one
    shares = [count // APPENDERS + (n < count % APPENDERS) for n in range(APPENDERS)]
    done = asyncio.Event()
    sequencing = asyncio.create_task(sequence_until(db, keys, done, rng))
    async with asyncio.timeout(WORK_TIMEOUT_S):
        await asyncio.gather(*(append_entries(db, n, citizens, name, rng) for n in shares))
        done.set()
        sequenced = await sequencing
    return {"worker": name, "appended": count, "sequenced": sequenced}


async def main(
    url: str, key_file: Path, barrier: Path, workers: int, name: str, count: int
) -> None:
    keys = LocalKeyFileProvider.open(key_file, create=False)
    db = open_database(Settings(database_url=url))
    turns = TurnCounter()
    sequencer._take_turn = turns  # instrumentation only: count refused turns
    try:
        async with db.read_sessions() as session:
            await session.scalar(select(1))  # connected before the race starts
        wait_at_barrier(barrier, workers, name)
        summary = await work(db, keys, name, count)
    finally:
        await db.dispose()
    print(json.dumps({**summary, "turns_refused": turns.refused}), flush=True)


if __name__ == "__main__":
    url, key_file, barrier, workers, name, count = sys.argv[1:]
    asyncio.run(main(url, Path(key_file), Path(barrier), int(workers), name, int(count)))
