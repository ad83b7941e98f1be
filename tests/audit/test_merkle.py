"""RFC 9162 Merkle tree: spec vectors, an independent reference, and properties.

The vectors under ``tests/fixtures/merkle`` are copied unchanged from the shared
set (transparency-dev/merkle ``testdata/``), so the repository stays
self-contained. The reference functions below are a direct, recursive reading
of RFC 9162 §2.1 (MTH, PATH, PROOF), kept deliberately naive so they share no
code or shortcuts with ``pds.audit.merkle``.
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pds.audit.compact_range import CompactRange
from pds.audit.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    ListNodeReader,
    ProofError,
    aligned_subtree,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    node_hash,
    peak_positions,
    root_from_inclusion_proof,
    root_from_leaf_hashes,
    verify_consistency,
    verify_inclusion,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "merkle"
VECTOR_FILES = sorted(FIXTURES.rglob("*.json"))

# The leaf inputs of the RFC 6962 reference tree that the vectors' happy paths use.
RFC6962_LEAVES = [
    bytes.fromhex(h)
    for h in (
        "",
        "00",
        "10",
        "2021",
        "3031",
        "40414243",
        "5051525354555657",
        "606162636465666768696a6b6c6d6e6f",
    )
]

MAX_SIZE = 300
PROPERTY_SETTINGS = settings(max_examples=80, deadline=None)


# --- independent reference (RFC 9162 §2.1, recursive, no shared code) -------


def ref_hash(data: bytes) -> bytes:
    return hashlib.sha256(data).digest()


def ref_split(n: int) -> int:
    k = 1
    while k * 2 < n:
        k *= 2
    return k


def ref_mth(d: Sequence[bytes]) -> bytes:
    if len(d) == 0:
        return ref_hash(b"")
    if len(d) == 1:
        return d[0]
    k = ref_split(len(d))
    return ref_hash(b"\x01" + ref_mth(d[:k]) + ref_mth(d[k:]))


def ref_path(m: int, d: Sequence[bytes]) -> list[bytes]:
    if len(d) == 1:
        return []
    k = ref_split(len(d))
    if m < k:
        return [*ref_path(m, d[:k]), ref_mth(d[k:])]
    return [*ref_path(m - k, d[k:]), ref_mth(d[:k])]


def ref_subproof(m: int, d: Sequence[bytes], b: bool) -> list[bytes]:
    n = len(d)
    if m == n:
        return [] if b else [ref_mth(d)]
    k = ref_split(n)
    if m <= k:
        return [*ref_subproof(m, d[:k], b), ref_mth(d[k:])]
    return [*ref_subproof(m - k, d[k:], False), ref_mth(d[:k])]


# --- helpers -----------------------------------------------------------------


def make_leaves(size: int, salt: bytes = b"") -> list[bytes]:
    return [leaf_hash(salt + i.to_bytes(4, "big")) for i in range(size)]


def flip_bit(value: bytes, bit: int) -> bytes:
    flipped = bytearray(value)
    flipped[bit // 8] ^= 1 << (bit % 8)
    return bytes(flipped)


class AlignedOnlyReader:
    """Records requests and fails on any range a stored-subtree reader could not serve."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.inner = ListNodeReader(leaves)
        self.requests: list[tuple[int, int]] = []

    def subtree_hash(self, start: int, end: int) -> bytes:
        aligned_subtree(start, end)  # raises ValueError if not aligned
        self.requests.append((start, end))
        return self.inner.subtree_hash(start, end)


class StoredNodeReader:
    """What a database reader does: one keyed lookup in the rows ``append`` reported."""

    def __init__(self, rows: Sequence[tuple[int, int, bytes]]) -> None:
        self.rows = {(level, index): value for level, index, value in rows}

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self.rows[aligned_subtree(start, end)]


def read_budget(size: int) -> int:
    """Reads a proof may take: a sibling per level plus the pieces of one right-edge sibling."""
    return 2 * max(1, math.ceil(math.log2(max(size, 2)))) + 1


# --- vectors -----------------------------------------------------------------


def b64(text: str) -> bytes:
    return base64.b64decode(text, validate=True)


