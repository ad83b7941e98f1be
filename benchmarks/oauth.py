"""OAuth token costs: in-process verification, and the token endpoint over real HTTP.

* **Verification, in process.** One DPoP proof (``connectors.dpop.verify_proof`` with an
  in-memory replay set and the server-nonce check on) plus one access token
  (``consent.tokens.verify_token``), against the floor of two bare ES256 verifies with
  ``cryptography`` over the very same signing inputs (DER signatures and public keys
  prepared beforehand), and against PyJWT decoding the same two JWTs (the proof's key
  imported from its header each time, as a DPoP verifier must). Every case runs in turn
  and the best of several batches is kept, so drift hits all of them alike. Proofs are
  signed before timing, each with its own ``jti``; the replay set is emptied between batches.
* **Token endpoint, over HTTP.** ``pds serve`` (uvicorn, audit sequencer on) runs in a
  subprocess on a loopback port on SQLite in a temp folder. The client is registered in
  the database before the server starts; a citizen then signs up, approves a pushed
  request on the consent page, and the code buys a consent token. The load is the JWT
  bearer grant with that consent token, each request with a fresh client assertion and
  a fresh DPoP proof carrying the current server nonce (``use_dpop_nonce`` is answered by
  re-signing and retrying once). Both are signed by PyJWT *before* the timed run (two
  ES256 signatures per request would otherwise eat the single-threaded client's time);
  material older than ``FRESH_FOR`` seconds is re-signed inline and counted. Failed
  requests are counted, not fatal. ``/healthz`` at the same concurrency is the baseline.
  Before each level the audit sequencer's backlog is left to drain (read from the SQLite
  file), so one level's audit entries are not sequenced during the next one's baseline.

Run with ``python -m benchmarks.oauth [--quick] [--profile]``; ``--profile`` runs the token
request path in process under cProfile instead and prints the top cumulative entries.
"""

from __future__ import annotations

import asyncio
import io
import math
import pstats
import secrets
import shutil
import sys
import tempfile
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import httpx
import jwt as pyjwt
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec

from benchmarks._oauth_setup import (
    DATA_REQUEST,
    SeenSet,
    ServiceKit,
    bare_parts,
    bare_public_key,
    consent_token,
    failure,
    jwt_bearer_params,
    post_token,
    profile_token_requests,
    register,
    wait_for_sequencer,
)
from benchmarks._server import free_port, pds_serve
from connectors.dpop import issue_nonce, thumbprint, verify_proof
from consent.tokens import (
    ACCESS_TOKEN_TYP,
    issue_access_token,
    new_signing_key,
    signer_from_private_bytes,
    verify_token,
)
from pds import migrate
from pds.settings import Settings

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

ISSUER: Final = "http://127.0.0.1:8000"
AUDIENCE: Final = ISSUER + "/connect/v1"
CONCURRENCY_LEVELS: Final = (8, 32)
FRESH_FOR: Final = 45
"""Seconds pre-signed material is used for; the server accepts a proof's iat within 60."""
DRIVE_TIMEOUT: Final = 180
ECDSA: Final = ec.ECDSA(hashes.SHA256())
Row = dict[str, Any]


# --- in process ------------------------------------------------------------------------------


def _cases(iterations: int) -> tuple[dict[str, Callable[[int], object]], list[SeenSet], str]:
    """The timed callables (each takes the index of the proof to use) and the input sizes."""
    stored = new_signing_key()
    signer = signer_from_private_bytes(stored.kid, stored.private_bytes)
    public_keys = {stored.kid: stored.public_jwk}
    now = int(time.time())
    nonce_secret = secrets.token_bytes(32)
    kit = ServiceKit(ISSUER, nonce=issue_nonce(nonce_secret, now))
    token = issue_access_token(
        signer,
        issuer=ISSUER,
        audience=AUDIENCE,
        client_id=str(uuid.uuid4()),
        subject=secrets.token_urlsafe(32),
        jkt=thumbprint(kit.dpop_jwk),
        now=now,
        jti=secrets.token_urlsafe(16),
        grant_id=str(uuid.uuid4()),
        authorization_details=DATA_REQUEST,
    )
    proofs = [kit.proof("POST", kit.token_url, now) for _ in range(iterations)]
    bare_proofs = [bare_parts(proof) for proof in proofs]
    token_input, token_signature = bare_parts(token)
    dpop_public, server_public = kit.dpop_key.public_key(), bare_public_key(stored.public_jwk)
    server_pyjwk = pyjwt.PyJWK(dict(stored.public_jwk), algorithm="ES256")
    seen_pair, seen_proof = SeenSet(), SeenSet()

    def bare_proof(i: int) -> None:
        dpop_public.verify(bare_proofs[i][1], bare_proofs[i][0], ECDSA)

    def bare_token(_: int) -> None:
        server_public.verify(token_signature, token_input, ECDSA)

    def pyjwt_pair(i: int) -> None:
        jwk = pyjwt.get_unverified_header(proofs[i])["jwk"]
        pyjwt.decode(
            proofs[i], pyjwt.PyJWK(jwk, algorithm="ES256"), algorithms=["ES256"],
            options={"require": ["iat", "jti"]},
        )  # fmt: skip
        pyjwt.decode(
            token, server_pyjwk, algorithms=["ES256"], audience=AUDIENCE, issuer=ISSUER,
            options={"require": ["exp", "iat", "iss", "aud", "sub", "jti"]},
        )  # fmt: skip

    def pds_proof(i: int, seen: SeenSet = seen_proof) -> None:
        verify_proof(
            proofs[i], method="POST", url=kit.token_url, now=now, seen=seen,
            nonce_secret=nonce_secret,
        )  # fmt: skip

    def pds_token(_: int) -> None:
        verify_token(
            token, typ=ACCESS_TOKEN_TYP, issuer=ISSUER, audience=AUDIENCE,
            public_keys=public_keys, now=now,
        )  # fmt: skip

    def pds_pair(i: int) -> None:
        pds_proof(i, seen_pair)
        pds_token(i)

    def bare_pair(i: int) -> None:
        bare_proof(i)
        bare_token(i)

    cases: dict[str, Callable[[int], object]] = {
        "bare_pair": bare_pair,
        "bare_proof": bare_proof,
        "bare_token": bare_token,
        "pyjwt_pair": pyjwt_pair,
        "pds_pair": pds_pair,
        "pds_proof": pds_proof,
        "pds_token": pds_token,
    }
    sizes = f"proof {len(proofs[0])} B, access token {len(token)} B"
    return cases, [seen_pair, seen_proof], sizes


