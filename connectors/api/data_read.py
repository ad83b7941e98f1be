"""``GET /grants/{id}/data``, the hot path: decide and decrypt without a lock, then commit
the read's audit entry (and its last live checks) in a group commit before answering.

The grant's scope cannot change once approved, so an active grant's folded state and
the client's pairwise subject are kept per process (``GrantCache``); whether the grant
is *still* active is what the group commit re-reads, in the transaction that records the
read (``connectors.api.commit``). Everything else is read fresh in one read-only
snapshot: the citizen's current evidence and their wrapped data key.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final, NoReturn

from sqlalchemy import select

from connectors.api.commit import Outcome, Pending
from connectors.api.disclose import (
    DisclosedItem,
    GrantData,
    HeldGrant,
    client_entry,
    disclose_all,
    read_entry,
)
from connectors.api.reads import (
    NO_ENCRYPTION_KEY,
    NOT_ACCEPTABLE,
    GrantUnknown,
    ReadDenied,
    registered_encryption_key,
)
from connectors.errors import InvalidDPoPProof
from connectors.oauth.introspection import token_jti_hash
from consent.disclosure import reaches
from consent.errors import InvalidToken
from consent.grants import GrantStatus, fold, state_at
from consent.models import Grant, PairwiseSubject
from consent.models import GrantEvent as GrantEventRow
from consent.policy import Reason
from consent.service import decode_event
from pds.audit.entry import Action, Entry
from pds.audit.entry import Outcome as AuditOutcome
from pds.errors import NotAcceptable

if TYPE_CHECKING:
    import datetime as dt
    import uuid
    from typing import Any

    from sqlalchemy.orm import Session

    from connectors.api.bearer import Caller
    from connectors.api.commit import GroupCommitter
    from consent.disclosure import Asked
    from pds.db import Database
    from pds.keys.provider import KeyProvider

MAX_CACHED: Final = 10_000


@dataclass(frozen=True, slots=True)
class CachedGrant:
    held: HeldGrant
    subject: str


@dataclass(slots=True)
class GrantCache:
    """Approved grants by id (bounded, least recently used first out)."""

    max_entries: int = MAX_CACHED
    _entries: OrderedDict[uuid.UUID, CachedGrant] = field(default_factory=OrderedDict)

    def get(self, grant_id: uuid.UUID) -> CachedGrant | None:
        found = self._entries.get(grant_id)
        if found is not None:
            self._entries.move_to_end(grant_id)
        return found

    def put(self, grant_id: uuid.UUID, cached: CachedGrant) -> None:
        self._entries[grant_id] = cached
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


@dataclass(frozen=True, slots=True)
class DataRead:
    """One read of ``/data``: who (already authenticated), which grant, what was asked,
    and the proof's ``jti`` rows the commit must spend."""

    db: Database
    keys: KeyProvider
    caller: Caller
    grant_id: uuid.UUID
    asked: Asked
    now: dt.datetime
    jti_rows: list[dict[str, Any]]


async def read_data(read: DataRead, cache: GrantCache, committer: GroupCommitter) -> GrantData:
    """The granted data, answered only once its audit entry has committed."""
    cached = cache.get(read.grant_id) or await _load(read, cache, committer)
    held = cached.held
    if held.row.client_id != read.caller.client_id:  # cached or not: 404, as if unknown
        await _refuse(read, committer, None, Reason.WRONG_CLIENT)
    if read.caller.grant_id != held.row.id:
        await _refuse(read, committer, held, "other_grant")
    current = state_at(held.state, read.now)
    if current.status is not GrantStatus.ACTIVE:
        reason = Reason.EXPIRED if current.status is GrantStatus.EXPIRED else Reason.NOT_ACTIVE
        await _refuse(read, committer, held, reason)
    if not reaches(current.scope, read.asked):  # only names outside the grant: refused
        reason = Reason.CLAIM_NOT_GRANTED if read.asked.claims else Reason.OUT_OF_SCOPE
        await _refuse(read, committer, held, reason)
    items = await disclose_all(
        read.db, keys=read.keys, caller=read.caller, held=held, asked=read.asked, now=read.now
    )
    pending = _pending(read, held, read_entry(read.caller, held, items))
    pending.denial = lambda outcome: _denial(read, held, outcome.value)
    _check(await committer.submit(pending))
    return GrantData(held.row.id, cached.subject, held.state.scope.purpose.term.value, items)


