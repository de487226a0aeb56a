"""The one source of time: a real clock for production, a fake one for tests.

Code below the scheduler never reads the time itself; it is handed `now` by whoever
owns a `Clock`. See docs/adr/0002-clock.md.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

Disarm = Callable[[], None]


class Clock(Protocol):
    """Tells the time and sleeps; the only way tocsin code learns what time it is."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        ...

    def timestamp(self) -> float:
        """The current instant as POSIX seconds."""
        ...

    async def sleep_until(self, when: float) -> None:
        """Return once `timestamp()` has reached `when`."""
        ...

    def wake_at(self, when: float, waiter: asyncio.Future[None]) -> Disarm:
        """Resolve `waiter` once `timestamp()` has reached `when`; call the result to disarm."""
        ...


class SystemClock:
    """Wall-clock time from the operating system."""

    def now(self) -> datetime:
        """The current instant, timezone-aware UTC."""
        return datetime.now(UTC)

    def timestamp(self) -> float:
        """The current instant as POSIX seconds."""
        return time.time()

    async def sleep_until(self, when: float) -> None:
        """Sleep on the event loop until `when`."""
        delay = when - time.time()
        if delay > 0:
            await asyncio.sleep(delay)

    def wake_at(self, when: float, waiter: asyncio.Future[None]) -> Disarm:
        """One loop timer that resolves `waiter` at `when` (wall clock mapped onto the loop's clock)."""
        loop = asyncio.get_running_loop()
        return loop.call_at(loop.time() + (when - time.time()), _resolve, waiter).cancel


class FakeClock:
    """A clock that only moves when told to, so tests can fast-forward hours in milliseconds."""

    def __init__(self, start: float | datetime = 1_767_225_600.0) -> None:  # 2026-01-01T00:00Z
        self._t = start.timestamp() if isinstance(start, datetime) else float(start)
        self._sleepers: list[tuple[float, int, asyncio.Future[None]]] = []
        self._seq = itertools.count()

    def now(self) -> datetime:
        """The fake current instant."""
        return datetime.fromtimestamp(self._t, UTC)

    def timestamp(self) -> float:
        """The fake current instant as POSIX seconds."""
        return self._t

    async def sleep_until(self, when: float) -> None:
        """Wait until `advance()` moves the clock to `when` or past it."""
        if when <= self._t:
            await asyncio.sleep(0)
            return
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.wake_at(when, fut)
        await fut

    def wake_at(self, when: float, waiter: asyncio.Future[None]) -> Disarm:
        """Resolve `waiter` when `advance()` reaches `when` (on the next loop turn if it has already)."""
        if when <= self._t:
            asyncio.get_running_loop().call_soon(_resolve, waiter)
        else:
            heapq.heappush(self._sleepers, (when, next(self._seq), waiter))
        return _nothing  # a disarmed waiter is done (cancelled or resolved), and advance() skips done ones

    async def advance(self, seconds: float) -> None:
        """Move time forward, waking each sleeper at its own instant, in order."""
        target = self._t + seconds
        await _settle()  # let runnable tasks reach their sleep before time moves
        while self._sleepers and self._sleepers[0][0] <= target:
            when, _, fut = heapq.heappop(self._sleepers)
            self._t = max(self._t, when)
            if not fut.done():
                fut.set_result(None)
            await _settle()
        self._t = target
        await _settle()

    async def set(self, when: float | datetime) -> None:
        """Jump to an absolute instant (never backwards)."""
        t = when.timestamp() if isinstance(when, datetime) else float(when)
        await self.advance(max(0.0, t - self._t))

    def pending(self) -> int:
        """How many tasks are asleep on this clock."""
        return sum(1 for _, _, f in self._sleepers if not f.done())


async def _settle(rounds: int = 20) -> None:
    """Give woken tasks a few loop turns to run before time moves again."""
    for _ in range(rounds):
        await asyncio.sleep(0)


class Signal:
    """A wake-up flag for a background loop: `set()` wakes whoever waits, `clear()` re-arms it.

    It behaves like `asyncio.Event`, but `sleep_until_or` waits on it with one future and one
    timer instead of two tasks and `asyncio.wait`: the check scheduler sleeps on it up to 200
    times a second, where the two tasks cost 20-45 µs per check (bench/RESULTS.md).
    """

    __slots__ = ("_flag", "_waiters")

    def __init__(self) -> None:
        self._flag = False
        self._waiters: list[asyncio.Future[None]] = []

    def is_set(self) -> bool:
        """Whether `set()` was called since the last `clear()`."""
        return self._flag

    def set(self) -> None:
        """Raise the flag and wake every waiter."""
        self._flag = True
        waiters, self._waiters = self._waiters, []
        for waiter in waiters:
            _resolve(waiter)

    def clear(self) -> None:
        """Lower the flag; waiters sleep until the next `set()`."""
        self._flag = False

    async def wait(self) -> None:
        """Return at once if the flag is up, else when `set()` is next called."""
        if self._flag:
            return
        waiter = asyncio.get_running_loop().create_future()
        self._listen(waiter)
        try:
            await waiter
        finally:
            self._forget(waiter)

    def _listen(self, waiter: asyncio.Future[None]) -> None:
        self._waiters.append(waiter)

    def _forget(self, waiter: asyncio.Future[None]) -> None:
        if waiter in self._waiters:  # still listed only when woken by something else, or cancelled
            self._waiters.remove(waiter)


async def wait_or_timeout(wake: Signal, timeout: float | None) -> None:
    """Wait until `wake` is set, or for `timeout` seconds of the loop's own time (None: no limit).

    For loops whose timers are not domain time (the store writer's linger): one future and one
    loop timer, where `asyncio.wait_for(event.wait(), timeout)` creates a task per wait.
    """
    if wake.is_set():
        return
    loop = asyncio.get_running_loop()
    waiter = loop.create_future()
    timer = None if timeout is None else loop.call_later(timeout, _resolve, waiter)
    wake._listen(waiter)
    try:
        await waiter
    finally:
        if timer is not None:
            timer.cancel()
        wake._forget(waiter)


async def sleep_until_or(clock: Clock, when: float, wake: Signal) -> None:
    """Sleep until `when` on `clock`, or until `wake` is set, whichever comes first."""
    if wake.is_set():
        return
    waiter = asyncio.get_running_loop().create_future()
    disarm = clock.wake_at(when, waiter)
    wake._listen(waiter)
    try:
        await waiter
    finally:
        disarm()
        wake._forget(waiter)


def _resolve(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _nothing() -> None:
    return None
