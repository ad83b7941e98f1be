"""The pace of the sequencer inside ``pds serve``: requests first, but never so far
ahead that the audit tree falls behind for good."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert

from pds.audit import background
from pds.audit.background import (
    CATCH_UP_REST_FACTOR,
    LAG_LIMIT,
    REST_FACTOR,
    SERVE_BATCH,
    pause,
    sequence_in_background,
)
from pds.audit.models import AuditEntry
from pds.db import utcnow
from pds.ids import uuid7

if TYPE_CHECKING:
    from pds.db import Database
    from pds.keys.provider import InMemoryKeyProvider

INTERVAL = 1.0


def test_a_batch_that_was_not_full_waits_for_the_next_turn() -> None:
    assert pause(0.004, SERVE_BATCH - 1, None, interval=INTERVAL) == INTERVAL
    assert pause(0.004, 0, None, interval=INTERVAL) == INTERVAL


def test_a_full_batch_rests_a_multiple_of_its_time_while_within_the_lag_limit() -> None:
    assert pause(0.004, SERVE_BATCH, 0.5, interval=INTERVAL) == pytest.approx(REST_FACTOR * 0.004)
    assert pause(0.004, SERVE_BATCH, None, interval=INTERVAL) == pytest.approx(REST_FACTOR * 0.004)


def test_past_the_lag_limit_the_sequencer_rests_less() -> None:
    assert pause(0.004, SERVE_BATCH, LAG_LIMIT + 1, interval=INTERVAL) == pytest.approx(
        CATCH_UP_REST_FACTOR * 0.004
    )


@given(
    took=st.floats(min_value=0, max_value=10, allow_nan=False),
    placed=st.integers(min_value=SERVE_BATCH, max_value=10 * SERVE_BATCH),
    behind=st.floats(min_value=0, max_value=3600, allow_nan=False),
)
def test_falling_further_behind_never_lengthens_the_rest(
    took: float, placed: int, behind: float
) -> None:
    within = pause(took, placed, min(behind, LAG_LIMIT), interval=INTERVAL)
    beyond = pause(took, placed, behind + LAG_LIMIT, interval=INTERVAL)

    assert 0 <= beyond <= within <= REST_FACTOR * took


class Stop(Exception):
    """Ends the otherwise endless loop at its first rest."""


async def first_rest(
    db: Database, keys: InMemoryKeyProvider, monkeypatch: pytest.MonkeyPatch
) -> tuple[tuple[Any, ...], float]:
    """The arguments the loop's first ``pause`` got, and what it returned."""
    seen: list[tuple[tuple[Any, ...], float]] = []

    def recording_pause(*args: Any, **kwargs: Any) -> float:
        rest = pause(*args, **kwargs)
        seen.append((args, rest))
        return rest

    async def stop(_seconds: float) -> None:
        raise Stop

    monkeypatch.setattr(background, "pause", recording_pause)
    monkeypatch.setattr(background.asyncio, "sleep", stop)
    with pytest.raises(Stop):
        await sequence_in_background(db, keys, "test.example/audit", interval=INTERVAL)
    [only] = seen
    return only


async def waiting_entries(db: Database, count: int, age: dt.timedelta) -> None:
    created = utcnow() - age
    rows = [
        {
            "id": uuid7(),
            "created_at": created,
            "actor": "system",
            "action": "key_rotated",
            "outcome": "allowed",
            "detail": {},
        }
        for _ in range(count)
    ]
    async with db.engine.begin() as connection:
        await connection.execute(insert(AuditEntry), rows)


@pytest.mark.parametrize(
    ("age", "factor"),
    [(dt.timedelta(seconds=LAG_LIMIT * 3), CATCH_UP_REST_FACTOR), (dt.timedelta(0), REST_FACTOR)],
    ids=["behind", "within"],
)
async def test_the_loop_rests_by_how_far_behind_the_tree_is(
    db: Database,
    keys: InMemoryKeyProvider,
    monkeypatch: pytest.MonkeyPatch,
    age: dt.timedelta,
    factor: float,
) -> None:
    await waiting_entries(db, SERVE_BATCH + 20, age)

    (took, placed, behind), rest = await first_rest(db, keys, monkeypatch)

    assert placed == SERVE_BATCH
    assert behind is not None
    assert (behind > LAG_LIMIT) is (factor == CATCH_UP_REST_FACTOR)
    assert rest == pytest.approx(factor * took)
