"""RFC 9162 §2.1 Merkle tree hashing, proofs, and proof verification.

The audit log is only tamper-evident if someone who does not trust us can check
it: they recompute leaf hashes, verify inclusion and consistency proofs with the
RFC algorithms, and compare roots with signed checkpoints (``pds.audit.note``).
The sequencer, the API and the offline ``pds audit verify`` all share this one
pure implementation, so there is a single place where the hashing can be wrong.

Storage model: ``CompactRange.append`` (``pds.audit.compact_range``) reports every
perfect subtree as it completes, keyed ``(level, index)``. Proof generation asks a
``NodeReader`` only for such aligned perfect subtrees, so a store that keeps those rows
answers each request with one lookup, and a proof costs O(log n) reads however big the
log.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, ClassVar, Final, Protocol

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "ListNodeReader",
    "NodeReader",
    "ProofError",
    "aligned_subtree",
    "consistency_proof",
    "inclusion_proof",
    "leaf_hash",
    "node_hash",
    "peak_positions",
    "require_stored_hash",
    "root_from_inclusion_proof",
    "root_from_leaf_hashes",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE: Final = 32
EMPTY_ROOT: Final = hashlib.sha256(b"").digest()

_LEAF_PREFIX: Final = b"\x00"
_NODE_PREFIX: Final = b"\x01"


class ProofError(Exception):
    """A proof did not check out; callers should treat every reason alike.

    The message names the failed check for logs; nothing about it is secret, but
    no caller should branch on it.
    """

    code: ClassVar[str] = "invalid_proof"


def leaf_hash(data: bytes) -> bytes:
    """Hash an entry under the 0x00 prefix so it can never pass for an inner node."""
    return hashlib.sha256(_LEAF_PREFIX + data).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Hash two children under the 0x01 prefix, the other half of the domain separation."""
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def root_from_leaf_hashes(hashes: Sequence[bytes]) -> bytes:
    """MTH of a whole tree, level by level in O(n) without recursion.

    Carrying an unpaired last node up a level unchanged builds exactly the tree
    of the RFC's "largest power of two smaller than n" split.
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        carried = [level[-1]] if len(level) % 2 else []
        level = _pair_up(level) + carried
    return level[0]


def _pair_up(level: Sequence[bytes]) -> list[bytes]:
    """Hash neighbours pairwise; an odd last node is not part of a perfect parent."""
    return [node_hash(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]


def _split(size: int) -> int:
    """The RFC's k: the largest power of two strictly below ``size`` (``size >= 2``)."""
    return 1 << ((size - 1).bit_length() - 1)


def _is_power_of_two(size: int) -> bool:
    return size > 0 and size & (size - 1) == 0


def aligned_subtree(start: int, end: int) -> tuple[int, int]:
    """Map an aligned perfect range to its ``(level, index)`` storage key.

    This is the key ``CompactRange.append`` reported the subtree under, so a
    database ``NodeReader`` can turn every request into one primary-key read.
    Raises ``ValueError`` for any other range, which would be a caller bug.
    """
    size = end - start
    if start < 0 or not _is_power_of_two(size) or start % size:
        msg = f"[{start}, {end}) is not an aligned perfect subtree"
        raise ValueError(msg)
    level = size.bit_length() - 1
    return level, start >> level


def peak_positions(size: int) -> list[tuple[int, int]]:
    """The ``(level, index)`` keys of the perfect subtrees covering ``[0, size)``, left first.

    These are the peaks ``CompactRange.from_peaks`` needs, so a sequencer can
    resume after a restart by reading them back from storage.
    """
    if size < 0:
        msg = "size must not be negative"
        raise ValueError(msg)
    positions: list[tuple[int, int]] = []
    start = 0
    for level in range(size.bit_length() - 1, -1, -1):
        if size >> level & 1:
            positions.append((level, start >> level))
            start += 1 << level
    return positions


def _require_hash(value: bytes, what: str) -> None:
    if len(value) != HASH_SIZE:
        msg = f"{what} is {len(value)} bytes, not {HASH_SIZE}"
        raise ProofError(msg)


def require_stored_hash(value: bytes) -> None:
    """Inputs we store are our own data, so a wrong length is a bug, not a bad proof."""
    if len(value) != HASH_SIZE:
        msg = f"a hash must be {HASH_SIZE} bytes, got {len(value)}"
        raise ValueError(msg)


