"""``pds clients``: the client registry from the operator's command line (API.md CLI table).

``pds.cli`` attaches the group; the helpers every command shares come from
``pds.cli_support``. Output is for people, except ``add``, whose only output is the new
client id so scripts can keep it.
"""

from __future__ import annotations

from typing import IO, TYPE_CHECKING, Any, TypeVar

import click

from pds.cli_support import friendly_errors, run_with_db, settings_from_env

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable, Mapping, Sequence

    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.models import Client
    from connectors.registry.manifest import Manifest
    from pds.db import Database

R = TypeVar("R")

_NAME_WIDTH = 40


def _with_session(work: Callable[[AsyncSession], Awaitable[R]], *, writes: bool = True) -> R:
    """Run ``work`` in one session on the migrated database the settings name.

    Reads use a read session, so listing never takes SQLite's write lock.
    """

    async def run(db: Database) -> R:
        async with (db.sessions if writes else db.read_sessions)() as session:
            return await work(session)

    return run_with_db(settings_from_env(), run)


def _read_manifest(file: IO[bytes]) -> Manifest:
    """Checked before the database is touched, so a bad file fails fast and alone."""
    from connectors.registry.manifest import MAX_MANIFEST_BYTES, parse_manifest  # noqa: PLC0415

    return parse_manifest(file.read(MAX_MANIFEST_BYTES + 1))


_MANIFEST_OPTION = click.option(
    "--from",
    "manifest_file",
    type=click.File("rb"),
    required=True,
    metavar="MANIFEST.json",
    help="The client manifest (API.md); '-' reads it from stdin.",
)


@click.group()
def clients() -> None:
    """The client registry: service systems allowed to use the connector API."""


@clients.command("add")
@_MANIFEST_OPTION
@friendly_errors
def clients_add(manifest_file: IO[bytes]) -> None:
    """Register a client from its manifest; prints only the new client id."""
    from connectors.registry.service import register_client  # noqa: PLC0415

    manifest = _read_manifest(manifest_file)

    async def add(session: AsyncSession) -> str:
        return (await register_client(session, manifest)).client_id

    click.echo(_with_session(add))


@clients.command("list")
@friendly_errors
def clients_list() -> None:
    """A short table of every client: id, name, kind and status."""
    from connectors.registry.service import list_clients  # noqa: PLC0415

    rows = _with_session(list_clients, writes=False)
    if not rows:
        click.echo("no clients registered")
        return
    table = [("ID", "NAME", "KIND", "STATUS")]
    table += [(c.client_id, _short(c.name), c.kind, c.status) for c in rows]
    widths = [max(len(row[i]) for row in table) for i in range(3)]
    for row in table:
        click.echo("  ".join([*(row[i].ljust(widths[i]) for i in range(3)), row[3]]))


@clients.command("show")
@click.argument("client_id")
@friendly_errors
def clients_show(client_id: str) -> None:
    """Everything registered for one client, one item a line."""

    async def find(session: AsyncSession) -> Client:
        return await _found(session, client_id)

    for label, value in _describe(_with_session(find, writes=False)):
        click.echo(f"{label + ':' if label else '':<20}{value}")


@clients.command("update")
@click.argument("client_id")
@_MANIFEST_OPTION
@friendly_errors
def clients_update(client_id: str, manifest_file: IO[bytes]) -> None:
    """Replace a client's registration with a new manifest (its id and status stay)."""
    from connectors.registry.service import changed_fields, update_client  # noqa: PLC0415

    manifest = _read_manifest(manifest_file)

    async def update(session: AsyncSession) -> list[str]:
        changed = changed_fields(await _found(session, client_id), manifest)
        await update_client(session, client_id, manifest)
        return changed

    changed = _with_session(update)
    click.echo(f"updated client {client_id}: " + (", ".join(changed) or "nothing changed"))


async def _found(session: AsyncSession, client_id: str) -> Client:
    from connectors.registry.service import ClientNotFound, get_client  # noqa: PLC0415

    client = await get_client(session, client_id)
    if client is None:
        raise ClientNotFound(client_id)
    return client


@clients.command("suspend")
@click.argument("client_id")
@click.option(
    "--reason", help="Why, in a few words (no personal data): it is kept in the audit log."
)
@friendly_errors
def clients_suspend(client_id: str, reason: str | None) -> None:
    """Refuse the client at every endpoint until it is reinstated."""
    from connectors.registry.service import suspend_client  # noqa: PLC0415

    async def suspend(session: AsyncSession) -> None:
        await suspend_client(session, client_id, reason)

    _with_session(suspend)
    click.echo(f"suspended client {client_id}")


@clients.command("reinstate")
@click.argument("client_id")
@friendly_errors
def clients_reinstate(client_id: str) -> None:
    """Let a suspended client use the connector API again."""
    from connectors.registry.service import reinstate_client  # noqa: PLC0415

    async def reinstate(session: AsyncSession) -> None:
        await reinstate_client(session, client_id)

    _with_session(reinstate)
    click.echo(f"reinstated client {client_id}")


def _key_summary(jwk: Mapping[str, Any]) -> str:
    """``EC P-256 (kid)`` or ``RSA 2048 bits (kid)``: how a key is named to an operator."""
    from pds.jose import rsa_modulus_bits  # noqa: PLC0415

    size = f"{rsa_modulus_bits(jwk['n'])} bits" if "n" in jwk else jwk.get("crv", "?")
    kid = f" ({jwk['kid']})" if "kid" in jwk else ""
    return f"{jwk.get('kty', '?')} {size}{kid}"


def _short(text: str) -> str:
    return text if len(text) <= _NAME_WIDTH else text[: _NAME_WIDTH - 1] + "…"


def _describe(client: Client) -> list[tuple[str, str]]:
    """The registration as (label, value) lines; lists continue on lines without a label."""
    status = client.status
    if client.suspended_at is not None:
        status += f" since {client.suspended_at:%Y-%m-%d %H:%M} UTC"
    if client.jwks is not None:
        keys = [f"inline: {_key_summary(key)}" for key in client.jwks["keys"]]
    else:
        keys = [f"from {client.jwks_uri}"]
    encryption = _key_summary(client.encryption_jwk) if client.encryption_jwk else None
    lines: list[tuple[str, Sequence[str | None]]] = [
        ("id", [client.client_id]),
        ("name", [client.name]),
        ("organisation", [client.organisation]),
        ("kind", [client.kind]),
        ("status", [status]),
        ("contact", [client.contact_email]),
        ("redirect URIs", client.redirect_uris),
        ("signing keys", keys),
        ("purposes", client.purposes),
        ("categories", client.categories),
        ("credential types", client.credential_types),
        ("encryption key", [encryption]),
        ("webhook", [client.webhook_url]),
        ("privacy notice", [client.privacy_notice_url]),
        ("logo", [client.logo_url]),
        ("registered", [f"{client.created_at:%Y-%m-%d %H:%M} UTC"]),
        ("updated", [f"{client.updated_at:%Y-%m-%d %H:%M} UTC"]),
    ]
    return [
        (label if index == 0 else "", value or "-")
        for label, values in lines
        for index, value in enumerate(values or [None])
    ]