def load_vector(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def run_vector(vector: dict[str, Any]) -> None:
    proof = [b64(p) for p in vector["proof"] or []]
    if "leafIdx" in vector:
        verify_inclusion(
            b64(vector["leafHash"]),
            vector["leafIdx"],
            vector["treeSize"],
            proof,
            b64(vector["root"]),
        )
    else:
        verify_consistency(
            vector["size1"], vector["size2"], b64(vector["root1"]), b64(vector["root2"]), proof
        )


def test_every_vector_file_is_collected() -> None:
    kinds = {path.relative_to(FIXTURES).parts[0] for path in VECTOR_FILES}
    assert kinds == {"inclusion", "consistency"}
    assert len(VECTOR_FILES) == 196


@pytest.mark.parametrize(
    "path", VECTOR_FILES, ids=[str(p.relative_to(FIXTURES)) for p in VECTOR_FILES]
)
def test_vector(path: Path) -> None:
    vector = load_vector(path)
    if vector["wantErr"]:
        with pytest.raises(ProofError):
            run_vector(vector)
    else:
        run_vector(vector)


@pytest.mark.parametrize(
    "path",
    sorted(FIXTURES.glob("*/*/happy-path.json")),
    ids=lambda p: str(p.relative_to(FIXTURES)),
)
def test_generated_proofs_equal_vector_happy_paths(path: Path) -> None:
    vector = load_vector(path)
    reader = ListNodeReader([leaf_hash(leaf) for leaf in RFC6962_LEAVES])
    want = [b64(p) for p in vector["proof"] or []]
    if "leafIdx" in vector:
        got = inclusion_proof(vector["leafIdx"], vector["treeSize"], reader)
        size, root = vector["treeSize"], vector["root"]
    else:
        got = consistency_proof(vector["size1"], vector["size2"], reader)
        size, root = vector["size2"], vector["root2"]
    assert got == want
    assert reader.subtree_hash(0, size) == b64(root)


# --- hashing -----------------------------------------------------------------


def test_hash_definitions() -> None:
    assert hashlib.sha256(b"").digest() == EMPTY_ROOT
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    assert (
        node_hash(b"L" * 32, b"R" * 32) == hashlib.sha256(b"\x01" + b"L" * 32 + b"R" * 32).digest()
    )
    assert root_from_leaf_hashes([]) == EMPTY_ROOT
    assert CompactRange().root() == EMPTY_ROOT


def test_exhaustive_small_trees_match_reference() -> None:
    """STANDARDS A7: every inclusion and consistency case for sizes 1-69."""
    leaves = make_leaves(69)
    reader = ListNodeReader(leaves)
    for n in range(1, 70):
        prefix = leaves[:n]
        root = ref_mth(prefix)
        assert root_from_leaf_hashes(prefix) == root
        assert reader.subtree_hash(0, n) == root
        for i in range(n):
            proof = inclusion_proof(i, n, reader)
            assert proof == ref_path(i, prefix)
            verify_inclusion(leaves[i], i, n, proof, root)
        for m in range(1, n + 1):
            proof = consistency_proof(m, n, reader)
            assert proof == ref_subproof(m, prefix, True)
            verify_consistency(m, n, ref_mth(leaves[:m]), root, proof)


def test_list_reader_answers_unaligned_ranges() -> None:
    leaves = make_leaves(13)
    reader = ListNodeReader(leaves)
    for start in range(13):
        for end in range(start + 1, 14):
            assert reader.subtree_hash(start, end) == ref_mth(leaves[start:end])


# --- properties ----------------------------------------------------------------


@PROPERTY_SETTINGS
@given(size=st.integers(0, MAX_SIZE), salt=st.binary(max_size=8))
def test_every_inclusion_proof_verifies(size: int, salt: bytes) -> None:
    leaves = make_leaves(size, salt)
    root = root_from_leaf_hashes(leaves)
    reader = AlignedOnlyReader(leaves)
    for index in range(size):
        reader.requests.clear()
        proof = inclusion_proof(index, size, reader)
        assert len(reader.requests) <= read_budget(size)
        verify_inclusion(leaves[index], index, size, proof, root)
        assert root_from_inclusion_proof(leaves[index], index, size, proof) == root


@PROPERTY_SETTINGS
@given(size=st.integers(1, MAX_SIZE), salt=st.binary(max_size=8))
def test_every_consistency_proof_verifies(size: int, salt: bytes) -> None:
    leaves = make_leaves(size, salt)
    root = root_from_leaf_hashes(leaves)
    reader = AlignedOnlyReader(leaves)
    for first in range(1, size + 1):
        reader.requests.clear()
        proof = consistency_proof(first, size, reader)
        assert len(reader.requests) <= read_budget(size)
        verify_consistency(first, size, root_from_leaf_hashes(leaves[:first]), root, proof)


@st.composite
def inclusion_cases(draw: st.DrawFn) -> tuple[list[bytes], int, list[bytes]]:
    size = draw(st.integers(1, MAX_SIZE))
    index = draw(st.integers(0, size - 1))
    leaves = make_leaves(size, draw(st.binary(max_size=8)))
    return leaves, index, inclusion_proof(index, size, ListNodeReader(leaves))


@PROPERTY_SETTINGS
@given(case=inclusion_cases(), data=st.data())
def test_tampered_inclusion_fails(
    case: tuple[list[bytes], int, list[bytes]], data: st.DataObject
) -> None:
    leaves, index, proof = case
    size, root = len(leaves), root_from_leaf_hashes(leaves)
    if proof:
        at = data.draw(st.integers(0, len(proof) - 1))
        bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1))
        tampered = [*proof[:at], flip_bit(proof[at], bit), *proof[at + 1 :]]
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], index, size, tampered, root)
    if size > 1:
        other = data.draw(st.integers(0, size - 2))
        other += other >= index  # any index but ``index``
        with pytest.raises(ProofError):
            verify_inclusion(leaves[other], index, size, proof, root)
        with pytest.raises(ProofError):
            verify_inclusion(leaves[index], other, size, proof, root)
    # A root does not commit to its size (that is why a checkpoint signs both), so
    # the size-change attack to rule out is a proof replayed against the real
    # root of another size.
    new_size = data.draw(st.integers(index + 1, MAX_SIZE).filter(lambda n: n != size))
    new_root = root_from_leaf_hashes(_grow(leaves, new_size))
    with pytest.raises(ProofError):
        verify_inclusion(leaves[index], index, new_size, proof, new_root)


