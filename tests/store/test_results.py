"""The hot path: queued and durable writes, batching, paging, failures, state updates."""

from __future__ import annotations

import asyncio
import sqlite3
from dataclasses import replace
from datetime import timedelta

import pytest
from sqlalchemy.dialects.postgresql.asyncpg import AsyncAdapt_asyncpg_dbapi
from sqlalchemy.exc import IntegrityError

from tests.store.store_factories import T0, define, every, result
from tocsin.checks.result import ConditionFailure, MonitorStatus, Outcome, Reason
from tocsin.store.store import Store, StoreClosed


async def test_enqueue_then_flush(store: Store) -> None:
    await store.sync_monitors([define("api")])
    store.enqueue(every("api", T0, 5, timedelta(seconds=30)))
    await store.flush()
    got = await store.recent_results("api")
    assert [r.at for r in got] == [T0 + timedelta(seconds=30 * i) for i in (4, 3, 2, 1, 0)]


async def test_enqueued_results_commit_without_flush(store: Store) -> None:
    await store.sync_monitors([define("api")])
    store.enqueue([result("api", T0)])
    for _ in range(100):  # the writer lingers ~0.5 s for company, then commits alone
        if await store.recent_results("api"):
            return
        await asyncio.sleep(0.02)
    pytest.fail("an enqueued result was never committed")


async def test_write_is_durable_across_reopen(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.sync_monitors([define("api")])
    await store.write([result("api", T0, Outcome.DOWN, reason=Reason.TIMEOUT, message="slow")])
    store.enqueue([result("api", T0 + timedelta(seconds=1))])
    await store.close()  # close flushes what is queued

    reopened = await Store.open(db_url)
    try:
        got = await reopened.recent_results("api")
        api = await reopened.get_monitor("api")
    finally:
        await reopened.close()
    assert [(r.outcome, r.reason, r.message) for r in got] == [
        (Outcome.UP, None, ""),
        (Outcome.DOWN, Reason.TIMEOUT, "slow"),
    ]
    assert api is not None
    assert api.state.last_result_at == T0 + timedelta(seconds=1)


async def test_results_round_trip(store: Store) -> None:
    await store.sync_monitors([define("api")])
    failures = (ConditionFailure("[STATUS] == 200", "503", "200"), ConditionFailure("x", "1", "2", True))
    write = result("api", T0 + timedelta(microseconds=1500), Outcome.DEGRADED, latency_ms=12)
    write = replace(write, result=replace(write.result, failures=failures, reason=Reason.CONDITION))
    await store.write([write])
    (got,) = await store.recent_results("api")
    assert got == replace(write.result, at=T0 + timedelta(milliseconds=1))  # kept to the millisecond
    assert isinstance(got.latency_ms, float)


async def test_keyset_paging(store: Store) -> None:
    await store.sync_monitors([define("api"), define("other")])
    await store.write(every("api", T0, 25, timedelta(minutes=1)) + every("other", T0, 5, timedelta(minutes=1)))
    pages, before = [], None
    while page := await store.recent_results("api", limit=10, before=before):
        pages.append([r.at for r in page])
        before = page[-1].at
    assert [len(p) for p in pages] == [10, 10, 5]
    flat = [at for page in pages for at in page]
    assert flat == sorted(flat, reverse=True)
    assert len(set(flat)) == 25
    assert await store.recent_results("nope") == []


async def test_recent_failures(store: Store) -> None:
    await store.sync_monitors([define("api")])
    outcomes = [Outcome.UP, Outcome.DOWN, Outcome.UP, Outcome.DEGRADED, Outcome.DOWN, Outcome.UP]
    await store.write([result("api", T0 + timedelta(minutes=i), o) for i, o in enumerate(outcomes)])
    got = await store.recent_failures("api", limit=2)
    assert [(r.at, r.outcome) for r in got] == [
        (T0 + timedelta(minutes=4), Outcome.DOWN),
        (T0 + timedelta(minutes=3), Outcome.DEGRADED),
    ]


async def test_state_is_the_latest_written(store: Store) -> None:
    await store.sync_monitors([define("api")])
    first, last = result("api", T0, Outcome.UP), result("api", T0 + timedelta(seconds=30), Outcome.DOWN)
    last = replace(last, state=replace(last.state, consecutive_fail=3, consecutive_ok=0))
    await store.write([first, last])
    api = await store.get_monitor("api")
    assert api is not None
    assert api.state == last.state
    assert api.state.status is MonitorStatus.DOWN


async def test_unknown_monitor_is_refused(store: Store) -> None:
    with pytest.raises(KeyError):
        store.enqueue([result("nope", T0)])
    with pytest.raises(KeyError):
        await store.write([result("nope", T0)])


async def test_results_batch_and_report(db_url: str) -> None:
    batches: list[tuple[int, float]] = []
    store = await Store.open(db_url, on_batch=lambda size, seconds: batches.append((size, seconds)))
    await store.sync_monitors([define(f"m{i}") for i in range(10)])
    for i in range(2500):
        store.enqueue([result(f"m{i % 10}", T0 + timedelta(seconds=i))])
    await store.flush()
    await store.close()
    assert sum(size for size, _ in batches) == 2500
    assert max(size for size, _ in batches) <= 1000
    assert len(batches) <= 4  # queued in one go: full batches, not one transaction each
    assert all(seconds > 0 for _, seconds in batches)


async def test_a_bad_write_fails_alone(store: Store) -> None:
    await store.sync_monitors([define("api")])
    store._ids["ghost"] = 10_000  # a monitor id that does not exist: the foreign key refuses it
    store.enqueue([result("api", T0)])
    with pytest.raises((IntegrityError, sqlite3.IntegrityError, AsyncAdapt_asyncpg_dbapi.IntegrityError)):
        await store.write([result("ghost", T0)])  # the driver's own error: batches run as DB-API work
    assert len(await store.recent_results("api")) == 1  # its batch-mate was still committed


async def test_closed_store_refuses_writes(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.sync_monitors([define("api")])
    await store.close()
    await store.close()  # idempotent
    with pytest.raises(StoreClosed):
        store.enqueue([result("api", T0)])
