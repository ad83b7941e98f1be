"""The sequencer's tree, checked from outside through the proofs it serves.

Hypothesis appends random entries and sequences them in random batch sizes on
the real database; then every inclusion proof (every index, every checkpoint)
and every consistency proof (every pair of checkpoints) must verify with the
RFC 9162 verifiers, and fail for an altered leaf, another index or another
checkpoint. Erasure must leave every proof intact and nothing that links the
log to the erased citizen.
"""

from __future__ import annotations

import base64
import uuid
from typing import TYPE_CHECKING

import pytest
from conftest import empty_all_tables
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import insert, or_, select, text

from pds.accounts.models import Account
from pds.accounts.service import Role, create_account
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.leaf import decode_leaf, subject_commitment
from pds.audit.merkle import (
    ProofError,
    leaf_hash,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditSubject
from pds.audit.note import open_checkpoint
from pds.audit.proofs import (
    IndexOutOfRange,
    TreeSizeUnknown,
    prove_consistency,
    prove_inclusion,
)
from pds.audit.sequencer import (
    ADVISORY_LOCK_KEY,
    leaf_fields,
    log_origin,
    place_new,
    sequence_all,
    sequence_batch,
)
from pds.audit.service import append, audit_row
from pds.audit.verify import verify_log
from pds.db import transaction
from pds.keys.signing import AUDIT_CHECKPOINTS, public_keys
from pds.vault.lifecycle import erase_account

if TYPE_CHECKING:
    from collections.abc import Callable

    from sqlalchemy import Connection
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.accounts.service import AccountPolicy
    from pds.db import Database
    from pds.keys.provider import KeyProvider

ORIGIN = log_origin("https://pds.test")
FEW = settings(
    max_examples=15,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],  # tables emptied per example
)


def entry(kind: int, citizen: uuid.UUID | None) -> Entry:
    if kind == 0:
        return Entry(
            actor=Actor.CLIENT,
            action=Action.READ,
            citizen_id=citizen,
            client_id="council-housing",
            purpose="housing-benefit",
        )
    if kind == 1:
        return Entry(
            actor=Actor.CLIENT, action=Action.DENY, outcome=Outcome.DENIED, citizen_id=citizen
        )
    if kind == 2:
        return Entry(
            actor=Actor.CITIZEN, action=Action.EXPORT, actor_id=citizen, citizen_id=citizen
        )
    return Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED, detail={"kind": kind})


async def append_all(db: Database, entries: list[Entry]) -> None:
    for one in entries:
        async with transaction(db.sessions) as session:
            append(session, one)


async def checkpoint_key(session: AsyncSession) -> Ed25519PublicKey:
    [jwk] = (await public_keys(session, AUDIT_CHECKPOINTS)).values()
    raw = base64.urlsafe_b64decode(jwk["x"] + "=" * (-len(jwk["x"]) % 4))
    return Ed25519PublicKey.from_public_bytes(raw)


def fails(check: Callable[..., object], *args: object) -> bool:
    try:
        check(*args)
    except ProofError:
        return True
    return False


async def check_every_proof(db: Database) -> dict[int, bytes]:
    """Every proof the log can serve verifies, and only for what it proves; returns the roots."""
    async with db.read_sessions() as session:
        leaves = list(
            await session.scalars(
                select(AuditEntry.leaf)
                .where(AuditEntry.leaf_index.is_not(None))
                .order_by(AuditEntry.leaf_index)
            )
        )
        indexes = list(
            await session.scalars(
                select(AuditEntry.leaf_index)
                .where(AuditEntry.leaf_index.is_not(None))
                .order_by(AuditEntry.leaf_index)
            )
        )
        assert indexes == list(range(len(leaves)))  # dense: no gap, no duplicate
        key = await checkpoint_key(session)
        roots: dict[int, bytes] = {}
        for row in await session.scalars(
            select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size)
        ):
            signed = open_checkpoint(row.note, ORIGIN, {ORIGIN: key})
            assert (signed.size, signed.root_hash) == (row.tree_size, row.root_hash)
            hashes = [leaf_hash(leaf) for leaf in leaves[: signed.size] if leaf is not None]
            assert signed.root_hash == root_from_leaf_hashes(hashes)
            roots[signed.size] = signed.root_hash
        for size, root in roots.items():
            await check_inclusion_proofs(session, size, root, roots)
        for first, first_root in roots.items():
            for second, second_root in roots.items():
                if first <= second:
                    proof = await prove_consistency(session, first, second)
                    verify_consistency(first, second, first_root, second_root, proof)
                    if first < second:
                        bent = [bytes([proof[0][0] ^ 1]) + proof[0][1:], *proof[1:]]
                        assert fails(
                            verify_consistency, first, second, first_root, second_root, bent
                        )
                        assert fails(
                            verify_consistency, first, second, second_root, first_root, proof
                        )
    return roots


