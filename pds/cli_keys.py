"""``pds keys``: key-encryption keys, data keys and signing keys (API.md CLI table)."""

from __future__ import annotations

from typing import TYPE_CHECKING

import click

from pds.cli_support import friendly_errors, key_provider, run_with_db, settings_from_env

if TYPE_CHECKING:
    from pds.db import Database


@click.group()
def keys() -> None:
    """Key-encryption keys and data keys."""


@keys.command("status")
@friendly_errors
def keys_status() -> None:
    """Show the KEK versions and how many data keys are wrapped under each."""
    from pds.vault.datakeys import data_key_versions  # noqa: PLC0415

    settings = settings_from_env()
    provider = key_provider(settings)

    async def counts(db: Database) -> dict[int, int]:
        async with db.read_sessions() as session:
            return await data_key_versions(session)

    by_version = run_with_db(settings, counts)
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
    provider = key_provider(settings)
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

    for name, kid in run_with_db(settings, rotate):
        click.echo(f"new {name} signing key {kid}")
    click.echo("retired keys stay in /.well-known/jwks.json until what they signed has expired")


@keys.command("rotate-kek")
@friendly_errors
def keys_rotate_kek() -> None:
    """Rewrap every data and signing key under a new KEK (resumes an interrupted one first)."""
    from pds.vault.rotation import pending_count, plan_rotation, rewrap_batch  # noqa: PLC0415

    settings = settings_from_env()
    provider = key_provider(settings)

    async def rotate(db: Database) -> None:
        plan = await plan_rotation(db, provider)
        verb = "resuming rotation to" if plan.resumed else "rotating to new"
        click.echo(f"{verb} KEK version {plan.target_version}: {plan.pending} key(s) to rewrap")
        with click.progressbar(length=plan.pending, label="rewrapping") as bar:
            while count := await rewrap_batch(db, provider, plan.target_version):
                bar.update(count)
        left = await pending_count(db, plan.target_version)
        click.echo(f"done: {left} key(s) left on older versions")

    run_with_db(settings, rotate)
