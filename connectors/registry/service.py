"""The client registry's use cases: register, read, update, suspend and reinstate clients.

Each change commits once, with its audit entry in the same transaction, so the log
never misses a registration and never records one that did not happen. Only operators
(the ``pds clients`` command, later an admin API) call these, so the entries name
``Actor.ADMIN``.

Client ids are new UUIDv7 strings (``pds.ids.uuid7``): opaque and unguessable enough
to say nothing about the service, never derived from the name (so a rename changes
nothing a client has configured), and time-ordered so a listing reads in order of
registration.
"""

from __future__ import annotations

import unicodedata
from enum import StrEnum
from typing import TYPE_CHECKING, Final

from sqlalchemy import select

from connectors.models import Client
from connectors.registry.manifest import manifest_to_columns
from pds.audit.entry import Action, Actor, Entry
from pds.audit.service import append
from pds.db import utcnow
from pds.errors import Conflict, InvalidInput, NotFound
from pds.ids import uuid7

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from connectors.registry.manifest import Manifest

MAX_REASON: Final = 500


class ClientNotFound(NotFound):
    """No client has this id."""

    code = "client_not_found"
    title = "No such client"

    def __init__(self, client_id: str) -> None:
        super().__init__(f"There is no client with id {client_id}.")
        self.client_id = client_id


class ClientStatusConflict(Conflict):
    """The client is already in the state asked for (suspending a suspended client...)."""

    code = "client_status_conflict"
    title = "The client is already in that state"


class ClientStatus(StrEnum):
    """A suspended client is refused everywhere; its registration and grants are kept."""

    ACTIVE = "active"
    SUSPENDED = "suspended"


def is_active(client: Client) -> bool:
    """Whether the client may use any endpoint at all (checked before anything else)."""
    return client.status == ClientStatus.ACTIVE


def changed_fields(client: Client, manifest: Manifest) -> list[str]:
    """The manifest fields that differ from the registration, in manifest order.

    Only these are assigned on update, so ``updated_at`` and the audit entry stay truthful.
    """
    columns = manifest_to_columns(manifest)
    return [name for name, value in columns.items() if getattr(client, name) != value]


async def register_client(session: AsyncSession, manifest: Manifest) -> Client:
    """Store a checked manifest as a new, active client."""
    client = Client(
        client_id=str(uuid7()),
        status=ClientStatus.ACTIVE.value,
        **manifest_to_columns(manifest),
    )
    session.add(client)
    _audit(
        session,
        Action.CLIENT_REGISTERED,
        client.client_id,
        kind=client.kind,
        keys="jwks_uri" if client.jwks_uri else "inline",
    )
    await session.commit()
    return client


async def get_client(session: AsyncSession, client_id: str) -> Client | None:
    """The client with this id, or ``None``."""
    return await session.get(Client, client_id)


async def list_clients(session: AsyncSession) -> list[Client]:
    """Every client, in order of registration."""
    rows = await session.scalars(select(Client).order_by(Client.created_at, Client.client_id))
    return list(rows)


async def update_client(session: AsyncSession, client_id: str, manifest: Manifest) -> Client:
    """Replace the registration with a new manifest; the id and status stay.

    The audit entry names the fields that changed (not their values: a contact
    address may be a person's).
    """
    client = await _locked(session, client_id)
    columns = manifest_to_columns(manifest)
    changed = changed_fields(client, manifest)
    for name in changed:
        setattr(client, name, columns[name])
    _audit(session, Action.CLIENT_UPDATED, client_id, changed=",".join(changed))
    await session.commit()
    return client


async def suspend_client(session: AsyncSession, client_id: str, reason: str | None) -> Client:
    """Refuse the client everywhere from now on, keeping its registration and grants."""
    reason = _checked_reason(reason)
    client = await _locked(session, client_id)
    if client.status == ClientStatus.SUSPENDED:
        raise ClientStatusConflict(f"Client {client_id} is already suspended.")
    client.status = ClientStatus.SUSPENDED.value
    client.suspended_at = utcnow()
    _audit(session, Action.CLIENT_SUSPENDED, client_id, reason=reason)
    await session.commit()
    return client


async def reinstate_client(session: AsyncSession, client_id: str) -> Client:
    """Let a suspended client back in; grants it had are usable again if still valid."""
    client = await _locked(session, client_id)
    if client.status == ClientStatus.ACTIVE:
        raise ClientStatusConflict(f"Client {client_id} is not suspended.")
    client.status = ClientStatus.ACTIVE.value
    client.suspended_at = None
    _audit(session, Action.CLIENT_REINSTATED, client_id)
    await session.commit()
    return client


async def _locked(session: AsyncSession, client_id: str) -> Client:
    """The row, locked (PostgreSQL) so two operators' changes apply one after the other."""
    client = await session.get(Client, client_id, with_for_update=True, populate_existing=True)
    if client is None:
        raise ClientNotFound(client_id)
    return client


def _checked_reason(reason: str | None) -> str | None:
    """The reason goes into the audit log as typed, so it must be short plain text."""
    if reason is None:
        return None
    tidy = unicodedata.normalize("NFC", reason.strip())
    if len(tidy) > MAX_REASON or any(unicodedata.category(ch).startswith("C") for ch in tidy):
        raise InvalidInput(
            f"The reason must be plain text of at most {MAX_REASON} characters.", field="reason"
        )
    return tidy or None


def _audit(session: AsyncSession, action: Action, client_id: str, **detail: str | None) -> None:
    append(
        session,
        Entry(actor=Actor.ADMIN, action=action, client_id=client_id, detail=dict(detail)),
    )


__all__ = [
    "ClientNotFound",
    "ClientStatus",
    "ClientStatusConflict",
    "changed_fields",
    "get_client",
    "is_active",
    "list_clients",
    "register_client",
    "reinstate_client",
    "suspend_client",
    "update_client",
]
