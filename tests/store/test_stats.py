"""Window statistics from rollups: exact against a recount of the raw results."""

from __future__ import annotations

import math
import random
import uuid
from collections.abc import Sequence
from datetime import datetime, timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete

from tests.store.store_factories import T0, define, every, result
from tocsin.checks.result import Outcome
from tocsin.store import stats
from tocsin.store.records import LatencyQuantiles, ResultWrite, WindowStats
from tocsin.store.rollups import (
    LATENCY_BOUNDS_MS,
    ceil_to,
    empty_vector,
    floor_to,
    latency_bucket,
    quantile,
)
from tocsin.store.store import Store
from tocsin.store.tables import rollup_hour, rollup_minute
from tocsin.store.times import from_s, to_ms

FIVE_DAYS_MS = 5 * 86_400_000


def recount(writes: Sequence[ResultWrite], since: datetime, until: datetime) -> WindowStats:
    """The brute-force answer: every raw result in the window widened to whole minutes."""
    start = floor_to(to_ms(since) // 1000, 60)
    end = ceil_to(-(-to_ms(until) // 1000), 60)
    inside = [w.result for w in writes if start * 1000 <= to_ms(w.result.at) < end * 1000]
    hist = empty_vector()[:16]
    latencies = [r.latency_ms for r in inside if r.latency_ms is not None]
    for latency in latencies:
        hist[latency_bucket(latency)] += 1
    count = {o: sum(r.outcome is o for r in inside) for o in Outcome}
    return WindowStats(
        since=from_s(start),
        until=from_s(end),
        total=len(inside),
        up=count[Outcome.UP],
        degraded=count[Outcome.DEGRADED],
        down=count[Outcome.DOWN],
        latency=LatencyQuantiles(
            p50=quantile(hist, 500),
            p95=quantile(hist, 950),
            p99=quantile(hist, 990),
            mean=sum(latencies) / len(latencies) if latencies else None,
        ),
    )


def assert_same(got: WindowStats, want: WindowStats) -> None:
    """Counts and quantiles exactly; the mean up to float summation order."""
    assert (got.since, got.until, got.total, got.up, got.degraded, got.down) == (
        want.since,
        want.until,
        want.total,
        want.up,
        want.degraded,
        want.down,
    )
    assert (got.latency.p50, got.latency.p95, got.latency.p99) == (
        want.latency.p50,
        want.latency.p95,
        want.latency.p99,
    )
    if want.latency.mean is None:
        assert got.latency.mean is None
    else:
        assert got.latency.mean == pytest.approx(want.latency.mean, rel=1e-9)


samples = st.lists(
    st.tuples(
        st.integers(0, FIVE_DAYS_MS),
        st.sampled_from(list(Outcome)),
        st.none() | st.floats(0, 20_000, allow_nan=False),
    ),
    min_size=1,
    max_size=60,
)
windows = st.lists(
    st.tuples(st.integers(-86_400_000, FIVE_DAYS_MS), st.integers(1, FIVE_DAYS_MS)),
    min_size=1,
    max_size=4,
)


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=samples, spans=windows)
async def test_window_stats_match_a_recount(
    store: Store, data: list[tuple[int, Outcome, float | None]], spans: list[tuple[int, int]]
) -> None:
    name = f"m-{uuid.uuid4().hex[:8]}"  # examples share the database, not monitors
    await store.sync_monitors([define(name)], source=name)
    writes = [result(name, T0 + timedelta(milliseconds=ms), outcome, latency) for ms, outcome, latency in data]
    await store.write(writes)
    for start_ms, length_ms in spans:
        since = T0 + timedelta(milliseconds=start_ms)
        until = since + timedelta(milliseconds=length_ms)
        assert_same(await store.window_stats(name, since, until), recount(writes, since, until))


async def test_percentiles_are_within_their_bucket(store: Store) -> None:
    rng = random.Random(7)
    latencies = sorted(rng.lognormvariate(4.5, 1.2) for _ in range(997))
    await store.sync_monitors([define("api")])
    writes = [result("api", T0 + timedelta(seconds=i), latency_ms=v) for i, v in enumerate(latencies)]
    rng.shuffle(writes)
    await store.write(writes)
    got = (await store.window_stats("api", T0, T0 + timedelta(hours=1))).latency
    assert got.mean == pytest.approx(sum(latencies) / len(latencies))
    for permille, estimate in ((500, got.p50), (950, got.p95), (990, got.p99)):
        true = latencies[math.ceil(permille * len(latencies) / 1000) - 1]
        i = latency_bucket(true)
        low, high = (LATENCY_BOUNDS_MS[i - 1] if i else 0.0), LATENCY_BOUNDS_MS[i]
        assert estimate is not None
        assert low <= estimate <= min(high, LATENCY_BOUNDS_MS[-2])  # error < bucket width


async def test_long_windows_read_hour_and_day_rows(store: Store) -> None:
    await store.sync_monitors([define("api")])
    writes = every("api", T0, 6 * 144, timedelta(minutes=10))
    await store.write(writes)
    since, until = T0 + timedelta(minutes=7), T0 + timedelta(days=5, minutes=13)
    want = recount(writes, since, until)
    assert want.total == 5 * 144 + 1

    api_id = (await store.sync_monitors([define("api")]))["api"].id
    async with store._db.transaction() as conn:  # only the edge hours keep minute rows
        inner = (rollup_minute.c.bucket >= to_ms(T0) // 1000 + 3600) & (
            rollup_minute.c.bucket < to_ms(T0) // 1000 + 5 * 86400
        )
        await conn.execute(delete(rollup_minute).where(inner, rollup_minute.c.monitor_id == api_id))
    assert_same(await store.window_stats("api", since, until), want)

    async with store._db.transaction() as conn:  # whole days come from day rows
        inner_days = (rollup_hour.c.bucket >= to_ms(T0) // 1000 + 86400) & (
            rollup_hour.c.bucket < to_ms(T0) // 1000 + 5 * 86400
        )
        await conn.execute(delete(rollup_hour).where(inner_days))
    assert_same(await store.window_stats("api", since, until), want)


async def test_far_edge_aligns_to_the_hour_once_minute_rows_are_purged(store: Store) -> None:
    await store.sync_monitors([define("api")])
    writes = every("api", T0, 10 * 144, timedelta(minutes=10))
    await store.write(writes)
    now = T0 + timedelta(days=10)
    await store.purge(now)  # minute rows older than now - 8 days are gone
    since, until = T0 + timedelta(days=1, minutes=25), T0 + timedelta(days=9, minutes=30)
    got = await store.window_stats("api", since, until)
    assert got.since == T0 + timedelta(days=1)  # widened to the hour: exact for that span
    assert got.until == until  # the near edge is still exact to the minute
    assert_same(got, recount(writes, got.since, until))
    recent = await store.window_stats("api", now - timedelta(days=3), now)
    assert_same(recent, recount(writes, now - timedelta(days=3), now))  # 3 days: exact


async def test_many_window_stats_equals_window_stats(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    await store.sync_monitors([define("a"), define("b"), define("c")])
    rng = random.Random(3)
    outcomes = list(Outcome)
    await store.write(
        [
            result(name, T0 + timedelta(seconds=rng.randrange(3 * 86400)), rng.choice(outcomes), rng.uniform(1, 900))
            for name in ("a", "b")
            for _ in range(300)
        ]
    )
    since, until = T0 + timedelta(hours=5, seconds=17), T0 + timedelta(days=2, hours=3)
    names = ["a", "b", "c", "unknown"]
    one_by_one = {n: await store.window_stats(n, since, until) for n in names}
    assert await store.many_window_stats(names, since, until) == one_by_one
    monkeypatch.setattr(stats, "MAX_NAMES_FILTERED", 1)  # the unfiltered GROUP BY path
    assert await store.many_window_stats(names, since, until) == one_by_one
    assert one_by_one["c"].total == 0
    assert one_by_one["c"].uptime is None


async def test_empty_window(store: Store) -> None:
    await store.sync_monitors([define("api")])
    await store.write([result("api", T0)])
    got = await store.window_stats("api", T0, T0)
    assert got.total == 0
    assert await store.many_window_stats([], T0, T0 + timedelta(hours=1)) == {}


async def test_buckets(store: Store) -> None:
    await store.sync_monitors([define("api")])
    start = T0 - timedelta(days=100)
    await store.write([*every("api", start, 101, timedelta(days=1)), result("api", T0, Outcome.DOWN, 10.0)])
    bars = await store.buckets("api", T0 - timedelta(days=89), T0 + timedelta(seconds=1), "day")
    assert len(bars) == 90  # a 90-day bar reads 90 day rows
    assert bars[-1].start == T0
    assert (bars[-1].total, bars[-1].up, bars[-1].down, bars[-1].uptime) == (2, 1, 1, 0.5)
    assert bars[-1].latency_mean == pytest.approx(26.0)
    minutes = await store.buckets("api", T0 - timedelta(minutes=90), T0 + timedelta(minutes=1), "minute")
    assert [b.start for b in minutes] == [T0]
    hours = await store.buckets("api", T0 - timedelta(days=2), T0 + timedelta(hours=1), "hour")
    assert [b.start for b in hours] == [T0 - timedelta(days=2), T0 - timedelta(days=1), T0]
    assert await store.buckets("nope", T0, T0 + timedelta(days=1), "day") == []
