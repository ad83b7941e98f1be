"""The policy decision point, by example, by property and by a stateful model.

The oracle below is written out plainly from the rules in the consent issue and shares
no code with ``consent.policy`` (nor ``state_at``): it is the second opinion the
properties compare against.
"""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from consent.grants import (
    Approved,
    Expired,
    GrantEvent,
    GrantState,
    GrantStatus,
    ImpossibleTransition,
    Refused,
    Requested,
    Revoked,
    RevokedBy,
    apply,
    fold,
)
from consent.policy import Decision, ReadRequest, Reason, Resource, decide
from consent.requests import DataItem, DataRequest, parse_authorization_details
from pds.vault.evidence_types import EVIDENCE_TYPES, Category

T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
ELIGIBILITY = "sector-publicservices:PublicServiceEligibilityAssessment"
PROVISION = "dpv:ServiceProvision"


def data_request(
    items: list[dict[str, Any]],
    *,
    purpose: str = ELIGIBILITY,
    access: str = "ongoing",
    duration: str = "P30D",
) -> DataRequest:
    return parse_authorization_details(
        json.dumps(
            [
                {
                    "type": "pds_data_request",
                    "items": items,
                    "purpose": {"term": purpose, "description": "To check what help you can get."},
                    "lawful_basis": "public_task",
                    "access": access,
                    "duration": duration,
                }
            ]
        )
    )


REQUEST = data_request(
    [
        {"evidence_type": "council_tax_bill", "claims": ["band", "postcode"], "required": True},
        {"evidence_type": "council_tax_bill", "claims": ["amount_due_pence"], "required": False},
        {"category": "household", "required": False},
        {"evidence_type": "blue_badge", "documents": True, "required": False},
    ]
)


def grant(*extra: GrantEvent, declined: tuple[int, ...] = ()) -> GrantState:
    return fold(
        [
            Requested(at=T0, client_id="housing", request=REQUEST),
            Approved(at=T0, citizen_id="alice", declined=declined),
            *extra,
        ]
    )


def read(
    evidence_type: str = "council_tax_bill",
    category: str = "address",
    claims: set[str] | None = None,
    *,
    document: bool = False,
    client_id: str = "housing",
    purpose: str = ELIGIBILITY,
    citizen_id: str = "alice",
) -> ReadRequest:
    resource = Resource(
        citizen_id=citizen_id,
        evidence_type=evidence_type,
        category=category,
        claims=None if claims is None else frozenset(claims),
        document=document,
    )
    return ReadRequest(client_id=client_id, purpose=purpose, resource=resource)


HOUR = timedelta(hours=1)
EXPIRY = T0 + timedelta(days=30)


def changed(state: GrantState, **fields: Any) -> GrantState:
    return msgspec.structs.replace(state, **fields)


# --- the oracle -------------------------------------------------------------------------------


def oracle(state: GrantState | None, request: ReadRequest, now: datetime) -> set[Reason]:
    """Every rule the issue states, each checked on its own, spelled out longhand."""
    if state is None:
        return {Reason.NO_GRANT}
    reasons: set[Reason] = set()
    if request.client_id != state.client_id:
        reasons.add(Reason.WRONG_CLIENT)
    if state.citizen_id is None or state.citizen_id != request.resource.citizen_id:
        reasons.add(Reason.WRONG_CITIZEN)
    if str(request.purpose) != str(state.scope.purpose.term):
        reasons.add(Reason.PURPOSE_MISMATCH)
    return reasons | oracle_time(state, now) | oracle_scope(state, request.resource)


def oracle_time(state: GrantState, now: datetime) -> set[Reason]:
    ran_out = state.expires_at is not None and now >= state.expires_at
    if state.status == "expired" or (state.status == "active" and ran_out):
        return {Reason.EXPIRED}
    if (
        state.status != "active"
        or state.decided_at is None
        or state.expires_at is None
        or now < state.decided_at
    ):
        return {Reason.NOT_ACTIVE}
    return set()


