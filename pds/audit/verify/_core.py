"""The pure core of ``pds audit verify``: plain records in, ``Tampered`` out.

``LogVerifier``, fed the stored entries in ``leaf_index`` order and the stored
checkpoints, raises ``Tampered`` at the first place the log does not hold: an
index that is not the next one (a row removed or added), a row whose columns do
not re-encode to its stored leaf (an edited column or leaf), a leaf or completed
subtree that differs from the stored tree node (a row replaced, moved or
inserted, even with a forged leaf), a checkpoint that is badly signed or signs
another root at its size. Checkpoints that all match one rebuilt tree are
consistent with each other; a checkpoint the auditor trusts is checked the same
way, and still holds if the operator re-signed the log's own. No database and
no I/O: ``pds.audit.verify._database`` feeds it.

Erasure nulls an entry's ``citizen_id`` (and ``actor_id``) and deletes the salt,
so for such rows the committed subject is accepted and every other field still
compared. Nulling a *live* citizen's id would hide an entry from their access
log, so those subjects are finally tested against the live salts
(``LogVerifier.unlinked``).
"""

from __future__ import annotations

import dataclasses
from collections import deque
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pds.audit.compact_range import CompactRange
from pds.audit.leaf import LeafFields, decode_leaf, encode_leaf
from pds.audit.merkle import leaf_hash
from pds.audit.note import NoteError, open_checkpoint

if TYPE_CHECKING:
    from collections.abc import Iterable, Mapping

    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

    from pds.audit.note import Checkpoint


