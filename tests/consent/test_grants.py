from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest

from consent.grants import (
    Approved,
    Expired,
    GrantEvent,
    GrantState,
    GrantStatus,
    ImpossibleTransition,
    InvalidNarrowing,
    Refused,
    Requested,
    Revoked,
    RevokedBy,
    apply,
    fold,
    state_at,
)
from consent.requests import DataRequest, parse_authorization_details
from pds.errors import Conflict

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
DURATION = timedelta(days=30)
REQUEST = parse_authorization_details(
    json.dumps(
        [
            {
                "type": "pds_data_request",
                "items": [
                    {"evidence_type": "council_tax_bill", "required": True},
                    {"category": "household", "required": False},
                    {"evidence_type": "income_statement", "required": False},
                ],
                "purpose": {
                    "term": "sector-publicservices:HousingWelfareManagement",
                    "description": "To work out your housing support each month.",
                },
                "lawful_basis": "public_task",
                "access": "ongoing",
                "duration": "P30D",
            }
        ]
    )
)
ALL_OPTIONAL = msgspec.structs.replace(
    REQUEST, items=tuple(msgspec.structs.replace(i, required=False) for i in REQUEST.items)
)


def at(minutes: float = 0, *, days: float = 0) -> datetime:
    return T0 + timedelta(minutes=minutes, days=days)


def requested(request: DataRequest = REQUEST, citizen_id: str | None = None) -> Requested:
    return Requested(at=T0, client_id="housing", request=request, citizen_id=citizen_id)


def approved(
    minutes: float = 1, declined: tuple[int, ...] = (), citizen: str = "alice"
) -> Approved:
    return Approved(at=at(minutes), citizen_id=citizen, declined=declined)


def active() -> GrantState:
    return fold([requested(), approved()])


# --- the lifecycle ----------------------------------------------------------------------------


def test_a_request_alone_is_requested() -> None:
    state = fold([requested()])
    assert state.status is GrantStatus.REQUESTED
    assert state.client_id == "housing"
    assert state.scope == state.request == REQUEST
    assert state.citizen_id is None
    assert (state.decided_at, state.expires_at, state.ended_at) == (None, None, None)
    assert state.event_count == 1


def test_approval_activates_until_approval_time_plus_duration() -> None:
    state = active()
    assert state.status is GrantStatus.ACTIVE
    assert state.citizen_id == "alice"
    assert state.decided_at == at(1)
    assert state.expires_at == at(1) + DURATION
    assert state.scope == REQUEST
    assert state.event_count == 2
    assert state.last_event_at == at(1)


def test_approval_keeps_only_the_items_left_ticked_in_order() -> None:
    state = fold([requested(), approved(declined=(1,))])
    assert state.scope.items == (REQUEST.items[0], REQUEST.items[2])
    assert state.request == REQUEST
    assert state.scope.purpose == REQUEST.purpose


def test_refusal_is_final_and_records_who() -> None:
    state = fold([requested(), Refused(at=at(2), citizen_id="bob")])
    assert state.status is GrantStatus.REFUSED
    assert (state.citizen_id, state.decided_at) == ("bob", at(2))


@pytest.mark.parametrize("by", list(RevokedBy))
def test_revocation_ends_the_grant_at_once(by: RevokedBy) -> None:
    state = fold([requested(), approved(), Revoked(at=at(5), by=by)])
    assert state.status is GrantStatus.REVOKED
    assert (state.ended_at, state.revoked_by) == (at(5), by)


def test_recorded_expiry_ends_the_grant_at_its_expiry_however_late() -> None:
    late = at(1, days=45)
    state = fold([requested(), approved(), Expired(at=late)])
    assert state.status is GrantStatus.EXPIRED
    assert state.ended_at == at(1) + DURATION
    assert state.last_event_at == late


def test_expiry_can_be_recorded_at_the_very_moment() -> None:
    state = fold([requested(), approved(), Expired(at=at(1) + DURATION)])
    assert state.status is GrantStatus.EXPIRED


def test_a_pushed_request_is_answered_by_its_citizen() -> None:
    state = fold([requested(citizen_id="alice"), approved(citizen="alice")])
    assert state.citizen_id == "alice"


def test_events_at_the_same_instant_are_in_order() -> None:
    state = fold([requested(), approved(0), Revoked(at=T0, by=RevokedBy.CLIENT)])
    assert state.status is GrantStatus.REVOKED


# --- state at a time --------------------------------------------------------------------------


def test_an_active_grant_is_active_until_the_instant_of_expiry() -> None:
    grant = active()
    expiry = at(1) + DURATION
    assert state_at(grant, expiry - timedelta(microseconds=1)) is grant
    lapsed = state_at(grant, expiry)
    assert lapsed.status is GrantStatus.EXPIRED
    assert lapsed.ended_at == expiry


@pytest.mark.parametrize(
    "history",
    [
        [requested()],
        [requested(), Refused(at=at(1), citizen_id="a")],
        [requested(), approved(), Revoked(at=at(2), by=RevokedBy.CITIZEN)],
    ],
)
def test_time_changes_nothing_but_active_grants(history: list[GrantEvent]) -> None:
    grant = fold(history)
    assert state_at(grant, at(days=1000)) is grant


# --- impossible histories ---------------------------------------------------------------------

