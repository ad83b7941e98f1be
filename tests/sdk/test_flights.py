"""``Flights``: one renewal at a time per token, and nothing kept once nobody needs it.

``PdsClient`` holds one lock per grant (and one for the client token) while it renews,
so concurrent callers share a renewal. A lock must exclude only callers of the same key,
and a long-running service touching thousands of grants must not keep a lock for each.
"""

from __future__ import annotations

import asyncio

import pytest

from connectors.sdk.flights import Flights


async def test_one_holder_per_key_at_a_time() -> None:
    flights = Flights()
    inside: list[str] = []
    order: list[str] = []
    release = asyncio.Event()

    async def renew(name: str) -> None:
        async with flights.hold("grant:1"):
            inside.append(name)
            assert len(inside) == 1, inside
            order.append(f"{name} in")
            await release.wait()
            order.append(f"{name} out")
            inside.remove(name)

    tasks = [asyncio.create_task(renew(name)) for name in ("first", "second", "third")]
    await asyncio.sleep(0.01)
    assert order == ["first in"]  # the others wait
    assert len(flights) == 1  # one lock for the key, however many wait on it
    release.set()
    await asyncio.gather(*tasks)
    assert order == ["first in", "first out", "second in", "second out", "third in", "third out"]
    assert len(flights) == 0


async def test_other_keys_do_not_wait() -> None:
    flights = Flights()
    release = asyncio.Event()

    async def hold_grant() -> None:
        async with flights.hold("grant:1"):
            await release.wait()

    held = asyncio.create_task(hold_grant())
    await asyncio.sleep(0)
    async with asyncio.timeout(1):  # would hang if one lock served every key
        async with flights.hold("grant:2"):
            assert len(flights) == 2
        async with flights.hold("client"):
            assert len(flights) == 2
    assert len(flights) == 1
    release.set()
    await held
    assert len(flights) == 0


async def test_the_table_empties_after_errors_and_cancelled_waiters() -> None:
    flights = Flights()
    with pytest.raises(RuntimeError, match="refresh failed"):
        async with flights.hold("grant:1"):
            raise RuntimeError("refresh failed")
    assert len(flights) == 0

    release = asyncio.Event()

    async def hold_grant() -> None:
        async with flights.hold("grant:1"):
            await release.wait()

    holder = asyncio.create_task(hold_grant())
    waiter = asyncio.create_task(hold_grant())
    await asyncio.sleep(0.01)
    waiter.cancel()  # a caller that gives up while waiting
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert len(flights) == 1  # still held
    release.set()
    await holder
    assert len(flights) == 0