async def check_inclusion_proofs(
    session: AsyncSession, size: int, root: bytes, roots: dict[int, bytes]
) -> None:
    for index in range(size):
        proof = await prove_inclusion(session, index, size)
        hashed = leaf_hash(proof.leaf)
        verify_inclusion(hashed, index, size, proof.hashes, root)
        assert fails(
            verify_inclusion, leaf_hash(proof.leaf + b" "), index, size, proof.hashes, root
        )
        if size > 1:
            other = (index + 1) % size
            assert fails(verify_inclusion, hashed, other, size, proof.hashes, root)
        for other_size, other_root in roots.items():
            if other_size != size:
                assert fails(verify_inclusion, hashed, index, other_size, proof.hashes, other_root)


rounds = st.lists(
    st.tuples(
        st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=8),
        st.integers(1, 5),
        st.booleans(),  # sign a full batch
        st.booleans(),  # brief (inline on SQLite)
    ),
    min_size=1,
    max_size=5,
)


@FEW
@given(rounds=rounds)
async def test_every_proof_verifies_for_random_appends_and_batches(
    db: Database,
    keys: KeyProvider,
    rounds: list[tuple[list[tuple[int, bool]], int, bool, bool]],
) -> None:
    await empty_all_tables(db)
    citizens = [uuid.UUID(int=1), uuid.UUID(int=2)]
    for appended, batch, sign_full, brief in rounds:
        await append_all(db, [entry(kind, citizens[which]) for kind, which in appended])
        await sequence_batch(db, keys, ORIGIN, limit=batch, sign_full=sign_full, brief=brief)
    await sequence_all(db, keys, ORIGIN)

    roots = await check_every_proof(db)

    assert max(roots) == sum(len(appended) for appended, *_ in rounds)


async def _signed_sizes(db: Database) -> list[int]:
    async with db.read_sessions() as session:
        sizes = await session.scalars(
            select(AuditCheckpoint.tree_size).order_by(AuditCheckpoint.tree_size)
        )
        return list(sizes)


async def test_unsigned_full_batches_are_signed_once_the_backlog_is_cleared(
    db: Database, keys: KeyProvider
) -> None:
    await append_all(db, [entry(3, None)] * 5)
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 2
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 2
    assert await _signed_sizes(db) == []  # a backlog: no checkpoint per batch
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 1
    assert await _signed_sizes(db) == [5]  # cleared: signed

    await append_all(db, [entry(3, None)] * 2)
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 2
    assert await _signed_sizes(db) == [5]
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 0
    assert await sequence_batch(db, keys, ORIGIN, 2, sign_full=False) == 0
    assert await _signed_sizes(db) == [5, 7]  # nothing pending: the tree signed once
    assert max((await check_every_proof(db)).keys()) == 7


async def test_proofs_are_only_served_for_signed_sizes_and_indexes_inside(
    db: Database, keys: KeyProvider
) -> None:
    await append_all(db, [entry(3, None)] * 3)
    await sequence_all(db, keys, ORIGIN)

    async with db.read_sessions() as session:
        with pytest.raises(TreeSizeUnknown):
            await prove_inclusion(session, 0, 2)
        with pytest.raises(IndexOutOfRange):
            await prove_inclusion(session, 3, 3)
        with pytest.raises(TreeSizeUnknown):
            await prove_consistency(session, 1, 3)


async def add_citizen(
    db: Database, keys: KeyProvider, policy: AccountPolicy, email: str
) -> Account:
    async with db.sessions() as session:
        return await create_account(
            session,
            keys,
            email=email,
            password="a long enough password",
            role=Role.CITIZEN,
            policy=policy,
        )


async def test_after_erasure_every_proof_verifies_and_nothing_links_to_the_citizen(
    db: Database, keys: KeyProvider, policy: AccountPolicy
) -> None:
    alice = await add_citizen(db, keys, policy, "alice@example.org")
    bob = await add_citizen(db, keys, policy, "bob@example.org")
    await append_all(db, [entry(kind, person.id) for kind in range(4) for person in (alice, bob)])
    await sequence_batch(db, keys, ORIGIN, limit=5)
    await sequence_all(db, keys, ORIGIN)
    async with db.read_sessions() as session:
        salt = await session.scalar(
            select(AuditSubject.salt).where(AuditSubject.citizen_id == alice.id)
        )
        before = dict((await session.execute(select(AuditEntry.leaf_index, AuditEntry.leaf))).all())
    assert salt is not None
    commitment = subject_commitment(salt, alice.id)
    hers = {i for i, leaf in before.items() if leaf and decode_leaf(leaf).subject == commitment}
    assert len(hers) == 4  # her account and three entries about her; the system one is nobody's

    async with db.sessions() as session:
        account = await session.get(Account, alice.id)
        assert account is not None
        await erase_account(session, account)
    await sequence_all(db, keys, ORIGIN)

    await check_every_proof(db)
    async with db.read_sessions() as session:
        rows = list(await session.scalars(select(AuditEntry).order_by(AuditEntry.leaf_index)))
        linked = await session.scalar(
            select(AuditEntry.id).where(
                or_(AuditEntry.citizen_id == alice.id, AuditEntry.actor_id == alice.id)
            )
        )
        salts = dict(
            (await session.execute(select(AuditSubject.citizen_id, AuditSubject.salt))).all()
        )
    assert linked is None
    assert set(salts) == {bob.id}  # her salt went with her account
    for row in rows:
        assert row.leaf is not None
        assert str(alice.id).encode() not in row.leaf
        assert alice.id.hex.encode() not in row.leaf
        if row.leaf_index in before:
            assert row.leaf == before[row.leaf_index]  # leaves never change
        if row.leaf_index in hers:
            # The leaf still holds her commitment, but nothing left can recompute it.
            assert decode_leaf(row.leaf).subject == commitment
            assert leaf_fields(row, None).subject is None
            assert all(subject_commitment(s, alice.id) != commitment for s in salts.values())
    assert rows[-1].action == Action.ERASURE
    assert decode_leaf(rows[-1].leaf or b"").subject is None


