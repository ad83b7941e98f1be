"""Stored grants under a stateful model: the real services, a real database, random histories.

``test_policy.GrantLifecycle`` drives the pure ``apply``; this machine drives what the
web layer calls (``consent.service`` and ``consent.revocation``) against a migrated
database, SQLite always and PostgreSQL too when ``PDS_TEST_POSTGRES_URL`` is set. The
model (``Modelled``, ``StoredGrants.allows`` and ``StoredGrants.follow``) is written
from the rules, not from ``apply``; after every step the machine checks:

* no read ``decide`` allows on a grant loaded from the database falls outside an active
  grant's parties, purpose, narrowed scope and time, and none inside them is denied;
* the state ``load_grant`` returns is the pure ``fold`` of exactly the events recorded;
* ``grants.status`` / ``expires_at`` (and the other copied columns) agree with that fold;
* each grant's event rows are numbered 1..n with no gap and decode to those events;
* a refused change (impossible, badly narrowed, back-dated, or racing another writer)
  leaves the stored history as it was.

The machine owns one event loop and one engine per example; every coroutine of a step
runs on that loop, and teardown disposes the engine before closing the loop.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any, ClassVar, TypeVar

import pytest
from conftest import POSTGRES_URL, empty_all_tables
from hypothesis import HealthCheck, settings
from hypothesis import event as tally
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
)
from sqlalchemy import select

from connectors.models import Client
from consent.grants import (
    Approved,
    Expired,
    GrantEvent,
    GrantState,
    ImpossibleTransition,
    InvalidNarrowing,
    Refused,
    Requested,
    Revoked,
    RevokedBy,
    apply,
    fold,
)
from consent.keys import server_keys
from consent.models import Grant, PairwiseSubject
from consent.models import GrantEvent as GrantEventRow
from consent.policy import ReadRequest, Resource, decide
from consent.receipting import latest_receipt
from consent.revocation import revoke_by_citizen
from consent.service import (
    GrantNotFound,
    citizen_for_subject,
    citizens_grant,
    citizens_grants,
    decode_event,
    load_grant,
    open_request,
    pairwise_subject,
    record,
    settle_expiry,
)
from consent.test_policy import (
    CITIZENS,
    CLIENTS,
    MACHINE_REQUESTS,
    STEPS,
    T0,
    check_against_oracle,
    mostly,
    one_thing_off,
    oracle,
    reads_near,
    types_filed_under,
    with_resource,
)
from pds.accounts.models import Account
from pds.db import open_database
from pds.ids import uuid7
from pds.keys.provider import InMemoryKeyProvider
from pds.vault.evidence_types import EVIDENCE_TYPES

if TYPE_CHECKING:
    import uuid
    from collections.abc import Callable, Coroutine

    from sqlalchemy.ext.asyncio import AsyncSession

    from consent.keys import ServerKeys
    from consent.requests import DataItem, DataRequest
    from pds.db import Database
    from pds.settings import Settings

T = TypeVar("T")
Outcome = GrantState | Exception

ISSUER = "https://pds.test"
TICKS = [step for step in STEPS if isinstance(step, timedelta)] + [timedelta(days=31)]
"""Mostly short, so reads land inside grants; ``advance`` also aims at expiries exactly."""
BOUNDARIES = {
    "just before its expiry": -timedelta(microseconds=1),
    "at its expiry": timedelta(0),
    "just after its expiry": timedelta(microseconds=1),
}
ZONES = [UTC, timezone(timedelta(hours=1)), timezone(-timedelta(hours=5, minutes=30))]
"""The services take ``now`` from the caller; any aware time must store and compare alike."""


@dataclass(eq=False)
class Modelled:
    """What one stored grant should be, tracked by hand (never read back from ``fold``)."""

    number: int
    id: uuid.UUID
    client: str
    request: DataRequest
    pushed_to: str | None
    events: list[GrantEvent]
    status: str = "requested"
    citizen: str | None = None
    kept: tuple[DataItem, ...] = ()
    approved_at: datetime | None = None
    expires_at: datetime | None = None
    revoked_by: RevokedBy | None = None

    def __repr__(self) -> str:
        return f"<grant {self.number}: {self.status}>"

    @property
    def owner(self) -> str | None:
        """Whose grant it is: who answered it, or who it was pushed to."""
        return self.citizen or self.pushed_to

    def lapsed(self, at: datetime) -> bool:
        return self.status == "active" and self.expires_at is not None and at >= self.expires_at

    def live(self, at: datetime) -> bool:
        return (
            self.status == "active"
            and self.approved_at is not None
            and self.expires_at is not None
            and self.approved_at <= at < self.expires_at
        )

    def answerable_by(self, citizen: str) -> bool:
        return self.status == "requested" and self.pushed_to in (None, citizen)


def sound(request: DataRequest, declined: tuple[int, ...]) -> bool:
    """Only optional items that exist, each once, and not all of them."""
    items = request.items
    return (
        len(set(declined)) == len(declined)
        and all(0 <= i < len(items) and not items[i].required for i in declined)
        and len(declined) < len(items)
    )


def narrowing(request: DataRequest) -> st.SearchStrategy[tuple[int, ...]]:
    """Items to untick: optional ones, or one of the ways of unticking too much."""
    count = len(request.items)
    optional = [i for i, item in enumerate(request.items) if not item.required]
    required = [i for i in range(count) if i not in optional]
    kinds: dict[str, st.SearchStrategy[tuple[int, ...]]] = {
        "optional": (
            st.lists(st.sampled_from(optional), min_size=1, unique=True).map(tuple)
            if optional
            else st.just((0,))
        ),
        "a required one": st.tuples(st.sampled_from(required)) if required else st.just(()),
        "one that does not exist": st.sampled_from([(-1,), (count,)]),
        "one twice": st.integers(0, count - 1).map(lambda i: (i, i)),
        "all of them": st.just(tuple(range(count))),
    }
    return st.sampled_from(["optional"] * 3 + list(kinds)).flatmap(kinds.__getitem__)


def in_scope(kept: tuple[DataItem, ...], resource: Resource) -> bool:
    """The narrowed scope, from the items the model kept (not the stored grant's copy)."""
    kind = EVIDENCE_TYPES.get(resource.evidence_type)
    if kind is None or resource.category not in kind.categories:
        return False
    covering = [
        i
        for i in kept
        if i.evidence_type in (None, resource.evidence_type)
        and i.category in (None, resource.category)
    ]
    if resource.document and not any(i.documents and i.claims is None for i in covering):
        return False
    if resource.claims is None:
        return any(i.claims is None for i in covering)
    return bool(covering) and all(
        any(i.claims is None or c in i.claims for i in covering) for c in resource.claims
    )


async def stored_subject(session: AsyncSession, client_id: str, citizen_id: uuid.UUID) -> str:
    subject = await session.scalar(
        select(PairwiseSubject.subject).where(
            PairwiseSubject.client_id == client_id, PairwiseSubject.citizen_id == citizen_id
        )
    )
    assert subject is not None
    return subject


class StoredGrants(RuleBasedStateMachine):
    """Random requests, answers, revocations, expiries, time and reads over stored grants."""

    backend: ClassVar[str]
    databases: ClassVar[dict[str, Settings]] = {}
    """Migrated settings per backend, filled in by the ``stored_grants_database`` fixture."""

    def __init__(self) -> None:
        super().__init__()
        self.loop = asyncio.new_event_loop()
        self.db: Database = open_database(self.databases[self.backend])
        self.now = T0
        self.models: list[Modelled] = []
        self.citizen_ids = {name: uuid7() for name in CITIZENS}
        self.names = {str(uid): name for name, uid in self.citizen_ids.items()}
        self.subjects: dict[tuple[str, str], str] = {}
        self.touched: set[uuid.UUID] = set()
        try:
            self.keys = self.run(self.prepare())
        except BaseException:
            self.teardown()
            raise

    # --- plumbing ---------------------------------------------------------------------------

    def run(self, work: Coroutine[Any, Any, T]) -> T:
        return self.loop.run_until_complete(work)

    def teardown(self) -> None:
        try:
            self.run(self.db.dispose())
            self.loop.run_until_complete(self.loop.shutdown_asyncgens())
        finally:
            self.loop.close()

    async def prepare(self) -> ServerKeys:
        await empty_all_tables(self.db)
        async with self.db.sessions() as session:
            for client_id in CLIENTS:
                session.add(
                    Client(
                        client_id=client_id,
                        name=f"{client_id.title()} service",
                        organisation="Test Council",
                        kind="council_service",
                        contact_email=f"{client_id}@council.test",
                        redirect_uris=[f"https://{client_id}.test/callback"],
                        jwks=None,
                        purposes=[str(r.purpose.term) for r in MACHINE_REQUESTS],
                        categories=[],
                    )
                )
            for name, citizen_id in self.citizen_ids.items():
                session.add(
                    Account(
                        id=citizen_id,
                        email=f"{name}@example.test",
                        role="citizen",
                        password_hash="unused",
                    )
                )
            keys = await server_keys(session, InMemoryKeyProvider())
            await session.commit()
        return keys

    def any_in(self, *statuses: str) -> bool:
        """Rules that change a grant run only while some grant could take the change (a
        refusal is still tried now and then: ``pick`` sometimes takes any grant)."""
        return any(grant.status in statuses for grant in self.models)

    def uid(self, citizen: str | None) -> uuid.UUID | None:
        return None if citizen is None else self.citizen_ids[citizen]

    def sid(self, citizen: str | None) -> str | None:
        return None if citizen is None else str(self.citizen_ids[citizen])

    def pick(
        self, data: st.DataObject, wanted: Callable[[Modelled], bool] = lambda _: True
    ) -> Modelled:
        """Usually a grant the step can change (so steps do something), sometimes any."""
        fitting = [grant for grant in self.models if wanted(grant)]
        usual = bool(fitting) and data.draw(mostly(True, False), label="a fitting grant")
        grant = data.draw(st.sampled_from(fitting if usual else self.models), label="grant")
        self.touched.add(grant.id)
        return grant

    async def attempt(self, grant_id: uuid.UUID, event: GrantEvent) -> Outcome:
        """Load, ``record`` and commit, as a request handler does; the error if refused."""
        async with self.db.sessions() as session:
            loaded = await load_grant(session, grant_id)
            assert loaded is not None
            row, state = loaded
            try:
                after = await record(session, row, state, event)
            except ImpossibleTransition as refused:
                return refused
            await session.commit()
            return after

    # --- the model --------------------------------------------------------------------------

    def allows(self, grant: Modelled, event: GrantEvent) -> bool:
        """Whether the event may follow the grant's history, by the rules as written."""
        if event.at < grant.events[-1].at:
            return False
        if grant.lapsed(event.at):
            return isinstance(event, Expired)
        match event:
            case Approved():
                citizen = self.names.get(event.citizen_id)
                return (
                    citizen is not None
                    and grant.answerable_by(citizen)
                    and sound(grant.request, event.declined)
                )
            case Refused():
                citizen = self.names.get(event.citizen_id)
                return citizen is not None and grant.answerable_by(citizen)
            case Revoked():
                return grant.status == "active"
        return False

    def follow(self, grant: Modelled, event: GrantEvent) -> None:
        """The model's side of an accepted event."""
        grant.events.append(event)
        match event:
            case Approved():
                grant.status, grant.citizen = "active", self.names[event.citizen_id]
                items = grant.request.items
                grant.kept = tuple(i for n, i in enumerate(items) if n not in event.declined)
                grant.approved_at = event.at
                grant.expires_at = event.at + grant.request.duration
            case Refused():
                grant.status, grant.citizen = "refused", self.names[event.citizen_id]
            case Revoked():
                grant.status, grant.revoked_by = "revoked", event.by
            case Expired():
                grant.status = "expired"

    def expect(
        self,
        grant: Modelled,
        event: GrantEvent,
        outcome: Outcome,
        *,
        refusal: type[Exception] = ImpossibleTransition,
    ) -> None:
        """The service accepts exactly what the model allows, and returns the new fold."""
        possible = self.allows(grant, event)
        tally(f"{type(event).__name__} {'accepted' if possible else 'refused'}")
        if not possible:
            assert isinstance(outcome, refusal), f"expected {refusal.__name__}: {outcome!r}"
            return
        assert not isinstance(outcome, Exception), f"refused a possible {event!r}: {outcome!r}"
        self.follow(grant, event)
        assert outcome == fold(grant.events)

    # --- rules: the grant's life ------------------------------------------------------------

    @initialize(
        setups=st.lists(
            st.tuples(
                st.sampled_from(MACHINE_REQUESTS),
                st.sampled_from(CLIENTS),
                mostly(None, *CITIZENS),
                st.sampled_from(["approve", "approve", "narrow", "narrow", "refuse", "wait"]),
                mostly("alice", "bob"),
                st.sampled_from([timedelta(0), *TICKS]),
            ),
            min_size=1,
            max_size=3,
        ),
        data=st.data(),
    )
    def start(self, setups: list[tuple[Any, ...]], data: st.DataObject) -> None:
        """Begin with a few requests, most of them answered, a while apart, so that even a
        run whose few enabled rules never ask or answer has grants in several states."""
        for request, client, pushed_to, first, citizen, pause in setups:
            self.ask(request, client, pushed_to)
            if first != "wait":
                self.answer(first, citizen, data, self.models[-1])
            self.now += pause

    @rule(
        request=st.sampled_from(MACHINE_REQUESTS),
        client=st.sampled_from(CLIENTS),
        pushed_to=st.sampled_from([None, *CITIZENS]),
    )
    def ask(self, request: DataRequest, client: str, pushed_to: str | None) -> None:
        """``open_request``: for whoever signs in, or pushed to one citizen."""
        now = self.now

        async def go() -> tuple[uuid.UUID, GrantState]:
            async with self.db.sessions() as session:
                row, state = await open_request(
                    session,
                    client_id=client,
                    request=request,
                    now=now,
                    citizen_id=self.uid(pushed_to),
                )
                await session.commit()
                return row.id, state

        grant_id, state = self.run(go())
        event = Requested(at=now, client_id=client, request=request, citizen_id=self.sid(pushed_to))
        assert state == fold([event])
        number = len(self.models)
        self.models.append(Modelled(number, grant_id, client, request, pushed_to, [event]))
        self.touched.add(grant_id)

    @precondition(lambda self: self.any_in("requested"))
    @rule(
        how=st.sampled_from(["approve", "approve", "narrow", "narrow", "refuse"]),
        citizen=mostly("alice", "bob"),
        data=st.data(),
    )
    def answer(
        self, how: str, citizen: str, data: st.DataObject, grant: Modelled | None = None
    ) -> None:
        """Approve (sometimes narrowed, sometimes narrowed wrongly) or refuse."""
        if grant is None:
            grant = self.pick(data, lambda g: g.status == "requested")
        who = self.sid(citizen)
        assert who is not None
        if how == "refuse":
            event: GrantEvent = Refused(at=self.now, citizen_id=who)
            self.expect(grant, event, self.run(self.attempt(grant.id, event)))
            return
        declined = data.draw(narrowing(grant.request), label="declined") if how == "narrow" else ()
        event = Approved(at=self.now, citizen_id=who, declined=declined)
        answerable, fine = grant.answerable_by(citizen), sound(grant.request, declined)
        refusal = InvalidNarrowing if answerable and not fine else ImpossibleTransition
        self.expect(grant, event, self.run(self.attempt(grant.id, event)), refusal=refusal)

    @precondition(lambda self: self.any_in("active"))
    @rule(by=st.sampled_from(RevokedBy), as_owner=mostly(True, False), data=st.data())
    def revoke(self, by: RevokedBy, as_owner: bool, data: st.DataObject) -> None:
        """The citizen withdraws (``revoke_by_citizen``), or the client or the PDS ends the
        grant (``record``, as introspection and the token endpoint do)."""
        grant = self.pick(data, lambda g: g.live(self.now))
        event = Revoked(at=self.now, by=by)
        if by is not RevokedBy.CITIZEN:
            self.expect(grant, event, self.run(self.attempt(grant.id, event)))
            return
        owner = grant.owner or "alice"
        citizen = owner if as_owner else next(c for c in CITIZENS if c != owner)
        outcome = self.run(self.revoke_as(citizen, grant))
        if citizen != grant.owner:
            assert isinstance(outcome, GrantNotFound), outcome
            return
        self.expect(grant, event, outcome)

    async def revoke_as(self, citizen: str, grant: Modelled) -> Outcome:
        """``revoke_by_citizen`` commits; a receipt for the new state is stored with it."""
        citizen_id = self.citizen_ids[citizen]
        async with self.db.sessions() as session:
            try:
                _, state = await revoke_by_citizen(
                    session,
                    self.keys,
                    citizen_id=citizen_id,
                    grant_id=grant.id,
                    issuer=ISSUER,
                    now=self.now,
                )
            except (ImpossibleTransition, GrantNotFound) as refused:
                return refused
        async with self.db.read_sessions() as session:
            receipt = await latest_receipt(session, grant.id)
            assert receipt is not None
            assert (receipt.version, receipt.issued_at) == (1, self.now)
            # the receipt names the citizen by the client's pairwise subject, made on need
            made = await stored_subject(session, grant.client, citizen_id)
        assert self.subjects.setdefault((grant.client, citizen), made) == made
        return state

    @precondition(lambda self: self.any_in("active"))
    @rule(
        how=st.sampled_from(["settle", "settle", "record"]),
        when=st.sampled_from(["now", *BOUNDARIES]),
        data=st.data(),
    )
    def expire(self, how: str, when: str, data: st.DataObject) -> None:
        """``settle_expiry`` records Expired once and only once the grant lapsed; recording
        it directly is refused before then. The request that settles it comes now, or
        just before the grant's expiry, exactly at it, or just after."""
        grant = self.pick(data, lambda g: g.status == "active")
        self.move_to(grant, when)
        now = self.now
        event = Expired(at=now)
        if how == "record":
            self.expect(grant, event, self.run(self.attempt(grant.id, event)))
            return

        async def go() -> tuple[GrantState, GrantState, bool]:
            async with self.db.sessions() as session:
                loaded = await load_grant(session, grant.id)
                assert loaded is not None
                row, state = loaded
                after, recorded = await settle_expiry(session, row, state, now)
                await session.commit()
                return state, after, recorded

        before, after, recorded = self.run(go())
        tally(f"settle_expiry {'recorded' if recorded else 'did nothing'}")
        assert recorded == grant.lapsed(now)
        if recorded:
            self.expect(grant, event, after)
        else:
            assert after == before

    @rule(how=st.sampled_from(["back-dated", "stale"]), data=st.data())
    def bad_writer(self, how: str, data: st.DataObject) -> None:
        """Writes that must be refused and leave the history as it was (the invariant
        checks that): an event dated before the grant's last one, or a writer that loaded
        the grant before a change already committed."""
        if how == "stale":
            self.stale_writer(data)
            return
        grant = self.pick(data)
        late = grant.events[-1].at - timedelta(seconds=1)
        who = self.sid(grant.owner or "alice")
        assert who is not None
        event = data.draw(
            st.sampled_from(
                [
                    Revoked(at=late, by=RevokedBy.CLIENT),
                    Refused(at=late, citizen_id=who),
                    Approved(at=late, citizen_id=who),
                    Expired(at=late),
                ]
            ),
            label="back-dated event",
        )
        self.expect(grant, event, self.run(self.attempt(grant.id, event)))

    def stale_writer(self, data: st.DataObject) -> None:
        """Its event is valid against what it saw, but its append must lose: the other
        writer already holds that ``seq`` (no forked history)."""
        grant = self.pick(data, lambda g: len(g.events) >= 2)
        if len(grant.events) < 2:
            return
        seen = data.draw(st.integers(1, len(grant.events) - 1), label="events seen")
        stale = fold(grant.events[:seen])
        valid = [event for event in self.candidates(grant) if accepts(stale, event)]
        if not valid:
            return
        event = data.draw(st.sampled_from(valid), label="stale event")

        async def go() -> Outcome:
            async with self.db.sessions() as session:
                row = await session.get(Grant, grant.id)
                assert row is not None
                try:
                    after = await record(session, row, stale, event)
                except ImpossibleTransition as refused:
                    return refused
                await session.commit()
                return after

        outcome = self.run(go())
        tally("stale writer refused")
        assert isinstance(outcome, ImpossibleTransition), f"a stale write forked: {outcome!r}"

    def candidates(self, grant: Modelled) -> list[GrantEvent]:
        """Events two handlers might try at ``now``: answers, revocations, an expiry."""
        now, who = self.now, [self.sid(c) or "" for c in CITIZENS]
        return [
            *[Approved(at=now, citizen_id=c) for c in who],
            *[Refused(at=now, citizen_id=c) for c in who],
            Approved(at=now, citizen_id=self.sid(grant.owner or "alice") or "", declined=(1,)),
            Revoked(at=now, by=RevokedBy.CLIENT),
            Revoked(at=now, by=RevokedBy.SECURITY),
            Expired(at=now),
        ]

    @precondition(lambda self: self.any_in("requested", "active"))
    @rule(data=st.data())
    def two_writers(self, data: st.DataObject) -> None:
        """Two handlers change one grant in overlapping transactions, interleaved the same
        way every run (so the outcome is deterministic): the first loads the grant, then
        the second starts; the first records and commits, then the second records.

        On SQLite the second's write transaction waits for the first to commit, so it
        sees the new state; on PostgreSQL it has already read the old one, so when the
        first was accepted the second must lose (its ``seq`` is taken) and not fork."""
        grant = self.pick(data, lambda g: g.status in {"requested", "active"})
        options = self.candidates(grant)
        allowed = [event for event in options if self.allows(grant, event)]
        one = (st.sampled_from(allowed) if allowed else st.nothing()) | st.sampled_from(options)
        first, second = data.draw(st.tuples(one, one), label="events")
        first_possible = self.allows(grant, first)
        outcomes = self.run(self.overlap(grant.id, first, second))
        self.expect(grant, first, outcomes[0])
        if first_possible and not self.db.is_sqlite:
            tally("second writer lost the race")
            assert isinstance(outcomes[1], ImpossibleTransition), f"forked: {outcomes[1]!r}"
        else:
            self.expect(grant, second, outcomes[1])

    async def overlap(
        self, grant_id: uuid.UUID, first: GrantEvent, second: GrantEvent
    ) -> tuple[Outcome, Outcome]:
        async with self.db.sessions() as session:
            loaded = await load_grant(session, grant_id)
            assert loaded is not None
            if self.db.is_sqlite:
                # the second waits on the write lock this transaction holds
                later = asyncio.create_task(self.attempt(grant_id, second))
                one = await self.write(session, *loaded, first)
                return one, await later
            async with self.db.sessions() as other:
                seen = await load_grant(other, grant_id)
                assert seen is not None
                one = await self.write(session, *loaded, first)
                return one, await self.write(other, *seen, second)

    @staticmethod
    async def write(
        session: AsyncSession, row: Grant, state: GrantState, event: GrantEvent
    ) -> Outcome:
        try:
            after = await record(session, row, state, event)
        except ImpossibleTransition as refused:
            await session.rollback()
            return refused
        await session.commit()
        return after

    # --- rules: time ------------------------------------------------------------------------

    @rule(step=st.sampled_from([*TICKS, *BOUNDARIES]), data=st.data())
    def advance(self, step: timedelta | str, data: st.DataObject) -> None:
        """Move the clock on a while, or to an active grant's expiry (just before, exactly,
        just after); now and then into another UTC offset."""
        if isinstance(step, timedelta):
            self.now += step
        else:
            self.move_to(self.pick(data, lambda g: g.status == "active"), step)
        self.now = self.now.astimezone(data.draw(mostly(UTC, *ZONES[1:]), label="zone"))

    def move_to(self, grant: Modelled, when: str) -> None:
        """Forward to a boundary of the grant (never back: events keep time order)."""
        if grant.expires_at is not None and when in BOUNDARIES:
            target = grant.expires_at + BOUNDARIES[when]
            self.now = max(self.now, target.astimezone(self.now.tzinfo))

    # --- rules: reading ---------------------------------------------------------------------

    @rule(when=mostly("now", *BOUNDARIES), data=st.data())
    def use(self, when: str, data: st.DataObject) -> None:
        """Load the grant and ask the policy about reads near it, and each one thing off;
        sometimes the read comes at the grant's expiry (just before, exactly, just after)."""
        if when == "now":
            grant = self.pick(data, lambda g: g.live(self.now))
        else:
            grant = self.pick(data, lambda g: g.status == "active")
            self.move_to(grant, when)

        async def go() -> GrantState:
            async with self.db.read_sessions() as session:
                loaded = await load_grant(session, grant.id)
                assert loaded is not None
                return loaded[1]

        state = self.run(go())
        assert state == fold(grant.events)
        near = self.in_vaults(data.draw(reads_near(state), label="read"))
        for request in one_thing_off(near):
            self.check_read(grant, state, request)

    def in_vaults(self, request: ReadRequest) -> ReadRequest:
        """The shared strategies name citizens; these grants hold account ids."""
        named = request.resource.citizen_id
        if named in self.citizen_ids:
            return with_resource(request, citizen_id=str(self.citizen_ids[named]))
        return request

    def probes(self, grant: Modelled) -> list[ReadRequest]:
        """A read aimed at each item asked for (kept or declined), and each one thing off."""
        reads = []
        for item in grant.request.items:
            evidence_type = item.evidence_type or types_filed_under(item.category)[0]
            category = item.category or EVIDENCE_TYPES[evidence_type].categories[0]
            resource = Resource(
                citizen_id=self.sid(grant.owner or "alice") or "",
                evidence_type=evidence_type,
                category=str(category),
                claims=None if item.claims is None else frozenset(item.claims),
                document=item.documents,
            )
            purpose = str(grant.request.purpose.term)
            reads += one_thing_off(ReadRequest(grant.client, purpose, resource))
        return reads

    def check_read(self, grant: Modelled, state: GrantState, request: ReadRequest) -> None:
        now = self.now
        decision = decide(state, request, now)
        check_against_oracle(decision, oracle(state, request, now))
        resource = request.resource
        in_time = grant.live(now)
        same_parties = (
            request.client_id == grant.client
            and grant.citizen is not None
            and resource.citizen_id == self.sid(grant.citizen)
        )
        same_purpose = request.purpose == grant.request.purpose.term
        covered = in_scope(grant.kept, resource)
        tally(f"read {'allowed' if decision.allowed else 'denied'}")
        if decision.allowed:
            assert in_time, "read outside an active grant's time"
            assert same_parties, "read by another client or from another vault"
            assert same_purpose, "read for another purpose"
            assert covered, "read outside the narrowed scope"
        else:
            assert not (in_time and same_parties and same_purpose and covered), decision

    @rule(citizen=st.sampled_from(CITIZENS), client=st.sampled_from(CLIENTS), data=st.data())
    def look(self, citizen: str, client: str, data: st.DataObject) -> None:
        """A citizen sees their own grants (answered or pushed to them) and no one else's;
        a client knows the citizen by one stable pseudonym no other client can resolve."""
        grant = self.pick(data)
        citizen_id = self.citizen_ids[citizen]

        async def go() -> tuple[Outcome, dict[uuid.UUID, GrantState], str, list[Any]]:
            async with self.db.sessions() as session:
                made = await pairwise_subject(session, client, citizen_id)
                await session.commit()
            async with self.db.read_sessions() as session:
                try:
                    _, state = await citizens_grant(session, citizen_id, grant.id)
                    one: Outcome = state
                except GrantNotFound as missing:
                    one = missing
                listed = await citizens_grants(session, citizen_id)
                known = [await citizen_for_subject(session, c, made) for c in CLIENTS]
                return one, {row.id: state for row, state in listed}, made, known

        one, listed, made, known = self.run(go())
        if grant.owner == citizen:
            assert one == fold(grant.events)
        else:
            assert isinstance(one, GrantNotFound)
        assert listed == {g.id: fold(g.events) for g in self.models if g.owner == citizen}
        assert self.subjects.setdefault((client, citizen), made) == made
        assert known == [citizen_id if c == client else None for c in CLIENTS]
        assert len(set(self.subjects.values())) == len(self.subjects)

    # --- invariants -------------------------------------------------------------------------

    @precondition(lambda self: bool(self.models))
    @invariant()
    def the_store_is_the_fold_of_what_was_recorded(self) -> None:
        self.run(self.check_store())

    async def check_store(self) -> None:
        """Every grant's rows in two queries; ``load_grant`` and the probe reads for the
        grants this step touched."""
        async with self.db.read_sessions() as session:
            rows = {row.id: row for row in await session.scalars(select(Grant))}
            assert set(rows) == {grant.id for grant in self.models}
            found = await session.execute(
                select(
                    GrantEventRow.grant_id, GrantEventRow.seq, GrantEventRow.at, GrantEventRow.event
                ).order_by(GrantEventRow.grant_id, GrantEventRow.seq)
            )
            stored: dict[uuid.UUID, list[Any]] = {grant.id: [] for grant in self.models}
            for grant_id, *event_row in found:
                stored[grant_id].append(event_row)
            for grant in self.models:
                history = stored[grant.id]
                assert [seq for seq, _, _ in history] == list(range(1, len(grant.events) + 1))
                assert [at for _, at, _ in history] == [event.at for event in grant.events]
                assert [decode_event(body) for _, _, body in history] == grant.events
                state = fold(grant.events)
                self.check_columns(grant, rows[grant.id], state)
                self.check_model(grant, state)
                if grant.id in self.touched:
                    loaded = await load_grant(session, grant.id)
                    assert loaded is not None
                    assert loaded[1] == state
                    for request in self.probes(grant):
                        self.check_read(grant, loaded[1], request)
        self.touched.clear()

    def check_columns(self, grant: Modelled, row: Grant, state: GrantState) -> None:
        """The copy on ``grants`` is the fold's (not ``state_at``'s: a lapse needs no write)."""
        assert row.status == state.status.value
        assert row.expires_at == state.expires_at
        assert row.client_id == state.client_id == grant.client
        assert row.citizen_id == self.uid(grant.owner)
        assert row.pushed == (grant.pushed_to is not None)
        assert row.created_at == state.requested_at
        assert row.updated_at == state.last_event_at

    def check_model(self, grant: Modelled, state: GrantState) -> None:
        assert (state.status, state.event_count) == (grant.status, len(grant.events))
        assert state.citizen_id == self.sid(grant.owner)
        assert state.revoked_by == grant.revoked_by
        if grant.status in {"active", "revoked", "expired"}:
            assert (state.decided_at, state.expires_at) == (grant.approved_at, grant.expires_at)
            assert state.scope.items == grant.kept


def accepts(state: GrantState, event: GrantEvent) -> bool:
    try:
        apply(state, event)
    except ImpossibleTransition:
        return False
    return True


@pytest.fixture
def stored_grants_database(
    request: pytest.FixtureRequest, migrated: Callable[[str], Settings]
) -> None:
    """Hand the machine of the requesting test case its backend's migrated database."""
    backend: str = request.cls.backend
    StoredGrants.databases[backend] = migrated(backend)


class StoredGrantsOnSQLite(StoredGrants):
    backend = "sqlite"


class StoredGrantsOnPostgres(StoredGrants):
    backend = "postgres"


@pytest.mark.usefixtures("stored_grants_database")
class TestStoredGrantsOnSQLite(StoredGrantsOnSQLite.TestCase):
    backend = "sqlite"
    settings = settings(
        max_examples=30,
        stateful_step_count=25,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )


@pytest.mark.postgres
@pytest.mark.skipif(not POSTGRES_URL, reason="PDS_TEST_POSTGRES_URL is not set")
@pytest.mark.usefixtures("stored_grants_database")
class TestStoredGrantsOnPostgres(StoredGrantsOnPostgres.TestCase):
    backend = "postgres"
    settings = settings(
        max_examples=12,
        stateful_step_count=15,
        deadline=None,
        suppress_health_check=[HealthCheck.too_slow],
    )
