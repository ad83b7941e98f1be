"""``pds audit verify``: tampering drills on both databases, the pure core, and the CLI.

Each drill builds the same log (20 entries, checkpoints at sizes 2, 5, 6, 12,
16 and 20; some entries about two real citizens, so salts exist), then edits
the database behind the application's back the way an operator with database
access could, and checks that ``verify_log`` names the exact index (or the
checkpoint) and why. Walks use a small batch size so batch edges are crossed.
"""

from __future__ import annotations

import asyncio
import base64
import dataclasses
import uuid
from dataclasses import dataclass
from typing import TYPE_CHECKING, TypeVar

import pytest
from click.testing import CliRunner
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import delete, insert, select, update

from pds import migrate
from pds.accounts.models import Account
from pds.accounts.service import Role, create_account
from pds.audit.compact_range import CompactRange
from pds.audit.entry import Action, Actor, Entry, Outcome
from pds.audit.leaf import LeafFields, encode_leaf
from pds.audit.merkle import leaf_hash, root_from_leaf_hashes
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode, AuditSubject
from pds.audit.note import Checkpoint, sign_note
from pds.audit.sequencer import leaf_fields, log_origin, sequence_all, sequence_batch
from pds.audit.service import append
from pds.audit.verify import LogVerifier, StoredCheckpoint, StoredEntry, Tampered, verify_log
from pds.cli import main
from pds.cli_audit import progress_lines
from pds.db import open_database, transaction
from pds.keys.models import SigningKey
from pds.keys.signing import AUDIT_CHECKPOINTS, active_signing_key
from pds.settings import Settings
from pds.vault.lifecycle import erase_account

if TYPE_CHECKING:
    from collections.abc import Awaitable, Callable
    from pathlib import Path

    from sqlalchemy.sql import Executable

    from pds.accounts.service import AccountPolicy
    from pds.audit.verify import VerifyResult
    from pds.db import Database
    from pds.keys.provider import KeyProvider

ORIGIN = log_origin("https://pds.test")
CHECKPOINT_SIZES = [2, 5, 6, 12, 16, 20]
BATCH = 4  # small, so every drill crosses batch edges
T = TypeVar("T")


@dataclass(frozen=True)
class Citizens:
    alice: uuid.UUID
    bob: uuid.UUID


def entry_for(n: int, citizens: Citizens) -> Entry:
    """A varied mix: client reads and denials, citizens' own acts, system and auditor acts."""
    citizen = citizens.alice if n % 2 else citizens.bob
    kinds = [
        Entry(
            actor=Actor.CLIENT,
            action=Action.READ,
            citizen_id=citizen,
            client_id="council-housing",
            purpose="housing-benefit",
            resource="evidence/proof-of-address",
            request_id=f"req-{n}",
        ),
        Entry(
            actor=Actor.CLIENT,
            action=Action.DENY,
            outcome=Outcome.DENIED,
            citizen_id=citizen,
            client_id="council-tax",
            purpose="council-tax-discount",
            detail={"reason": "no_grant"},
        ),
        Entry(actor=Actor.CITIZEN, action=Action.EXPORT, actor_id=citizen, citizen_id=citizen),
        Entry(actor=Actor.SYSTEM, action=Action.KEY_ROTATED, detail={"kek_version": n}),
        Entry(actor=Actor.AUDITOR, action=Action.READ, actor_id=uuid.UUID(int=n), purpose="audit"),
    ]
    return kinds[n % len(kinds)]


async def add_citizen(
    db: Database, keys: KeyProvider, policy: AccountPolicy, email: str
) -> uuid.UUID:
    async with db.sessions() as session:
        account = await create_account(
            session,
            keys,
            email=email,
            password="a long enough password",
            role=Role.CITIZEN,
            policy=policy,
        )
        return account.id


async def add_entries(db: Database, citizens: Citizens, numbers: range) -> None:
    for n in numbers:
        async with transaction(db.sessions) as session:
            append(session, entry_for(n, citizens))


