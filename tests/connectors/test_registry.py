"""The client registry service on both databases: each change commits with its audit entry."""

from __future__ import annotations

import asyncio
import uuid
from pathlib import Path
from typing import TYPE_CHECKING, Any

import msgspec
import pytest
from sqlalchemy import event, select

from connectors.models import Client
from connectors.registry import (
    ClientNotFound,
    ClientStatus,
    ClientStatusConflict,
    Manifest,
    changed_fields,
    get_client,
    is_active,
    list_clients,
    parse_manifest,
    register_client,
    reinstate_client,
    suspend_client,
    update_client,
)
from pds.audit.entry import Action, Actor
from pds.audit.models import AuditEntry
from pds.errors import Conflict, InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import AsyncIterator, Awaitable, Callable

    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.db import Database

EXAMPLES = Path(__file__).parents[2] / "examples" / "manifests"
HOUSING = parse_manifest((EXAMPLES / "housing.json").read_bytes())
PARKING = parse_manifest((EXAMPLES / "parking-provider.json").read_bytes())
UNKNOWN = "0190c6a4-0000-7000-8000-000000000000"


def changed(manifest: Manifest, **fields: Any) -> Manifest:
    return msgspec.structs.replace(manifest, **fields)


@pytest.fixture
async def session(db: Database) -> AsyncIterator[AsyncSession]:
    async with db.sessions() as opened:
        yield opened


async def entries(db: Database) -> list[AuditEntry]:
    async with db.read_sessions() as reader:
        rows = await reader.scalars(select(AuditEntry).order_by(AuditEntry.created_at))
        return list(rows)


async def stored(db: Database, client_id: str) -> Client | None:
    async with db.read_sessions() as reader:
        return await reader.get(Client, client_id)


# --- register, get, list ----------------------------------------------------------------------


async def test_register_stores_an_active_client_with_a_new_uuid7_id(
    db: Database, session: AsyncSession
) -> None:
    client = await register_client(session, HOUSING)

    assert uuid.UUID(client.client_id).version == 7
    row = await stored(db, client.client_id)
    assert row is not None
    assert row.status == ClientStatus.ACTIVE
    assert is_active(row)
    assert row.name == "Housing Options and Homelessness"
    assert row.kind == "council_service"
    assert row.redirect_uris == ["https://housing.exampleton.gov.uk/pds/callback"]
    assert row.jwks == {"keys": list(HOUSING.jwks.keys if HOUSING.jwks else [])}
    assert row.purposes == [p.value for p in HOUSING.purposes]
    assert row.suspended_at is None
    assert changed_fields(row, HOUSING) == []


async def test_register_writes_one_admin_audit_entry(db: Database, session: AsyncSession) -> None:
    client = await register_client(session, HOUSING)

    [entry] = await entries(db)
    assert entry.action == Action.CLIENT_REGISTERED
    assert entry.actor == Actor.ADMIN
    assert entry.client_id == client.client_id
    assert entry.detail == {"kind": "council_service", "keys": "inline"}


async def test_each_registration_gets_its_own_id(session: AsyncSession) -> None:
    first = await register_client(session, HOUSING)
    second = await register_client(session, HOUSING)

    assert first.client_id != second.client_id


async def test_get_and_list(session: AsyncSession) -> None:
    housing = await register_client(session, HOUSING)
    parking = await register_client(session, PARKING)

    found = await get_client(session, parking.client_id)
    listed = await list_clients(session)

    assert found is not None
    assert found.name == "Resident Parking Permits"
    assert [c.client_id for c in listed] == [housing.client_id, parking.client_id]
    assert await get_client(session, UNKNOWN) is None


async def test_an_empty_registry_lists_nothing(session: AsyncSession) -> None:
    assert await list_clients(session) == []


# --- the audit entry is in the same transaction -----------------------------------------------


async def test_each_change_commits_once(session: AsyncSession) -> None:
    commits: list[bool] = []
    event.listen(session.sync_session, "after_commit", lambda _: commits.append(True))

    client = await register_client(session, HOUSING)
    await update_client(session, client.client_id, PARKING)
    await suspend_client(session, client.client_id, None)
    await reinstate_client(session, client.client_id)

    assert len(commits) == 4


async def test_a_change_that_fails_to_commit_leaves_no_entry(
    db: Database, session: AsyncSession
) -> None:
    def refuse(_: object) -> None:
        raise RuntimeError("commit refused")

    event.listen(session.sync_session, "before_commit", refuse)

    with pytest.raises(RuntimeError, match="commit refused"):
        await register_client(session, HOUSING)
    await session.rollback()

    assert await entries(db) == []
    async with db.read_sessions() as reader:
        assert list(await reader.scalars(select(Client))) == []


# --- update -----------------------------------------------------------------------------------