def run_verify(*, quick: bool = False) -> tuple[list[Row], str]:
    """Best µs per operation of each case, all interleaved batch by batch."""
    iterations, repeats = (100, 10) if quick else (250, 40)
    cases, seen_sets, sizes = _cases(iterations)
    for run in cases.values():  # warm up; then forget the proofs this spent
        run(0)
    best = dict.fromkeys(cases, math.inf)
    for _ in range(repeats):
        for name, run in cases.items():
            for seen in seen_sets:
                seen.pairs.clear()
            started = time.perf_counter()
            for i in range(iterations):
                run(i)
            best[name] = min(best[name], time.perf_counter() - started)
    us = {name: seconds / iterations * 1e6 for name, seconds in best.items()}
    layout = (
        ("bare ES256 verify x2 (cryptography)", "bare_pair", "bare_pair"),
        ("PyJWT decode proof + token", "pyjwt_pair", "bare_pair"),
        ("PDS verify_proof + verify_token", "pds_pair", "bare_pair"),
        ("  PDS verify_proof (nonce, replay set)", "pds_proof", "bare_proof"),
        ("  PDS verify_token (at+jwt)", "pds_token", "bare_token"),
    )
    rows = [
        {"case": label, "us": us[name], "floor": us[floor], "ratio": us[name] / us[floor]}
        for label, name, floor in layout
    ]
    return rows, sizes


def format_verify(rows: list[Row]) -> str:
    header = f"{'case':<40} {'µs/op':>8} {'bare µs':>8} {'vs bare':>8}"
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r['case']:<40} {r['us']:>8.1f} {r['floor']:>8.1f} {r['ratio']:>8.2f}" for r in rows
    )
    return "\n".join(lines)


# --- over HTTP ---------------------------------------------------------------------------------


@dataclass
class Load:
    req_s: float
    """Successful requests per second."""
    p50_ms: float
    p99_ms: float
    failed: int = 0


async def _drive(concurrency: int, count: int, send: Callable[[int], Awaitable[None]]) -> Load:
    """``count`` requests, ``concurrency`` in flight; throughput and latency percentiles."""
    next_index = iter(range(count))
    latencies: list[float] = []

    async def worker() -> None:
        for index in next_index:
            started = time.perf_counter()
            await send(index)
            latencies.append(time.perf_counter() - started)

    started = time.perf_counter()
    workers = asyncio.gather(*(worker() for _ in range(concurrency)))
    await asyncio.wait_for(workers, timeout=DRIVE_TIMEOUT)
    elapsed = time.perf_counter() - started
    latencies.sort()
    p50, p99 = (latencies[max(0, math.ceil(f * count) - 1)] * 1e3 for f in (0.5, 0.99))
    return Load(count / elapsed, p50, p99)


@dataclass
class _Counters:
    retried: int = 0
    signed_inline: int = 0
    signed_at: float = 0.0
    failed: Counter[str] = field(default_factory=Counter)


async def _level(
    base: str, kit: ServiceKit, params: dict[str, str], concurrency: int, count: int
) -> tuple[Load, Load, _Counters]:
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    counters = _Counters()
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=30) as client:

        async def healthz(_: int) -> None:
            response = await client.get("/healthz")
            if response.status_code != 200:
                raise RuntimeError(f"/healthz: {response.status_code}")

        async def token(index: int, material: list[tuple[str, str]] | None = None) -> None:
            signed = None
            if material is not None and time.monotonic() - counters.signed_at < FRESH_FOR:
                signed = material[index]
            elif material is not None:
                counters.signed_inline += 1
            response, retried = await post_token(client, kit, params, signed)
            counters.retried += retried
            if response.status_code != 200:  # counted, not fatal: overload shows as failures
                counters.failed[failure(response)] += 1

        await _drive(concurrency, 50, healthz)  # open the connections
        await _drive(concurrency, 2 * concurrency, token)  # warm up; learns the current nonce
        counters.retried = 0
        counters.failed.clear()
        health = await _drive(concurrency, count, healthz)
        material = [kit.signed() for _ in range(count)]
        counters.signed_at = time.monotonic()
        tokens = await _drive(concurrency, count, lambda i: token(i, material))
    tokens.failed = sum(counters.failed.values())
    tokens.req_s *= (count - tokens.failed) / count
    return health, tokens, counters