async def build_log(db: Database, keys: KeyProvider, policy: AccountPolicy) -> Citizens:
    """20 entries; checkpoints at 2, 5, 6, 12, 16 and 20."""
    alice = await add_citizen(db, keys, policy, "alice@example.org")
    bob = await add_citizen(db, keys, policy, "bob@example.org")
    citizens = Citizens(alice, bob)
    await sequence_all(db, keys, ORIGIN)  # 2
    await add_entries(db, citizens, range(2, 7))
    await sequence_batch(db, keys, ORIGIN, limit=3)  # 5
    await sequence_batch(db, keys, ORIGIN, limit=1)  # 6
    await add_entries(db, citizens, range(7, 12))
    await sequence_all(db, keys, ORIGIN)  # 12
    await add_entries(db, citizens, range(12, 20))
    await sequence_batch(db, keys, ORIGIN, limit=4)  # 16
    await sequence_all(db, keys, ORIGIN)  # 20
    return citizens


@pytest.fixture
async def citizens(db: Database, keys: KeyProvider, policy: AccountPolicy) -> Citizens:
    built = await build_log(db, keys, policy)
    async with db.read_sessions() as session:
        sizes = list(
            await session.scalars(
                select(AuditCheckpoint.tree_size).order_by(AuditCheckpoint.tree_size)
            )
        )
    assert sizes == CHECKPOINT_SIZES
    return built


async def verify(db: Database, trusted_note: str | None = None) -> VerifyResult:
    return await verify_log(db, ORIGIN, trusted_note=trusted_note, batch_size=BATCH)


async def tamper(db: Database, *statements: Executable) -> None:
    """Edit the database behind the application's back, in one committed transaction."""
    async with transaction(db.sessions) as session:
        for statement in statements:
            await session.execute(statement)


async def note_at(db: Database, size: int) -> str:
    async with db.read_sessions() as session:
        note = await session.scalar(
            select(AuditCheckpoint.note).where(AuditCheckpoint.tree_size == size)
        )
    assert note is not None
    return note


async def row_with_salt(db: Database, index: int) -> tuple[AuditEntry, bytes | None]:
    async with db.read_sessions() as session:
        row, salt = (
            await session.execute(
                select(AuditEntry, AuditSubject.salt)
                .outerjoin(AuditSubject, AuditSubject.citizen_id == AuditEntry.citizen_id)
                .where(AuditEntry.leaf_index == index)
            )
        ).one()
    return row, salt


async def forge_outcome(db: Database, index: int) -> bytes:
    """Flip an entry's outcome and rewrite its leaf to match; returns the forged leaf."""
    row, salt = await row_with_salt(db, index)
    row.outcome = Outcome.DENIED.value if row.outcome == Outcome.ALLOWED else Outcome.ALLOWED.value
    forged = encode_leaf(leaf_fields(row, salt))
    await tamper(
        db,
        update(AuditEntry)
        .where(AuditEntry.leaf_index == index)
        .values(outcome=row.outcome, leaf=forged),
    )
    return forged


async def rebuild_nodes(db: Database) -> dict[int, bytes]:
    """Recompute every stored node from the stored leaves; returns the root at each size."""
    async with db.read_sessions() as session:
        leaves = list(
            await session.scalars(
                select(AuditEntry.leaf)
                .where(AuditEntry.leaf_index.is_not(None))
                .order_by(AuditEntry.leaf_index)
            )
        )
    tree, nodes, roots = CompactRange(), [], {}
    for leaf in leaves:
        assert leaf is not None
        nodes += [{"level": lv, "index": i, "hash": h} for lv, i, h in tree.append(leaf_hash(leaf))]
        roots[tree.size] = tree.root()
    await tamper(db, delete(AuditNode), insert(AuditNode).values(nodes))
    return roots


def failed(
    result: VerifyResult, index: int | None, reason: str, checkpoint: int | None = None
) -> bool:
    assert not result.ok
    assert result.first_bad_index == index, result
    assert reason in result.reason, result
    assert result.checkpoint_size == checkpoint, result
    return True


# --- a clean log ------------------------------------------------------------


@pytest.mark.parametrize("batch_size", [1, 3, 4, 7, 1000])
async def test_a_clean_log_verifies_in_any_batch_size(
    db: Database, citizens: Citizens, batch_size: int
) -> None:
    result = await verify_log(db, ORIGIN, batch_size=batch_size)

    assert result.ok, result
    assert (result.entries_checked, result.checkpoints_checked) == (20, 6)
    assert (result.first_bad_index, result.reason, result.checkpoint_size) == (None, "", None)