async def test_an_entry_for_a_citizen_erased_before_sequencing_keeps_no_bare_id(
    db: Database, keys: KeyProvider
) -> None:
    gone = uuid.uuid4()  # no account: erased before the entry was sequenced
    async with db.sessions() as session:
        append(
            session, Entry(actor=Actor.CITIZEN, action=Action.READ, actor_id=gone, citizen_id=gone)
        )
        await session.commit()

    await sequence_all(db, keys, "pds.test/audit")

    async with db.read_sessions() as session:
        row = (await session.scalars(select(AuditEntry))).one()
    assert row.citizen_id is None
    assert row.actor_id is None
    assert row.leaf is not None
    assert decode_leaf(row.leaf).subject is None


async def place_all(db: Database, entries: list[Entry]) -> bool:
    """Insert ``entries`` as the read path's group commit does: placed in the tree by the
    transaction that inserts them, when it can take the sequencer's turn."""
    rows = [audit_row(one) for one in entries]

    def work(connection: Connection) -> bool:
        placed = place_new(connection, rows)
        connection.execute(insert(AuditEntry), rows)
        return placed

    return await db.run_write(work, brief=True)


async def _pending(db: Database) -> int:
    async with db.read_sessions() as session:
        found = await session.scalars(select(AuditEntry.id).where(AuditEntry.leaf_index.is_(None)))
        return len(found.all())


@FEW
@given(
    rounds=st.lists(
        st.tuples(
            st.lists(st.tuples(st.integers(0, 3), st.booleans()), min_size=1, max_size=6),
            st.sampled_from(["placed", "appended", "sequenced"]),
        ),
        min_size=1,
        max_size=6,
    )
)
async def test_entries_placed_as_inserted_share_one_verifiable_tree_with_sequenced_ones(
    db: Database, keys: KeyProvider, rounds: list[tuple[list[tuple[int, bool]], str]]
) -> None:
    await empty_all_tables(db)
    citizens = [uuid.UUID(int=1), uuid.UUID(int=2)]
    waiting = 0
    for made, how in rounds:
        batch = [entry(kind, citizens[which]) for kind, which in made]
        if how == "placed":
            assert await place_all(db, batch)
        else:
            await append_all(db, batch)
            waiting += len(batch)
        if how == "sequenced":
            await sequence_batch(db, keys, ORIGIN, limit=3)
            waiting = await _pending(db)
        assert await _pending(db) == waiting  # placed entries never wait for the sequencer
    await sequence_all(db, keys, ORIGIN)

    roots = await check_every_proof(db)

    assert max(roots) == sum(len(made) for made, _ in rounds)
    result = await verify_log(db, ORIGIN)
    assert result.ok, result.reason


async def test_a_placed_entry_commits_to_its_citizen_under_their_salt_only(
    db: Database, keys: KeyProvider, policy: AccountPolicy
) -> None:
    alice = await add_citizen(db, keys, policy, "alice@example.org")
    gone = uuid.uuid4()  # no account: erased before the entry was written

    assert await place_all(db, [entry(0, alice.id), entry(2, gone)])

    async with db.read_sessions() as session:
        salt = await session.scalar(
            select(AuditSubject.salt).where(AuditSubject.citizen_id == alice.id)
        )
        rows = (
            await session.scalars(select(AuditEntry).where(AuditEntry.leaf_index.is_not(None)))
        ).all()
    assert salt is not None
    by_action = {row.action: row for row in rows}
    read = by_action[Action.READ.value]
    assert decode_leaf(read.leaf or b"").subject == subject_commitment(salt, alice.id)
    assert read.citizen_id == alice.id
    export = by_action[Action.EXPORT.value]
    assert (export.citizen_id, export.actor_id) == (None, None)
    assert decode_leaf(export.leaf or b"").subject is None


async def test_entries_are_left_to_the_sequencer_while_another_holds_the_turn(
    db: Database, keys: KeyProvider
) -> None:
    if db.is_sqlite:
        pytest.skip("on SQLite the write lock every writer takes at BEGIN is the turn")
    async with db.engine.connect() as other, other.begin():
        await other.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": ADVISORY_LOCK_KEY})
        assert not await place_all(db, [entry(0, None), entry(3, None)])
    assert await _pending(db) == 2

    assert await sequence_all(db, keys, ORIGIN) == 2
    assert max((await check_every_proof(db)).keys()) == 2
