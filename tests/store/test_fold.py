"""Folding minute rollups into hour and day rows: every reader gives the same answer before and after a fold, and
a result counts once however late it arrives."""

from __future__ import annotations

import random
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime, timedelta

import pytest
from sqlalchemy import func, select

from tests.store.store_factories import T0, define, result
from tests.store.test_stats import recount
from tocsin.checks.result import Outcome
from tocsin.store import fold
from tocsin.store.migrate import downgrade
from tocsin.store.records import Bucket, ResultWrite
from tocsin.store.rollups import DAY, HOUR, PAST_DAY_WRITES, VALUE_COLUMNS, floor_to
from tocsin.store.slo import SloStore
from tocsin.store.stats import horizons
from tocsin.store.status_rollups import DayCounts, daily_counts
from tocsin.store.store import Store
from tocsin.store.tables import rollup_day, rollup_hour, rollup_minute, store_meta
from tocsin.store.times import from_s, to_ms

NAMES = ["api", "db"]
OUTCOMES = [Outcome.UP, Outcome.UP, Outcome.UP, Outcome.DEGRADED, Outcome.DOWN]


def scattered(rng: random.Random, start: datetime, hours: float, count: int) -> list[ResultWrite]:
    """Results at random times in `[start, start + hours)`, random outcomes and latencies."""
    return [
        result(
            rng.choice(NAMES),
            start + timedelta(seconds=rng.randrange(int(hours * 3600))),
            rng.choice(OUTCOMES),
            rng.choice([None, rng.uniform(1, 3000)]),
        )
        for _ in range(count)
    ]


