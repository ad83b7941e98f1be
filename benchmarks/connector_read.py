"""The product's headline figure: authenticated reads of granted data over real HTTP.

``pds serve`` (the real server process, audit sequencer on) runs in a subprocess on the
embedded SQLite default (or on PostgreSQL with ``--postgres URL``: a fresh database is
made on that server for the run and dropped after). A fixed pool of
service clients, each with its own DPoP key, grant and access token, reads
``GET /connect/v1/grants/{id}/data``: token and DPoP proof verification, the live grant
check, decryption of a ~4 KiB evidence item, a durable audit entry, a JSON answer.
``/healthz`` is measured by the same load generator, in the same run, at the same
concurrency: the ratio of the two throughputs is the figure that matters.

Every request carries its own DPoP proof (fresh ``jti``, ``ath``), signed before the
clock starts (``benchmarks._loadgen``). Each level runs ``ROUNDS`` rounds of data then
``/healthz``, together about ``SECONDS`` of each, sized from a warm-up; before every
round the audit sequencer is let drain, so neither side pays for the other's entries.
The rounds are pooled (requests over summed time, percentiles of all). Failed requests
are counted and shown.

Beside the rates, the server process's CPU seconds per request (``/proc``): steadier than
rates on a VM whose speed drifts, and the way to compare two versions of the code (or
two settings toggled inside one server, alternating rounds).

Run with ``python -m benchmarks.connector_read [--quick] [--postgres URL]``. To see where
the time goes, attach ``py-spy record --nonblocking -p <pid of pds serve>`` during a run
(without ``--nonblocking`` py-spy pauses the process for every sample).
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import sys
import tempfile
import time
import uuid
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import jwt as pyjwt
from sqlalchemy import text

from benchmarks._loadgen import Load, drive, get_request, pooled
from benchmarks._oauth_setup import (
    ServiceKit,
    consent_token,
    jwt_bearer_params,
    post_token,
    register,
)
from benchmarks._scratch import fresh_postgres_database
from benchmarks._server import Served, free_port, pds_serve
from pds import migrate
from pds.db import open_database
from pds.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Sequence

CLIENTS: Final = 8
LEVELS: Final = (8, 32)
SECONDS: Final = 8.0
ROUNDS: Final = 3
UNLIMITED: Final = 10_000_000
"""Requests a client may make a minute, for the run. The default (6,000) is below what a
fast host reaches: the limiter would answer 429 part-way through (seen at ~2,000 reads/s
after a few rounds). It still counts every read; only its verdict is out of the way."""
TARGET_RATIO: Final = 0.20
TARGET_P99_MS: Final = 20.0
DETAILS: Final[list[dict[str, Any]]] = [
    {
        "type": "pds_data_request",
        "items": [{"evidence_type": "household_members", "required": True}],
        "purpose": {
            "term": "sector-publicservices:HousingWelfareManagement",
            "description": "To check who lives with you for your housing application.",
        },
        "lawful_basis": "public_task",
        "access": "ongoing",
        "duration": "P30D",
    }
]


def household(size: int = 20) -> dict[str, Any]:
    """About 4 KiB of claims: twenty members with long names."""
    members = [
        {
            "full_name": f"Member {i} " + "Okafor-Lindqvist-Abernathy-" * 4,
            "date_of_birth": f"19{50 + i}-0{1 + i % 9}-1{i % 9}",
            "relationship": "self" if i == 0 else "child",
        }
        for i in range(size)
    ]
    return {"members": members}


@dataclass
class Reader:
    """One service client: its kit, grant, current access token and the data path."""

    kit: ServiceKit
    consent: str
    grant_id: str = ""
    access_token: str = ""

    @property
    def path(self) -> str:
        return f"/connect/v1/grants/{self.grant_id}/data"


async def _setup_readers(base: str, settings: Settings) -> list[Reader]:
    readers = []
    for _ in range(CLIENTS):
        kit = ServiceKit(issuer=base)
        await register(settings, kit)
        async with httpx.AsyncClient(base_url=base, timeout=30) as client:
            consent = await consent_token(client, kit, DETAILS)
            made = await client.post(
                "/api/v1/me/evidence", json={"type": "household_members", "claims": household()}
            )
            if made.status_code != 201:
                raise RuntimeError(f"evidence: {made.status_code} {made.text}")
        readers.append(Reader(kit, consent))
    await _refresh(base, readers)
    return readers


async def _refresh(base: str, readers: Sequence[Reader]) -> None:
    """Fresh access tokens (they live five minutes) through each consent token."""
    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        for reader in readers:
            answer, _ = await post_token(client, reader.kit, jwt_bearer_params(reader.consent))
            if answer.status_code != 200:
                raise RuntimeError(f"token: {answer.status_code} {answer.text}")
            reader.access_token = answer.json()["access_token"]
            reader.grant_id = answer.json()["grant_id"]


def _ath(token: str) -> str:
    return base64.urlsafe_b64encode(hashlib.sha256(token.encode()).digest()).rstrip(b"=").decode()


def _data_requests(base: str, host: str, readers: Sequence[Reader], count: int) -> list[bytes]:
    """``count`` reads spread over the readers, each with its own signed proof."""
    now = int(time.time())
    built = []
    for i in range(count):
        reader = readers[i % len(readers)]
        kit = reader.kit
        claims = {
            "jti": str(uuid.uuid4()),
            "htm": "GET",
            "htu": base + reader.path,
            "iat": now,
            "ath": _ath(reader.access_token),
        }
        proof = pyjwt.encode(
            claims,
            kit.dpop_key,
            algorithm="ES256",
            headers={"typ": "dpop+jwt", "jwk": kit.dpop_jwk},
        )
        headers = {"Authorization": f"DPoP {reader.access_token}", "DPoP": proof}
        built.append(get_request(host, reader.path, headers))
    return built


async def _backlog(settings: Settings, limit: float = 180) -> None:
    """Wait until the audit sequencer has taken in every entry."""
    db = open_database(settings)
    try:
        deadline = time.monotonic() + limit
        while time.monotonic() < deadline:
            async with db.engine.connect() as connection:
                query = text("SELECT count(*) FROM audit_entries WHERE leaf_index IS NULL")
                if not (await connection.execute(query)).scalar_one():
                    return
            await asyncio.sleep(0.25)
        raise RuntimeError("the audit sequencer did not drain")
    finally:
        await db.dispose()


@dataclass(frozen=True, slots=True)
class Row:
    concurrency: int
    healthz: Load
    data: Load
    data_cpu: float | None = None
    """Seconds of the server's CPU over the data rounds, the sequencer's catching up
    included; None where it cannot be read."""
    healthz_cpu: float | None = None

    @property
    def ratio(self) -> float:
        return self.data.rps / self.healthz.rps

    @property
    def cpu_per_read_us(self) -> float | None:
        return None if self.data_cpu is None else self.data_cpu / self.data.count * 1e6

    @property
    def cpu_per_healthz_us(self) -> float | None:
        return None if self.healthz_cpu is None else self.healthz_cpu / self.healthz.count * 1e6

    @property
    def cpu_ratio(self) -> float | None:
        """CPU per /healthz over CPU per read: the ratio with the machine's drift and the
        load generator's share of the cores taken out."""
        read, health = self.cpu_per_read_us, self.cpu_per_healthz_us
        return None if read is None or health is None else health / read