def _grow(leaves: list[bytes], size: int) -> list[bytes]:
    """The same log at another size: a prefix, or extended with fresh leaves."""
    return (leaves + make_leaves(size, b"more"))[:size]


@st.composite
def consistency_cases(draw: st.DrawFn) -> tuple[list[bytes], int, list[bytes]]:
    size = draw(st.integers(2, MAX_SIZE))
    first = draw(st.integers(1, size - 1))
    leaves = make_leaves(size, draw(st.binary(max_size=8)))
    return leaves, first, consistency_proof(first, size, ListNodeReader(leaves))


@PROPERTY_SETTINGS
@given(case=consistency_cases(), data=st.data())
def test_tampered_consistency_fails(
    case: tuple[list[bytes], int, list[bytes]], data: st.DataObject
) -> None:
    leaves, first, proof = case
    size = len(leaves)

    def roots(m: int, n: int) -> tuple[bytes, bytes]:
        log = _grow(leaves, max(m, n))
        return root_from_leaf_hashes(log[:m]), root_from_leaf_hashes(log[:n])

    at = data.draw(st.integers(0, len(proof) - 1))
    bit = data.draw(st.integers(0, HASH_SIZE * 8 - 1))
    tampered = [*proof[:at], flip_bit(proof[at], bit), *proof[at + 1 :]]
    with pytest.raises(ProofError):
        verify_consistency(first, size, *roots(first, size), tampered)
    with pytest.raises(ProofError):
        verify_consistency(first, size, *roots(first, size), proof[:-1])
    with pytest.raises(ProofError):
        verify_consistency(first, size, *roots(first, size), [*proof, proof[-1]])
    new_first = data.draw(st.integers(1, size).filter(lambda m: m != first))
    with pytest.raises(ProofError):
        verify_consistency(new_first, size, *roots(new_first, size), proof)
    new_size = data.draw(st.integers(first, MAX_SIZE).filter(lambda n: n != size))
    with pytest.raises(ProofError):
        verify_consistency(first, new_size, *roots(first, new_size), proof)
    forged_log = make_leaves(size, b"forged")
    with pytest.raises(ProofError):
        verify_consistency(first, size, roots(first, size)[0], ref_mth(forged_log), proof)


@PROPERTY_SETTINGS
@given(size=st.integers(0, MAX_SIZE), salt=st.binary(max_size=8))
def test_compact_range_matches_every_prefix(size: int, salt: bytes) -> None:
    leaves = make_leaves(size, salt)
    compact = CompactRange()
    for n, value in enumerate(leaves, start=1):
        completed = compact.append(value)
        assert completed[0] == (0, n - 1, value)
        assert compact.size == n
        assert compact.root() == root_from_leaf_hashes(leaves[:n])
    resumed = CompactRange.from_peaks(compact.size, compact.peaks)
    assert resumed.root() == compact.root()
    extra = leaf_hash(b"next")
    assert resumed.append(extra) == compact.append(extra)
    assert resumed.root() == compact.root()


