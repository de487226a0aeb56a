"""FakeClock: sleepers wake in order at their own instants."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from tocsin.clock import FakeClock, SystemClock


async def test_sleepers_wake_in_order_at_their_instant() -> None:
    clock = FakeClock(100.0)
    woke: list[tuple[str, float]] = []

    async def sleeper(name: str, until: float) -> None:
        await clock.sleep_until(until)
        woke.append((name, clock.timestamp()))

    tasks = [asyncio.create_task(sleeper("late", 130.0)), asyncio.create_task(sleeper("early", 110.0))]
    await clock.advance(20.0)
    assert woke == [("early", 110.0)]  # the late one is still asleep
    assert clock.timestamp() == 120.0
    await clock.advance(20.0)
    assert woke == [("early", 110.0), ("late", 130.0)]
    await asyncio.gather(*tasks)


async def test_set_and_now_are_utc() -> None:
    clock = FakeClock(datetime(2026, 3, 29, 0, 30, tzinfo=UTC))
    await clock.set(datetime(2026, 3, 29, 1, 30, tzinfo=UTC))
    assert clock.now() == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)
    await clock.set(0.0)  # never backwards
    assert clock.now() == datetime(2026, 3, 29, 1, 30, tzinfo=UTC)


async def test_sleep_in_the_past_returns_at_once() -> None:
    clock = FakeClock(100.0)
    await asyncio.wait_for(clock.sleep_until(50.0), 1)
    assert clock.pending() == 0


async def test_system_clock_is_utc_and_sleeps() -> None:
    clock = SystemClock()
    assert clock.now().tzinfo is UTC
    await asyncio.wait_for(clock.sleep_until(clock.timestamp() + 0.01), 1)


async def test_sleep_until_or_wakes_on_time_or_event() -> None:
    from tocsin.clock import sleep_until_or

    clock = FakeClock(0.0)
    wake = asyncio.Event()
    timed = asyncio.create_task(sleep_until_or(clock, 10.0, wake))
    await clock.advance(10.0)
    await asyncio.wait_for(timed, 1)  # woke at its instant
    early = asyncio.create_task(sleep_until_or(clock, 100.0, wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(early, 1)  # woke by the event long before its instant
    assert clock.timestamp() == 10.0
