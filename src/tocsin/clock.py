"""The one source of time: a real clock for production, a fake one for tests.

Code below the scheduler never reads the time itself; it is handed `now` by whoever
owns a `Clock`. See docs/adr/0002-clock.md.
"""

from __future__ import annotations

import asyncio
import heapq
import itertools
import time
from datetime import UTC, datetime
from typing import Protocol


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
        heapq.heappush(self._sleepers, (when, next(self._seq), fut))
        await fut

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


async def sleep_until_or(clock: Clock, when: float, wake: asyncio.Event) -> None:
    """Sleep until `when` on `clock`, or until `wake` is set, whichever comes first."""
    sleeper = asyncio.ensure_future(clock.sleep_until(when))
    woken = asyncio.ensure_future(wake.wait())
    try:
        await asyncio.wait({sleeper, woken}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for fut in (sleeper, woken):
            fut.cancel()
