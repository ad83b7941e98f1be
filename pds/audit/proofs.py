"""Checkpoints and RFC 9162 proofs served from the stored perfect subtrees.

Proof generation is pure (``pds.audit.merkle``) and asks a reader for aligned
subtrees. A first dry pass records which (level, index) nodes a proof needs,
one query fetches exactly those, and a second pass builds the proof: O(log n)
rows and a single round trip, however large the log.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import and_, bindparam, or_, select

from pds.audit.merkle import HASH_SIZE, aligned_subtree, consistency_proof, inclusion_proof
from pds.audit.models import AuditCheckpoint, AuditEntry, AuditNode
from pds.errors import InvalidInput, NotFound

if TYPE_CHECKING:
    from collections.abc import Callable, Collection, Iterator

    from sqlalchemy import Connection, Select
    from sqlalchemy.ext.asyncio import AsyncSession

    from pds.audit.merkle import NodeReader

_PLACEHOLDER = bytes(HASH_SIZE)


class NoCheckpoint(NotFound):
    code = "no_checkpoint"


class TreeSizeUnknown(InvalidInput):
    code = "tree_size_unknown"


class IndexOutOfRange(InvalidInput):
    code = "index_out_of_range"


@dataclass(frozen=True, slots=True)
class InclusionProof:
    index: int
    tree_size: int
    leaf: bytes
    hashes: list[bytes]


class _Recorder:
    """A reader that notes what is asked and answers with placeholders."""

    def __init__(self) -> None:
        self.wanted: set[tuple[int, int]] = set()

    def subtree_hash(self, start: int, end: int) -> bytes:
        self.wanted.add(aligned_subtree(start, end))
        return _PLACEHOLDER


class _Fetched:
    def __init__(self, nodes: dict[tuple[int, int], bytes]) -> None:
        self._nodes = nodes

    def subtree_hash(self, start: int, end: int) -> bytes:
        return self._nodes[aligned_subtree(start, end)]


_NODES_PER_QUERY = 100  # keeps the OR chain well inside SQLite's expression depth


@functools.cache
def _nodes_at(count: int) -> Select[int, int, bytes]:
    """``count`` primary-key lookups in one statement, built once per count.

    Not ``tuple_(level, index).in_(...)``: SQLite renders that as
    ``IN (VALUES ...)`` and scans the whole table, which made proofs linear in
    the size of the log (see benchmarks/audit.py); OR'd key pairs are index
    seeks on both databases.
    """
    return select(AuditNode.level, AuditNode.index, AuditNode.hash).where(
        or_(
            *(
                and_(AuditNode.level == bindparam(f"l{n}"), AuditNode.index == bindparam(f"i{n}"))
                for n in range(count)
            )
        )
    )


def _node_queries(
    positions: Collection[tuple[int, int]],
) -> Iterator[tuple[Select[int, int, bytes], dict[str, int]]]:
    ordered = sorted(positions)
    for start in range(0, len(ordered), _NODES_PER_QUERY):
        chunk = ordered[start : start + _NODES_PER_QUERY]
        params: dict[str, int] = {}
        for n, (level, index) in enumerate(chunk):
            params[f"l{n}"], params[f"i{n}"] = level, index
        yield _nodes_at(len(chunk)), params


async def read_nodes(
    session: AsyncSession, positions: Collection[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """Stored perfect subtrees by (level, index), a bounded batch per query."""
    nodes: dict[tuple[int, int], bytes] = {}
    for query, params in _node_queries(positions):
        rows = await session.execute(query, params)
        nodes.update({(level, index): node for level, index, node in rows})
    return nodes


def read_nodes_on(
    connection: Connection, positions: Collection[tuple[int, int]]
) -> dict[tuple[int, int], bytes]:
    """``read_nodes`` over a blocking ``Connection`` (the sequencer's batch)."""
    nodes: dict[tuple[int, int], bytes] = {}
    for query, params in _node_queries(positions):
        nodes.update(
            {(level, index): node for level, index, node in connection.execute(query, params)}
        )
    return nodes


async def _fetch(session: AsyncSession, wanted: set[tuple[int, int]]) -> _Fetched:
    return _Fetched(await read_nodes(session, wanted))


async def _prove(session: AsyncSession, build: Callable[[NodeReader], list[bytes]]) -> list[bytes]:
    recorder = _Recorder()
    build(recorder)
    if not recorder.wanted:
        return []
    return build(await _fetch(session, recorder.wanted))


async def inclusion_paths(
    session: AsyncSession, indexes: Collection[int], tree_size: int
) -> dict[int, list[bytes]]:
    """Audit paths for many leaves of one tree with one node query (per 500 nodes),
    for pages such as a citizen's access log that show a proof on every line."""
    recorder = _Recorder()
    for index in indexes:
        inclusion_proof(index, tree_size, recorder)
    reader = await _fetch(session, recorder.wanted) if recorder.wanted else _Fetched({})
    return {index: inclusion_proof(index, tree_size, reader) for index in indexes}


async def latest_checkpoint(session: AsyncSession) -> AuditCheckpoint:
    checkpoint = await session.scalar(
        select(AuditCheckpoint).order_by(AuditCheckpoint.tree_size.desc()).limit(1)
    )
    if checkpoint is None:
        raise NoCheckpoint("The audit log has no checkpoint yet.")
    return checkpoint


async def checkpoint_at(session: AsyncSession, tree_size: int) -> AuditCheckpoint:
    """The signed checkpoint for exactly this size; proofs are only served against one."""
    checkpoint = await session.scalar(
        select(AuditCheckpoint).where(AuditCheckpoint.tree_size == tree_size)
    )
    if checkpoint is None:
        raise TreeSizeUnknown(
            f"No checkpoint has tree size {tree_size}; use the size of a published checkpoint."
        )
    return checkpoint


async def prove_inclusion(session: AsyncSession, index: int, tree_size: int) -> InclusionProof:
    """The leaf at ``index`` and its audit path to the checkpoint of ``tree_size``."""
    await checkpoint_at(session, tree_size)
    if not 0 <= index < tree_size:
        raise IndexOutOfRange(f"Index {index} is not in a tree of size {tree_size}.")
    leaf = await session.scalar(select(AuditEntry.leaf).where(AuditEntry.leaf_index == index))
    if leaf is None:  # pragma: no cover - a checkpoint implies every index below it exists
        raise IndexOutOfRange(f"Index {index} has not been sequenced.")
    hashes = await _prove(session, lambda reader: inclusion_proof(index, tree_size, reader))
    return InclusionProof(index=index, tree_size=tree_size, leaf=leaf, hashes=hashes)


async def prove_consistency(session: AsyncSession, first: int, second: int) -> list[bytes]:
    """RFC 9162 consistency proof between two published checkpoints."""
    await checkpoint_at(session, first)
    await checkpoint_at(session, second)
    if not 0 < first <= second:
        raise InvalidInput("Give 0 < first <= second.")
    return await _prove(session, lambda reader: consistency_proof(first, second, reader))
