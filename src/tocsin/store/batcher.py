"""Concurrent writes of one kind share one transaction: what is queued when the writer gets to it goes together.

Why: concurrent ingest requests, flushes and deliveries each wait for a commit; a commit's cost
is mostly per transaction, so the calls queued while one batch waits for the writer ride in the
next one instead of queueing a transaction each. Every caller still returns only once its own
item is committed.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any, Generic, TypeVar

from tocsin.store.direct import INLINE_ROWS, DbapiWork
from tocsin.store.writer import Writer

Item = TypeVar("Item")
Out = TypeVar("Out")
# Given the items in queue order, the work that writes them and returns one result per item.
BatchWork = Callable[[list[Item]], DbapiWork[list[Out]]]


class Batcher(Generic[Item, Out]):
    """Submits items to the writer in batches through `Writer.run_dbapi`; a batch of at most `INLINE_ROWS` rows
    (`rows` of each item, one by default) runs inline (store/direct.py)."""

    def __init__(
        self, writer: Writer[Any], work: BatchWork[Item, Out], rows: Callable[[Item], int] | None = None
    ) -> None:
        self._writer, self._work, self._rows = writer, work, rows
        self._queue: list[tuple[Item, asyncio.Future[Out]]] = []

    async def submit(self, item: Item) -> Out:
        """Queue `item`; return its result once the batch holding it is committed (or raise its error)."""
        future: asyncio.Future[Out] = asyncio.get_running_loop().create_future()
        self._queue.append((item, future))
        if len(self._queue) == 1:  # the first since the last batch was taken: it runs the batch
            await self._run()
        return await future

    async def _run(self) -> None:
        taken: list[tuple[Item, asyncio.Future[Out]]] = []

        def make() -> DbapiWork[list[Out]]:
            taken.extend(self._queue)
            self._queue.clear()
            return self._work([item for item, _ in taken])

        def small() -> bool:
            rows = self._rows
            return (len(taken) if rows is None else sum(rows(item) for item, _ in taken)) <= INLINE_ROWS

        results: list[Out] = []
        error: BaseException | None = None
        try:
            results = await self._writer.run_dbapi(make, small)
        except Exception as exc:  # handed to every caller in the batch
            error = exc
        if not taken:  # the job never ran (the store is closed): fail what is queued
            taken.extend(self._queue)
            self._queue.clear()
        for i, (_, future) in enumerate(taken):
            if future.done():
                continue
            if error is not None:
                future.set_exception(error)
            else:
                future.set_result(results[i])
