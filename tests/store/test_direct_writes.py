"""Writes given a DB-API connection (`Writer.run_dbapi`): one trip on a SQLite file, SQLAlchemy's adapter elsewhere."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import text

from tests.pipeline.conftest import T0
from tocsin.pipeline.dedup import LogEntry
from tocsin.store.alerting import AlertStore, Attempt, Delivery
from tocsin.store.batcher import Batcher
from tocsin.store.store import Store


async def _count(store: Store) -> int:
    async with store.database.read() as conn:
        return int((await conn.execute(text("SELECT count(*) FROM alert_groups"))).scalar_one())


def _insert(key: str, fail: bool = False) -> Any:
    def work(conn: Any) -> str:
        conn.cursor().execute(
            "INSERT INTO alert_groups (key, next_flush_ms, has_flushed) VALUES ('" + key + "', 1, false)"
        )
        if fail:
            raise RuntimeError("boom")
        return key

    return lambda: work


async def test_work_commits_or_rolls_back_whole(db_url: str) -> None:
    await _commits_or_rolls_back(db_url)


async def test_work_commits_or_rolls_back_whole_in_memory_sqlite() -> None:
    await _commits_or_rolls_back("sqlite://")  # no file: SQLAlchemy's adapter, like PostgreSQL


async def _commits_or_rolls_back(url: str) -> None:
    store = await Store.open(url)
    try:
        assert await store.writer.run_dbapi(_insert("a")) == "a"
        with pytest.raises(RuntimeError, match="boom"):
            await store.writer.run_dbapi(_insert("b", fail=True))
        assert await _count(store) == 1  # b's insert was rolled back with the failure
        assert await store.writer.run_dbapi(_insert("c")) == "c"  # and the connection is usable after it
        assert await _count(store) == 2
    finally:
        await store.close()


async def test_notification_log_is_remembered_and_read_back_after_a_restart(db_url: str) -> None:
    key = ('{}:{group="g"}', "hook", 0)
    entry = LogEntry(frozenset({"a1"}), frozenset(), T0)
    delivery = Delivery("k1", key[0], "hook", 0, "webhook", "new", {"alerts": []})
    store = await Store.open(db_url)
    try:
        alerts = AlertStore(store)
        assert await alerts.log_entry(*key) is None
        row = await alerts.enqueue(key, entry, delivery, T0, claim_ms=30_000)
        assert row is not None
        assert row.delivery == delivery
        assert await alerts.log_entry(*key) == entry
        assert await alerts.claim(T0, 30_000, 10) == []  # inserted claimed
        await alerts.settle(row.id, Attempt(row.id, T0, "delivered", 200, 1.5, "ok"), "delivered", None)
        [stored] = await alerts.deliveries()
        assert (stored.status, stored.attempts, stored.delivered_at) == ("delivered", 1, T0)
        assert [a.outcome for a in await alerts.attempts([row.id])] == ["delivered"]
        assert await AlertStore(store).log_entry(*key) == entry  # a new process reads it from the table
    finally:
        await store.close()


async def test_a_handed_row_is_claimed_from_when_it_was_written_not_from_its_flush(db_url: str) -> None:
    from datetime import timedelta

    key = ('{}:{group="late"}', "hook", 0)
    delivery = Delivery("k-late", key[0], "hook", 0, "webhook", "new", {"alerts": []})
    written = T0 + timedelta(seconds=100)  # the flush was due at T0 but ran 100 s late
    store = await Store.open(db_url)
    try:
        alerts = AlertStore(store)
        entry = LogEntry(frozenset({"a1"}), frozenset(), T0)
        row = await alerts.enqueue(key, entry, delivery, T0, claim_ms=30_000, claimed_from=written)
        assert row is not None
        assert await alerts.claim(T0 + timedelta(seconds=40), 30_000, 10) == []  # a claim from T0 would be over
        assert await alerts.claim(written + timedelta(seconds=29), 30_000, 10) == []
        [again] = await alerts.claim(written + timedelta(seconds=30), 30_000, 10)  # the lease ran out: due again
        assert again.id == row.id
        [stored] = await alerts.deliveries()
        assert stored.created_at == T0  # the notification still belongs to its flush
    finally:
        await store.close()


async def test_concurrent_submits_share_one_transaction_and_its_outcome(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'tocsin.db'}")
    batches: list[list[str]] = []

    def work(keys: list[str]) -> Any:
        batches.append(keys)

        def run(conn: Any) -> list[str]:
            for key in keys:
                _insert(key, fail=key == "bad")()(conn)
            return [key.upper() for key in keys]

        return run

    try:
        batcher: Batcher[str, str] = Batcher(store.writer, work)
        busy = asyncio.create_task(store.writer.run(lambda c: asyncio.sleep(0.05)))  # the writer is busy
        await asyncio.sleep(0)
        assert await asyncio.gather(*(batcher.submit(k) for k in ("x", "y", "z"))) == ["X", "Y", "Z"]
        await busy
        assert batches == [["x", "y", "z"]]  # taken when the writer got to x's batch: all three in one
        results = await asyncio.gather(batcher.submit("ok"), batcher.submit("bad"), return_exceptions=True)
        assert all(isinstance(r, RuntimeError) for r in results)  # one batch, one outcome: ok failed with bad
        assert await _count(store) == 3  # the failed batch was rolled back whole
    finally:
        await store.close()


def _thread_of(rows: int) -> Any:
    """Work that writes `rows` group timers and says which thread it ran on."""
    import threading

    def make() -> Any:
        def work(conn: Any) -> int:
            cursor = conn.cursor()
            cursor.executemany(
                "INSERT INTO alert_groups (key, next_flush_ms, has_flushed) VALUES (?, 1, false)",
                [(f"t{rows}-{i}",) for i in range(rows)],
            )
            return threading.get_ident()

        return work

    return make


async def test_small_work_runs_on_the_loops_thread_and_large_work_on_the_driver_thread(tmp_path: Path) -> None:
    import threading

    from tocsin.store.direct import INLINE_ROWS

    store = await Store.open(f"sqlite:///{tmp_path / 'tocsin.db'}")
    try:
        here = threading.get_ident()
        small = await store.writer.run_dbapi(_thread_of(3), lambda: True)
        large = await store.writer.run_dbapi(_thread_of(INLINE_ROWS + 1), lambda: False)
        unsaid = await store.writer.run_dbapi(_thread_of(1))  # callers that do not say stay on the thread
        assert small == here
        assert large != here
        assert unsaid == large
        assert await _count(store) == 3 + INLINE_ROWS + 1 + 1

        batches: list[int] = []  # a Batcher says "small" from the rows it took, not from how many items
        batcher: Batcher[int, int] = Batcher(store.writer, lambda items: _batch_thread(items, batches), lambda n: n)
        await batcher.submit(INLINE_ROWS)
        await batcher.submit(INLINE_ROWS + 1)
        assert batches == [here, batches[1]]
        assert batches[1] != here
    finally:
        await store.close()


def _batch_thread(items: list[int], seen: list[int]) -> Any:
    import threading

    def work(conn: Any) -> list[int]:
        seen.append(threading.get_ident())
        return items

    return work


async def test_inline_work_waits_on_the_thread_while_another_connection_holds_the_write_lock(tmp_path: Path) -> None:
    """The loop never blocks on SQLite's busy timeout: the inline attempt fails at once and the thread waits."""
    import sqlite3
    import threading

    path = tmp_path / "tocsin.db"
    store = await Store.open(f"sqlite:///{path}")
    other = sqlite3.connect(path, isolation_level=None)
    try:
        await store.writer.run_dbapi(_thread_of(1), lambda: True)  # the inline connection is open
        other.execute("BEGIN IMMEDIATE")
        task = asyncio.create_task(store.writer.run_dbapi(_thread_of(2), lambda: True))
        loop = asyncio.get_running_loop()
        started = loop.time()
        for _ in range(20):  # the loop keeps running while the write waits for the lock
            await asyncio.sleep(0.01)
        assert loop.time() - started < 2.0  # not blocked for SQLite's busy timeout (5 s)
        assert not task.done()
        other.execute("COMMIT")
        assert await asyncio.wait_for(task, 10) != threading.get_ident()
        direct = store.database._direct
        assert direct is not None
        assert direct.inline_fallbacks == 1
        assert await _count(store) == 3  # the failed inline attempt wrote nothing
        assert await store.writer.run_dbapi(_thread_of(3), lambda: True) == threading.get_ident()  # inline again
    finally:
        other.close()
        await store.close()