REVOKE = Revoked(at=at(10), by=RevokedBy.CITIZEN)
IMPOSSIBLE: list[tuple[str, list[GrantEvent]]] = [
    ("nothing at all", []),
    ("approval without a request", [approved()]),
    ("revocation without a request", [REVOKE]),
    ("a second request", [requested(), requested()]),
    ("a request after approval", [requested(), approved(), requested()]),
    ("approval twice", [requested(), approved(), approved(2)]),
    ("approval after refusal", [requested(), Refused(at=at(1), citizen_id="alice"), approved(2)]),
    ("refusal after approval", [requested(), approved(), Refused(at=at(2), citizen_id="alice")]),
    (
        "refusal twice",
        [requested(), Refused(at=at(1), citizen_id="a"), Refused(at=at(2), citizen_id="a")],
    ),
    ("revoking a request", [requested(), REVOKE]),
    ("revoking a refusal", [requested(), Refused(at=at(1), citizen_id="alice"), REVOKE]),
    ("expiring a request", [requested(), Expired(at=at(days=400))]),
    ("approval after revocation", [requested(), approved(), REVOKE, approved(20)]),
    ("revocation twice", [requested(), approved(), REVOKE, REVOKE]),
    ("expiry after revocation", [requested(), approved(), REVOKE, Expired(at=at(days=60))]),
    ("revocation after expiry", [requested(), approved(), Expired(at=at(days=60)), REVOKE]),
    ("expiry twice", [requested(), approved(), Expired(at=at(days=60)), Expired(at=at(days=61))]),
    ("expiry before its time", [requested(), approved(), Expired(at=at(days=29))]),
    (
        "revocation after time ran out, unrecorded",
        [requested(), approved(), Revoked(at=at(1) + DURATION, by=RevokedBy.CLIENT)],
    ),
    ("approval before the request", [requested(), approved(-1)]),
    ("events out of order", [requested(), approved(10), Revoked(at=at(5), by=RevokedBy.CITIZEN)]),
    ("a naive time", [requested(), Approved(at=datetime(2026, 3, 2, 10), citizen_id="alice")]),
    ("a naive request", [Requested(at=datetime(2026, 3, 2), client_id="c", request=REQUEST)]),
    ("another citizen approving", [requested(citizen_id="alice"), approved(citizen="bob")]),
    (
        "another citizen refusing",
        [requested(citizen_id="alice"), Refused(at=at(1), citizen_id="bob")],
    ),
]


@pytest.mark.parametrize("history", [c[1] for c in IMPOSSIBLE], ids=[c[0] for c in IMPOSSIBLE])
def test_impossible_histories_are_refused(history: list[GrantEvent]) -> None:
    with pytest.raises(ImpossibleTransition) as caught:
        fold(history)
    assert isinstance(caught.value, Conflict)
    assert caught.value.detail.endswith(".")


NARROWINGS: list[tuple[str, DataRequest, tuple[int, ...]]] = [
    ("a required item", REQUEST, (0,)),
    ("a required item among optional ones", REQUEST, (1, 0, 2)),
    ("an item that does not exist", REQUEST, (3,)),
    ("a negative index", REQUEST, (-1,)),
    ("the same item twice", REQUEST, (1, 1)),
    ("every item", ALL_OPTIONAL, (0, 1, 2)),
]


@pytest.mark.parametrize(
    ("request_", "declined"), [c[1:] for c in NARROWINGS], ids=[c[0] for c in NARROWINGS]
)
def test_impossible_narrowing_is_refused(request_: DataRequest, declined: tuple[int, ...]) -> None:
    with pytest.raises(InvalidNarrowing) as caught:
        fold([requested(request_), approved(declined=declined)])
    assert caught.value.code == "invalid_grant_narrowing"


def test_every_optional_item_may_be_left_out() -> None:
    state = fold([requested(ALL_OPTIONAL), approved(declined=(2, 0))])
    assert state.scope.items == (ALL_OPTIONAL.items[1],)


def test_a_refused_event_leaves_the_state_as_it_was() -> None:
    before = active()
    snapshot = msgspec.structs.asdict(before)
    with pytest.raises(ImpossibleTransition):
        apply(before, approved(5))
    assert msgspec.structs.asdict(before) == snapshot
    assert apply(before, REVOKE).status is GrantStatus.REVOKED


def test_the_error_names_the_state_and_the_event() -> None:
    with pytest.raises(ImpossibleTransition, match="A revoked grant cannot be approved"):
        fold([requested(), approved(), REVOKE, approved(20)])
    with pytest.raises(ImpossibleTransition, match="requested again"):
        fold([requested(), requested()])


# --- storage ----------------------------------------------------------------------------------


def test_events_round_trip_through_json_with_their_tag() -> None:
    history: list[GrantEvent] = [
        requested(citizen_id="alice"),
        approved(declined=(2,)),
        Revoked(at=at(3), by=RevokedBy.CLIENT),
    ]
    encoded = msgspec.json.encode(history)
    tags: list[Any] = [e["event"] for e in json.loads(encoded)]
    assert tags == ["requested", "approved", "revoked"]
    decoded = msgspec.json.decode(encoded, type=list[GrantEvent])
    assert decoded == history
    assert fold(decoded) == fold(history)