async def _measure_http(
    base: str, kit: ServiceKit, count: int, database: Path
) -> tuple[list[Row], list[str]]:
    async with httpx.AsyncClient(base_url=base, timeout=30) as browser:
        params = jwt_bearer_params(await consent_token(browser, kit))
    rows: list[Row] = []
    notes: list[str] = []
    for concurrency in CONCURRENCY_LEVELS:
        backlog = await asyncio.to_thread(wait_for_sequencer, database)
        health, tokens, counters = await _level(base, kit, params, concurrency, count)
        rows.extend(
            {"c": concurrency, "workload": name, "load": load, "ratio": load.req_s / health.req_s}
            for name, load in (("healthz", health), ("token jwt-bearer+DPoP", tokens))
        )
        notes.append(
            f"c={concurrency}: waited for {backlog} audit entries to be sequenced first,"
            f" {counters.retried} use_dpop_nonce retries,"
            f" {counters.signed_inline} signed inline, failed: {dict(counters.failed) or 'none'}"
        )
    return rows, notes


def run_http(*, quick: bool = False) -> tuple[list[Row], list[str]]:
    count = 200 if quick else 2000
    data_dir = Path(tempfile.mkdtemp(prefix="pds-bench-oauth-"))
    try:
        port = free_port()
        settings = Settings(data_dir=data_dir, base_url=f"http://127.0.0.1:{port}")
        migrate.upgrade(settings)
        kit = ServiceKit(settings.base_url)
        asyncio.run(register(settings, kit))
        with pds_serve(data_dir, port) as served:
            database = Path(settings.resolved_database_url.split("///", 1)[1])
            return asyncio.run(_measure_http(served.base, kit, count, database))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)


def format_http(rows: list[Row]) -> str:
    header = f"{'conc':>4} {'workload':<22} {'ok req/s':>8} {'p50 ms':>8} {'p99 ms':>8}"
    header += f" {'failed':>6} {'vs healthz':>10}"
    lines = [header, "-" * len(header)]
    lines.extend(
        f"{r['c']:>4} {r['workload']:<22} {r['load'].req_s:>8.0f} {r['load'].p50_ms:>8.1f}"
        f" {r['load'].p99_ms:>8.1f} {r['load'].failed:>6} {r['ratio']:>10.3f}"
        for r in rows
    )
    return "\n".join(lines)


# --- profile -----------------------------------------------------------------------------------


def run_profile(count: int = 300, top: int = 10) -> str:
    """The token request path in process (httpx ASGITransport, one at a time, pre-signed)."""
    data_dir = Path(tempfile.mkdtemp(prefix="pds-bench-oauth-profile-"))
    try:
        settings = Settings(data_dir=data_dir, log_level="WARNING", audit_sequencer=False)
        migrate.upgrade(settings)
        kit = ServiceKit(settings.base_url)
        asyncio.run(register(settings, kit))
        statements: list[Any] = []
        profiler = asyncio.run(profile_token_requests(settings, kit, count, statements))
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    out = io.StringIO()
    print(f"SQL statements per request: {len(statements) / count:.1f}", file=out)
    stats = pstats.Stats(profiler, stream=out)
    views = (("cumulative", ""), ("cumulative", r"/(connectors|consent|pds)/"), ("tottime", ""))
    for order, only in views:
        print(f"--- top {top} by {order}{' in ' + only if only else ''}", file=out)
        stats.sort_stats(order).print_stats(*([only] if only else []), top)
    root = str(Path(__file__).resolve().parent.parent) + "/"
    site = str(Path(httpx.__file__).resolve().parent.parent) + "/"
    return out.getvalue().replace(site, "").replace(root, "")


def main(argv: list[str]) -> None:
    if "--profile" in argv:
        print("POST /oauth/token (jwt-bearer + DPoP), in process, under cProfile")
        print(run_profile(count=100 if "--quick" in argv else 300))
        return
    quick = "--quick" in argv
    rows, sizes = run_verify(quick=quick)
    print(f"one DPoP proof + one access token, in process, best of batches ({sizes})")
    print(format_verify(rows))
    print()
    http_rows, notes = run_http(quick=quick)
    print("POST /oauth/token over HTTP: pds serve (uvicorn) on SQLite, one client and grant")
    print(format_http(http_rows))
    print("client assertion + DPoP proof pre-signed (PyJWT ES256) before each timed run")
    print("\n".join(notes))


if __name__ == "__main__":
    main(sys.argv[1:])
