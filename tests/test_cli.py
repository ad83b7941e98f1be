"""The operator command line: readable lines, non-zero exits, never a traceback.

Synchronous tests: the ``db`` commands run Alembic, which starts its own event loop.
"""

from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import threading
from contextlib import closing
from pathlib import Path
from typing import TYPE_CHECKING

import pytest
from click.testing import CliRunner, Result

from pds.cli import main
from pds.migrate import head_revision

if TYPE_CHECKING:
    from pds.settings import Settings

SETTING_NAMES = (
    "PDS_DATA_DIR",
    "PDS_DATABASE_URL",
    "PDS_HOST",
    "PDS_PORT",
    "PDS_BASE_URL",
    "PDS_LOG_LEVEL",
)
PDS_SCRIPT = Path(sys.executable).with_name("pds")


def pds_env(**values: str) -> dict[str, str | None]:
    """Exactly these settings; any PDS_* variable of the surrounding shell is unset."""
    env: dict[str, str | None] = dict.fromkeys(SETTING_NAMES)
    env.update(values)
    return env


def run(env: dict[str, str | None], *args: str) -> Result:
    return CliRunner().invoke(main, list(args), env=env)


def succeeds(env: dict[str, str | None], *args: str) -> list[str]:
    result = run(env, *args)
    assert result.exit_code == 0, result.output
    return result.output.splitlines()


@pytest.fixture
def empty_env(empty_settings: Settings) -> dict[str, str | None]:
    """The environment of an operator with a brand-new, empty database."""
    return pds_env(
        PDS_DATA_DIR=str(empty_settings.data_dir), PDS_DATABASE_URL=empty_settings.database_url
    )


def test_db_upgrade_current_and_downgrade(empty_env: dict[str, str | None]) -> None:
    head = head_revision()
    assert succeeds(empty_env, "db", "current") == [
        "current: empty",
        f"head:    {head}",
        "behind: run `pds db upgrade`",
    ]

    assert succeeds(empty_env, "db", "upgrade") == ["database upgraded to head"]
    assert succeeds(empty_env, "db", "current") == [
        f"current: {head}",
        f"head:    {head}",
        "at head",
    ]

    assert succeeds(empty_env, "db", "downgrade", "base") == ["database downgraded to base"]
    assert succeeds(empty_env, "db", "current")[0] == "current: empty"


def test_db_upgrade_creates_the_data_folder_for_its_owner_only(tmp_path: Path) -> None:
    data_dir = tmp_path / "new" / "data"

    succeeds(pds_env(PDS_DATA_DIR=str(data_dir)), "db", "upgrade")

    assert (data_dir / "pds.sqlite3").is_file()
    assert data_dir.stat().st_mode & 0o777 == 0o700


def run_and_settle(env: dict[str, str | None], *args: str) -> Result:
    """Run a command, then wait for the threads it started (database drivers) to end."""
    before = set(threading.enumerate())
    result = run(env, *args)
    for thread in set(threading.enumerate()) - before:
        thread.join(timeout=5)
    return result


@pytest.mark.filterwarnings(
    # After a failed connect, aiosqlite (0.22) stops its worker thread without waiting
    # for it; the command's event loop is closed by then, so that thread raises "Event
    # loop is closed". Harmless in a real process (nothing is printed), but it must
    # settle inside this test rather than surface in whichever test runs next.
    "ignore::pytest.PytestUnhandledThreadExceptionWarning"
)
def test_an_unreachable_database_is_one_line_not_a_traceback(tmp_path: Path) -> None:
    # The database file is a folder: SQLite cannot open it. The command must not
    # mistake that for an empty database ("current: empty") either.
    data_dir = tmp_path / "data"
    (data_dir / "pds.sqlite3").mkdir(parents=True)

    result = run_and_settle(pds_env(PDS_DATA_DIR=str(data_dir)), "db", "current")

    assert result.exit_code == 1
    assert result.output == "Error: cannot reach the database: unable to open database file\n"


