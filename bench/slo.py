"""SLO evaluator at scale: 10,000 SLOs with 30 days of per-minute history.

Usage: python bench/slo.py [--slos 10000] [--days 30] [--repeat 10] [--ticks 5]
                           [--naive-slos 500] [--naive-days 3] [--sample-slos 200]

Reports, for the real evaluator code (SloEngine + SloEvaluator on a SQLite store):
- one full evaluation cycle (every window of every SLO, budgets, tiers, alert diff), CPU ms;
- one incremental per-minute tick (read the minute's counts of every SLO from the store,
  append, evaluate, diff alerts), CPU and wall ms;
- peak RSS, the engine's running sums, and the storage the SLO tables need for these SLOs
  (measured on `--sample-slos` SLOs, scaled linearly);
- exactness: every window up to 3 days equals a brute-force sum of the minutes, exactly;
- the naive approach: one SQL GROUP BY over raw per-minute rows per window, on
  `--naive-slos` SLOs x `--naive-days` days, and scaled to the full size (rows scanned
  grow linearly with SLOs and days).
"""

from __future__ import annotations

import argparse
import asyncio
import os
import resource
import sqlite3
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

import numpy as np
from sqlalchemy import insert

from tocsin.alerting.alert import Alert
from tocsin.clock import FakeClock
from tocsin.slo.engine import SloEngine
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.math import error_ratio
from tocsin.slo.model import EventsSource, Slo
from tocsin.slo.series import Method
from tocsin.slo.windows import BURN_WINDOWS, CalendarWindow, RollingWindow, WindowSpec, instant_of, minute_of
from tocsin.store.slo_tables import slo_hours, slo_minutes
from tocsin.store.store import Store

NOW = datetime(2026, 3, 31, 12, 0, 45, tzinfo=UTC)  # a London DST month, for the calendar SLOs
SPECS: tuple[WindowSpec, ...] = (
    RollingWindow(timedelta(days=30)),
    RollingWindow(timedelta(days=28)),
    CalendarWindow("month", "Europe/London"),
)
SAMPLE = 16  # SLOs whose minutes are kept for the exactness check


def slos(count: int, rng: np.random.Generator) -> list[Slo]:
    """A mix of methods, windows and objectives, all fed by pushed events."""
    kinds = rng.choice(3, size=count, p=[0.8, 0.1, 0.1])
    specs = rng.choice(len(SPECS), size=count, p=[0.5, 0.3, 0.2])
    objectives = rng.choice([0.9, 0.99, 0.995, 0.999, 0.9999], size=count)
    methods = (Method.OCCURRENCES, Method.TIMESLICES, Method.RATIO_TIMESLICES)
    return [
        Slo(
            f"slo-{i:05d}",
            float(objectives[i]),
            SPECS[specs[i]],
            EventsSource(),
            method=methods[kinds[i]],
            slice_minutes=5 if kinds[i] == 1 else 1,
            slice_target=0.99,
        )
        for i in range(count)
    ]


def traffic(objective: np.ndarray, rng: np.random.Generator, rows: int = 97) -> tuple[np.ndarray, np.ndarray]:
    """A pool of per-minute (good, total) rows to cycle through, erring around each objective."""
    total = rng.poisson(rng.uniform(1, 2_000, size=len(objective)), size=(rows, len(objective))).astype(float)
    bad = rng.binomial(total.astype(np.int64), (1 - objective) * rng.uniform(0.0, 1.2, size=len(objective)))
    return total - bad, total


def fill(engine: SloEngine, pool: tuple[np.ndarray, np.ndarray], minutes: int, kept: list[np.ndarray]) -> float:
    """Append `minutes` minutes (keeping the sample columns); CPU seconds per append."""
    good, total = pool
    started = time.process_time()
    for i in range(minutes):
        row = (engine.end + i) % len(good)
        engine.append(good[row], total[row])
        kept.append(np.stack([good[row, :SAMPLE], total[row, :SAMPLE]]))
    return (time.process_time() - started) / max(minutes, 1)