async def test_update_replaces_the_registration_and_keeps_id_and_status(
    db: Database, session: AsyncSession
) -> None:
    client = await register_client(session, HOUSING)
    await suspend_client(session, client.client_id, None)
    new = changed(HOUSING, name="Housing Advice", webhook_url=None, categories=PARKING.categories)

    updated = await update_client(session, client.client_id, new)

    assert updated.client_id == client.client_id
    row = await stored(db, client.client_id)
    assert row is not None
    assert row.name == "Housing Advice"
    assert row.webhook_url is None
    assert row.categories == [c.value for c in PARKING.categories]
    assert row.status == ClientStatus.SUSPENDED
    last = (await entries(db))[-1]
    assert last.action == Action.CLIENT_UPDATED
    assert last.client_id == client.client_id
    assert last.detail == {"changed": "name,categories,webhook_url"}


async def test_an_update_that_changes_nothing_says_so(db: Database, session: AsyncSession) -> None:
    client = await register_client(session, HOUSING)
    before = client.updated_at

    await update_client(session, client.client_id, HOUSING)

    row = await stored(db, client.client_id)
    assert row is not None
    assert row.updated_at == before
    assert (await entries(db))[-1].detail == {"changed": ""}


async def test_changing_the_key_source_clears_the_other(
    db: Database, session: AsyncSession
) -> None:
    client = await register_client(session, HOUSING)
    new = changed(HOUSING, jwks=None, jwks_uri="https://housing.exampleton.gov.uk/jwks.json")

    await update_client(session, client.client_id, new)

    row = await stored(db, client.client_id)
    assert row is not None
    assert row.jwks is None
    assert row.jwks_uri == "https://housing.exampleton.gov.uk/jwks.json"


# --- suspend and reinstate --------------------------------------------------------------------


async def test_suspend_then_reinstate(db: Database, session: AsyncSession) -> None:
    client = await register_client(session, HOUSING)

    suspended = await suspend_client(session, client.client_id, "  keys leaked  ")

    assert not is_active(suspended)
    row = await stored(db, client.client_id)
    assert row is not None
    assert row.status == ClientStatus.SUSPENDED
    assert row.suspended_at is not None
    reinstated = await reinstate_client(session, client.client_id)
    assert is_active(reinstated)
    row = await stored(db, client.client_id)
    assert row is not None
    assert row.status == ClientStatus.ACTIVE
    assert row.suspended_at is None
    actions = [(e.action, e.client_id, e.detail) for e in await entries(db)]
    assert actions[1:] == [
        (Action.CLIENT_SUSPENDED, client.client_id, {"reason": "keys leaked"}),
        (Action.CLIENT_REINSTATED, client.client_id, {}),
    ]


async def test_suspending_twice_is_a_conflict_and_changes_nothing(
    db: Database, session: AsyncSession
) -> None:
    client = await register_client(session, HOUSING)
    await suspend_client(session, client.client_id, None)
    count = len(await entries(db))

    with pytest.raises(ClientStatusConflict, match="already suspended") as caught:
        await suspend_client(session, client.client_id, "again")
    await session.rollback()

    assert isinstance(caught.value, Conflict)
    assert len(await entries(db)) == count


async def test_reinstating_an_active_client_is_a_conflict(session: AsyncSession) -> None:
    client = await register_client(session, HOUSING)

    with pytest.raises(ClientStatusConflict, match="not suspended"):
        await reinstate_client(session, client.client_id)


@pytest.mark.parametrize("reason", ["line\nbreak", "x" * 501, "\u202eevil"])
async def test_a_bad_reason_is_refused_before_anything_changes(
    db: Database, session: AsyncSession, reason: str
) -> None:
    client = await register_client(session, HOUSING)

    with pytest.raises(InvalidInput, match="reason"):
        await suspend_client(session, client.client_id, reason)

    row = await stored(db, client.client_id)
    assert row is not None
    assert is_active(row)


# --- unknown ids ------------------------------------------------------------------------------


CHANGES: dict[str, Callable[[AsyncSession], Awaitable[Client]]] = {
    "update": lambda session: update_client(session, UNKNOWN, HOUSING),
    "suspend": lambda session: suspend_client(session, UNKNOWN, None),
    "reinstate": lambda session: reinstate_client(session, UNKNOWN),
}


@pytest.mark.parametrize("change", sorted(CHANGES))
async def test_unknown_ids_are_not_found(db: Database, session: AsyncSession, change: str) -> None:
    with pytest.raises(ClientNotFound) as caught:
        await CHANGES[change](session)

    assert isinstance(caught.value, NotFound)
    assert caught.value.code == "client_not_found"
    assert UNKNOWN in str(caught.value)
    assert await entries(db) == []


async def test_two_operators_suspending_at_once_get_one_success_and_one_conflict(
    db: Database, session: AsyncSession
) -> None:
    client = await register_client(session, HOUSING)

    async def suspend(reason: str) -> str:
        async with db.sessions() as own:
            try:
                await suspend_client(own, client.client_id, reason)
            except ClientStatusConflict:
                return "conflict"
            return "suspended"

    outcomes = await asyncio.gather(suspend("first"), suspend("second"))

    assert sorted(outcomes) == ["conflict", "suspended"]
    suspensions = [e for e in await entries(db) if e.action == Action.CLIENT_SUSPENDED]
    assert len(suspensions) == 1
