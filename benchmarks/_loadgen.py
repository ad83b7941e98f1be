"""A small closed-loop HTTP/1.1 load generator over raw asyncio streams.

Every request is built (and, for the connector API, signed) before the clock starts, so
the generator only writes bytes and parses status lines: it can push a single-process
server far harder than an HTTP client library would, which matters when the figure is a
ratio of two throughputs measured with it. One keep-alive connection per concurrent
client; each sends its next request when the previous answer has fully arrived.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Final

TIMEOUT: Final = 120.0


@dataclass(frozen=True, slots=True)
class Load:
    """Requests per second, latency percentiles in milliseconds, and non-2xx answers."""

    rps: float
    p50: float
    p99: float
    count: int
    failed: Counter[int] = field(default_factory=Counter)
    elapsed: float = 0.0
    latencies: tuple[float, ...] = ()
    """Seconds, sorted: kept so that several runs can be pooled (``pooled``)."""


def pooled(loads: list[Load]) -> Load:
    """Several runs as one: their requests over their summed time, percentiles of all."""
    latencies = sorted(x for load in loads for x in load.latencies)
    failed: Counter[int] = Counter()
    for load in loads:
        failed.update(load.failed)
    return _load(latencies, sum(load.elapsed for load in loads), failed)


def _load(latencies: list[float], elapsed: float, failed: Counter[int]) -> Load:
    count = len(latencies)
    p50, p99 = (latencies[max(0, math.ceil(f * count) - 1)] * 1e3 for f in (0.5, 0.99))
    return Load(count / elapsed, p50, p99, count, failed, elapsed, tuple(latencies))


def get_request(host: str, path: str, headers: dict[str, str] | None = None) -> bytes:
    lines = [f"GET {path} HTTP/1.1", f"Host: {host}"]
    lines += [f"{name}: {value}" for name, value in (headers or {}).items()]
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")


async def _answer(reader: asyncio.StreamReader) -> int:
    """Read one response (Content-Length or chunked); its status code."""
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head[9:12])
    lowered = head.lower()
    marker = lowered.find(b"content-length:")
    if marker >= 0:
        end = lowered.index(b"\r\n", marker)
        await reader.readexactly(int(head[marker + 15 : end]))
        return status
    if b"transfer-encoding: chunked" in lowered:
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            await reader.readexactly(size + 2)
            if size == 0:
                return status
    return status


async def _connection(
    host: str, port: int, requests: list[bytes], latencies: list[float], failed: Counter[int]
) -> None:
    reader, writer = await asyncio.open_connection(host, port)
    try:
        for raw in requests:
            started = time.perf_counter()
            writer.write(raw)
            status = await _answer(reader)
            latencies.append(time.perf_counter() - started)
            if not 200 <= status < 300:
                failed[status] += 1
    finally:
        writer.close()


async def drive(host: str, port: int, requests: list[bytes], concurrency: int) -> Load:
    """Send ``requests`` over ``concurrency`` connections, round robin; measure."""
    shares = [requests[i::concurrency] for i in range(concurrency)]
    latencies: list[float] = []
    failed: Counter[int] = Counter()
    started = time.perf_counter()
    runs = (_connection(host, port, share, latencies, failed) for share in shares if share)
    await asyncio.wait_for(asyncio.gather(*runs), timeout=TIMEOUT)
    elapsed = time.perf_counter() - started
    latencies.sort()
    return _load(latencies, elapsed, failed)
