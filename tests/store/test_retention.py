"""Purge: each table keeps exactly what its retention promises."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.store_factories import T0, define, every, result
from tocsin.store import retention
from tocsin.store.store import Store

NOW = T0 + timedelta(days=500)


async def test_purge_boundaries(db_url: str) -> None:
    store = await Store.open(db_url, raw_retention=timedelta(days=14))
    await store.sync_monitors([define("api")])
    at = {
        "hour_gone": NOW - timedelta(days=400, seconds=1),
        "hour_kept": NOW - timedelta(days=400),
        "raw_gone": NOW - timedelta(days=14, milliseconds=1),
        "raw_kept": NOW - timedelta(days=14),
        "minute_gone": NOW - timedelta(days=8, seconds=1),
        "minute_kept": NOW - timedelta(days=8),
    }
    await store.write([result("api", t) for t in at.values()])
    try:
        counts = await store.purge(NOW)
        # raw: the three older than 14 days; minute: all but the one 8 days old; hour: one
        assert counts == {"check_results": 3, "rollup_minute": 5, "rollup_hour": 1}
        raw = {r.at for r in await store.recent_results("api")}
        assert raw == {at["raw_kept"], at["minute_gone"], at["minute_kept"]}
        wide = (NOW - timedelta(days=600), NOW)
        minutes = await store.buckets("api", *wide, "minute")
        assert [b.start for b in minutes] == [at["minute_kept"]]
        assert len(await store.buckets("api", *wide, "hour")) == 5
        assert len(await store.buckets("api", *wide, "day")) == 6  # day rows are kept forever
        assert await store.purge(NOW) == {"check_results": 0, "rollup_minute": 0, "rollup_hour": 0}
    finally:
        await store.close()


async def test_purge_works_in_chunks(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(retention, "CHUNK_ROWS", 3)
    monkeypatch.setattr(retention, "MONITOR_GROUP", 2)
    names = [f"m{i}" for i in range(5)]
    await store.sync_monitors([define(n) for n in names])
    await store.write([w for n in names for w in every(n, T0, 7, timedelta(minutes=1))])
    await store.write([result(n, NOW) for n in names])
    counts = await store.purge(NOW)
    assert counts == {"check_results": 35, "rollup_minute": 35, "rollup_hour": 5}
    for name in names:
        assert [r.at for r in await store.recent_results(name)] == [NOW]
