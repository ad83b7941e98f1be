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
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

import click

from connectors.cli import clients
from pds.cli_audit import audit
from pds.cli_keys import keys
from pds.cli_support import friendly_errors, key_provider, run_with_db, settings_from_env
from pds.settings import Settings

if TYPE_CHECKING:
    from pds.db import Database

OPENAPI_PATH = Path("openapi/openapi.json")


GC_THRESHOLDS: Final = (20_000, 20, 100)
"""``pds serve``'s collector thresholds (CPython's default is 700, 10, 10)."""


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """PDS: a personal data store for local-council digital services."""


main.add_command(clients)
main.add_command(keys)
main.add_command(audit)


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


@main.command()
@friendly_errors
def demo() -> None:
    """Load demo citizens, an auditor and evidence (idempotent); print how to sign in."""
    from pds.accounts.service import AccountPolicy  # noqa: PLC0415
    from pds.demo import DEMO_USERS, load_demo  # noqa: PLC0415

    settings = settings_from_env()
    keys = key_provider(settings)
    created = run_with_db(settings, lambda db: load_demo(db, keys, AccountPolicy()))
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
    keys = key_provider(settings)

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

    account_id = run_with_db(settings, create)
    click.echo(f"created {role} account {account_id}")


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
