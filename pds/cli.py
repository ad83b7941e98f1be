"""The ``pds`` operator command line (API.md "Operator contract").

Output is for people: short lines, no tracebacks for expected failures (bad
settings, unreachable database), a non-zero exit code when something failed.
"""

from __future__ import annotations

import asyncio
import gc
import json
import os
import sys
import time
from functools import wraps
from pathlib import Path
from typing import IO, TYPE_CHECKING, Any, Final, ParamSpec, TypeVar

import click
from sqlalchemy.exc import DBAPIError

from connectors.cli import clients
from pds.settings import Settings, SettingsError, prepare_data_dir

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable

    from pds.db import Database
    from pds.keys.provider import KeyProvider

P = ParamSpec("P")
R = TypeVar("R")

OPENAPI_PATH = Path("openapi/openapi.json")


def settings_from_env() -> Settings:
    try:
        return Settings.from_env()
    except SettingsError as exc:
        raise click.ClickException(str(exc)) from exc


def friendly_errors(fn: Callable[P, R]) -> Callable[P, R]:
    """Turn the failures an operator can fix into one readable line."""
    from pds.errors import DomainError  # noqa: PLC0415
    from pds.keys.provider import KeyProviderError  # noqa: PLC0415

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except DBAPIError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from exc
        except (DomainError, KeyProviderError) as exc:
            raise click.ClickException(str(exc)) from exc
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


GC_THRESHOLDS: Final = (20_000, 20, 100)
"""``pds serve``'s collector thresholds (CPython's default is 700, 10, 10)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """PDS: a personal data store for local-council digital services."""


main.add_command(clients)


@main.command()
@click.option("--no-sequencer", is_flag=True, help="Do not run the audit sequencer here.")
def serve(*, no_sequencer: bool) -> None:
    """Run the HTTP server (uvicorn) on PDS_HOST:PDS_PORT."""
    import uvicorn  # noqa: PLC0415 - only the server command needs it

    if no_sequencer:
        os.environ["PDS_AUDIT_SEQUENCER"] = "off"  # read by create_app in the server
    settings = settings_from_env()
    from pds.app import create_app  # noqa: PLC0415 - only the server command needs it

    app = create_app(settings)
    _settle_garbage_collector()
    click.echo(f"PDS listening on http://{settings.host}:{settings.port} ({settings.base_url})")
    uvicorn.run(
        app,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


def _settle_garbage_collector() -> None:
    """Keep the cyclic garbage collector's pauses short while serving.

    A full collection walks every tracked object, and after start-up that is hundreds of
    thousands of long-lived ones (routes, models, compiled statements): measured under
    load, those pauses made the slowest 1% of connector reads 3-4x slower than the rest.
    Frozen, they are never walked again; a larger first generation collects less often.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)


@main.group()
def db() -> None:
    """Database migrations."""


@db.command()
@click.argument("revision", default="head")
@friendly_errors
def upgrade(revision: str) -> None:
    """Migrate the database up to REVISION (default: head)."""
    from pds import migrate  # noqa: PLC0415 - keep `pds --help` fast

    migrate.upgrade(settings_from_env(), revision)
    click.echo(f"database upgraded to {revision}")


@db.command()
@click.argument("revision", default="-1")
@friendly_errors
def downgrade(revision: str) -> None:
    """Migrate the database down to REVISION (default: one step; 'base' for empty)."""
    from pds import migrate  # noqa: PLC0415

    migrate.downgrade(settings_from_env(), revision)
    click.echo(f"database downgraded to {revision}")


@db.command()
@friendly_errors
def current() -> None:
    """Show the database's revision and the newest one this code ships."""
    from pds import migrate  # noqa: PLC0415
    from pds.db import create_engine  # noqa: PLC0415

    async def read() -> str | None:
        engine = create_engine(settings_from_env())
        try:
            return await migrate.current_revision(engine)
        finally:
            await engine.dispose()

    revision = asyncio.run(read())
    head = migrate.head_revision()
    state = "at head" if revision == head else "behind: run `pds db upgrade`"
    click.echo(f"current: {revision or 'empty'}\nhead:    {head}\n{state}")


