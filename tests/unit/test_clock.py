"""FakeClock: sleepers wake in order at their own instants."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

import pytest

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
    from tocsin.clock import Signal, sleep_until_or

    clock = FakeClock(0.0)
    wake = Signal()
    timed = asyncio.create_task(sleep_until_or(clock, 10.0, wake))
    await clock.advance(10.0)
    await asyncio.wait_for(timed, 1)  # woke at its instant
    early = asyncio.create_task(sleep_until_or(clock, 100.0, wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(early, 1)  # woke by the event long before its instant
    assert clock.timestamp() == 10.0


async def test_sleep_until_or_on_the_system_clock_leaves_no_waiter_behind() -> None:
    from tocsin.clock import Signal, sleep_until_or

    clock, wake = SystemClock(), Signal()
    started = clock.timestamp()
    await asyncio.wait_for(sleep_until_or(clock, started + 0.02, wake), 1)
    assert clock.timestamp() >= started + 0.02
    early = asyncio.create_task(sleep_until_or(clock, started + 60, wake))
    await asyncio.sleep(0)
    wake.set()
    await asyncio.wait_for(early, 1)  # the event, not the minute-long timer
    assert wake._waiters == []
    await asyncio.wait_for(sleep_until_or(clock, started + 60, wake), 1)  # still set: returns at once
    wake.clear()
    cancelled = asyncio.create_task(sleep_until_or(clock, started + 60, wake))
    await asyncio.sleep(0)
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled
    assert wake._waiters == []  # a cancelled sleeper is forgotten, so set() does not pile up futures


async def test_signal_wakes_every_waiter_and_stays_set_until_cleared() -> None:
    from tocsin.clock import Signal

    signal = Signal()
    waiters = [asyncio.create_task(signal.wait()) for _ in range(3)]
    await asyncio.sleep(0)
    assert not any(w.done() for w in waiters)
    signal.set()
    await asyncio.wait_for(asyncio.gather(*waiters), 1)
    assert signal.is_set()
    await asyncio.wait_for(signal.wait(), 1)  # set: no wait
    signal.clear()
    late = asyncio.create_task(signal.wait())
    await asyncio.sleep(0.01)
    assert not late.done()
    signal.set()
    await asyncio.wait_for(late, 1)


async def test_fake_clock_wake_at_resolves_in_order_and_at_once_when_due() -> None:
    from tocsin.clock import Signal, sleep_until_or

    clock, wake = FakeClock(0.0), Signal()
    woke: list[float] = []

    async def sleeper(when: float) -> None:
        await sleep_until_or(clock, when, wake)
        woke.append(clock.timestamp())

    tasks = [asyncio.create_task(sleeper(t)) for t in (30.0, 10.0, 0.0)]
    for _ in range(5):
        await asyncio.sleep(0)
    assert woke == [0.0]  # already due: the next loop turn
    await clock.advance(60.0)
    await asyncio.gather(*tasks)
    assert woke == [0.0, 10.0, 30.0]
    assert clock.pending() == 0