async def _load(read: DataRead, cache: GrantCache, committer: GroupCommitter) -> CachedGrant:
    found = await read.db.run_read(lambda session: _grant_and_subject(session, read.grant_id))
    if found is None:
        await _refuse(read, committer, None, Reason.NO_GRANT)
    if found.held.state.status is GrantStatus.ACTIVE and found.subject:
        cache.put(read.grant_id, found)  # approved: its scope and subject are settled
    return found


def _grant_and_subject(session: Session, grant_id: uuid.UUID) -> CachedGrant | None:
    row = session.get(Grant, grant_id)
    if row is None:
        return None
    events = session.scalars(
        select(GrantEventRow.event)
        .where(GrantEventRow.grant_id == row.id)
        .order_by(GrantEventRow.seq)
    )
    held = HeldGrant(row, fold(decode_event(event) for event in events))
    subject = session.scalar(
        select(PairwiseSubject.subject).where(
            PairwiseSubject.client_id == row.client_id,
            PairwiseSubject.citizen_id == row.citizen_id,
        )
    )
    return CachedGrant(held, subject or "")


async def _refuse(
    read: DataRead, committer: GroupCommitter, held: HeldGrant | None, reason: Reason | str
) -> NoReturn:
    """Record the denial (through the commit, with the proof spent) and raise it."""
    pending = _pending(read, None, _denial(read, held, str(reason)))
    _check(await committer.submit(pending))
    if held is None:
        raise GrantUnknown("There is no grant with this id for this client.")
    raise ReadDenied(reason)


async def answer_key(
    read: DataRead, committer: GroupCommitter, *, wants_jwe: bool
) -> dict[str, Any] | None:
    """``reads.answer_key`` for the read path: a refusal goes through the group commit,
    which spends the proof."""
    if not wants_jwe:
        return None
    key = await read.db.run_read(
        lambda session: registered_encryption_key(session, read.caller.client_id)
    )
    if key is None:
        _check(await committer.submit(_pending(read, None, _denial(read, None, NOT_ACCEPTABLE))))
        raise NotAcceptable(NO_ENCRYPTION_KEY)
    return key


def _pending(read: DataRead, held: HeldGrant | None, entry: Entry) -> Pending:
    return Pending(
        jti_rows=read.jti_rows,
        client_id=read.caller.client_id,
        token_jti_hash=token_jti_hash(read.caller.jti),
        grant_id=held.row.id if held is not None else None,
        now=read.now,
        entry=entry,
    )


def _check(outcome: Outcome) -> None:
    """Turn a commit-time refusal into the error the front door would have given."""
    if outcome is Outcome.COMMITTED:
        return
    if outcome is Outcome.REPLAYED:
        raise InvalidDPoPProof("replayed_jti")
    if outcome in {Outcome.TOKEN_REVOKED, Outcome.CLIENT_NOT_ACTIVE}:
        raise InvalidToken(outcome.value)
    raise ReadDenied(Reason.EXPIRED if outcome is Outcome.EXPIRED else Reason.NOT_ACTIVE)


def _denial(read: DataRead, held: HeldGrant | None, reason: str) -> Entry:
    return client_entry(
        read.caller,
        held,
        Action.DENY,
        AuditOutcome.DENIED,
        resource=f"grants/{read.grant_id}/data",
        detail={"reason": reason},
    )


__all__ = [
    "CachedGrant",
    "DataRead",
    "DisclosedItem",
    "GrantCache",
    "answer_key",
    "read_data",
]