def _keys(settings: Settings) -> KeyProvider:
    from pds.app import KEK_FILE  # noqa: PLC0415
    from pds.keys.provider import LocalKeyFileProvider  # noqa: PLC0415

    return LocalKeyFileProvider.open(prepare_data_dir(settings) / KEK_FILE)


def _run_with_db(settings: Settings, work: Callable[[Database], Awaitable[R]]) -> R:
    """Run ``work`` against a database refused early when it is not migrated."""
    from pds import migrate  # noqa: PLC0415
    from pds.db import open_database  # noqa: PLC0415

    async def go() -> R:
        db = open_database(settings)
        try:
            if await migrate.current_revision(db.engine) != migrate.head_revision():
                raise click.ClickException("the database is not migrated: run `pds db upgrade`")
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


@main.command()
@friendly_errors
def demo() -> None:
    """Load demo citizens, an auditor and evidence (idempotent); print how to sign in."""
    from pds.accounts.service import AccountPolicy  # noqa: PLC0415
    from pds.demo import DEMO_USERS, load_demo  # noqa: PLC0415

    settings = settings_from_env()
    keys = _keys(settings)
    created = _run_with_db(settings, lambda db: load_demo(db, keys, AccountPolicy()))
    existing = len(DEMO_USERS) - len(created)
    click.echo(f"demo data: {len(created)} account(s) created, {existing} already there")
    click.echo(f"sign in at {settings.base_url}/dashboard/sign-in (or POST /api/v1/session) as:")
    for user in DEMO_USERS:
        click.echo(f"  {user.role.value:<8} {user.email:<28} password: {user.password}")


@main.group()
def users() -> None:
    """Accounts."""


@users.command("create")
@click.argument("email")
@click.option(
    "--role",
    type=click.Choice(["citizen", "auditor", "admin"]),
    default="citizen",
    show_default=True,
)
@click.option("--password-stdin", is_flag=True, required=True, help="Read the password from stdin.")
@friendly_errors
def users_create(email: str, role: str, *, password_stdin: bool) -> None:
    """Create an account; auditors and admins can only be made here."""
    from pds.accounts.service import AccountPolicy, Role, create_account  # noqa: PLC0415
    from pds.audit.entry import Actor  # noqa: PLC0415

    del password_stdin  # required flag: passwords never travel on the command line
    password = sys.stdin.readline().rstrip("\r\n")
    settings = settings_from_env()
    keys = _keys(settings)

    async def create(db: Database) -> str:
        async with db.sessions() as session:
            account = await create_account(
                session,
                keys,
                email=email,
                password=password,
                role=Role(role),
                policy=AccountPolicy(),
                actor=Actor.ADMIN,
            )
            return str(account.id)

    account_id = _run_with_db(settings, create)
    click.echo(f"created {role} account {account_id}")


@main.group()
def keys() -> None:
    """Key-encryption keys and data keys."""


@keys.command("status")
@friendly_errors
def keys_status() -> None:
    """Show the KEK versions and how many data keys are wrapped under each."""
    from pds.vault.datakeys import data_key_versions  # noqa: PLC0415

    settings = settings_from_env()
    provider = _keys(settings)

    async def counts(db: Database) -> dict[int, int]:
        async with db.read_sessions() as session:
            return await data_key_versions(session)

    by_version = _run_with_db(settings, counts)
    click.echo(f"current KEK version: {provider.current_version}")
    for version in sorted(set(provider.versions()) | set(by_version)):
        marker = " (current)" if version == provider.current_version else ""
        click.echo(f"  v{version}{marker}: {by_version.get(version, 0)} data key(s)")


