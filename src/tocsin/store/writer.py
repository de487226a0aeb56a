"""The single writer task: batches result writes into one transaction and runs other writes in order.

Why one task: SQLite allows one writer at a time, and a transaction per result costs ~30x a
row in a batch. Funnelling every write through one task means tocsin never contends with
itself for the write lock, batches form naturally under load, and a batch is one
transaction, so a crash leaves all of it or none of it. PostgreSQL runs the same code; its
nodes write concurrently with each other, each through its own writer.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import time
from collections import deque
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncConnection

from tocsin.clock import Signal, wait_or_timeout
from tocsin.store.database import Database
from tocsin.store.direct import DbapiWork

log = logging.getLogger("tocsin.store")

T = TypeVar("T")
R = TypeVar("R")
CommitWork = Callable[[list[T]], DbapiWork[None]]  # a batch's transaction as one-trip DB-API work (direct.py)
Job = Callable[[AsyncConnection], Awaitable[R]]
OnBatch = Callable[[int, float], None]
RESTART_DELAY = 1.0  # seconds between a writer loop's failure and its next start


class StoreClosed(RuntimeError):
    """A write was attempted after `close()`."""


@dataclass(slots=True)
class _Chunk(Generic[T]):
    """The items of one enqueue/write call; never split across batches, so it commits whole."""

    items: Sequence[T]
    queued_at: float
    done: asyncio.Future[None] | None = None


@dataclass(slots=True)
class _Pending(Generic[T]):
    chunks: deque[_Chunk[T]] = field(default_factory=deque)
    rows: int = 0
    urgent: int = 0  # chunks somebody awaits: they end the linger early
    jobs: deque[tuple[Job[Any] | _Dbapi[Any], asyncio.Future[Any]]] = field(default_factory=deque)


@dataclass(frozen=True, slots=True)
class _Dbapi(Generic[R]):
    """A job for `Database.run_dbapi` rather than an SQLAlchemy transaction."""

    make: Callable[[], DbapiWork[R]]
    inline: Callable[[], bool] | None  # asked after `make`: whether the work is small enough to run inline


class Writer(Generic[T]):
    """Owns every write to the database; see the module docstring for why there is one."""

    def __init__(
        self,
        db: Database,
        commit: CommitWork[T],
        *,
        max_batch: int = 1000,
        max_delay: float = 0.5,
        on_batch: OnBatch | None = None,
        attempts: int = 5,
    ) -> None:
        self._db, self._commit_work, self._on_batch = db, commit, on_batch
        self._max_batch, self._max_delay, self._attempts = max_batch, max_delay, attempts
        self._pending: _Pending[T] = _Pending()
        self._signal = Signal()
        self._closing = False
        self._task: asyncio.Task[None] | None = None
        # The write being done, whose callers get the error if the loop fails (`_supervise`).
        self._batch_in_hand: list[_Chunk[T]] = []
        self._job_in_hand: asyncio.Future[Any] | None = None
        self.restarts = 0  # times the loop failed (a bug) and was started again

    def start(self) -> None:
        """Start the writer task on the running loop."""
        self._task = asyncio.create_task(self._supervise(), name="tocsin-store-writer")

    @property
    def pending(self) -> int:
        """Result rows waiting for a batch."""
        return self._pending.rows

    def enqueue(self, items: Sequence[T]) -> None:
        """Queue items for the next batch without waiting."""
        self._add(_Chunk(items, asyncio.get_running_loop().time()))

    async def write(self, items: Sequence[T]) -> None:
        """Queue items and return once the batch holding them is committed."""
        loop = asyncio.get_running_loop()
        chunk = _Chunk(items, loop.time(), loop.create_future())
        self._add(chunk)
        assert chunk.done is not None
        await chunk.done

    async def flush(self) -> None:
        """Return once everything queued before the call is committed (or has failed)."""
        await self.write(())

    async def run(self, job: Job[R]) -> R:
        """Run `job` in its own transaction on the writer; return its result once committed."""
        self._check_open()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.jobs.append((job, future))
        self._signal.set()
        return await future

    async def close(self) -> None:
        """Commit what is queued, then stop the task."""
        if self._task is None or self._closing:
            return
        self._closing = True
        self._signal.set()
        await self._task

    async def run_dbapi(self, make: Callable[[], DbapiWork[R]], inline: Callable[[], bool] | None = None) -> R:
        """Like `run`, for work written against a DB-API connection: one trip on SQLite (store/direct.py).

        `make` is called on the writer task when the job's turn comes (so it can take what was
        queued by then, as batching callers do); the work it returns runs in one transaction,
        possibly on another thread, so it must only touch the connection and its own data.
        `inline`, asked after `make`, says whether the work is small enough to run on the loop's
        thread (direct.py's `INLINE_ROWS`); it may then run twice, the first time rolled back.
        """
        self._check_open()
        future: asyncio.Future[R] = asyncio.get_running_loop().create_future()
        self._pending.jobs.append((_Dbapi(make, inline), future))
        self._signal.set()
        return await future

    def _check_open(self) -> None:
        if self._closing or self._task is None:
            raise StoreClosed("the store is closed")

    def _add(self, chunk: _Chunk[T]) -> None:
        self._check_open()
        pending = self._pending
        pending.chunks.append(chunk)
        pending.rows += len(chunk.items)
        if chunk.done is not None:
            pending.urgent += 1
        # Why not always: the lingering writer already holds a deadline from the first chunk,
        # and waking it for every result (thousands a second) cost more CPU than the commits.
        if len(pending.chunks) == 1 or chunk.done is not None or pending.rows >= self._max_batch:
            self._signal.set()

    async def _supervise(self) -> None:
        """Run the loop; if a bug ends it, fail the writes in hand and start it again.

        Why: every write in the process goes through this one task, so a writer that died would
        leave every later caller waiting forever (a bug in an error path did that once). The
        callers of the write in hand get the error; everything queued after it is written by the
        restarted loop.
        """
        while True:
            try:
                await self._loop()
                return
            except Exception as exc:  # a bug in the writer itself: drivers' errors are handled below it
                self.restarts += 1
                failed = self._fail_in_hand(exc)
                log.critical(
                    "the store writer failed (%d waiting callers got the error)%s",
                    failed,
                    "" if self._closing else f"; starting it again in {RESTART_DELAY:g}s",
                    exc_info=exc,
                )
                if self._closing:
                    return
                await asyncio.sleep(RESTART_DELAY)

    def _fail_in_hand(self, exc: Exception) -> int:
        """Hand `exc` to the callers of the write in hand (and, when closing, of everything queued); how many."""
        in_hand = [chunk.done for chunk in self._batch_in_hand if chunk.done is not None]
        if self._job_in_hand is not None:
            in_hand.append(self._job_in_hand)
        self._batch_in_hand, self._job_in_hand = [], None
        if self._closing:  # no restart to wait for: whatever is still queued fails too
            in_hand += self._drain()
        for future in in_hand:
            if not future.done():
                future.set_exception(exc)
        return len(in_hand)

    def _drain(self) -> list[asyncio.Future[Any]]:
        """Take everything queued; the futures its callers await."""
        pending = self._pending
        futures = [chunk.done for chunk in pending.chunks if chunk.done is not None]
        futures += [future for _, future in pending.jobs]
        pending.chunks.clear()
        pending.jobs.clear()
        pending.rows = pending.urgent = 0
        return futures

    async def _loop(self) -> None:
        pending = self._pending
        while True:
            await self._ready()
            if pending.chunks:
                await self._commit(self._take())
            if pending.jobs:
                # Why no local names: this frame lives as long as the process, and a job and its future
                # (with its result: 10k monitor records at start) bound to locals stayed alive until the
                # next job; peak RSS under bench/checks.py grew by 15 MB.
                self._job_in_hand = pending.jobs[0][1]
                await self._run_job(*pending.jobs.popleft())
            self._batch_in_hand, self._job_in_hand = [], None
            if self._closing and not pending.chunks and not pending.jobs:
                return

    async def _ready(self) -> None:
        """Wait until there is something worth a transaction.

        Why linger: results arrive one by one from thousands of checks; holding them up to
        `max_delay` lets them share one transaction. Why 0.5 s: a commit's cost is mostly per
        transaction, not per row (round trips to the driver thread, and a WAL write of every
        page its rows touch: raw index, minute rollup and monitor state, each on a different
        page per monitor). With a 50 ms linger, 10k monitors at 30 s cost ~250 µs more CPU per
        check (bench/RESULTS.md). Anyone awaiting a commit (write, flush, a job) or a full
        batch cuts the wait short, so durable callers never pay it.
        """
        pending, loop = self._pending, asyncio.get_running_loop()
        while not (pending.jobs or pending.urgent or self._closing):
            timeout = None
            if pending.chunks:
                if pending.rows >= self._max_batch:
                    return
                timeout = pending.chunks[0].queued_at + self._max_delay - loop.time()
                if timeout <= 0:
                    return
            self._signal.clear()
            await wait_or_timeout(self._signal, timeout)

    def _take(self) -> list[_Chunk[T]]:
        pending, rows = self._pending, 0
        batch: list[_Chunk[T]] = []
        while pending.chunks and (not batch or rows + len(pending.chunks[0].items) <= self._max_batch):
            chunk = pending.chunks.popleft()
            batch.append(chunk)
            rows += len(chunk.items)
            pending.urgent -= chunk.done is not None
        pending.rows -= rows
        self._batch_in_hand = batch
        return batch

    async def _commit(self, batch: list[_Chunk[T]]) -> None:
        items = [item for chunk in batch for item in chunk.items]
        started = time.perf_counter()
        error = await self._attempt(items) if items else None
        if error is None:
            _settle(batch, None)
            self._report(len(items), time.perf_counter() - started)
        elif len(batch) > 1 and not _transient(error):
            for chunk in batch:  # isolate the chunk that cannot be written; commit the others
                await self._commit([chunk])
        else:
            log.error("dropped %d check results: %s", len(items), error)
            _settle(batch, error)

    async def _attempt(self, items: list[T]) -> Exception | None:
        for attempt in range(self._attempts):
            try:
                await self._db.run_dbapi(self._commit_work(items))
                return None
            except Exception as exc:  # the caller decides: retry, isolate, or report
                if not _transient(exc) or attempt == self._attempts - 1:
                    return exc
                log.warning("store write failed, retrying: %s", exc)
                await asyncio.sleep(min(2.0, 0.1 * 2**attempt))
        return None  # unreachable: the loop returns

    async def _run_job(self, job: Job[Any] | _Dbapi[Any], future: asyncio.Future[Any]) -> None:
        try:
            if isinstance(job, _Dbapi):
                work = job.make()
                result = await self._db.run_dbapi(work, inline=job.inline is not None and job.inline())
            else:
                async with self._db.transaction() as conn:
                    result = await job(conn)
        except Exception as exc:  # handed to the awaiting caller
            if not future.done():
                future.set_exception(exc)
        else:
            if not future.done():
                future.set_result(result)

    def _report(self, size: int, seconds: float) -> None:
        if self._on_batch is None or size == 0:
            return
        try:
            self._on_batch(size, seconds)
        except Exception:  # a metrics bug must not stop the writer
            log.exception("on_batch callback failed")


def _settle(batch: list[_Chunk[T]], error: Exception | None) -> None:
    for chunk in batch:
        if chunk.done is None or chunk.done.done():
            continue
        if error is None:
            chunk.done.set_result(None)
        else:
            chunk.done.set_exception(error)


def _transient(exc: BaseException) -> bool:
    """Connection trouble and lock timeouts are worth a retry; bad data is not. Work run on a DB-API connection
    (`commit`) raises the driver's own errors, not SQLAlchemy's wrappers of them."""
    if isinstance(exc, DBAPIError):
        return exc.connection_invalidated or isinstance(exc, OperationalError | InterfaceError)
    driver = (
        sqlite3.OperationalError,
        sqlite3.InterfaceError,
        AsyncAdapt_asyncpg_dbapi.OperationalError,
        AsyncAdapt_asyncpg_dbapi.InterfaceError,
    )
    return isinstance(exc, (OSError, TimeoutError, *driver))