def oracle_scope(state: GrantState, resource: Resource) -> set[Reason]:
    covering = []
    kind = EVIDENCE_TYPES.get(resource.evidence_type)
    real_pair = kind is not None and resource.category in [str(c) for c in kind.categories]
    for item in state.scope.items if real_pair else ():
        if item.evidence_type is None and item.category is None:
            continue
        if item.evidence_type is not None and item.evidence_type != resource.evidence_type:
            continue
        if item.category is not None and str(item.category) != resource.category:
            continue
        covering.append(item)
    reasons: set[Reason] = set() if covering else {Reason.OUT_OF_SCOPE}
    if resource.claims is None:
        if not [item for item in covering if item.claims is None]:
            reasons.add(Reason.CLAIM_NOT_GRANTED)
    else:
        for claim in resource.claims:
            if not [i for i in covering if i.claims is None or claim in i.claims]:
                reasons.add(Reason.CLAIM_NOT_GRANTED)
    if resource.document and not [i for i in covering if i.documents and i.claims is None]:
        reasons.add(Reason.DOCUMENT_NOT_GRANTED)
    return reasons


def check_against_oracle(decision: Decision, expected: set[Reason]) -> None:
    assert decision.allowed == (not expected)
    if decision.allowed:
        assert decision.reason is Reason.GRANTED
        assert decision.denials == ()
    else:
        assert set(decision.denials) == expected
        assert decision.reason is decision.denials[0]
        assert list(decision.denials) == sorted(decision.denials, key=list(Reason).index)


# --- examples: allowed ------------------------------------------------------------------------

ALLOWED: list[tuple[str, ReadRequest]] = [
    ("named claims", read(claims={"band", "postcode"})),
    ("one named claim", read(claims={"band"})),
    ("claims granted by two items together", read(claims={"band", "amount_due_pence"})),
    ("no claims at all: only that the item exists", read(claims=set())),
    ("a category item reaches every type filed there", read("household_members", "household")),
    ("and their claims", read("tenancy_agreement", "household", {"landlord_name"})),
    ("a category item gives the whole item", read("tenancy_agreement", "household")),
    ("a documents item gives the document", read("blue_badge", "vehicle", document=True)),
    ("and the whole item", read("blue_badge", "disability")),
    ("the purpose as its enum", read(purpose=ELIGIBILITY, claims={"band"})),
]


@pytest.mark.parametrize("request_", [c[1] for c in ALLOWED], ids=[c[0] for c in ALLOWED])
def test_reads_within_an_active_grant_are_allowed(request_: ReadRequest) -> None:
    decision = decide(grant(), request_, T0 + HOUR)
    assert decision == Decision(allowed=True, reason=Reason.GRANTED)


def test_a_grant_is_usable_from_the_instant_of_approval_to_just_before_expiry() -> None:
    request = read(claims={"band"})
    assert decide(grant(), request, T0).allowed
    assert decide(grant(), request, EXPIRY - timedelta(microseconds=1)).allowed


# --- examples: every deny reason --------------------------------------------------------------

