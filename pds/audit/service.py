"""Appending to the audit log.

``append`` only adds to the caller's session; it never commits. The caller's
transaction commits the act and its entry together or neither, which is the
whole point: no act on personal data without its record.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from pds.audit.models import AuditEntry
from pds.db import utcnow
from pds.ids import uuid7
from pds.logs import request_id_var

if TYPE_CHECKING:
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.audit.entry import Entry


def append(session: AsyncSession, entry: Entry) -> AuditEntry:
    """Stage ``entry`` in the caller's transaction and return the row."""
    row = AuditEntry(**_values(entry))
    session.add(row)
    return row


def audit_row(entry: Entry) -> dict[str, Any]:
    """``entry`` as the values of one ``audit_entries`` row, for a caller inserting many
    with one statement (the read path's group commit: no ORM objects)."""
    return {"id": uuid7(), "created_at": utcnow(), **_values(entry)}


def _values(entry: Entry) -> dict[str, Any]:
    return {
        "actor": entry.actor.value,
        "actor_id": entry.actor_id,
        "action": entry.action.value,
        "outcome": entry.outcome.value,
        "citizen_id": entry.citizen_id,
        "client_id": entry.client_id,
        "grant_id": entry.grant_id,
        "purpose": entry.purpose,
        "resource": entry.resource,
        "request_id": entry.request_id or request_id_var.get(),
        "detail": dict(entry.detail),
    }