class _CpuMeter:
    """Sums the server's CPU seconds over the measured spans."""

    def __init__(self, served: Served) -> None:
        self._served = served
        self.total: float | None = 0.0
        self._started: float | None = None

    def start(self) -> None:
        self._started = self._served.cpu_seconds()

    def stop(self) -> None:
        now = self._served.cpu_seconds()
        if self.total is None or self._started is None or now is None:
            self.total = None
        else:
            self.total += now - self._started


async def _measure(served: Served, settings: Settings, quick: bool) -> list[Row]:
    """Each level alternates data and /healthz rounds, so a slow spell of this shared
    machine weighs on both sides of the ratio rather than on one."""
    base = served.base
    port = int(base.rsplit(":", 1)[1])
    host = f"127.0.0.1:{port}"
    readers = await _setup_readers(base, settings)
    rounds = 2 if quick else ROUNDS
    seconds = (2 if quick else SECONDS) / rounds
    health = [get_request(host, "/healthz")]
    rows = []
    for concurrency in (32,) if quick else LEVELS:
        await _refresh(base, readers)
        warm = await drive("127.0.0.1", port, _data_requests(base, host, readers, 400), concurrency)
        warm_health = await drive("127.0.0.1", port, health * 2_000, concurrency)
        data_count = int(min(15_000, max(500, warm.rps * seconds)))
        health_count = int(min(100_000, max(2_000, warm_health.rps * seconds)))
        data_runs, health_runs = [], []
        data_cpu, health_cpu = _CpuMeter(served), _CpuMeter(served)
        for _ in range(rounds):
            requests = _data_requests(base, host, readers, data_count)  # signed before the clock
            await _backlog(settings)
            data_cpu.start()
            data_runs.append(await drive("127.0.0.1", port, requests, concurrency))
            await _backlog(settings)
            data_cpu.stop()
            health_cpu.start()
            health_runs.append(await drive("127.0.0.1", port, health * health_count, concurrency))
            health_cpu.stop()
        healthz, data = pooled(health_runs), pooled(data_runs)
        rows.append(Row(concurrency, healthz, data, data_cpu.total, health_cpu.total))
    return rows