REVOKED = grant(Revoked(at=T0 + HOUR, by=RevokedBy.CITIZEN))
DENIED: list[tuple[str, GrantState | None, ReadRequest, datetime, Reason]] = [
    ("no grant", None, read(claims={"band"}), T0, Reason.NO_GRANT),
    (
        "another client's grant",
        grant(),
        read(claims={"band"}, client_id="parking"),
        T0,
        Reason.WRONG_CLIENT,
    ),
    (
        "another citizen's data",
        grant(),
        read(claims={"band"}, citizen_id="bob"),
        T0,
        Reason.WRONG_CITIZEN,
    ),
    (
        "a grant no citizen has decided",
        fold([Requested(at=T0, client_id="housing", request=REQUEST)]),
        read(claims={"band"}),
        T0,
        Reason.WRONG_CITIZEN,
    ),
    ("at the instant of expiry", grant(), read(claims={"band"}), EXPIRY, Reason.EXPIRED),
    ("long after expiry", grant(), read(claims={"band"}), EXPIRY + 365 * HOUR, Reason.EXPIRED),
    (
        "an expiry on record",
        grant(Expired(at=EXPIRY)),
        read(claims={"band"}),
        EXPIRY - HOUR,
        Reason.EXPIRED,
    ),
    (
        "before approval",
        grant(),
        read(claims={"band"}),
        T0 - timedelta(seconds=1),
        Reason.NOT_ACTIVE,
    ),
    ("after revocation", REVOKED, read(claims={"band"}), T0 + 2 * HOUR, Reason.NOT_ACTIVE),
    ("the instant of revocation", REVOKED, read(claims={"band"}), T0 + HOUR, Reason.NOT_ACTIVE),
    (
        "a refused request",
        fold(
            [
                Requested(at=T0, client_id="housing", request=REQUEST),
                Refused(at=T0, citizen_id="alice"),
            ]
        ),
        read(claims={"band"}),
        T0,
        Reason.NOT_ACTIVE,
    ),
    (
        "another purpose",
        grant(),
        read(claims={"band"}, purpose=PROVISION),
        T0,
        Reason.PURPOSE_MISMATCH,
    ),
    ("another type", grant(), read("income_statement", "income"), T0, Reason.OUT_OF_SCOPE),
    ("another category", grant(), read("tenancy_agreement", "address"), T0, Reason.OUT_OF_SCOPE),
    (
        "a type filed where it cannot be",
        grant(),
        read("council_tax_bill", "household"),
        T0,
        Reason.OUT_OF_SCOPE,
    ),
    ("an unknown type", grant(), read("passport", "identity"), T0, Reason.OUT_OF_SCOPE),
    (
        "an unticked item",
        grant(declined=(2,)),
        read("household_members", "household"),
        T0,
        Reason.OUT_OF_SCOPE,
    ),
    ("a claim not named", grant(), read(claims={"council"}), T0, Reason.CLAIM_NOT_GRANTED),
    ("one claim too many", grant(), read(claims={"band", "council"}), T0, Reason.CLAIM_NOT_GRANTED),
    ("the whole item when claims were named", grant(), read(), T0, Reason.CLAIM_NOT_GRANTED),
    (
        "an unticked item's claims",
        grant(declined=(1,)),
        read(claims={"amount_due_pence"}),
        T0,
        Reason.CLAIM_NOT_GRANTED,
    ),
    (
        "a document when no documents were asked for",
        grant(),
        read("household_members", "household", document=True),
        T0,
        Reason.DOCUMENT_NOT_GRANTED,
    ),
]


@pytest.mark.parametrize(
    ("state", "request_", "now", "reason"), [c[1:] for c in DENIED], ids=[c[0] for c in DENIED]
)
def test_each_deny_reason(
    state: GrantState | None, request_: ReadRequest, now: datetime, reason: Reason
) -> None:
    decision = decide(state, request_, now)
    assert not decision.allowed
    assert decision.reason is reason
    check_against_oracle(decision, oracle(state, request_, now))


def test_a_document_of_a_named_claims_item_is_refused_twice_over() -> None:
    decision = decide(grant(), read(claims={"band"}, document=True), T0)
    assert decision.reason is Reason.DOCUMENT_NOT_GRANTED
    decision = decide(grant(), read(document=True), T0)
    assert decision.denials == (Reason.CLAIM_NOT_GRANTED, Reason.DOCUMENT_NOT_GRANTED)


def test_every_deny_is_reported_and_the_first_one_decides() -> None:
    request = read("income_statement", "income", document=True, client_id="x", citizen_id="bob")
    decision = decide(REVOKED, dataclasses.replace(request, purpose=PROVISION), T0 + 2 * HOUR)
    assert decision.denials == (
        Reason.WRONG_CLIENT,
        Reason.WRONG_CITIZEN,
        Reason.NOT_ACTIVE,
        Reason.PURPOSE_MISMATCH,
        Reason.OUT_OF_SCOPE,
        Reason.CLAIM_NOT_GRANTED,
        Reason.DOCUMENT_NOT_GRANTED,
    )
    assert decision.reason is Reason.WRONG_CLIENT


# States the parser and fold never build; the policy must still deny rather than trust them.
NOTHING_ITEM = DataItem(required=False)
SLOPPY_DOCUMENTS = DataItem(
    required=False, evidence_type="blue_badge", claims=("holder_name",), documents=True
)
MALFORMED: list[tuple[str, GrantState, ReadRequest, Reason]] = [
    (
        "an item naming nothing reaches nothing",
        changed(grant(), scope=msgspec.structs.replace(REQUEST, items=(NOTHING_ITEM,))),
        read("income_statement", "income"),
        Reason.OUT_OF_SCOPE,
    ),
    (
        "a documents item with named claims gives no document",
        changed(grant(), scope=msgspec.structs.replace(REQUEST, items=(SLOPPY_DOCUMENTS,))),
        read("blue_badge", "vehicle", {"holder_name"}, document=True),
        Reason.DOCUMENT_NOT_GRANTED,
    ),
    (
        "active without an expiry",
        changed(grant(), expires_at=None),
        read(claims={"band"}),
        Reason.NOT_ACTIVE,
    ),
    (
        "active without an approval",
        changed(grant(), decided_at=None),
        read(claims={"band"}),
        Reason.NOT_ACTIVE,
    ),
    (
        "active without a citizen",
        changed(grant(), citizen_id=None),
        read(claims={"band"}),
        Reason.WRONG_CITIZEN,
    ),
]


