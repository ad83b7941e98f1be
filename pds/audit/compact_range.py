"""The log's right edge as the sequencer keeps it: O(log n) peaks, not the whole tree.

Hashing is ``pds.audit.merkle``'s (the one place it can be wrong); this is the state a
writer carries from one entry to the next, and what it reports for storage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from pds.audit.merkle import EMPTY_ROOT, node_hash, require_stored_hash

if TYPE_CHECKING:
    from collections.abc import Sequence

__all__ = ["CompactRange"]


class CompactRange:
    """The log's right edge: the roots of the perfect subtrees covering ``[0, size)``.

    The sequencer keeps only these O(log n) peaks to compute each new root, and
    persists what ``append`` reports so proofs can later be served from storage.
    """

    __slots__ = ("_peaks", "_size")

    def __init__(self) -> None:
        self._size = 0
        self._peaks: list[bytes] = []

    @classmethod
    def from_peaks(cls, size: int, peaks: Sequence[bytes]) -> CompactRange:
        """Resume from storage; ``peaks`` are the hashes at ``peak_positions(size)``, in order."""
        if size < 0 or len(peaks) != size.bit_count():
            msg = f"a tree of size {size} has {max(size, 0).bit_count()} peaks, got {len(peaks)}"
            raise ValueError(msg)
        for peak in peaks:
            require_stored_hash(peak)
        resumed = cls()
        resumed._size = size
        resumed._peaks = list(peaks)
        return resumed

    @property
    def size(self) -> int:
        """Number of leaves appended so far."""
        return self._size

    @property
    def peaks(self) -> tuple[bytes, ...]:
        """Peak hashes, largest (leftmost) first, matching ``peak_positions(size)``."""
        return tuple(self._peaks)

    def append(self, leaf_hash: bytes) -> list[tuple[int, int, bytes]]:
        """Add one leaf; return every subtree this completes, as ``(level, index, hash)``.

        The leaf itself comes first as level 0, then each parent it completes.
        Subtree ``(level, index)`` covers leaves ``[index << level, (index + 1) << level)``;
        storing all of them lets a ``NodeReader`` answer any aligned request.
        """
        require_stored_hash(leaf_hash)
        level, index, node = 0, self._size, leaf_hash
        completed = [(level, index, node)]
        while index & 1:
            node = node_hash(self._peaks.pop(), node)
            level, index = level + 1, index >> 1
            completed.append((level, index, node))
        self._peaks.append(node)
        self._size += 1
        return completed

    def root(self) -> bytes:
        """MTH of the whole range: fold the peaks right to left, as the RFC split does."""
        if not self._peaks:
            return EMPTY_ROOT
        acc = self._peaks[-1]
        for peak in reversed(self._peaks[:-1]):
            acc = node_hash(peak, acc)
        return acc
