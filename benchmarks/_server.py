"""A real ``pds serve`` process for the HTTP benchmarks: started on a free port, waited
for until ``/healthz`` answers, its CPU time readable, stopped afterwards."""

from __future__ import annotations

import contextlib
import os
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import httpx

if TYPE_CHECKING:
    from collections.abc import Iterator, Mapping


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until_healthy(
    base: str, process: subprocess.Popen[bytes], name: str, limit: float = 30
) -> None:
    """Return once ``base``/healthz answers 200; raise if ``process`` exits or ``limit``
    seconds pass first."""
    deadline = time.monotonic() + limit
    while time.monotonic() < deadline:
        with contextlib.suppress(httpx.HTTPError):
            if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                return
        if process.poll() is not None:
            raise RuntimeError(f"{name} exited with {process.returncode}")
        time.sleep(0.2)
    raise RuntimeError(f"{name} did not start within {limit:.0f} s")


@dataclass(frozen=True, slots=True)
class Served:
    """A running ``pds serve``: where it answers, and what CPU it has used so far."""

    base: str
    pid: int

    def cpu_seconds(self) -> float | None:
        """User plus system time of the server process (all its threads), from
        ``/proc``; None where there is no ``/proc``. CPU per request is steadier than
        requests per second on a machine whose speed drifts between runs."""
        try:
            fields = Path(f"/proc/{self.pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            return None
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


@contextlib.contextmanager
def pds_serve(
    data_dir: Path, port: int, settings: Mapping[str, str] | None = None
) -> Iterator[Served]:
    """``pds serve`` (uvicorn, audit sequencer on) on 127.0.0.1:``port``, until /healthz
    answers; ``settings``: more ``PDS_*`` variables for the server."""
    base = f"http://127.0.0.1:{port}"
    env = {
        **os.environ,
        "PDS_DATA_DIR": str(data_dir),
        "PDS_HOST": "127.0.0.1",
        "PDS_PORT": str(port),
        "PDS_BASE_URL": base,
        "PDS_LOG_LEVEL": "WARNING",
        **(settings or {}),
    }
    log_path = data_dir / "server.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(  # noqa: S603 - fixed argv
            [str(Path(sys.executable).parent / "pds"), "serve"],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
    try:
        wait_until_healthy(base, process, "pds serve")
        yield Served(base, process.pid)
    except BaseException:
        print("pds serve log (tail):", log_path.read_text()[-4000:], sep="\n", file=sys.stderr)
        raise
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)