def exact(engine: SloEngine, kept: list[np.ndarray]) -> bool:
    """Every window up to 3 days of the Occurrences sample SLOs equals the brute-force sum, exactly."""
    history = np.array(kept[-4320:])  # (minutes, 2, SAMPLE)
    for window in BURN_WINDOWS:
        good, total = engine.series.window(window)
        for i, slo in enumerate(engine.slos[:SAMPLE]):
            if slo.method != Method.OCCURRENCES:
                continue
            want_g, want_t = history[-window:, 0, i].sum(), history[-window:, 1, i].sum()
            if good[i] != want_g or total[i] != want_t:
                return False
            if error_ratio(good[i], total[i]) != error_ratio(want_g, want_t):
                return False
    return True


async def cpu_ms(action: Callable[[], Awaitable[object]], repeat: int) -> tuple[float, float]:
    """Mean CPU and wall milliseconds of an async action."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        await action()
    return (time.process_time() - cpu) * 1e3 / repeat, (time.perf_counter() - wall) * 1e3 / repeat


async def _ignore(alerts: Sequence[Alert]) -> None:
    """Alerts are counted by the evaluator's state; nothing to deliver here."""


async def put_minutes(store: Store, names: Sequence[str], minute: int, pool: tuple[np.ndarray, np.ndarray]) -> None:
    """One minute of pushed counts for every SLO, in one transaction."""
    good, total = pool
    row = minute % len(good)
    rows = [
        {"slo": n, "minute": minute, "good": float(good[row, i]), "total": float(total[row, i])}
        for i, n in enumerate(names)
    ]
    await store.writer.run(lambda c: c.execute(insert(slo_minutes), rows))


async def storage_per_slo(directory: Path, sample: int, days: int) -> tuple[float, float]:
    """Bytes per SLO of `days` of SLI hours and of 8 days of input minutes, measured on `sample` SLOs."""
    path = directory / "storage.db"
    await (await Store.open(f"sqlite:///{path}")).close()
    empty = _size(path)
    hours = [
        {"slo": f"slo-{i:05d}", "hour": h * 60, "good": 990.0, "total": 1000.0}
        for i in range(sample)
        for h in range(days * 24)
    ]
    minutes = [
        {"slo": f"slo-{i:05d}", "minute": m, "good": 99.0, "total": 100.0} for i in range(sample) for m in range(1440)
    ]
    sizes = []
    for table, rows in ((slo_hours, hours), (slo_minutes, minutes)):
        store = await Store.open(f"sqlite:///{path}")
        await store.writer.run(lambda c, t=table, r=rows: c.execute(insert(t), r))  # type: ignore[misc]
        await store.close()
        sizes.append(_size(path))
    return (sizes[0] - empty) / sample, (sizes[1] - sizes[0]) / sample * 8


def _size(path: Path) -> int:
    with sqlite3.connect(path) as conn:
        conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        conn.execute("VACUUM")
    return path.stat().st_size


def naive(directory: Path, slos_count: int, days: int, rng: np.random.Generator) -> tuple[float, int]:
    """Seconds for one GROUP BY per window over raw per-minute rows, and the rows in the table."""
    conn = sqlite3.connect(directory / "naive.db")
    conn.execute("CREATE TABLE raw (slo INTEGER, minute INTEGER, good REAL, total REAL)")
    conn.execute("CREATE INDEX ix_raw_minute ON raw (minute, slo)")
    end = days * 1440
    for day in range(days):
        minute = np.repeat(np.arange(day * 1440, (day + 1) * 1440), slos_count)
        slo = np.tile(np.arange(slos_count), 1440)
        total = rng.integers(1, 2000, size=len(slo))
        rows = zip(slo.tolist(), minute.tolist(), (total - 1).tolist(), total.tolist(), strict=True)
        conn.executemany("INSERT INTO raw VALUES (?, ?, ?, ?)", rows)
    conn.commit()
    windows = [*BURN_WINDOWS, end]
    started = time.perf_counter()
    for window in windows:
        conn.execute(
            "SELECT slo, SUM(good), SUM(total) FROM raw WHERE minute >= ? GROUP BY slo", (end - window,)
        ).fetchall()
    elapsed = time.perf_counter() - started
    conn.close()
    return elapsed, slos_count * end


