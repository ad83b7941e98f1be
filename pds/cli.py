"""The ``pds`` operator command line (API.md "Operator contract").

Output is for people: short lines, no tracebacks for expected failures (bad
settings, unreachable database), a non-zero exit code when something failed.
"""

from __future__ import annotations

import json
from functools import wraps
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar

import click
from sqlalchemy.exc import OperationalError

from pds.settings import Settings, SettingsError

if TYPE_CHECKING:
    from collections.abc import Callable

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

    @wraps(fn)
    def wrapper(*args: P.args, **kwargs: P.kwargs) -> R:
        try:
            return fn(*args, **kwargs)
        except OperationalError as exc:
            raise click.ClickException(f"cannot reach the database: {exc.orig}") from exc
        except OSError as exc:
            raise click.ClickException(str(exc)) from exc

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def main() -> None:
    """PDS: a personal data store for local-council digital services."""


@main.command()
@click.option("--no-sequencer", is_flag=True, help="Do not run the audit sequencer here.")
def serve(*, no_sequencer: bool) -> None:
    """Run the HTTP server (uvicorn) on PDS_HOST:PDS_PORT."""
    import uvicorn  # noqa: PLC0415 - only the server command needs it

    settings = settings_from_env()
    del no_sequencer  # the sequencer arrives with the audit-log issue
    click.echo(f"PDS listening on http://{settings.host}:{settings.port} ({settings.base_url})")
    uvicorn.run(
        "pds.app:create_app",
        factory=True,
        host=settings.host,
        port=settings.port,
        log_config=None,
        access_log=False,
        proxy_headers=False,
        server_header=False,
    )


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
    import asyncio  # noqa: PLC0415

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
@click.option("--output", "-o", type=click.Path(path_type=Path), default=OPENAPI_PATH)
def openapi(output: Path) -> None:
    """Write the OpenAPI 3.1 document (default openapi/openapi.json)."""
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(render_openapi(), encoding="utf-8")
    click.echo(f"wrote {output}")


def render_openapi() -> str:
    """The app's OpenAPI document as stable, reviewable JSON."""
    from pds.app import create_app  # noqa: PLC0415

    app = create_app(Settings())
    schema: dict[str, Any] = app.openapi_schema.to_schema()
    return json.dumps(schema, indent=2, sort_keys=True, ensure_ascii=False) + "\n"