@pytest.mark.parametrize(
    ("state", "request_", "reason"), [c[1:] for c in MALFORMED], ids=[c[0] for c in MALFORMED]
)
def test_states_fold_never_builds_are_still_denied(
    state: GrantState, request_: ReadRequest, reason: Reason
) -> None:
    assert decide(state, request_, T0 + HOUR).reason is reason


# --- properties -------------------------------------------------------------------------------


def mostly(
    likely: Any, *others: Any, rare: st.SearchStrategy[Any] | None = None
) -> st.SearchStrategy[Any]:
    """Nine times in ten the likely value, so allow is explored as well as deny."""
    unusual = st.sampled_from(others) if others else st.nothing()
    if rare is not None:
        unusual |= rare
    # sampled_from draws uniformly; st.integers would favour 0 and so the unusual branch
    return st.sampled_from([True] * 9 + [False]).flatmap(
        lambda usual: st.just(likely) if usual else unusual
    )


CLIENTS = ["housing", "parking"]
CITIZENS = ["alice", "bob"]
PURPOSES = [ELIGIBILITY, PROVISION]
TYPES = [*EVIDENCE_TYPES, "passport"]
CLAIM_POOL = sorted(
    {f.encode_name for k in EVIDENCE_TYPES.values() for f in msgspec.structs.fields(k.schema)}
)
OFFSETS = st.integers(min_value=-3, max_value=40).map(lambda days: T0 + timedelta(days=days))
"""Any day around the grant; drawn now and then beside the boundary values."""


def claim_names(evidence_type: str | None) -> st.SearchStrategy[tuple[str, ...] | None]:
    """No names (the whole item) or a few real claim names of the type, sorted."""
    kind = EVIDENCE_TYPES.get(evidence_type or "")
    names = [f.encode_name for f in msgspec.structs.fields(kind.schema)] if kind else CLAIM_POOL
    return st.none() | st.lists(st.sampled_from(names), min_size=1, max_size=3, unique=True).map(
        lambda chosen: tuple(sorted(chosen))
    )


# Any item, even ones the parser refuses: the policy must be safe on every shape.
ITEMS = st.tuples(
    st.sampled_from([None, *EVIDENCE_TYPES]),
    mostly(None, *Category),
).flatmap(
    lambda pair: st.builds(
        DataItem,
        required=st.booleans(),
        evidence_type=st.just(pair[0]),
        category=st.just(pair[1]),
        claims=claim_names(pair[0]),
        documents=st.booleans(),
    )
)


@st.composite
def states(draw: st.DrawFn) -> GrantState:
    scope = msgspec.structs.replace(
        REQUEST,
        items=tuple(draw(st.lists(ITEMS, min_size=1, max_size=4))),
        purpose=msgspec.structs.replace(REQUEST.purpose, term=draw(st.sampled_from(PURPOSES))),
    )
    return GrantState(
        status=draw(mostly(GrantStatus.ACTIVE, *GrantStatus)),
        client_id=draw(st.sampled_from(CLIENTS)),
        citizen_id=draw(mostly("alice", None, "bob")),
        request=REQUEST,
        scope=scope,
        requested_at=T0,
        last_event_at=T0,
        decided_at=draw(mostly(T0, None, T0 + timedelta(days=2), rare=OFFSETS)),
        expires_at=draw(mostly(EXPIRY, None, T0, T0 + timedelta(days=1), rare=OFFSETS)),
    )


def types_filed_under(category: Category | None) -> list[str]:
    """Types an item of this category could be; every type if none is (e.g. contact)."""
    filed = [k for k, kind in EVIDENCE_TYPES.items() if category in (None, *kind.categories)]
    return filed or TYPES


