"""UUIDv7 identifiers (RFC 9562 §5.7).

Python 3.11 has no ``uuid.uuid7``; time-ordered keys keep B-tree inserts local and
make ids sort by creation, which the audit log and cursors rely on.
"""

from __future__ import annotations

import os
import threading
import time
import uuid

_lock = threading.Lock()
_last_ms = 0
_counter = 0


def uuid7() -> uuid.UUID:
    """A new UUIDv7, monotonic within this process even inside one millisecond.

    Uses the 12-bit ``rand_a`` field as a counter (RFC 9562 §6.2, method 1) so ids
    made in the same millisecond still sort in creation order.
    """
    global _last_ms, _counter  # noqa: PLW0603 - process-wide monotonic clock state
    with _lock:
        now_ms = time.time_ns() // 1_000_000
        if now_ms <= _last_ms:
            _counter += 1
            if _counter > 0xFFF:
                _last_ms += 1
                _counter = 0
            now_ms = _last_ms
        else:
            _last_ms = now_ms
            _counter = 0
        counter = _counter
    rand_b = int.from_bytes(os.urandom(8), "big") & ((1 << 62) - 1)
    value = (now_ms & ((1 << 48) - 1)) << 80
    value |= 0x7 << 76
    value |= counter << 64
    value |= 0b10 << 62
    value |= rand_b
    return uuid.UUID(int=value)
