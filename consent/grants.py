"""The grant lifecycle as an append-only event history; the current state is derived.

Nothing is updated in place: a grant *is* its events (requested, approved, refused,
revoked, expired), so receipts, the audit log and the citizen's history all tell the
same story, and a wrong state can always be recomputed. ``apply`` is the one place that
knows which transitions exist::

    requested -> active -> revoked | expired
    requested -> refused

Anything else (approve after refuse, anything after revoke, a second request, events out
of time order) is refused with ``ImpossibleTransition`` and changes nothing, so a service
can fold the stored history, ``apply`` the new event, and append only if that succeeded.
Time matters inside the history too: once an active grant's expiry has passed, the only
event it accepts is ``Expired``. Pure: no database, no clock; callers pass the time.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from typing import TYPE_CHECKING, Final, TypeAlias

import msgspec

from consent.requests import DataRequest
from pds.errors import Conflict

if TYPE_CHECKING:
    from collections.abc import Iterable


class ImpossibleTransition(Conflict):
    """The event cannot follow the history so far; nothing was changed."""

    code = "impossible_grant_transition"
    title = "The grant cannot change in that way"


class InvalidNarrowing(ImpossibleTransition):
    """An approval removed a required item, an item that does not exist, or every item."""

    code = "invalid_grant_narrowing"
    title = "Those items cannot be left out"


class GrantStatus(StrEnum):
    """Where a grant is in its life; only ``ACTIVE`` ever allows a read."""

    REQUESTED = "requested"
    ACTIVE = "active"
    REFUSED = "refused"
    REVOKED = "revoked"
    EXPIRED = "expired"


class RevokedBy(StrEnum):
    """Who ended the grant: the citizen withdrew, the client gave it up (RFC 7009), or
    the PDS ended it for safety (an authorization code was used twice, RFC 6749 §4.1.2)."""

    CITIZEN = "citizen"
    CLIENT = "client"
    SECURITY = "security"


class _Event(msgspec.Struct, frozen=True, kw_only=True, tag_field="event"):
    """Every event says when it happened (timezone-aware, so histories compare safely)."""

    at: datetime


class Requested(_Event, frozen=True, kw_only=True, tag="requested"):
    """A client asked. ``citizen_id`` is set when the request was pushed to a known citizen;
    otherwise whoever signs in and decides becomes the grant's citizen."""

    client_id: str
    request: DataRequest
    citizen_id: str | None = None


class Approved(_Event, frozen=True, kw_only=True, tag="approved"):
    """The citizen said yes; ``declined`` holds the indices of optional items they unticked."""

    citizen_id: str
    declined: tuple[int, ...] = ()


class Refused(_Event, frozen=True, kw_only=True, tag="refused"):
    """The citizen said no."""

    citizen_id: str


class Revoked(_Event, frozen=True, kw_only=True, tag="revoked"):
    """The grant was withdrawn; effective for every read from ``at`` on."""

    by: RevokedBy


class Expired(_Event, frozen=True, kw_only=True, tag="expired"):
    """Records an expiry that time already caused; it may not come early (that is a revoke)."""


GrantEvent: TypeAlias = Requested | Approved | Refused | Revoked | Expired


class GrantState(msgspec.Struct, frozen=True, kw_only=True):
    """What the history adds up to. ``scope`` is the request until approval, then the
    request narrowed to the items the citizen kept; it is what the policy reads against.

    ``expires_at`` is approval time + duration. ``ended_at`` is when reading stopped being
    allowed: the revocation time, or ``expires_at`` for an expiry (however late recorded).
    """

    status: GrantStatus
    client_id: str
    citizen_id: str | None
    request: DataRequest
    scope: DataRequest
    requested_at: datetime
    last_event_at: datetime
    event_count: int = 1
    decided_at: datetime | None = None
    expires_at: datetime | None = None
    ended_at: datetime | None = None
    revoked_by: RevokedBy | None = None


def fold(events: Iterable[GrantEvent]) -> GrantState:
    """Derive the state from the whole history, refusing a history that cannot happen."""
    state: GrantState | None = None
    for event in events:
        state = apply(state, event)
    if state is None:
        raise ImpossibleTransition("A grant's history cannot be empty.")
    return state