@keys.command("rotate-signing")
@click.option(
    "--purpose",
    type=click.Choice(["tokens", "audit-checkpoint", "all"]),
    default="all",
    show_default=True,
    help="Which key: tokens (access and consent tokens, receipts) or audit checkpoints.",
)
@friendly_errors
def keys_rotate_signing(purpose: str) -> None:
    """Retire signing keys (they stay published for verification) and make new ones."""
    from pds.audit.entry import Action, Actor, Entry  # noqa: PLC0415
    from pds.audit.service import append  # noqa: PLC0415
    from pds.keys.signing import PURPOSES, rotate_signing_key  # noqa: PLC0415

    settings = settings_from_env()
    provider = _keys(settings)
    chosen = PURPOSES if purpose == "all" else (purpose,)

    async def rotate(db: Database) -> list[tuple[str, str]]:
        made: list[tuple[str, str]] = []
        async with db.sessions() as session:
            for name in chosen:
                kid = await rotate_signing_key(session, provider, name)
                append(
                    session,
                    Entry(
                        actor=Actor.ADMIN,
                        action=Action.KEY_ROTATED,
                        detail={"signing_key": kid, "purpose": name},
                    ),
                )
                made.append((name, kid))
            await session.commit()
        return made

    for name, kid in _run_with_db(settings, rotate):
        click.echo(f"new {name} signing key {kid}")
    click.echo("retired keys stay in /.well-known/jwks.json until what they signed has expired")


@keys.command("rotate-kek")
@friendly_errors
def keys_rotate_kek() -> None:
    """Rewrap every data and signing key under a new KEK (resumes an interrupted one first)."""
    from pds.vault.rotation import pending_count, plan_rotation, rewrap_batch  # noqa: PLC0415

    settings = settings_from_env()
    provider = _keys(settings)

    async def rotate(db: Database) -> None:
        plan = await plan_rotation(db, provider)
        verb = "resuming rotation to" if plan.resumed else "rotating to new"
        click.echo(f"{verb} KEK version {plan.target_version}: {plan.pending} key(s) to rewrap")
        with click.progressbar(length=plan.pending, label="rewrapping") as bar:
            while count := await rewrap_batch(db, provider, plan.target_version):
                bar.update(count)
        left = await pending_count(db, plan.target_version)
        click.echo(f"done: {left} key(s) left on older versions")

    _run_with_db(settings, rotate)


@main.group()
def audit() -> None:
    """The tamper-evident audit log."""


@audit.command("sequence")
@friendly_errors
def audit_sequence() -> None:
    """Fold pending entries into the tree and sign a checkpoint, once."""
    from pds.audit.sequencer import log_origin, sequence_all  # noqa: PLC0415

    settings = settings_from_env()
    provider = _keys(settings)
    origin = log_origin(settings.base_url)
    count = _run_with_db(settings, lambda db: sequence_all(db, provider, origin))
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
    result = _run_with_db(
        settings,
        lambda db: verify_log(db, origin, trusted_note=note, progress=_progress_lines()),
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


def _progress_lines(every: float = 2.0) -> Callable[[int, int], None]:
    """Report progress on stderr at most every ``every`` seconds; quick runs print nothing."""
    last = time.monotonic()

    def report(done: int, total: int) -> None:
        nonlocal last
        now = time.monotonic()
        if done < total and now - last >= every:
            click.echo(f"verified {done} of {total} entries", err=True)
            last = now

    return report


@main.command()
@click.option("--output", "-o", type=click.Path(path_type=Path), default=OPENAPI_PATH)
def openapi(output: Path) -> None:
    """Write the OpenAPI 3.1 document (default openapi/openapi.json)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi(), encoding="utf-8")
    click.echo(f"wrote {output}")


def render_openapi() -> str:
    """The app's OpenAPI document as stable, reviewable JSON."""
    from pds.app import create_app  # noqa: PLC0415
    from pds.keys.provider import InMemoryKeyProvider  # noqa: PLC0415

    # Building the schema opens no database and wraps no key: an in-memory
    # database and key provider keep `pds openapi` from creating ./var and a KEK.
    app = create_app(
        Settings(database_url="sqlite+aiosqlite:///:memory:"), keys=InMemoryKeyProvider()
    )
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
