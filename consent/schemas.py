"""API structs for the citizen's grants (never ORM objects)."""

from __future__ import annotations

import datetime as dt
import uuid
from typing import Any

import msgspec

from consent.grants import GrantState, state_at
from consent.requests import iso_duration, to_authorization_details


class GrantOut(msgspec.Struct, omit_defaults=True):
    """A grant as its citizen sees it: who, why, what, and when it started and ends."""

    id: uuid.UUID
    client_id: str
    client_name: str
    status: str
    purpose: str
    purpose_label: str
    purpose_description: str
    lawful_basis: str
    access: str
    duration: str
    authorization_details: list[dict[str, Any]]
    requested_at: dt.datetime
    decided_at: dt.datetime | None = None
    expires_at: dt.datetime | None = None
    ended_at: dt.datetime | None = None
    revoked_by: str | None = None


class GrantList(msgspec.Struct):
    grants: list[GrantOut]


def grant_out(
    grant_id: uuid.UUID, client_name: str, state: GrantState, now: dt.datetime
) -> GrantOut:
    """The state as it stands at ``now``: an active grant past its end shows as expired."""
    current = state_at(state, now)
    scope = current.scope
    return GrantOut(
        id=grant_id,
        client_id=current.client_id,
        client_name=client_name,
        status=current.status.value,
        purpose=scope.purpose.term.value,
        purpose_label=scope.purpose.term.label,
        purpose_description=scope.purpose.description,
        lawful_basis=scope.lawful_basis.value,
        access=scope.access.value,
        duration=iso_duration(scope.duration),
        authorization_details=to_authorization_details(scope),
        requested_at=current.requested_at,
        decided_at=current.decided_at,
        expires_at=current.expires_at,
        ended_at=current.ended_at,
        revoked_by=current.revoked_by.value if current.revoked_by else None,
    )