def apply(state: GrantState | None, event: GrantEvent) -> GrantState:
    """The state after ``event``, or ``ImpossibleTransition`` (and ``state`` stays valid)."""
    if event.at.utcoffset() is None:
        raise ImpossibleTransition("Event times must be timezone-aware.")
    if state is None:
        if isinstance(event, Requested):
            return _opened(event)
        raise ImpossibleTransition("A grant's history must begin with its request.")
    if event.at < state.last_event_at:
        raise ImpossibleTransition("Events must be recorded in time order.")
    if _lapsed(state, event.at) and not isinstance(event, Expired):
        raise ImpossibleTransition("The grant has expired; record its expiry first.")
    after = _step(state, event)
    return msgspec.structs.replace(after, last_event_at=event.at, event_count=state.event_count + 1)


def state_at(grant: GrantState, now: datetime) -> GrantState:
    """The grant as it stands at ``now``: an active grant past its expiry is expired.

    Expiry needs no event to take effect; the ``Expired`` event only records it.
    """
    if _lapsed(grant, now):
        return msgspec.structs.replace(grant, status=GrantStatus.EXPIRED, ended_at=grant.expires_at)
    return grant


def _lapsed(state: GrantState, at: datetime) -> bool:
    return (
        state.status is GrantStatus.ACTIVE
        and state.expires_at is not None
        and at >= state.expires_at
    )


def _opened(event: Requested) -> GrantState:
    return GrantState(
        status=GrantStatus.REQUESTED,
        client_id=event.client_id,
        citizen_id=event.citizen_id,
        request=event.request,
        scope=event.request,
        requested_at=event.at,
        last_event_at=event.at,
    )


def _check_citizen(state: GrantState, citizen_id: str) -> None:
    """A request pushed to one citizen cannot be answered by another."""
    if state.citizen_id is not None and citizen_id != state.citizen_id:
        raise ImpossibleTransition("Only the citizen the request was sent to can answer it.")


def _step(state: GrantState, event: GrantEvent) -> GrantState:
    """The transition table: every pair not listed here is impossible."""
    match state.status, event:
        case GrantStatus.REQUESTED, Approved():
            return _approved(state, event)
        case GrantStatus.REQUESTED, Refused():
            return _refused(state, event)
        case GrantStatus.ACTIVE, Revoked():
            return _revoked(state, event)
        case GrantStatus.ACTIVE, Expired():
            return _expired(state, event)
    raise ImpossibleTransition(
        f"A {state.status.value} grant cannot be {_PAST_TENSE[type(event)]}."
    )


def _approved(state: GrantState, event: Approved) -> GrantState:
    _check_citizen(state, event.citizen_id)
    items = state.request.items
    declined = frozenset(event.declined)
    if len(declined) != len(event.declined) or not declined <= frozenset(range(len(items))):
        raise InvalidNarrowing("Items can be left out once each, and only items that exist.")
    if any(items[i].required for i in declined):
        raise InvalidNarrowing("A required item cannot be left out; refuse the request instead.")
    kept = tuple(item for i, item in enumerate(items) if i not in declined)
    if not kept:
        raise InvalidNarrowing("Leaving out every item is a refusal; refuse the request instead.")
    return msgspec.structs.replace(
        state,
        status=GrantStatus.ACTIVE,
        citizen_id=event.citizen_id,
        scope=msgspec.structs.replace(state.request, items=kept),
        decided_at=event.at,
        expires_at=event.at + state.request.duration,
    )


def _refused(state: GrantState, event: Refused) -> GrantState:
    _check_citizen(state, event.citizen_id)
    return msgspec.structs.replace(
        state, status=GrantStatus.REFUSED, citizen_id=event.citizen_id, decided_at=event.at
    )


def _revoked(state: GrantState, event: Revoked) -> GrantState:
    return msgspec.structs.replace(
        state, status=GrantStatus.REVOKED, ended_at=event.at, revoked_by=event.by
    )


def _expired(state: GrantState, event: Expired) -> GrantState:
    if not _lapsed(state, event.at):
        raise ImpossibleTransition("The grant has not reached its expiry; revoke it instead.")
    return msgspec.structs.replace(state, status=GrantStatus.EXPIRED, ended_at=state.expires_at)


_PAST_TENSE: Final[dict[type[_Event], str]] = {
    Requested: "requested again",
    Approved: "approved",
    Refused: "refused",
    Revoked: "revoked",
    Expired: "expired",
}