@st.composite
def reads_near(draw: st.DrawFn, state: GrantState | None) -> ReadRequest:
    """Reads that mostly match the grant and one of its items, so allow is well explored."""
    items = state.scope.items if state else ()
    pick = draw(
        mostly(True, False).flatmap(
            lambda near: st.sampled_from(items) if near and items else st.none()
        )
    )
    if pick is not None:
        evidence_type = pick.evidence_type or draw(
            st.sampled_from(types_filed_under(pick.category))
        )
        wanted_claims = (
            claim_names(evidence_type)
            if pick.claims is None
            else st.none()
            | st.lists(st.sampled_from(pick.claims), min_size=1, unique=True).map(tuple)
        )
    else:
        evidence_type = draw(st.sampled_from(TYPES))
        wanted_claims = claim_names(evidence_type)
    kind = EVIDENCE_TYPES.get(evidence_type)
    filed = [str(c) for c in kind.categories] if kind else []
    category = (str(pick.category) if pick and pick.category else None) or draw(
        st.sampled_from(filed) | st.sampled_from(list(Category))
        if filed
        else st.sampled_from(list(Category))
    )
    wanted = draw(wanted_claims | st.just(()))
    client = state.client_id if state else "housing"
    purpose = str(state.scope.purpose.term) if state else ELIGIBILITY
    citizen = (state.citizen_id if state else None) or "alice"
    return ReadRequest(
        client_id=draw(mostly(client, *CLIENTS)),
        purpose=draw(mostly(purpose, *PURPOSES)),
        resource=Resource(
            citizen_id=draw(mostly(citizen, *CITIZENS)),
            evidence_type=evidence_type,
            category=category,
            claims=None if wanted is None else frozenset(wanted),
            document=draw(st.booleans() if pick and pick.documents else mostly(False, True)),
        ),
    )


def one_thing_off(request: ReadRequest) -> list[ReadRequest]:
    """The read and each variant of it with exactly one thing changed, so that every single
    check meets the case where it alone should deny."""
    resource = request.resource
    kind = EVIDENCE_TYPES.get(resource.evidence_type)
    schema = kind.schema if kind else None
    claims = [f.encode_name for f in msgspec.structs.fields(schema)] if schema else ["x"]
    extra = next((c for c in claims if c not in (resource.claims or ())), "x")
    neighbours = [
        k for k in types_filed_under(Category(resource.category)) if k != resource.evidence_type
    ]
    siblings = [str(c) for c in kind.categories if c != resource.category] if kind else []
    return [
        request,
        dataclasses.replace(request, client_id="someone-else"),
        dataclasses.replace(request, purpose="dpv:Marketing"),
        with_resource(request, citizen_id="mallory"),
        with_resource(request, evidence_type=(neighbours or ["passport"])[0]),
        with_resource(request, category=(siblings or ["contact"])[0]),
        with_resource(request, claims=(resource.claims or frozenset()) | {extra}),
        with_resource(request, claims=None),
        with_resource(request, document=True),
    ]


def with_resource(request: ReadRequest, **changes: Any) -> ReadRequest:
    resource = dataclasses.replace(request.resource, **changes)
    return dataclasses.replace(request, resource=resource)


NOW = mostly(T0 + HOUR, T0, T0 - timedelta(microseconds=1), EXPIRY, EXPIRY - HOUR, rare=OFFSETS)


@settings(max_examples=300, deadline=None)
@given(
    data=st.data(),
    state=mostly(True, False).flatmap(lambda g: states() if g else st.none()),
    now=NOW,
)
def test_no_read_without_an_active_grant_that_covers_it(
    data: st.DataObject, state: GrantState | None, now: datetime
) -> None:
    """Allow exactly when the oracle finds no rule broken; deny names every broken rule."""
    request = data.draw(reads_near(state))
    check_against_oracle(decide(state, request, now), oracle(state, request, now))


@settings(max_examples=100, deadline=None)
@given(data=st.data(), state=states(), now=NOW, drop=st.integers(min_value=0, max_value=3))
def test_narrowing_a_grant_never_allows_more(
    data: st.DataObject, state: GrantState, now: datetime, drop: int
) -> None:
    request = data.draw(reads_near(state))
    items = state.scope.items
    narrower = changed(
        state, scope=msgspec.structs.replace(state.scope, items=items[:drop] + items[drop + 1 :])
    )
    if decide(narrower, request, now).allowed:
        assert decide(state, request, now).allowed


# --- the stateful model: request / approve / narrow / refuse / revoke / expire / time / use ---