async def test_an_empty_log_verifies(db: Database) -> None:
    result = await verify(db)

    assert result.ok
    assert (result.entries_checked, result.checkpoints_checked) == (0, 0)


async def test_pending_entries_are_not_part_of_the_tree_yet(
    db: Database, citizens: Citizens
) -> None:
    await add_entries(db, citizens, range(21, 24))

    result = await verify(db)

    assert result.ok
    assert result.entries_checked == 20


async def test_progress_is_reported_after_each_batch(db: Database, citizens: Citizens) -> None:
    seen: list[tuple[int, int]] = []

    await verify_log(
        db, ORIGIN, batch_size=8, progress=lambda done, total: seen.append((done, total))
    )

    assert seen == [(8, 20), (16, 20), (20, 20)]


async def test_an_erased_citizens_entries_still_verify(
    db: Database, keys: KeyProvider, citizens: Citizens
) -> None:
    async with db.sessions() as session:
        alice = await session.get(Account, citizens.alice)
        assert alice is not None
        await erase_account(session, alice)
    await sequence_all(db, keys, ORIGIN)

    result = await verify(db)

    assert result.ok, result
    assert (result.entries_checked, result.checkpoints_checked) == (21, 7)


async def test_an_erased_citizens_entries_are_still_compared_field_by_field(
    db: Database, citizens: Citizens
) -> None:
    async with db.sessions() as session:
        alice = await session.get(Account, citizens.alice)
        assert alice is not None
        await erase_account(session, alice)
    # Entry 5 was a client's read about alice: its ids are gone, its purpose still counts.
    await tamper(db, update(AuditEntry).where(AuditEntry.leaf_index == 5).values(purpose="x"))

    assert failed(await verify(db), 5, "does not match its committed leaf (purpose)")


# --- rows edited, removed, reordered, inserted -------------------------------


@pytest.mark.parametrize(
    ("index", "column", "value"),
    [
        (7, "outcome", Outcome.DENIED.value),
        (6, "purpose", "fraud-prevention"),
        (2, "request_id", "req-forged"),
        (0, "action", Action.SIGN_IN.value),
    ],
)
async def test_an_edited_column_is_named_at_its_index(
    db: Database, citizens: Citizens, index: int, column: str, value: str
) -> None:
    await tamper(
        db, update(AuditEntry).where(AuditEntry.leaf_index == index).values({column: value})
    )

    assert failed(await verify(db), index, f"does not match its committed leaf ({column})")


async def test_moving_an_entry_to_another_citizen_is_caught(
    db: Database, citizens: Citizens
) -> None:
    # Entry 5 is about alice; pin it on bob instead. The commitment under bob's salt differs.
    await tamper(
        db, update(AuditEntry).where(AuditEntry.leaf_index == 5).values(citizen_id=citizens.bob)
    )

    assert failed(await verify(db), 5, "(subject)")


async def test_an_edited_leaf_is_named_at_its_index(db: Database, citizens: Citizens) -> None:
    row, _ = await row_with_salt(db, 9)
    assert row.leaf is not None
    forged = row.leaf.replace(b'"outcome":"allowed"', b'"outcome":"denied"')
    assert forged != row.leaf
    await tamper(db, update(AuditEntry).where(AuditEntry.leaf_index == 9).values(leaf=forged))

    assert failed(await verify(db), 9, "does not match its committed leaf (outcome)")


async def test_a_leaf_that_is_not_a_leaf_is_named(db: Database, citizens: Citizens) -> None:
    await tamper(db, update(AuditEntry).where(AuditEntry.leaf_index == 4).values(leaf=b"\xff"))

    assert failed(await verify(db), 4, "not a PDS audit leaf")


async def test_a_missing_leaf_is_named(db: Database, citizens: Citizens) -> None:
    await tamper(db, update(AuditEntry).where(AuditEntry.leaf_index == 4).values(leaf=None))

    assert failed(await verify(db), 4, "no stored leaf")


async def test_a_row_and_leaf_rewritten_together_are_caught_by_the_tree_node(
    db: Database, citizens: Citizens
) -> None:
    await forge_outcome(db, 10)

    assert failed(await verify(db), 10, "not the one the tree holds at its index")


