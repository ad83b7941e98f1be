"""``pds audit``: fold pending entries into the tree, and verify the whole log."""

from __future__ import annotations

import time
from typing import IO, TYPE_CHECKING

import click

from pds.cli_support import friendly_errors, key_provider, run_with_db, settings_from_env

if TYPE_CHECKING:
    from collections.abc import Callable


@click.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("sequence")
@friendly_errors
def audit_sequence() -> None:
    """Fold pending entries into the tree and sign a checkpoint, once."""
    from pds.audit.sequencer import log_origin, sequence_all  # noqa: PLC0415

    settings = settings_from_env()
    provider = key_provider(settings)
    origin = log_origin(settings.base_url)
    count = run_with_db(settings, lambda db: sequence_all(db, provider, origin))
    click.echo(f"sequenced {count} entries")


@audit.command("verify")
@click.option(
    "--trusted",
    type=click.File("r", encoding="utf-8"),
    help="A checkpoint you trust (the signed note); '-' reads it from stdin.",
)
@friendly_errors
def audit_verify(trusted: IO[str] | None) -> None:
    """Rebuild the tree from the stored entries; check every checkpoint and the trusted one."""
    from pds.audit.note import MAX_NOTE_LENGTH  # noqa: PLC0415
    from pds.audit.sequencer import log_origin  # noqa: PLC0415
    from pds.audit.verify import verify_log  # noqa: PLC0415

    settings = settings_from_env()
    try:
        note = trusted.read(MAX_NOTE_LENGTH + 1) if trusted is not None else None
    except UnicodeDecodeError as exc:
        raise click.ClickException("the trusted checkpoint is not UTF-8 text") from exc
    origin = log_origin(settings.base_url)
    result = run_with_db(
        settings,
        lambda db: verify_log(db, origin, trusted_note=note, progress=progress_lines()),
    )
    if not result.ok:  # a checkpoint's failure names the checkpoint in its reason
        where = "" if result.first_bad_index is None else f" at index {result.first_bad_index}"
        click.echo(f"FAILED{where}: {result.reason}")
        raise click.exceptions.Exit(1)
    click.echo(
        f"ok: {result.entries_checked} entries, {result.checkpoints_checked} checkpoints verified"
    )
    if result.trusted_size is not None:
        click.echo(f"consistent with the trusted checkpoint of size {result.trusted_size}")


def progress_lines(every: float = 2.0) -> Callable[[int, int], None]:
    """Report progress on stderr at most every ``every`` seconds; quick runs print nothing."""
    last = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last >= every:
            click.echo(f"verified {done} of {total} entries", err=True)
            last = now

    return report
