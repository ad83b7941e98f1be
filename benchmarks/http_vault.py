"""Evidence create and read through the real HTTP API, on SQLite, per ASGI server.

A server runs in a subprocess on a loopback port; a bounded async client sends a
fixed number of requests with fixed concurrency. ``/healthz`` is measured in the
same run as the baseline (framework + server + client floor), and each workload
is reported as a ratio to it, because absolute figures on these shared machines
drift from run to run.

Run with ``python -m benchmarks.http_vault [--quick] [--server uvicorn|granian|both]``.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

import httpx

from benchmarks._server import free_port, wait_until_healthy
from pds import migrate
from pds.settings import Settings
from pds.vault.evidence_types import EXAMPLE_CLAIMS

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Iterator

PASSWORD = "benchmark-passphrase-2026"  # noqa: S105 - a throwaway account in a temp folder
CONCURRENCY = 8
Row = dict[str, Any]


def _server_command(server: str, port: int) -> list[str]:
    bin_dir = Path(sys.executable).parent
    if server == "uvicorn":
        return [
            str(bin_dir / "uvicorn"),
            "pds.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ]
    return [
        str(bin_dir / "granian"),
        "--interface",
        "asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
        "--no-log",
        "pds.app:create_app",
    ]


@contextlib.contextmanager
def running_server(server: str, data_dir: Path) -> Iterator[str]:
    """Start the server on a free loopback port and wait until /healthz answers."""
    port = free_port()
    env = {**os.environ, "PDS_DATA_DIR": str(data_dir), "PDS_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(  # noqa: S603 - fixed argv built above
        _server_command(server, port), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_healthy(base, process, server)
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)


async def _drive(count: int, request: Callable[[int], Awaitable[httpx.Response]]) -> float:
    """Send ``count`` requests, ``CONCURRENCY`` at a time; returns requests per second."""
    next_index = iter(range(count))

    async def worker() -> None:
        for index in next_index:
            response = await request(index)
            if response.status_code >= 400:
                raise RuntimeError(f"{response.status_code}: {response.text[:200]}")

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return count / (time.perf_counter() - started)


async def _measure(base: str, count: int) -> dict[str, float]:
    limits = httpx.Limits(max_connections=CONCURRENCY)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:
        email = f"bench-{time.time_ns()}@example.com"
        creds = {"email": email, "password": PASSWORD}
        (await client.post("/api/v1/citizens", json=creds)).raise_for_status()
        (await client.post("/api/v1/session", json=creds)).raise_for_status()
        body = {"type": "proof_of_address", "claims": EXAMPLE_CLAIMS["proof_of_address"]}
        item = (await client.post("/api/v1/me/evidence", json=body)).json()["id"]
        await _drive(50, lambda _: client.get("/healthz"))  # warm up
        return {
            "healthz": await _drive(count, lambda _: client.get("/healthz")),
            "evidence create": await _drive(
                count, lambda _: client.post("/api/v1/me/evidence", json=body)
            ),
            "evidence read": await _drive(
                count, lambda _: client.get(f"/api/v1/me/evidence/{item}")
            ),
        }


def run(*, quick: bool = False, servers: tuple[str, ...] = ("uvicorn",)) -> list[Row]:
    count = 200 if quick else 2000
    rows: list[Row] = []
    for server in servers:
        data_dir = Path(tempfile.mkdtemp(prefix="pds-bench-"))
        try:
            migrate.upgrade(Settings(data_dir=data_dir))
            with running_server(server, data_dir) as base:
                figures = asyncio.run(_measure(base, count))
        finally:
            shutil.rmtree(data_dir, ignore_errors=True)
        baseline = figures["healthz"]
        rows.extend(
            {"server": server, "workload": name, "req_s": value, "ratio": value / baseline}
            for name, value in figures.items()
        )
    return rows


def format_table(rows: list[Row]) -> str:
    header = f"{'server':<8} {'workload':<16} {'req/s':>8} {'vs healthz':>11}"
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r['server']:<8} {r['workload']:<16} {r['req_s']:>8.0f} {r['ratio']:>11.2f}" for r in rows
    )
    return "\n".join(lines)


def main(argv: list[str]) -> None:
    choice = argv[argv.index("--server") + 1] if "--server" in argv else "uvicorn"
    servers = ("uvicorn", "granian") if choice == "both" else (choice,)
    print(f"HTTP API on SQLite, {CONCURRENCY} concurrent keep-alive connections, one citizen")
    print(format_table(run(quick="--quick" in argv, servers=servers)))


if __name__ == "__main__":
    main(sys.argv[1:])