MACHINE_REQUESTS = [
    REQUEST,
    data_request(
        [
            {"evidence_type": "identity_document", "claims": ["full_name"], "required": False},
            {"category": "income", "documents": True, "required": False},
        ],
        purpose=PROVISION,
        access="one_off",
        duration="PT12H",
    ),
    data_request([{"category": "address", "required": True}], duration="P2D"),
]
STEPS: list[timedelta | str] = [
    *[timedelta(minutes=1), timedelta(minutes=10), HOUR, 3 * HOUR, timedelta(days=1)] * 2,
    "to the expiry",
    "just past the expiry",
    "a month",
]
"""Mostly short, so reads land inside grants; sometimes exactly at an expiry, or far past."""


class GrantLifecycle(RuleBasedStateMachine):
    """Drives one grant through random events and reads, against a model kept by hand."""

    def __init__(self) -> None:
        super().__init__()
        self.now = T0
        self.events: list[GrantEvent] = []
        self.state: GrantState | None = None
        # The model: what the issue says the grant should be, tracked independently of fold.
        self.status: str | None = None
        self.client = ""
        self.pushed_to: str | None = None
        self.citizen: str | None = None
        self.request = REQUEST
        self.kept: tuple[DataItem, ...] = ()
        self.approved_at = T0
        self.expires_at = T0

    def record(self, event: GrantEvent, *, possible: bool) -> bool:
        """Apply the event; it must succeed exactly when the model says it is possible."""
        before = self.state
        try:
            self.state = apply(self.state, event)
        except ImpossibleTransition:
            assert not possible, f"refused a possible {event!r}"
            assert self.state is before
            return False
        assert possible, f"accepted an impossible {event!r}"
        self.events.append(event)
        return True

    def lapsed(self) -> bool:
        return self.status == "active" and self.now >= self.expires_at

    @initialize(
        request=st.sampled_from(MACHINE_REQUESTS),
        client=st.sampled_from(CLIENTS),
        pushed_to=mostly(None, *CITIZENS),
        first=st.sampled_from(["approve", "approve", "narrow", "narrow", "refuse", "wait"]),
        citizen=mostly("alice", "bob"),
        data=st.data(),
    )
    def start(
        self,
        request: DataRequest,
        client: str,
        pushed_to: str | None,
        first: str,
        citizen: str,
        data: st.DataObject,
    ) -> None:
        """Every run starts with a request, and usually its answer, so most runs reach the
        interesting states (the property tests cover reads with no grant at all)."""
        self.ask(request, client, pushed_to)
        if first != "wait":
            self.answer(first, citizen, data)

    @rule(
        request=st.sampled_from(MACHINE_REQUESTS),
        client=st.sampled_from(CLIENTS),
        pushed_to=st.sampled_from([None, *CITIZENS]),
    )
    def ask(self, request: DataRequest, client: str, pushed_to: str | None) -> None:
        event = Requested(at=self.now, client_id=client, request=request, citizen_id=pushed_to)
        if self.record(event, possible=self.status is None):
            self.status, self.client, self.request = "requested", client, request
            self.pushed_to = pushed_to

    def answerable_by(self, citizen: str) -> bool:
        return self.status == "requested" and self.pushed_to in (None, citizen)

    @rule(
        how=st.sampled_from(["approve", "approve", "narrow", "narrow", "refuse"]),
        citizen=mostly("alice", "bob"),
        data=st.data(),
    )
    def answer(self, how: str, citizen: str, data: st.DataObject) -> None:
        """The citizen answers: approve, approve narrowed, or refuse."""
        if how == "refuse":
            self.refuse(citizen)
        elif how == "narrow":
            self.decide_on(citizen, data.draw(self.narrowing()))
        else:
            self.decide_on(citizen, ())

    def narrowing(self) -> st.SearchStrategy[tuple[int, ...]]:
        """Items to untick: optional ones, or one of the ways of unticking too much."""
        count = len(self.request.items)
        optional = [i for i, item in enumerate(self.request.items) if not item.required]
        required = [i for i in range(count) if i not in optional]
        some_optional = st.lists(st.sampled_from(optional), min_size=1, unique=True).map(tuple)
        kinds: dict[str, st.SearchStrategy[tuple[int, ...]]] = {
            "optional": some_optional if optional else st.just((0,)),
            "a required one": st.tuples(st.sampled_from(required)) if required else st.just(()),
            "one that does not exist": st.sampled_from([(-1,), (count,)]),
            "one twice": st.integers(0, count - 1).map(lambda i: (i, i)),
            "all of them": st.just(tuple(range(count))),
        }
        return st.sampled_from(["optional"] * 3 + list(kinds)).flatmap(kinds.__getitem__)

    def decide_on(self, citizen: str, declined: tuple[int, ...]) -> None:
        items = self.request.items
        sound = (
            len(set(declined)) == len(declined)
            and all(0 <= i < len(items) and not items[i].required for i in declined)
            and len(declined) < len(items)
        )
        event = Approved(at=self.now, citizen_id=citizen, declined=declined)
        if self.record(event, possible=self.answerable_by(citizen) and sound):
            self.status, self.citizen = "active", citizen
            self.kept = tuple(item for i, item in enumerate(items) if i not in declined)
            self.approved_at, self.expires_at = self.now, self.now + self.request.duration

    def refuse(self, citizen: str) -> None:
        event = Refused(at=self.now, citizen_id=citizen)
        if self.record(event, possible=self.answerable_by(citizen)):
            self.status, self.citizen = "refused", citizen

    @rule(by=st.sampled_from(RevokedBy))
    def revoke(self, by: RevokedBy) -> None:
        possible = self.status == "active" and not self.lapsed()
        if self.record(Revoked(at=self.now, by=by), possible=possible):
            self.status = "revoked"

    @rule()
    def expire(self) -> None:
        if self.record(Expired(at=self.now), possible=self.lapsed()):
            self.status = "expired"

    @rule(step=st.sampled_from(STEPS))
    def advance(self, step: timedelta | str) -> None:
        if step == "to the expiry":
            self.now = max(self.now, self.expires_at)
        elif step == "just past the expiry":
            self.now = max(self.now, self.expires_at + timedelta(microseconds=1))
        elif step == "a month":
            self.now += timedelta(days=31)
        else:
            assert isinstance(step, timedelta)
            self.now += step

    @rule()
    def backdate(self) -> None:
        """Nothing may be recorded before the last event, whatever it is."""
        if self.state is not None:
            late = self.state.last_event_at - timedelta(seconds=1)
            self.record(Revoked(at=late, by=RevokedBy.CLIENT), possible=False)

    @rule(data=st.data())
    def use(self, data: st.DataObject) -> None:
        for request in one_thing_off(data.draw(reads_near(self.state))):
            self.use_once(request)

    def use_once(self, request: ReadRequest) -> None:
        decision = decide(self.state, request, self.now)
        resource = request.resource
        in_time = self.status == "active" and self.approved_at <= self.now < self.expires_at
        same_parties = request.client_id == self.client and resource.citizen_id == self.citizen
        same_purpose = request.purpose == self.request.purpose.term
        if decision.allowed:
            assert in_time, "read outside an active grant's time"
            assert same_parties, "read by another client or from another vault"
            assert same_purpose, "read for another purpose"
            assert self.in_scope(resource), "read outside the narrowed scope"
        else:
            assert not (in_time and same_parties and same_purpose and self.in_scope(resource))

    def in_scope(self, resource: Resource) -> bool:
        """The narrowed scope, from the items the model kept (not the grant's own copy)."""
        kind = EVIDENCE_TYPES.get(resource.evidence_type)
        if kind is None or resource.category not in kind.categories:
            return False
        covering = [
            i
            for i in self.kept
            if i.evidence_type in (None, resource.evidence_type)
            and i.category in (None, resource.category)
        ]
        if resource.document and not any(i.documents for i in covering):
            return False
        if resource.claims is None:
            return any(i.claims is None for i in covering)
        return bool(covering) and all(
            any(i.claims is None or c in i.claims for i in covering) for c in resource.claims
        )

    @invariant()
    def the_state_is_the_fold_of_the_history(self) -> None:
        if self.events:
            assert fold(self.events) == self.state

    @invariant()
    def the_state_agrees_with_the_model(self) -> None:
        state = self.state
        assert state is not None
        assert (state.status, state.client_id, state.event_count) == (
            self.status,
            self.client,
            len(self.events),
        )
        if self.status in {"active", "revoked", "expired"}:
            assert (state.citizen_id, state.decided_at) == (self.citizen, self.approved_at)
            assert (state.expires_at, state.scope.items) == (self.expires_at, self.kept)


GrantLifecycle.TestCase.settings = settings(max_examples=100, stateful_step_count=40, deadline=None)
TestGrantLifecycle = GrantLifecycle.TestCase