def expected_buckets(writes: Sequence[ResultWrite], name: str, size: int) -> dict[int, tuple[int, int, int, int]]:
    out: dict[int, list[int]] = {}
    for w in writes:
        if w.result.monitor == name:
            counts = out.setdefault(floor_to(to_ms(w.result.at) // 1000, size), [0, 0, 0, 0])
            counts[0] += 1
            counts[1 + [Outcome.UP, Outcome.DEGRADED, Outcome.DOWN].index(w.result.outcome)] += 1
    return {k: (v[0], v[1], v[2], v[3]) for k, v in out.items()}


def counts_of(buckets: Sequence[Bucket]) -> dict[int, tuple[int, int, int, int]]:
    return {int(b.start.timestamp()): (b.total, b.up, b.degraded, b.down) for b in buckets}


async def check_readers(store: Store, writes: Sequence[ResultWrite], since: datetime, until: datetime) -> None:
    """Every reader of hour and day rows against a recount of the raw results."""
    stats = await store.many_window_stats(NAMES, since, until)
    for name in NAMES:
        mine = [w for w in writes if w.result.monitor == name]
        wanted = recount(mine, stats[name].since, stats[name].until)
        assert stats[name].latency.mean == pytest.approx(wanted.latency.mean)  # float sums in another order
        assert replace(stats[name], latency=wanted.latency) == wanted
        for resolution, size in (("hour", HOUR), ("day", DAY)):
            found = counts_of(await store.buckets(name, since, until, resolution))  # type: ignore[arg-type]
            wanted = expected_buckets(mine, name, size)
            first, end = floor_to(to_ms(since) // 1000, size), to_ms(until) // 1000
            assert found == {k: v for k, v in wanted.items() if first <= k < end}, resolution
    days = await daily_counts(store.database, NAMES, since, until)
    assert days == {name: _days(writes, name, since, until) for name in NAMES}
    hours = await SloStore(store).monitor_rows(NAMES, to_ms(since) // 60000, to_ms(until) // 60000, hours=True)
    for name in NAMES:
        found = {row.time * 60: (row.total, row.up, row.degraded) for row in hours[name]}
        wanted = expected_buckets(writes, name, HOUR)
        start, end = to_ms(since) // 1000, to_ms(until) // 1000
        assert found == {k: v[:3] for k, v in wanted.items() if start <= k < end}


def _days(writes: Sequence[ResultWrite], name: str, since: datetime, until: datetime) -> list[DayCounts]:
    first, end = floor_to(to_ms(since) // 1000, DAY), to_ms(until) // 1000
    found = expected_buckets(writes, name, DAY)
    return [(day, *found[day]) for day in sorted(found) if first <= day < end]


async def coarse_rows_are_minute_sums(store: Store, folded: int) -> None:
    """Each hour and day row holds exactly its minute rows before the watermark."""
    ints = [c for c in VALUE_COLUMNS if c != "latency_sum_ms"]
    m = rollup_minute.c
    async with store.database.read() as conn:
        for table, size in ((rollup_hour, HOUR), (rollup_day, DAY)):
            bucket = m.bucket - m.bucket % size
            minutes = (
                select(m.monitor_id, bucket, func.sum(m.latency_sum_ms), *(func.sum(m[c]) for c in ints))
                .where(m.bucket < folded)
                .group_by(m.monitor_id, bucket)
            )
            rows = select(table.c.monitor_id, table.c.bucket, table.c.latency_sum_ms, *(table.c[c] for c in ints))
            wanted = {(r[0], r[1]): r[2:] for r in await conn.execute(minutes)}
            found = {(r[0], r[1]): r[2:] for r in await conn.execute(rows)}
            assert found.keys() == wanted.keys(), table.name
            for key, row in found.items():
                assert tuple(row[1:]) == tuple(wanted[key][1:]), (table.name, key)
                assert row[0] == pytest.approx(wanted[key][0]), (table.name, key)


async def meta(store: Store, key: str) -> int | None:
    async with store.database.read() as conn:
        found = await conn.scalar(select(store_meta.c.value).where(store_meta.c.key == key))
    return None if found is None else int(found)


async def open_store(url: str, now: datetime) -> Store:
    return await Store.open(url, now=lambda: now)


async def test_readers_agree_before_and_after_folds_and_late_results_count_once(db_url: str) -> None:
    now = T0 + timedelta(days=2)  # batches are written "now"; the results are a day and more old
    store = await open_store(db_url, now)
    try:
        await store.sync_monitors([define(n) for n in NAMES])
        rng = random.Random(7)
        early = scattered(rng, T0 - timedelta(hours=3), 3, 300)  # before the watermark: written to every table
        await store.write(early)
        start = await store.fold_rollups(T0)  # the first fold only sets the watermark
        assert start == fold.first_watermark(to_ms(T0) // 1000) == to_ms(T0) // 1000
        assert await meta(store, fold.FOLDED_UNTIL) == start
        async with store.database.read() as conn:
            hours_before = await conn.scalar(select(func.count()).select_from(rollup_hour))
        later = scattered(rng, from_s(start), 30, 900)  # from the watermark on: minute rows only
        await store.write(later)
        async with store.database.read() as conn:
            assert await conn.scalar(select(func.count()).select_from(rollup_hour)) == hours_before
        writes = early + later
        since, until = T0 - timedelta(hours=3), T0 + timedelta(hours=31)
        await check_readers(store, writes, since, until)
        await check_readers(store, writes, T0 + timedelta(minutes=17), T0 + timedelta(hours=5, minutes=3))

        folded = await store.fold_rollups(T0 + timedelta(hours=20))  # in steps of at most MAX_SPAN
        assert folded == fold.target(to_ms(T0 + timedelta(hours=20)) // 1000, folded) == to_ms(T0) // 1000 + 72000 - 300
        await coarse_rows_are_minute_sums(store, folded)
        await check_readers(store, writes, since, until)
        await check_readers(store, writes, T0 + timedelta(minutes=17), T0 + timedelta(hours=5, minutes=3))

        late = scattered(rng, T0 + timedelta(hours=1), 4, 200)  # before the new watermark: counted once
        await store.write(late)
        writes += late
        await coarse_rows_are_minute_sums(store, folded)
        await check_readers(store, writes, since, until)
        assert await store.fold_rollups(T0 + timedelta(hours=20)) == folded  # nothing more to fold yet
        final = await store.fold_rollups(T0 + timedelta(days=3))
        await coarse_rows_are_minute_sums(store, final)
        await check_readers(store, writes, since, until)
        async with store.database.read() as conn:
            assert (await horizons(conn)).folded == final
    finally:
        await store.close()


async def test_a_fold_into_a_past_day_moves_the_status_pages_mark(db_url: str) -> None:
    store = await open_store(db_url, T0)
    try:
        await store.sync_monitors([define(n) for n in NAMES])
        await store.fold_rollups(T0 - timedelta(hours=1))
        await store.write([result("api", T0 - timedelta(minutes=10))])  # yesterday, after the watermark
        mark = await meta(store, PAST_DAY_WRITES)
        assert await store.fold_rollups(T0 - timedelta(minutes=30)) == to_ms(T0) // 1000 - 35 * 60
        assert await meta(store, PAST_DAY_WRITES) == mark  # folded into the day it still is
        assert await store.fold_rollups(T0 + timedelta(minutes=5)) == to_ms(T0) // 1000
        assert (await meta(store, PAST_DAY_WRITES) or 0) > (mark or 0)  # into yesterday: a past day's row grew
        await coarse_rows_are_minute_sums(store, to_ms(T0) // 1000)
        assert [b.total for b in await store.buckets("api", T0 - timedelta(days=1), T0, "day")] == [1]
    finally:
        await store.close()


async def test_minute_retention_keeps_minutes_not_folded(db_url: str) -> None:
    store = await open_store(db_url, T0)
    try:
        await store.sync_monitors([define("api")])
        await store.fold_rollups(T0)
        await store.write([result("api", T0 + timedelta(hours=1))])
        counts = await store.purge(T0 + timedelta(days=30))  # long past the eight days minute rows are kept
        assert counts["rollup_minute"] == 0
        stats = await store.window_stats("api", T0, T0 + timedelta(days=1))
        assert stats.total == 1
    finally:
        await store.close()


async def test_a_read_that_overlaps_a_fold_is_read_again(db_url: str) -> None:
    store = await open_store(db_url, T0)
    try:
        await store.sync_monitors([define("api")])
        await store.fold_rollups(T0)
        await store.write([result("api", T0 + timedelta(minutes=m)) for m in range(10, 50)])
        seen: list[int | None] = []

        async def read(folded: int | None) -> int:
            seen.append(folded)
            if len(seen) == 1:  # a fold commits while this read is under way
                await store.fold_rollups(T0 + timedelta(hours=2))
            return len(seen)

        async with store.database.read() as conn:
            assert await fold.settled(conn, read, to_ms(T0) // 1000 + 86400) == 2
        assert seen[0] is not None
        assert seen[1] is not None
        assert seen[1] > seen[0]
        buckets = await store.buckets("api", T0, T0 + timedelta(hours=1), "hour")
        assert [b.total for b in buckets] == [40]
    finally:
        await store.close()


async def test_the_first_watermark_comes_after_every_minute_already_written(db_url: str) -> None:
    store = await open_store(db_url, T0)
    try:
        await store.sync_monitors([define(n) for n in NAMES])
        await store.write([result("db", T0 + timedelta(hours=1, seconds=10))])  # ahead of the clock
        assert await store.fold_rollups(T0) == to_ms(T0) // 1000 + 3660  # the minute after that one
        buckets = await store.buckets("db", T0, T0 + timedelta(days=1), "day")
        assert [b.total for b in buckets] == [1]
    finally:
        await store.close()


async def test_a_new_store_has_not_started_folding_and_a_downgrade_folds_everything(db_url: str) -> None:
    store = await open_store(db_url, T0)
    try:
        assert await meta(store, fold.FOLDED_UNTIL) == fold.NOT_STARTED  # migration 0009
        await store.sync_monitors([define(n) for n in NAMES])
        rng = random.Random(3)
        before = scattered(rng, T0 - timedelta(hours=2), 2, 100)
        await store.write(before)  # not started: every resolution, as before
        await coarse_rows_are_minute_sums(store, fold.NOT_STARTED)
        await store.fold_rollups(T0)
        after = scattered(rng, T0, 3, 100)
        await store.write(after)
        async with store.database.transaction() as conn:
            await downgrade(conn, "0008")
        assert await meta(store, fold.FOLDED_UNTIL) is None
        await coarse_rows_are_minute_sums(store, fold.NOT_STARTED)  # the minutes not folded are in hour and day rows
        await check_readers(store, before + after, T0 - timedelta(hours=3), T0 + timedelta(hours=4))
        await store.migrate()
        assert await meta(store, fold.FOLDED_UNTIL) == fold.NOT_STARTED
        await check_readers(store, before + after, T0 - timedelta(hours=3), T0 + timedelta(hours=4))
    finally:
        await store.close()