class NodeReader(Protocol):
    """Where proof generation gets subtree hashes from: memory, or a database.

    ``inclusion_proof`` and ``consistency_proof`` only ever request *aligned
    perfect* ranges: ``end - start == 2**level`` and ``start % 2**level == 0``,
    i.e. the subtree ``aligned_subtree(start, end)`` that ``CompactRange.append``
    reported when it completed. RFC 9162 also needs the hash of at most one
    incomplete range per proof (a sibling on the tree's right edge, ending at
    ``tree_size``); that is assembled here from at most log2(n) aligned pieces,
    so readers never see it. Every requested range lies inside ``[0, tree_size)``
    and a completed subtree never changes, so a store may have grown since.
    """

    def subtree_hash(self, start: int, end: int) -> bytes:
        """Return MTH of the leaves ``[start, end)``; see the class for which ranges are asked."""
        ...


class ListNodeReader:
    """In-memory ``NodeReader`` over every leaf hash.

    For tests and for ``pds audit verify``, which recomputes the whole tree
    anyway. All perfect subtrees are precomputed (about 2n hashes), so an aligned
    read is a list index, just as a database read is one row. Unaligned ranges
    are also answered, by the RFC split, for callers that want arbitrary ranges.
    """

    __slots__ = ("_levels",)

    def __init__(self, leaf_hashes: Sequence[bytes]) -> None:
        for value in leaf_hashes:
            require_stored_hash(value)
        self._levels = [list(leaf_hashes)]
        while len(self._levels[-1]) > 1:
            self._levels.append(_pair_up(self._levels[-1]))

    @property
    def size(self) -> int:
        """Number of leaves."""
        return len(self._levels[0])

    def subtree_hash(self, start: int, end: int) -> bytes:
        """MTH of ``[start, end)``: a lookup when aligned, else the RFC 9162 split."""
        if not 0 <= start < end <= self.size:
            msg = f"[{start}, {end}) is not a non-empty range of {self.size} leaves"
            raise ValueError(msg)
        size = end - start
        if _is_power_of_two(size) and start % size == 0:
            level, index = aligned_subtree(start, end)
            return self._levels[level][index]
        mid = start + _split(size)
        return node_hash(self.subtree_hash(start, mid), self.subtree_hash(mid, end))


def _right_edge_hash(start: int, end: int, reader: NodeReader) -> bytes:
    """MTH of ``[start, end)`` from the aligned perfect subtrees it splits into.

    Only called where ``start`` is a multiple of the largest piece (always true
    for siblings inside a proof), so every piece read is aligned.
    """
    pieces: list[bytes] = []
    while not _is_power_of_two(end - start):
        mid = start + _split(end - start)
        pieces.append(reader.subtree_hash(start, mid))
        start = mid
    acc = reader.subtree_hash(start, end)
    for piece in reversed(pieces):
        acc = node_hash(piece, acc)
    return acc


