"""The writer's linger: results wait for company, but never past a full batch or an awaited write."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from tocsin.store.writer import Writer


class _FakeDatabase:
    """Just enough of Database for the writer: a transaction that hands out no connection."""

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[Any]:
        yield None


def _writer(batches: list[list[int]], committed: asyncio.Event) -> Writer[int]:
    async def commit(_conn: Any, items: list[int]) -> None:
        batches.append(items)
        committed.set()

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