async def test_a_deleted_row_is_named_at_its_index(db: Database, citizens: Citizens) -> None:
    await tamper(db, delete(AuditEntry).where(AuditEntry.leaf_index == 10))

    assert failed(await verify(db), 10, "the entry at index 10 is missing")


async def test_an_unsequenced_row_counts_as_removed(db: Database, citizens: Citizens) -> None:
    await tamper(
        db, update(AuditEntry).where(AuditEntry.leaf_index == 0).values(leaf_index=None, leaf=None)
    )

    assert failed(await verify(db), 0, "the entry at index 0 is missing")


async def test_two_swapped_rows_are_named_at_the_first(db: Database, citizens: Citizens) -> None:
    at = AuditEntry.leaf_index
    await tamper(
        db,
        update(AuditEntry).where(at == 4).values(leaf_index=-1),
        update(AuditEntry).where(at == 13).values(leaf_index=4),
        update(AuditEntry).where(at == -1).values(leaf_index=13),
    )

    assert failed(await verify(db), 4, "not the one the tree holds at its index")


async def test_an_inserted_row_is_named_at_its_index(db: Database, citizens: Citizens) -> None:
    # Shift entries 8.. up by one (in two steps: leaf_index is unique) and forge entry 8,
    # with a leaf that matches its columns, so only the tree can tell.
    at = AuditEntry.leaf_index
    row, _ = await row_with_salt(db, 8)
    forged = AuditEntry(
        id=uuid.uuid4(),
        created_at=row.created_at,
        actor=Actor.SYSTEM.value,
        action=Action.KEY_ROTATED.value,
        outcome=Outcome.ALLOWED.value,
        detail={},
    )
    forged.leaf = encode_leaf(leaf_fields(forged, None))
    forged.leaf_index = 8
    await tamper(
        db,
        update(AuditEntry).where(at >= 8).values(leaf_index=at + 1000),
        update(AuditEntry).where(at >= 1000).values(leaf_index=at - 999),
    )
    async with transaction(db.sessions) as session:
        session.add(forged)

    assert failed(await verify(db), 8, "not the one the tree holds at its index")


async def test_a_truncated_tail_is_named_where_it_starts(db: Database, citizens: Citizens) -> None:
    await tamper(db, delete(AuditEntry).where(AuditEntry.leaf_index >= 15))

    assert failed(
        await verify(db), 15, "entries from index 15 on are missing: the checkpoint of size 16"
    )


async def test_a_truncated_tail_without_its_checkpoints_is_caught_by_the_tree(
    db: Database, citizens: Citizens
) -> None:
    await tamper(
        db,
        delete(AuditEntry).where(AuditEntry.leaf_index >= 15),
        delete(AuditCheckpoint).where(AuditCheckpoint.tree_size > 15),
    )

    assert failed(await verify(db), 15, "the tree stores a node for index 15")


async def test_a_covered_up_truncation_needs_a_trusted_checkpoint(
    db: Database, citizens: Citizens
) -> None:
    trusted = await note_at(db, 20)
    await tamper(
        db,
        delete(AuditEntry).where(AuditEntry.leaf_index >= 15),
        delete(AuditCheckpoint).where(AuditCheckpoint.tree_size > 15),
    )
    await rebuild_nodes(db)

    assert (await verify(db)).ok  # nothing left in the database disagrees
    assert failed(
        await verify(db, trusted),
        15,
        "entries from index 15 on are missing: the trusted checkpoint",
    )


# --- the tree and the checkpoints rewritten -----------------------------------


async def test_a_leaf_and_its_node_rewritten_are_caught_by_the_parent_node(
    db: Database, citizens: Citizens
) -> None:
    forged = await forge_outcome(db, 9)
    await tamper(
        db,
        update(AuditNode)
        .where(AuditNode.level == 0, AuditNode.index == 9)
        .values(hash=leaf_hash(forged)),
    )

    # The pair's stored parent is all that still remembers: 8 and 9 are both suspects.
    assert failed(await verify(db), 8, "the stored tree node over entries 8..9 does not match")


async def test_a_rewritten_tree_is_caught_by_the_next_checkpoint(
    db: Database, citizens: Citizens
) -> None:
    await forge_outcome(db, 8)
    await rebuild_nodes(db)

    # Checkpoint 6 still matches, 12 does not: the change is in 6..11.
    assert failed(
        await verify(db),
        6,
        "one of the entries 6..11 differs from what the checkpoint of size 12 signed",
        12,
    )