def _settings(data_dir: Path, postgres: str | None) -> Settings:
    settings = Settings(data_dir=data_dir)
    if postgres:
        settings = replace(settings, database_url=postgres)
    return settings


def run(*, quick: bool = False, postgres: str | None = None) -> list[Row]:
    with tempfile.TemporaryDirectory(prefix="pds-bench-read-") as folder:
        data_dir = Path(folder)
        if postgres is None:
            return _run(data_dir, None, quick)
        with fresh_postgres_database(postgres) as url:
            return _run(data_dir, url, quick)


def _run(data_dir: Path, postgres: str | None, quick: bool) -> list[Row]:
    settings = _settings(data_dir, postgres)
    migrate.upgrade(settings)
    server = {"PDS_CONNECT_RATE_LIMIT": str(UNLIMITED)}
    if postgres:
        server["PDS_DATABASE_URL"] = postgres
    with pds_serve(data_dir, free_port(), server) as served:
        return asyncio.run(_measure(served, settings, quick))


def format_table(rows: Sequence[Row], backend: str) -> str:
    lines = [
        f"GET /connect/v1/grants/{{id}}/data vs /healthz: pds serve on {backend}, "
        f"{CLIENTS} clients",
        f"{'conns':>5} {'data rps':>9} {'p50 ms':>7} {'p99 ms':>7} {'healthz rps':>11} "
        f"{'p99 ms':>7} {'ratio':>6} | {'cpu us/read':>11} {'/healthz':>8} {'ratio':>6}  failed",
    ]
    for row in rows:
        failed = dict(row.data.failed) or "-"
        lines.append(
            f"{row.concurrency:>5} {row.data.rps:>9.0f} {row.data.p50:>7.1f} {row.data.p99:>7.1f} "
            f"{row.healthz.rps:>11.0f} {row.healthz.p99:>7.1f} {row.ratio:>6.3f} | "
            f"{_shown(row.cpu_per_read_us, 11, '.0f')} {_shown(row.cpu_per_healthz_us, 8, '.0f')} "
            f"{_shown(row.cpu_ratio, 6, '.3f')}  {failed}"
        )
    lines.append(f"target at 32 connections: ratio >= {TARGET_RATIO}, p99 < {TARGET_P99_MS} ms")
    lines.append("cpu: the server process's CPU per request (/proc); steadier than rates here")
    return "\n".join(lines)


def _shown(value: float | None, width: int, spec: str) -> str:
    return f"{'-':>{width}}" if value is None else f"{value:>{width}{spec}}"


def main(argv: list[str]) -> None:
    postgres = argv[argv.index("--postgres") + 1] if "--postgres" in argv else None
    rows = run(quick="--quick" in argv, postgres=postgres)
    print(format_table(rows, "PostgreSQL" if postgres else "SQLite"))


if __name__ == "__main__":
    main(sys.argv[1:])
