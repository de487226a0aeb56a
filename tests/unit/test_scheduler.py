"""The scheduler on a fake clock: slots, spreading, no overlap, missed runs, lag, reload."""

from __future__ import annotations

import asyncio
import itertools

import pytest

from tocsin.checks.scheduler import Scheduler
from tocsin.checks.slots import next_slot, offset, skipped
from tocsin.clock import FakeClock


@pytest.mark.parametrize(
    ("name", "interval", "after"),
    [("api", 30.0, 1000.0), ("db", 10.0, 0.0), ("x" * 100, 3600.0, 1e9)],
)
def test_next_slot_is_on_grid_and_not_before(name: str, interval: float, after: float) -> None:
    slot = next_slot(name, interval, after)
    assert after <= slot < after + interval  # the first slot at or after `after`
    assert (slot - offset(name, interval)) / interval == pytest.approx(
        round((slot - offset(name, interval)) / interval)
    )


def test_offsets_spread_evenly() -> None:
    """1000 monitors on a 10 s interval fill all ten 1-second buckets roughly equally."""
    buckets = [0] * 10
    for i in range(1000):
        buckets[int(offset(f"monitor-{i}", 10.0))] += 1
    assert min(buckets) > 60
    assert max(buckets) < 140


def test_offset_is_stable() -> None:
    assert offset("api", 30.0) == offset("api", 30.0)
    assert offset("api", 30.0) != offset("web", 30.0)


def test_skipped() -> None:
    assert skipped(100.0, 10.0, 105.0) == 0  # not a whole slot late
    assert skipped(100.0, 10.0, 131.0) == 3  # three slots passed


async def _run_for(clock: FakeClock, scheduler: Scheduler, seconds: float) -> None:
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    await clock.advance(seconds)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_runs_each_monitor_on_its_interval() -> None:
    clock = FakeClock(1000.0)
    runs: list[tuple[str, float]] = []

    async def check(name: str, due: float) -> None:
        runs.append((name, due))

    scheduler = Scheduler(clock, check, max_concurrency=10)
    scheduler.set_monitors({"a": 10.0, "b": 30.0})
    await _run_for(clock, scheduler, 60.0)
    a_runs = [due for name, due in runs if name == "a"]
    b_runs = [due for name, due in runs if name == "b"]
    assert len(a_runs) == 6
    assert len(b_runs) == 2
    assert all(y - x == pytest.approx(10.0) for x, y in itertools.pairwise(a_runs))
    assert scheduler.stats.missed == 0


async def test_a_check_never_overlaps_itself_and_counts_missed_runs() -> None:
    clock = FakeClock(0.0)
    release = asyncio.Event()
    concurrent = 0
    peak = 0

    async def slow(name: str, due: float) -> None:
        nonlocal concurrent, peak
        concurrent += 1
        peak = max(peak, concurrent)
        await release.wait()
        concurrent -= 1

    scheduler = Scheduler(clock, slow, max_concurrency=10)
    scheduler.set_monitors({"slow": 10.0})
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    await clock.advance(45.0)  # the first run hangs across four more slots
    assert peak == 1
    assert scheduler.stats.missed >= 3
    release.set()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_concurrency_bound_and_lag_observed() -> None:
    clock = FakeClock(0.0)
    gate = asyncio.Event()
    lags: list[float] = []
    running = 0
    peak = 0

    async def check(name: str, due: float) -> None:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await gate.wait()
        running -= 1

    scheduler = Scheduler(clock, check, max_concurrency=3)
    scheduler.stats.lag_observer = lags.append
    scheduler.set_monitors({f"m{i}": 5.0 for i in range(10)})
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    await clock.advance(5.0)
    assert peak == 3  # the global bound holds
    gate.set()
    for _ in range(20):
        await asyncio.sleep(0)
    assert scheduler.stats.started == 10
    assert all(lag >= 0 for lag in lags)
    assert len(lags) == 10
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_reload_keeps_slots_adds_and_removes() -> None:
    clock = FakeClock(0.0)
    runs: list[tuple[str, float]] = []

    async def check(name: str, due: float) -> None:
        runs.append((name, due))

    scheduler = Scheduler(clock, check, max_concurrency=10)
    scheduler.set_monitors({"keep": 10.0, "gone": 10.0})
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    await clock.advance(20.0)
    scheduler.set_monitors({"keep": 10.0, "new": 10.0})
    await clock.advance(20.0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert not [r for r in runs if r[0] == "gone" and r[1] > 20.0]  # removed monitors stop
    assert [r for r in runs if r[0] == "new"]  # added monitors start
    keep = [due for name, due in runs if name == "keep"]
    assert all((d - offset("keep", 10.0)) % 10.0 == pytest.approx(0.0, abs=1e-6) for d in keep)  # same grid


async def test_trigger_runs_once_without_duplicating_the_schedule() -> None:
    clock = FakeClock(0.0)
    runs: list[str] = []

    async def check(name: str, due: float) -> None:
        runs.append(name)

    scheduler = Scheduler(clock, check, max_concurrency=10)
    scheduler.set_monitors({"hb": 10.0})
    task = asyncio.create_task(scheduler.run())
    await asyncio.sleep(0)
    await clock.advance(10.0)
    before = len(runs)
    scheduler.trigger("hb")
    await clock.advance(0.001)
    assert len(runs) == before + 1
    await clock.advance(30.0)
    assert len(runs) == before + 1 + 3  # still one run per interval afterwards
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task


async def test_a_crashing_check_does_not_stop_the_scheduler() -> None:
    clock = FakeClock(0.0)
    calls = 0

    async def boom(name: str, due: float) -> None:
        nonlocal calls
        calls += 1
        raise RuntimeError("probe bug")

    scheduler = Scheduler(clock, boom, max_concurrency=10)
    scheduler.set_monitors({"x": 10.0})
    await _run_for(clock, scheduler, 35.0)
    assert calls >= 3