def inclusion_proof(index: int, tree_size: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.3.1 PATH(index, D[0:tree_size]), walked from the root down.

    Reads one aligned sibling per level, plus the pieces of at most one
    right-edge sibling: O(log n) in all.
    """
    if not 0 <= index < tree_size:
        msg = f"index {index} is outside a tree of size {tree_size}"
        raise ValueError(msg)
    start, end = 0, tree_size
    siblings: list[bytes] = []
    while end - start > 1:
        mid = start + _split(end - start)
        if index < mid:
            siblings.append(_right_edge_hash(mid, end, reader))
            end = mid
        else:
            siblings.append(reader.subtree_hash(start, mid))
            start = mid
    siblings.reverse()  # PATH lists the sibling nearest the leaf first
    return siblings


def consistency_proof(first: int, second: int, reader: NodeReader) -> list[bytes]:
    """RFC 9162 §2.1.4.1 PROOF(first, D[0:second]) = SUBPROOF(first, D[0:second], true).

    The recursion is unrolled from the root down; it ends on a subtree that is
    exactly the old tree's last perfect piece, which is only included when it is
    not the whole old tree (the verifier already knows that root). Reads are
    aligned, plus at most one right-edge sibling: O(log n).
    """
    if not 0 < first <= second:
        msg = f"no consistency proof from size {first} to size {second}"
        raise ValueError(msg)
    start, end, remaining, whole_old_tree = 0, second, first, True
    nodes: list[bytes] = []
    while end - start != remaining:
        mid = start + _split(end - start)
        if remaining <= mid - start:
            nodes.append(_right_edge_hash(mid, end, reader))
            end = mid
        else:
            nodes.append(reader.subtree_hash(start, mid))
            remaining -= mid - start
            start, whole_old_tree = mid, False
    if not whole_old_tree:
        nodes.append(reader.subtree_hash(start, end))
    nodes.reverse()  # SUBPROOF puts the deepest node first
    return nodes


def root_from_inclusion_proof(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes]
) -> bytes:
    """The root a proof implies, by RFC 9162 §2.1.3.2 steps 1-3 and the ``sn == 0`` check.

    Useful on its own when the root to compare with is fetched afterwards.
    """
    if not 0 <= index < tree_size:
        msg = f"index {index} is outside a tree of size {tree_size}"
        raise ProofError(msg)
    _require_hash(leaf_hash, "leaf hash")
    fn, sn, r = index, tree_size - 1, leaf_hash
    for p in proof:
        _require_hash(p, "proof element")
        if sn == 0:
            msg = "proof is too long"
            raise ProofError(msg)
        if fn & 1 or fn == sn:
            r = node_hash(p, r)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            r = node_hash(r, p)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        msg = "proof is too short"
        raise ProofError(msg)
    return r


def verify_inclusion(
    leaf_hash: bytes, index: int, tree_size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """RFC 9162 §2.1.3.2: raise ``ProofError`` unless the leaf is at ``index`` under ``root``."""
    if root_from_inclusion_proof(leaf_hash, index, tree_size, proof) != root:
        msg = "computed root does not match"
        raise ProofError(msg)


def verify_consistency(
    first: int, second: int, first_root: bytes, second_root: bytes, proof: Sequence[bytes]
) -> None:
    """RFC 9162 §2.1.4.2: raise ``ProofError`` unless ``second`` extends ``first``.

    The RFC algorithm covers ``0 < first < second``. Equal sizes need an empty
    proof and equal roots. ``first == 0`` is always rejected: the empty tree is
    a prefix of every tree, so there is nothing to prove, and a caller that
    gets here with it has skipped a check of its own.
    """
    if first < 1:
        msg = "consistency with an empty tree proves nothing"
        raise ProofError(msg)
    if second < first:
        msg = f"size {second} is smaller than size {first}"
        raise ProofError(msg)
    if first == second:
        _check_same_tree(first_root, second_root, proof)
        return
    fr, sr = _consistency_roots(first, second, first_root, proof)
    if fr != first_root or sr != second_root:
        msg = "computed roots do not match"
        raise ProofError(msg)


def _check_same_tree(first_root: bytes, second_root: bytes, proof: Sequence[bytes]) -> None:
    if proof:
        msg = "proof must be empty for equal sizes"
        raise ProofError(msg)
    if first_root != second_root:
        msg = "roots differ for equal sizes"
        raise ProofError(msg)


def _consistency_roots(
    first: int, second: int, first_root: bytes, proof: Sequence[bytes]
) -> tuple[bytes, bytes]:
    """RFC 9162 §2.1.4.2 steps 1-6 and the ``sn == 0`` check; returns ``(fr, sr)``."""
    if not proof:
        msg = "proof is empty"
        raise ProofError(msg)
    for p in proof:
        _require_hash(p, "proof element")
    path = [first_root, *proof] if _is_power_of_two(first) else list(proof)
    fn, sn = first - 1, second - 1
    while fn & 1:
        fn, sn = fn >> 1, sn >> 1
    fr = sr = path[0]
    for c in path[1:]:
        if sn == 0:
            msg = "proof is too long"
            raise ProofError(msg)
        if fn & 1 or fn == sn:
            fr, sr = node_hash(c, fr), node_hash(c, sr)
            while not fn & 1 and fn != 0:
                fn, sn = fn >> 1, sn >> 1
        else:
            sr = node_hash(sr, c)
        fn, sn = fn >> 1, sn >> 1
    if sn != 0:
        msg = "proof is too short"
        raise ProofError(msg)
    return fr, sr