async def test_a_rewritten_tree_is_named_exactly_when_one_entry_separates_checkpoints(
    db: Database, citizens: Citizens
) -> None:
    await forge_outcome(db, 5)
    await rebuild_nodes(db)

    assert failed(await verify(db), 5, "entry 5 is not the one the checkpoint of size 6 signed", 6)


async def test_a_rewritten_and_resigned_log_is_caught_by_a_trusted_checkpoint(
    db: Database, keys: KeyProvider, citizens: Citizens
) -> None:
    trusted = await note_at(db, 16)
    await forge_outcome(db, 8)
    roots = await rebuild_nodes(db)
    async with transaction(db.sessions) as session:  # the operator holds the KEK: re-sign
        signer = await active_signing_key(session, keys, AUDIT_CHECKPOINTS)
        for size in CHECKPOINT_SIZES:
            body = Checkpoint(ORIGIN, size, roots[size]).body()
            await session.execute(
                update(AuditCheckpoint)
                .where(AuditCheckpoint.tree_size == size)
                .values(root_hash=roots[size], note=sign_note(body, ORIGIN, signer.private_key))
            )

    assert (await verify(db)).ok  # the database agrees with itself
    assert failed(
        await verify(db, trusted),
        0,
        "one of the entries 0..15 differs from what the trusted checkpoint signed: "
        "the log re-signed its own checkpoint of size 16 over other entries",
        16,
    )


async def test_a_checkpoint_with_a_broken_signature_is_named(
    db: Database, citizens: Citizens
) -> None:
    note = await note_at(db, 12)
    body, _, line = note.rstrip("\n").rpartition("\n")
    prefix, _, encoded = line.rpartition(" ")
    blob = bytearray(base64.b64decode(encoded))
    blob[-1] ^= 1
    forged = f"{body}\n{prefix} {base64.b64encode(bytes(blob)).decode()}\n"
    await tamper(
        db, update(AuditCheckpoint).where(AuditCheckpoint.tree_size == 12).values(note=forged)
    )

    result = await verify(db)

    assert failed(
        result, None, "the checkpoint of size 12 does not verify: signature by trusted key", 12
    )
    assert (result.entries_checked, result.checkpoints_checked) == (12, 3)


async def test_a_checkpoint_signed_by_another_key_is_named(
    db: Database, citizens: Citizens
) -> None:
    async with db.read_sessions() as session:
        root = await session.scalar(
            select(AuditNode.hash).where(AuditNode.level == 0, AuditNode.index == 0)
        )
    assert root is not None
    forged = sign_note(Checkpoint(ORIGIN, 1, root).body(), ORIGIN, Ed25519PrivateKey.generate())
    await tamper(
        db,
        insert(AuditCheckpoint).values(
            id=uuid.uuid4(), tree_size=1, root_hash=root, note=forged, key_id="forged"
        ),
    )

    assert failed(await verify(db), None, "no signature from a trusted key", 1)


async def test_a_checkpoint_row_that_disagrees_with_its_note_is_named(
    db: Database, citizens: Citizens
) -> None:
    await tamper(
        db,
        update(AuditCheckpoint).where(AuditCheckpoint.tree_size == 5).values(root_hash=bytes(32)),
    )

    assert failed(await verify(db), None, "differs from its signed note", 5)


async def test_a_live_citizen_unlinked_from_their_entry_is_named_first(
    db: Database, citizens: Citizens
) -> None:
    # Hiding entry 1 (bob's account creation) from bob's access log, as erasure would,
    # while a later entry is also edited: the unlinking is the first thing wrong.
    at = AuditEntry.leaf_index
    await tamper(
        db,
        update(AuditEntry).where(at == 1).values(citizen_id=None, actor_id=None),
        update(AuditEntry).where(at == 11).values(outcome=Outcome.ERROR.value),
    )

    assert failed(await verify(db), 1, "its citizen was never erased")


# --- the trusted checkpoint ---------------------------------------------------


async def test_a_trusted_checkpoint_that_matches_verifies(db: Database, citizens: Citizens) -> None:
    result = await verify(db, await note_at(db, 12))

    assert result.ok
    assert result.trusted_size == 12


