"""The writer's linger: results wait for company, but never past a full batch or an awaited write."""

from __future__ import annotations

import asyncio
import sqlite3
from typing import Any

import pytest

from tocsin.store.writer import Writer


class _FakeDatabase:
    """Just enough of Database for the writer: DB-API work run with no connection."""

    async def run_dbapi(self, work: Any, *, inline: bool = False) -> Any:
        return work(None)


def _writer(batches: list[list[int]], committed: asyncio.Event) -> Writer[int]:
    def commit(items: list[int]) -> Any:
        def work(_conn: Any) -> None:
            batches.append(items)
            committed.set()

        return work

    # An hour's linger: any commit these tests see was caused by something other than the timer.
    return Writer(_FakeDatabase(), commit, max_batch=100, max_delay=3600)  # type: ignore[arg-type]


async def test_a_full_batch_commits_without_waiting_for_the_linger() -> None:
    batches: list[list[int]] = []
    committed = asyncio.Event()
    writer = _writer(batches, committed)
    writer.start()
    for i in range(100):  # one result at a time, as checks finish
        writer.enqueue([i])
    await asyncio.wait_for(committed.wait(), 5)
    assert batches == [list(range(100))]
    await writer.close()


async def test_an_awaited_write_ends_the_linger_for_everything_queued() -> None:
    batches: list[list[int]] = []
    writer = _writer(batches, asyncio.Event())
    writer.start()
    writer.enqueue([1])
    writer.enqueue([2])
    await asyncio.wait_for(writer.write([3]), 5)
    assert batches == [[1, 2, 3]]
    await writer.close()


async def test_results_below_a_batch_wait_for_the_linger() -> None:
    batches: list[list[int]] = []
    writer = _writer(batches, asyncio.Event())
    writer.start()
    for i in range(99):
        writer.enqueue([i])
    await asyncio.sleep(0.05)  # plenty of loop turns: a wake-up per enqueue would not commit either
    assert batches == []
    await writer.close()  # close commits what is queued
    assert batches == [list(range(99))]


class _DbapiDatabase:
    """A database whose one-trip DB-API work fails the first `failures` times with `error`."""

    def __init__(self, error: Exception, failures: int) -> None:
        self.error, self.failures, self.runs = error, failures, 0

    async def run_dbapi(self, work: Any, *, inline: bool = False) -> Any:
        self.runs += 1
        if self.runs <= self.failures:
            raise self.error
        return work(None)


async def test_driver_errors_from_dbapi_work_are_retried_when_transient_and_reported_when_not() -> None:
    """Batches run as DB-API work raise the driver's own errors (sqlite3's, asyncpg's adapter's), not SQLAlchemy's."""
    committed: list[list[int]] = []

    def work(items: list[int]) -> Any:
        return lambda _conn: committed.append(items)

    locked = _DbapiDatabase(sqlite3.OperationalError("database is locked"), failures=1)
    writer: Writer[int] = Writer(locked, work, max_delay=0)  # type: ignore[arg-type]
    writer.start()
    await asyncio.wait_for(writer.write([1, 2]), 5)  # retried after the lock error
    assert (committed, locked.runs) == ([[1, 2]], 2)
    await writer.close()

    bad = _DbapiDatabase(sqlite3.IntegrityError("FOREIGN KEY constraint failed"), failures=99)
    writer = Writer(bad, work, max_delay=0)  # type: ignore[arg-type]
    writer.start()
    with pytest.raises(sqlite3.IntegrityError):
        await asyncio.wait_for(writer.write([3]), 5)  # not retried: bad data
    assert bad.runs == 1
    await writer.close()


async def test_a_writer_loop_that_fails_hands_the_error_to_the_write_in_hand_and_starts_again(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A bug in the writer itself (here: settling a committed batch) must not leave later writes waiting forever."""
    from tocsin.store import writer as writer_module

    real_settle = writer_module._settle
    calls = 0

    def buggy_settle(batch: Any, error: Exception | None) -> None:
        nonlocal calls
        calls += 1
        if calls == 1:
            raise TypeError("a bug in the writer")
        real_settle(batch, error)

    monkeypatch.setattr(writer_module, "_settle", buggy_settle)
    monkeypatch.setattr(writer_module, "RESTART_DELAY", 0.01)
    batches: list[list[int]] = []
    writer = _writer(batches, asyncio.Event())
    writer.start()
    with pytest.raises(TypeError, match="a bug in the writer"):
        await asyncio.wait_for(writer.write([1]), 5)
    await asyncio.wait_for(writer.write([2]), 5)  # the restarted loop writes what comes next
    assert batches == [[1], [2]]
    assert writer.restarts == 1
    await asyncio.wait_for(writer.close(), 5)


async def test_a_writer_failing_while_closing_fails_what_is_queued_and_stops(monkeypatch: pytest.MonkeyPatch) -> None:
    from tocsin.store import writer as writer_module

    def always_buggy(batch: Any, error: Exception | None) -> None:
        raise TypeError("a bug in the writer")

    monkeypatch.setattr(writer_module, "_settle", always_buggy)
    writer = _writer([], asyncio.Event())
    writer.start()
    first = asyncio.create_task(writer.write([1]))
    await asyncio.sleep(0)
    closing = asyncio.create_task(writer.close())
    with pytest.raises(TypeError):
        await asyncio.wait_for(first, 5)
    await asyncio.wait_for(closing, 5)  # returns rather than restarting forever