class Tampered(Exception):
    """The first place the stored log does not hold; ``index`` is None for a bad checkpoint."""

    def __init__(
        self, reason: str, *, index: int | None = None, checkpoint_size: int | None = None
    ) -> None:
        super().__init__(reason)
        self.reason = reason
        self.index = index
        self.checkpoint_size = checkpoint_size


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One sequenced row as the verifier sees it."""

    index: int
    leaf: bytes | None
    recomputed: LeafFields  # leaf_fields() of the row's columns and its citizen's salt
    citizen_cleared: bool = False  # citizen_id is NULL: erased, or never about a citizen
    actor_cleared: bool = False  # actor_id is NULL
    nodes: Mapping[int, bytes] = field(default_factory=dict)
    """Stored hash of each subtree this position completes, by level (0 is the leaf's)."""


@dataclass(frozen=True, slots=True)
class StoredCheckpoint:
    tree_size: int
    root_hash: bytes
    note: str


@dataclass(frozen=True, slots=True)
class VerifyResult:
    ok: bool
    entries_checked: int
    checkpoints_checked: int
    first_bad_index: int | None = None
    """The first altered index, or where only a range can be named, the range's start."""
    reason: str = ""
    checkpoint_size: int | None = None  # the checkpoint a failure concerns, if any
    trusted_size: int | None = None  # the size of the trusted checkpoint, when one was given


class LogVerifier:
    """Pure core: feed checkpoints and entries in index order; raises ``Tampered``.

    A checkpoint may be fed before the entries it covers and is checked the
    moment the rebuilt tree reaches its size, so failures come in log order.
    """

    def __init__(self, origin: str, keys: Iterable[Ed25519PublicKey]) -> None:
        self._origin = origin
        self._verifiers = [(origin, key) for key in keys]
        self._tree = CompactRange()
        self._pending: deque[StoredCheckpoint] = deque()
        self._trusted: Checkpoint | None = None  # until its size is reached and checked
        self._last_signed = 0  # the largest size whose root a verified checkpoint signs
        self._cleared_subjects: dict[str, int] = {}  # committed subject -> first index
        self.entries_checked = 0
        self.checkpoints_checked = 0

    @property
    def size(self) -> int:
        return self._tree.size

    @property
    def cleared_subjects(self) -> Mapping[str, int]:
        """Subjects accepted from leaves whose row lost its citizen id, with their first index."""
        return self._cleared_subjects

    def trust(self, note: str) -> Checkpoint:
        """Take the auditor's checkpoint; it must carry a signature by one of the log's keys."""
        try:
            trusted = open_checkpoint(note, self._origin, self._verifiers)
        except NoteError as e:
            msg = f"the trusted checkpoint does not verify with this log's keys: {e}"
            raise Tampered(msg) from e
        self._trusted = trusted
        self._settle()
        return trusted

    def checkpoint(self, stored: StoredCheckpoint) -> None:
        if stored.tree_size < self.size or (
            self._pending and stored.tree_size <= self._pending[-1].tree_size
        ):
            msg = "feed checkpoints in size order, before the entries they cover"
            raise ValueError(msg)
        self._pending.append(stored)
        self._settle()

    def entry(self, stored: StoredEntry) -> None:
        self._check_position(stored.index)
        leaf = self._check_leaf(stored)
        self._check_nodes(stored, leaf)
        self.entries_checked += 1
        self._settle()

    def end(self, next_node_index: int | None = None) -> None:
        """No entries follow: anything still signed or stored beyond this size is missing."""
        if self._pending:
            self._check_checkpoint(self._pending[0])
        if self._trusted is not None and self._trusted.size > self.size:
            self._check_root(self._trusted, trusted=True)
        if next_node_index is not None:
            msg = (
                f"entries from index {self.size} on are missing: the tree stores a node "
                f"for index {next_node_index}"
            )
            raise Tampered(msg, index=self.size)

    def unlinked(self, live_subjects: Iterable[str]) -> Tampered | None:
        """A cleared row whose committed subject belongs to a citizen who still has a salt."""
        first = min(
            (self._cleared_subjects[s] for s in live_subjects if s in self._cleared_subjects),
            default=None,
        )
        if first is None:
            return None
        msg = (
            "the entry's citizen id was removed, but its citizen was never erased "
            "(the committed subject matches a live citizen)"
        )
        return Tampered(msg, index=first)

    def _settle(self) -> None:
        while self._pending and self._pending[0].tree_size == self.size:
            self._check_checkpoint(self._pending.popleft())
        if self._trusted is not None and self._trusted.size == self.size:
            self._check_root(self._trusted, trusted=True)
            self._trusted = None

    def _check_position(self, index: int) -> None:
        if index < self.size:
            raise Tampered(f"two entries claim index {index}", index=index)
        if index > self.size:
            msg = f"the entry at index {self.size} is missing (the next stored index is {index})"
            raise Tampered(msg, index=self.size)

    def _check_leaf(self, stored: StoredEntry) -> bytes:
        if stored.leaf is None:
            raise Tampered("the entry has no stored leaf", index=stored.index)
        if encode_leaf(stored.recomputed) == stored.leaf:
            return stored.leaf
        try:
            committed = decode_leaf(stored.leaf)
        except (ValueError, KeyError, TypeError) as e:
            raise Tampered("the stored leaf is not a PDS audit leaf", index=stored.index) from e
        expected = self._erasure_tolerant(stored, committed)
        if encode_leaf(expected) != stored.leaf:
            differing = [
                f.name
                for f in dataclasses.fields(LeafFields)
                if getattr(expected, f.name) != getattr(committed, f.name)
            ]
            reason = (
                f"the entry does not match its committed leaf ({', '.join(differing)})"
                if differing
                else "the stored leaf is not in canonical form"
            )
            raise Tampered(reason, index=stored.index)
        # Past the fast path, only a cleared citizen id with a committed subject gets here.
        self._cleared_subjects.setdefault(str(committed.subject), stored.index)
        return stored.leaf

    @staticmethod
    def _erasure_tolerant(stored: StoredEntry, committed: LeafFields) -> LeafFields:
        """Accept the committed subject (and an actor who was that subject) once ids are gone."""
        if not stored.citizen_cleared:
            return stored.recomputed
        actor_ref = stored.recomputed.actor_ref
        if stored.actor_cleared and committed.actor_ref == committed.subject:
            actor_ref = committed.actor_ref
        return dataclasses.replace(
            stored.recomputed, subject=committed.subject, actor_ref=actor_ref
        )

    def _check_nodes(self, stored: StoredEntry, leaf: bytes) -> None:
        for level, index, node in self._tree.append(leaf_hash(leaf)):
            kept = stored.nodes.get(level)
            if kept == node:
                continue
            first, last = index << level, ((index + 1) << level) - 1
            if level == 0:
                reason = (
                    "no tree node is stored for the entry"
                    if kept is None
                    else "the entry's leaf is not the one the tree holds at its index: "
                    "a row was replaced, moved or inserted here"
                )
            else:
                state = "is missing" if kept is None else "does not match them"
                reason = (
                    f"the stored tree node over entries {first}..{last} {state}: one of them "
                    "was altered together with its leaf's node, or the node itself was"
                )
            raise Tampered(reason, index=first)

    def _check_checkpoint(self, stored: StoredCheckpoint) -> None:
        try:
            signed = open_checkpoint(stored.note, self._origin, self._verifiers)
        except NoteError as e:
            msg = f"the checkpoint of size {stored.tree_size} does not verify: {e}"
            raise Tampered(msg, checkpoint_size=stored.tree_size) from e
        if (signed.size, signed.root_hash) != (stored.tree_size, stored.root_hash):
            msg = f"the checkpoint row of size {stored.tree_size} differs from its signed note"
            raise Tampered(msg, checkpoint_size=stored.tree_size)
        self._check_root(signed)
        self.checkpoints_checked += 1
        self._last_signed = signed.size

    def _check_root(self, signed: Checkpoint, *, trusted: bool = False) -> None:
        """The rebuilt tree at the signed size must have the signed root.

        Entries below the last size a log checkpoint verified at already match
        a signed root, so a difference lies above it (exact for one entry). A
        trusted checkpoint vouches for the whole prefix: the log's own
        checkpoints may have been re-signed over the rewritten entries.
        """
        what = "the trusted checkpoint" if trusted else f"the checkpoint of size {signed.size}"
        if signed.size > self.size:
            msg = f"entries from index {self.size} on are missing: {what} covers them"
            raise Tampered(msg, index=self.size)
        if signed.root_hash == self._tree.root():
            return
        if signed.size == 0:
            msg = f"{what} signs a root other than the empty tree's"
            raise Tampered(msg, checkpoint_size=0)
        known_good = 0 if trusted else self._last_signed
        last = signed.size - 1
        if last == known_good:
            reason = f"entry {last} is not the one {what} signed"
        else:
            reason = f"one of the entries {known_good}..{last} differs from what {what} signed"
        if not trusted:
            reason += " (rows and tree nodes were rewritten together)"
        elif self._last_signed == signed.size:
            reason += (
                f": the log re-signed its own checkpoint of size {signed.size} over other entries"
            )
        else:
            reason += " (rows, tree nodes and checkpoints were rewritten together)"
        raise Tampered(reason, index=known_good, checkpoint_size=signed.size)