@pytest.mark.parametrize(
    "origin", [ORIGIN, "elsewhere.test/audit"], ids=["forged-signature", "another-log"]
)
async def test_a_trusted_checkpoint_that_does_not_verify_is_reported(
    db: Database, citizens: Citizens, origin: str
) -> None:
    async with db.read_sessions() as session:
        root = await session.scalar(
            select(AuditCheckpoint.root_hash).where(AuditCheckpoint.tree_size == 12)
        )
    assert root is not None
    note = sign_note(Checkpoint(origin, 12, root).body(), origin, Ed25519PrivateKey.generate())

    result = await verify(db, note)

    assert failed(result, None, "the trusted checkpoint does not verify with this log's keys")
    assert result.entries_checked == 0


async def test_a_malformed_signing_key_is_reported(db: Database, citizens: Citizens) -> None:
    async with transaction(db.sessions) as session:
        [key] = await session.scalars(select(SigningKey))
        key.public_jwk = {**key.public_jwk, "x": "not a key"}

    assert failed(await verify(db), None, f"the checkpoint signing key {key.kid} is malformed")


# --- the pure core ------------------------------------------------------------


def pure_entries(count: int) -> list[StoredEntry]:
    """Stored entries as the database side would hand them over, for an untouched log."""
    tree, entries = CompactRange(), []
    for n in range(count):
        fields = LeafFields(
            entry_id=str(uuid.UUID(int=n)),
            time="2026-01-01T00:00:00+00:00",
            actor="system",
            actor_ref=None,
            action="key.rotated",
            outcome="allowed",
            subject=None,
            client_id=None,
            grant_id=None,
            purpose=None,
            resource=None,
            request_id=None,
        )
        leaf = encode_leaf(fields)
        nodes = {level: node for level, _, node in tree.append(leaf_hash(leaf))}
        entries.append(StoredEntry(index=n, leaf=leaf, recomputed=fields, nodes=nodes))
    return entries


LOG_KEY = Ed25519PrivateKey.generate()


def signed(size: int, root: bytes) -> str:
    return sign_note(Checkpoint(ORIGIN, size, root).body(), ORIGIN, LOG_KEY)


def feed(entries: list[StoredEntry], verifier: LogVerifier | None = None) -> LogVerifier:
    verifier = verifier or LogVerifier(ORIGIN, [])
    for entry in entries:
        verifier.entry(entry)
    verifier.end()
    return verifier


def test_the_pure_core_accepts_an_untouched_log() -> None:
    assert feed(pure_entries(9)).entries_checked == 9


def test_a_duplicated_index_is_named() -> None:
    entries = pure_entries(4)
    entries.insert(3, dataclasses.replace(entries[2]))

    with pytest.raises(Tampered, match="two entries claim index 2") as caught:
        feed(entries)
    assert caught.value.index == 2


def test_checkpoints_must_be_fed_in_size_order() -> None:
    verifier = LogVerifier(ORIGIN, [])
    verifier.checkpoint(StoredCheckpoint(3, bytes(32), ""))

    with pytest.raises(ValueError, match="in size order"):
        verifier.checkpoint(StoredCheckpoint(2, bytes(32), ""))


def test_a_checkpoint_of_the_empty_tree_must_sign_the_empty_root() -> None:
    verifier = LogVerifier(ORIGIN, [LOG_KEY.public_key()])

    with pytest.raises(Tampered, match="signs a root other than the empty tree's"):
        verifier.checkpoint(StoredCheckpoint(0, bytes(32), signed(0, bytes(32))))


def test_a_trusted_checkpoint_over_other_entries_names_the_whole_prefix() -> None:
    verifier = LogVerifier(ORIGIN, [LOG_KEY.public_key()])
    verifier.trust(signed(3, root_from_leaf_hashes([leaf_hash(b"other")] * 3)))

    with pytest.raises(Tampered) as caught:
        feed(pure_entries(3), verifier)
    assert caught.value.index == 0
    assert caught.value.reason == (
        "one of the entries 0..2 differs from what the trusted checkpoint signed "
        "(rows, tree nodes and checkpoints were rewritten together)"
    )