async def run(args: argparse.Namespace) -> None:
    rng = np.random.default_rng(5)
    definitions = slos(args.slos, rng)
    objective = np.array([s.objective for s in definitions])
    pool = traffic(objective, rng)
    end = minute_of(NOW - timedelta(seconds=30))
    engine = SloEngine(definitions, end - args.days * 1440)
    kept: list[np.ndarray] = []
    fill_s = fill(engine, pool, args.days * 1440, kept)
    assert engine.end == end
    ok = exact(engine, kept)
    with tempfile.TemporaryDirectory() as tmp:
        directory = Path(tmp)
        store = await Store.open(f"sqlite:///{directory / 'tocsin.db'}")
        clock = FakeClock(NOW)
        evaluator = SloEvaluator(clock, store, _ignore)
        evaluator.slos = {s.name: s for s in definitions}
        evaluator.engine, evaluator.sources = engine, evaluator._sources(definitions)
        await evaluator._evaluate(clock.now())  # the first cycle fires what is burning; later ones diff
        firing = sum(s is not None for s in evaluator._sent.values())
        cycle_cpu, cycle_wall = await cpu_ms(lambda: evaluator._evaluate(clock.now()), args.repeat)
        names = [s.name for s in definitions]
        for k in range(args.ticks):
            await put_minutes(store, names, end + k, pool)
        tick_cpu = tick_wall = 0.0
        for _ in range(args.ticks):
            await clock.advance(60)
            cpu, wall = await cpu_ms(lambda: evaluator.tick(clock.now()), 1)
            tick_cpu, tick_wall = tick_cpu + cpu / args.ticks, tick_wall + wall / args.ticks
        read_cpu, read_wall = await cpu_ms(lambda: evaluator.sources.minutes(end, end + 1), 3)  # type: ignore[union-attr]
        await store.close()
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        hours_b, minutes_b = await storage_per_slo(directory, args.sample_slos, args.days)
        naive_s, naive_rows = naive(directory, args.naive_slos, args.naive_days, rng)
    scale = (args.slos / args.naive_slos) * (args.days / args.naive_days)
    naive_full = naive_s * scale
    held = engine.series.sums.nbytes / 2**20
    hours_mib, minutes_gib = hours_b * args.slos / 2**20, minutes_b * args.slos / 2**30
    lines = [
        f"SLOs {args.slos:,}, {args.days} days per minute (end {instant_of(end):%Y-%m-%d %H:%M}Z), {firing:,} alerting",
        f"  full cycle        {cycle_cpu:9.2f} ms CPU  ({cycle_wall:.2f} ms wall;"
        f" {len(engine.windows) + 1} windows, budgets, tiers, alert diff)",
        f"  per-minute tick   {tick_cpu:9.2f} ms CPU  ({tick_wall:.2f} ms wall;"
        f" store read {read_cpu:.1f} ms CPU / {read_wall:.1f} ms wall)",
        f"  backfill          {fill_s * 1e6:9.1f} us CPU per minute appended",
        f"  peak RSS          {peak:9.0f} MiB  (running sums {held:.0f} MiB)",
        f"  storage           {hours_mib:9.0f} MiB SLI hours ({args.days} d) + {minutes_gib:.1f} GiB input minutes"
        f" (8 d, events/Prometheus SLIs only; measured on {args.sample_slos} SLOs)",
        f"  exact <= 3d       {'yes' if ok else 'NO'} (every burn window of {SAMPLE} sampled SLOs = brute-force sum)",
        f"  naive GROUP BY    {naive_s * 1e3:9.0f} ms for {naive_rows:,} raw rows"
        f" ({args.naive_slos} SLOs x {args.naive_days} d, SQLite)",
        f"                    ~{naive_full:8.1f} s scaled to {args.slos:,} SLOs x {args.days} d:"
        f" {naive_full * 1e3 / cycle_cpu:,.0f}x the cycle",
    ]
    print("\n".join(lines))


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=10)
    parser.add_argument("--ticks", type=int, default=5)
    parser.add_argument("--naive-slos", type=int, default=500)
    parser.add_argument("--naive-days", type=int, default=3)
    parser.add_argument("--sample-slos", type=int, default=200)
    os.environ.setdefault("PYTHONHASHSEED", "0")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