def test_bad_settings_are_listed_one_per_line_without_a_traceback() -> None:
    # Through the installed script, as an operator would run it.
    env = {k: v for k, v in os.environ.items() if not k.startswith("PDS_")}
    env |= {"PDS_PORT": "eighty", "PDS_LOG_LEVEL": "loud", "PDS_BASE_URL": "pds.example.gov.uk"}

    done = subprocess.run(  # noqa: S603 - our own entry point, fixed arguments
        [str(PDS_SCRIPT), "db", "current"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )

    assert done.returncode == 1
    assert done.stdout == ""
    assert "Traceback" not in done.stderr
    lines = done.stderr.splitlines()
    assert lines[0] == "Error: Invalid settings:"
    assert sorted(line.split("=", 1)[0] for line in lines[1:]) == [
        "  - PDS_BASE_URL",
        "  - PDS_LOG_LEVEL",
        "  - PDS_PORT",
    ]


@pytest.mark.parametrize(
    "command", [["db", "upgrade"], ["db", "downgrade", "base"], ["db", "current"]]
)
def test_every_command_refuses_bad_settings(command: list[str], tmp_path: Path) -> None:
    result = run(pds_env(PDS_DATA_DIR=str(tmp_path), PDS_PORT="0"), *command)

    assert result.exit_code == 1
    assert "PDS_PORT='0': must be a whole number from 1 to 65535" in result.output
    assert not (tmp_path / "pds.sqlite3").exists()


def test_openapi_writes_valid_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)  # building the app creates ./var
    output = tmp_path / "out" / "openapi.json"

    assert succeeds(pds_env(), "openapi", "-o", str(output)) == [f"wrote {output}"]

    document = json.loads(output.read_text(encoding="utf-8"))
    assert document["openapi"].startswith("3.1")
    assert "/readyz" in document["paths"]


def test_rotate_signing_retires_the_key_and_checkpoints_still_verify(tmp_path: Path) -> None:
    env = pds_env(PDS_DATA_DIR=str(tmp_path / "data"))
    succeeds(env, "db", "upgrade")
    succeeds(env, "demo")  # appends entries
    succeeds(env, "audit", "sequence")

    [line, _] = succeeds(env, "keys", "rotate-signing", "--purpose", "audit-checkpoint")
    succeeds(env, "audit", "sequence")  # signs with the new key
    verified = succeeds(env, "audit", "verify")

    assert line.startswith("new audit-checkpoint signing key ")
    assert verified[-1].startswith("ok: ")


def test_rotate_signing_makes_a_new_token_key_and_keeps_the_old_one_published(
    tmp_path: Path,
) -> None:
    env = pds_env(PDS_DATA_DIR=str(tmp_path / "data"))
    succeeds(env, "db", "upgrade")
    first = succeeds(env, "keys", "rotate-signing", "--purpose", "tokens")
    second = succeeds(env, "keys", "rotate-signing")

    assert first[0].startswith("new tokens signing key ")
    assert [line.split()[1] for line in second[:2]] == ["audit-checkpoint", "tokens"]
    old_kid, new_kid = first[0].split()[-1], second[1].split()[-1]
    assert old_kid != new_kid
    assert "stay in /.well-known/jwks.json" in second[-1]
    with closing(sqlite3.connect(tmp_path / "data" / "pds.sqlite3")) as conn:
        rows = conn.execute(
            "SELECT kid, retired_at IS NOT NULL FROM signing_keys WHERE purpose = 'tokens'"
        ).fetchall()
    assert dict(rows) == {old_kid: 1, new_kid: 0}


def test_serve_answers_until_it_is_stopped(tmp_path: Path) -> None:
    """``pds serve`` is what operators and the benchmark run: a real process that answers
    once started and exits cleanly on SIGTERM (its background tasks finished, not lost)."""
    import signal  # noqa: PLC0415 - only this test sends signals
    import socket  # noqa: PLC0415
    import time  # noqa: PLC0415
    import urllib.request  # noqa: PLC0415

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **{k: v for k, v in os.environ.items() if k not in SETTING_NAMES},
        "PDS_DATA_DIR": str(tmp_path / "data"),
        "PDS_PORT": str(port),
        "PDS_LOG_LEVEL": "WARNING",
    }
    subprocess.run([str(PDS_SCRIPT), "db", "upgrade"], env=env, check=True, capture_output=True)  # noqa: S603
    server = subprocess.Popen(  # noqa: S603 - our own entry point, fixed arguments
        [str(PDS_SCRIPT), "serve"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=1
                ) as answer:
                    assert answer.status == 200
                    assert json.loads(answer.read())["status"] == "ok"
                    break
            except OSError:
                assert server.poll() is None, server.stderr.read() if server.stderr else ""
                assert time.monotonic() < deadline, "pds serve did not answer within 30 s"
                time.sleep(0.2)
    finally:
        server.send_signal(signal.SIGTERM)
        out, err = server.communicate(timeout=20)
    # uvicorn shuts down gracefully, then re-raises the signal so the exit status says so.
    assert server.returncode in {0, -signal.SIGTERM}, err.decode()
    assert f"PDS listening on http://127.0.0.1:{port}" in out.decode()
    assert b"Traceback" not in err
