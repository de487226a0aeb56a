"""Runs each monitor on its interval from a stable offset, bounded, never overlapping itself.

The loop reads the clock once per wake-up and hands `due` to the check; everything below
works from that. Why a heap and not one task per monitor: 10k sleeping tasks cost memory
and wake-ups; one heap pops exactly what is due.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import math
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field

from tocsin.checks.slots import next_slot, skipped
from tocsin.clock import Clock, Signal, sleep_until_or

log = logging.getLogger(__name__)

RunCheck = Callable[[str, float], Awaitable[None]]
WAKE_GRID = 0.005  # seconds


@dataclass(slots=True)
class SchedulerStats:
    """Counters the metrics endpoint reads."""

    started: int = 0
    missed: int = 0
    running: int = 0
    lag_observer: Callable[[float], None] | None = None
    missed_observer: Callable[[int], None] | None = None
    missed_by_monitor: dict[str, int] = field(default_factory=dict)


class Scheduler:
    """Pops due monitors from a heap and runs their checks under a global concurrency bound."""

    def __init__(self, clock: Clock, run_check: RunCheck, max_concurrency: int) -> None:
        self._clock = clock
        self._run_check = run_check
        self._max_concurrency = max_concurrency
        # Checks over the bound wait here, not as tasks blocked on a semaphore: Python 3.11's
        # Semaphore scans its waiters on every acquire, quadratic with thousands queued.
        self._ready: deque[tuple[str, float]] = deque()
        self._intervals: dict[str, float] = {}
        # (due, seq, name, recurring): one recurring entry per monitor, plus one-off triggers.
        self._heap: list[tuple[float, int, str, bool]] = []
        self._seq = itertools.count()
        self._running: set[str] = set()
        self._tasks: set[asyncio.Task[None]] = set()
        self._changed = Signal()
        self.stats = SchedulerStats()

    def set_monitors(self, intervals: dict[str, float]) -> None:
        """Replace the schedule; monitors whose interval is unchanged keep their slot."""
        now = self._clock.timestamp()
        old = self._intervals
        self._intervals = dict(intervals)
        kept = [e for e in self._heap if old.get(e[2]) == self._intervals.get(e[2])]
        known = {e[2] for e in kept if e[3]}
        for name, interval in self._intervals.items():
            if name not in known:
                kept.append((next_slot(name, interval, now), next(self._seq), name, True))
        heapq.heapify(kept)
        self._heap = kept
        self._changed.set()

    def trigger(self, name: str) -> None:
        """Run a monitor as soon as possible (e.g. a heartbeat ping after a failure)."""
        if name in self._intervals:
            heapq.heappush(self._heap, (self._clock.timestamp(), next(self._seq), name, False))
            self._changed.set()

    async def run(self) -> None:
        """The scheduling loop; cancel the task to stop it."""
        try:
            while True:
                self._launch_due(self._clock.timestamp())
                await self._wait_for_next()
        finally:
            await self._cancel_running()

    def _launch_due(self, now: float) -> None:
        while self._heap and self._heap[0][0] <= now:
            due, _, name, recurring = heapq.heappop(self._heap)
            interval = self._intervals.get(name)
            if interval is None:
                continue  # removed by a reload
            if recurring:
                self._schedule_next(name, due, interval, now)
            if name in self._running:
                self._count_missed(name, 1)
                continue
            self._start(name, due)

    def _schedule_next(self, name: str, due: float, interval: float, now: float) -> None:
        following = next_slot(name, interval, due + interval * 0.5)
        late = skipped(following, interval, now)
        if late:
            self._count_missed(name, late)
            following += late * interval
        heapq.heappush(self._heap, (following, next(self._seq), name, True))

    def _count_missed(self, name: str, count: int) -> None:
        self.stats.missed += count
        if self.stats.missed_observer is not None:
            self.stats.missed_observer(count)
        self.stats.missed_by_monitor[name] = self.stats.missed_by_monitor.get(name, 0) + count

    def _start(self, name: str, due: float) -> None:
        self._running.add(name)
        if len(self._tasks) >= self._max_concurrency:
            self._ready.append((name, due))
            return
        self._spawn(name, due)

    def _spawn(self, name: str, due: float) -> None:
        task = asyncio.create_task(self._guarded(name, due), name=f"check:{name}")
        self._tasks.add(task)
        task.add_done_callback(self._finished)

    def _finished(self, task: asyncio.Task[None]) -> None:
        self._tasks.discard(task)
        if self._ready and len(self._tasks) < self._max_concurrency:
            self._spawn(*self._ready.popleft())

    async def _guarded(self, name: str, due: float) -> None:
        self.stats.started += 1
        self.stats.running += 1
        if self.stats.lag_observer is not None:
            self.stats.lag_observer(max(0.0, self._clock.timestamp() - due))
        try:
            await self._run_check(name, due)
        except asyncio.CancelledError:
            raise
        except Exception:  # a broken check must never stop the scheduler
            log.exception("check %s crashed", name)
        finally:
            self.stats.running -= 1
            self._running.discard(name)

    async def _wait_for_next(self) -> None:
        self._changed.clear()
        if not self._heap:
            await self._changed.wait()
            return
        # Wake on a 5 ms grid: checks due within the same few milliseconds start together,
        # so 1000 checks/s cost ~200 wake-ups instead of 1000 (lag grows by at most 5 ms).
        await sleep_until_or(self._clock, math.ceil(self._heap[0][0] / WAKE_GRID) * WAKE_GRID, self._changed)

    async def _cancel_running(self) -> None:
        self._ready.clear()
        for task in list(self._tasks):
            task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.gather(*self._tasks, return_exceptions=True)

    async def drain(self) -> None:
        """Wait for the checks that are running or queued now (tests and shutdown use it)."""
        while self._tasks:
            await asyncio.gather(*list(self._tasks), return_exceptions=True)