@PROPERTY_SETTINGS
@given(size=st.integers(1, MAX_SIZE), salt=st.binary(max_size=8), data=st.data())
def test_stored_subtrees_answer_every_request(size: int, salt: bytes, data: st.DataObject) -> None:
    leaves = make_leaves(size, salt)
    compact = CompactRange()
    rows = [row for value in leaves for row in compact.append(value)]
    stored = StoredNodeReader(rows)
    assert len(stored.rows) == len(rows)  # every subtree is reported exactly once
    assert [stored.rows[pos] for pos in peak_positions(size)] == list(compact.peaks)
    memory = ListNodeReader(leaves)
    tree_size = data.draw(st.integers(1, size))  # an older checkpoint of a grown log
    for index in range(tree_size):
        assert inclusion_proof(index, tree_size, stored) == inclusion_proof(
            index, tree_size, memory
        )
    for first in range(1, tree_size + 1):
        assert consistency_proof(first, tree_size, stored) == consistency_proof(
            first, tree_size, memory
        )


# --- edges and argument checks -----------------------------------------------------


def test_single_leaf_tree() -> None:
    value = leaf_hash(b"only")
    reader = ListNodeReader([value])
    assert inclusion_proof(0, 1, reader) == []
    verify_inclusion(value, 0, 1, [], value)
    assert consistency_proof(1, 1, reader) == []
    verify_consistency(1, 1, value, value, [])


@pytest.mark.parametrize(("index", "size"), [(-1, 3), (3, 3), (0, 0)])
def test_inclusion_proof_rejects_out_of_range(index: int, size: int) -> None:
    with pytest.raises(ValueError, match="outside"):
        inclusion_proof(index, size, ListNodeReader(make_leaves(3)))


@pytest.mark.parametrize(("first", "second"), [(0, 3), (0, 0), (4, 3), (-1, 3)])
def test_consistency_proof_rejects_bad_sizes(first: int, second: int) -> None:
    with pytest.raises(ValueError, match="no consistency proof"):
        consistency_proof(first, second, ListNodeReader(make_leaves(4)))


def test_verifiers_reject_wrong_hash_lengths() -> None:
    leaves = make_leaves(4)
    root = root_from_leaf_hashes(leaves)
    proof = inclusion_proof(1, 4, ListNodeReader(leaves))
    with pytest.raises(ProofError, match="leaf hash"):
        verify_inclusion(leaves[1][:31], 1, 4, proof, root)
    with pytest.raises(ProofError, match="proof element"):
        verify_inclusion(leaves[1], 1, 4, [proof[0] + b"\x00", proof[1]], root)
    with pytest.raises(ProofError, match="proof element"):
        verify_consistency(1, 4, leaves[0], root, [b"", *proof])


def test_verify_inclusion_rejects_negative_index() -> None:
    value = leaf_hash(b"x")
    with pytest.raises(ProofError, match="outside"):
        verify_inclusion(value, -1, 1, [], value)


@pytest.mark.parametrize(("start", "end"), [(0, 3), (1, 3), (2, 6), (-2, 0), (4, 4), (3, 2)])
def test_aligned_subtree_rejects_other_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="aligned"):
        aligned_subtree(start, end)


def test_aligned_subtree_keys() -> None:
    assert aligned_subtree(0, 1) == (0, 0)
    assert aligned_subtree(5, 6) == (0, 5)
    assert aligned_subtree(8, 12) == (2, 2)
    assert aligned_subtree(0, 256) == (8, 0)


def test_peak_positions() -> None:
    assert peak_positions(0) == []
    assert peak_positions(1) == [(0, 0)]
    assert peak_positions(13) == [(3, 0), (2, 2), (0, 12)]
    with pytest.raises(ValueError, match="negative"):
        peak_positions(-1)


@pytest.mark.parametrize(("start", "end"), [(0, 0), (-1, 2), (2, 1), (0, 6)])
def test_list_reader_rejects_bad_ranges(start: int, end: int) -> None:
    with pytest.raises(ValueError, match="range"):
        ListNodeReader(make_leaves(5)).subtree_hash(start, end)


def test_stored_inputs_must_be_hashes() -> None:
    with pytest.raises(ValueError, match="32 bytes"):
        ListNodeReader([b"short"])
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange().append(b"short")
    with pytest.raises(ValueError, match="32 bytes"):
        CompactRange.from_peaks(1, [b"short"])
    with pytest.raises(ValueError, match="peaks"):
        CompactRange.from_peaks(3, [leaf_hash(b"a")])
    with pytest.raises(ValueError, match="peaks"):
        CompactRange.from_peaks(-1, [])
