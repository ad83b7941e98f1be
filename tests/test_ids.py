"""UUIDv7 (RFC 9562 §5.7): layout, and creation order even when the clock misbehaves."""

from __future__ import annotations

import time
import types
import uuid
from itertools import pairwise

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pds import ids
from pds.ids import uuid7

FROZEN_MS = 1_790_000_000_000  # a fixed instant in 2026


def timestamp_ms(value: uuid.UUID) -> int:
    return value.int >> 80


def counter(value: uuid.UUID) -> int:
    return (value.int >> 64) & 0xFFF


def make_in_order(count: int) -> list[uuid.UUID]:
    return [uuid7() for _ in range(count)]


def assert_strictly_increasing(values: list[uuid.UUID]) -> None:
    assert all(a < b for a, b in pairwise(values))
    # Databases compare the 16 bytes; they must sort the same way as the integers.
    assert all(a.bytes < b.bytes for a, b in pairwise(values))


@pytest.fixture
def clock(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Milliseconds the generator will read, in order; its state starts from scratch."""
    readings: list[int] = []
    monkeypatch.setattr(ids, "_last_ms", 0)
    monkeypatch.setattr(ids, "_counter", 0)
    monkeypatch.setattr(ids, "time", types.SimpleNamespace(time_ns=lambda: readings.pop(0)))
    return readings


def test_version_and_variant_bits() -> None:
    for value in make_in_order(1000):
        assert value.version == 7
        assert value.variant == uuid.RFC_4122
        assert (value.int >> 76) & 0xF == 0x7
        assert (value.int >> 62) & 0b11 == 0b10


def test_the_timestamp_is_the_creation_time_in_milliseconds(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # From a fresh state: earlier bursts may have borrowed a few milliseconds ahead.
    monkeypatch.setattr(ids, "_last_ms", 0)
    before = time.time_ns() // 1_000_000
    value = uuid7()
    after = time.time_ns() // 1_000_000

    assert before <= timestamp_ms(value) <= after


def test_ten_thousand_in_a_row_are_unique_and_in_creation_order() -> None:
    values = make_in_order(10_000)

    assert len(set(values)) == len(values)
    assert_strictly_increasing(values)


def test_ids_made_within_one_millisecond_count_up(clock: list[int]) -> None:
    clock.extend([FROZEN_MS * 1_000_000] * 3)

    values = make_in_order(3)

    assert [timestamp_ms(v) for v in values] == [FROZEN_MS] * 3
    assert [counter(v) for v in values] == [0, 1, 2]


def test_counter_overflow_borrows_the_next_millisecond(clock: list[int]) -> None:
    # 4096 ids fit in one millisecond's 12-bit counter; the next one moves on.
    clock.extend([FROZEN_MS * 1_000_000] * 4097)

    values = make_in_order(4097)

    assert_strictly_increasing(values)
    assert timestamp_ms(values[4095]) == FROZEN_MS
    assert counter(values[4095]) == 0xFFF
    assert timestamp_ms(values[4096]) == FROZEN_MS + 1
    assert counter(values[4096]) == 0


def test_a_clock_stepping_backwards_does_not_reorder_ids(clock: list[int]) -> None:
    clock.extend(ms * 1_000_000 for ms in (FROZEN_MS, FROZEN_MS - 1000, FROZEN_MS + 1))

    values = make_in_order(3)

    assert_strictly_increasing(values)
    assert [timestamp_ms(v) for v in values] == [FROZEN_MS, FROZEN_MS, FROZEN_MS + 1]


@given(steps=st.lists(st.integers(min_value=-5, max_value=5), min_size=2, max_size=200))
def test_ids_are_strictly_increasing_whatever_the_clock_does(steps: list[int]) -> None:
    readings: list[int] = []
    now = FROZEN_MS
    for step in steps:
        now += step
        readings.append(now * 1_000_000)
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(ids, "_last_ms", 0)
        patch.setattr(ids, "_counter", 0)
        patch.setattr(ids, "time", types.SimpleNamespace(time_ns=lambda: readings.pop(0)))
        values = make_in_order(len(steps))

    assert_strictly_increasing(values)
    assert all(v.version == 7 and v.variant == uuid.RFC_4122 for v in values)