def test_a_cleared_actor_is_accepted_only_if_it_was_the_erased_subject() -> None:
    [entry] = pure_entries(1)
    subject = "c" * 43
    committed = dataclasses.replace(entry.recomputed, subject=subject, actor_ref=subject)
    erased = dataclasses.replace(
        entry,
        leaf=encode_leaf(committed),
        citizen_cleared=True,
        actor_cleared=True,
        nodes={0: leaf_hash(encode_leaf(committed))},
    )
    assert feed([erased]).cleared_subjects == {subject: 0}

    other = dataclasses.replace(committed, actor_ref=str(uuid.UUID(int=7)))
    forged = dataclasses.replace(
        erased, leaf=encode_leaf(other), nodes={0: leaf_hash(encode_leaf(other))}
    )
    with pytest.raises(Tampered, match=r"committed leaf \(actor_ref\)"):
        feed([forged])


# --- the command line ----------------------------------------------------------


def cli(settings: Settings, *args: str, stdin: str | None = None) -> tuple[int, str]:
    env = {
        "PDS_DATA_DIR": str(settings.data_dir),
        "PDS_DATABASE_URL": None,
        "PDS_BASE_URL": "https://pds.test",
        "PDS_HOST": None,
        "PDS_PORT": None,
        "PDS_LOG_LEVEL": None,
    }
    result = CliRunner().invoke(main, list(args), env=env, input=stdin)
    assert "Traceback" not in result.output
    return result.exit_code, result.output


def in_database(settings: Settings, work: Callable[[Database], Awaitable[T]]) -> T:
    async def go() -> T:
        db = open_database(settings)
        try:
            return await work(db)
        finally:
            await db.dispose()

    return asyncio.run(go())


def test_pds_audit_sequence_and_verify(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path / "data")
    migrate.upgrade(settings)
    nobody = Citizens(uuid.UUID(int=1), uuid.UUID(int=2))  # ids that no account has
    in_database(settings, lambda db: add_entries(db, nobody, range(5)))

    assert cli(settings, "audit", "sequence") == (0, "sequenced 5 entries\n")
    assert cli(settings, "audit", "sequence") == (0, "sequenced 0 entries\n")
    assert cli(settings, "audit", "verify") == (0, "ok: 5 entries, 1 checkpoints verified\n")

    note = in_database(settings, lambda db: note_at(db, 5))
    trusted = tmp_path / "checkpoint.txt"
    trusted.write_text(note, encoding="utf-8")
    consistent = "ok: 5 entries, 1 checkpoints verified\n" + (
        "consistent with the trusted checkpoint of size 5\n"
    )
    assert cli(settings, "audit", "verify", "--trusted", str(trusted)) == (0, consistent)
    assert cli(settings, "audit", "verify", "--trusted", "-", stdin=note) == (0, consistent)

    in_database(
        settings,
        lambda db: tamper(
            db, update(AuditEntry).where(AuditEntry.leaf_index == 3).values(outcome="error")
        ),
    )
    assert cli(settings, "audit", "verify") == (
        1,
        "FAILED at index 3: the entry does not match its committed leaf (outcome)\n",
    )
    in_database(
        settings,
        lambda db: tamper(
            db,
            update(AuditEntry).where(AuditEntry.leaf_index == 3).values(outcome="allowed"),
            update(AuditCheckpoint).values(root_hash=bytes(32)),
        ),
    )
    assert cli(settings, "audit", "verify") == (
        1,
        "FAILED: the checkpoint row of size 5 differs from its signed note\n",
    )
    assert cli(settings, "audit", "verify", "--trusted", "-", stdin="not a note\n") == (
        1,
        "FAILED: the trusted checkpoint does not verify with this log's keys: "
        "note has no signature block\n",
    )


def test_progress_lines_go_to_stderr_and_stop_at_the_end(
    capsys: pytest.CaptureFixture[str],
) -> None:
    report = progress_lines(every=0)
    report(2000, 5000)
    report(5000, 5000)

    assert capsys.readouterr() == ("", "verified 2000 of 5000 entries\n")


def test_pds_audit_verify_refuses_an_unmigrated_database(tmp_path: Path) -> None:
    code, output = cli(Settings(data_dir=tmp_path / "data"), "audit", "verify")

    assert (code, output) == (1, "Error: the database is not migrated: run `pds db upgrade`\n")
