"""Time one SLO evaluation cycle for many SLOs: 8 windows each, from per-minute running sums.

Usage: python bench/slo_math.py [--slos 10000] [--days 30] [--repeat 20] [--ticks 500]

The series is filled with `--days` of per-minute counts (a mix of Occurrences, Timeslices
and RatioTimeslices SLOs on 30d, 28d and calendar-month windows), then the script reports
CPU time per full cycle (7 short windows + the whole window, budgets, burn rates, time to
exhaustion, status, tiers), per incremental tick (appending one minute), and peak RSS.
"""

from __future__ import annotations

import argparse
import resource
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import numpy as np

from tocsin.slo.math import Evaluation, evaluate
from tocsin.slo.series import Method, SloSeries
from tocsin.slo.windows import (
    BURN_WINDOWS,
    CalendarWindow,
    RollingWindow,
    WindowSpec,
    elapsed_share,
    minute_of,
    window_bounds,
    window_minutes,
)

NOW = datetime(2024, 3, 31, 12, 0, tzinfo=UTC)  # a London DST day, for the calendar SLOs
SPECS: tuple[WindowSpec, ...] = (
    RollingWindow(timedelta(days=30)),
    RollingWindow(timedelta(days=28)),
    CalendarWindow("month", "Europe/London"),
)


def build(slos: int, days: int, rng: np.random.Generator) -> tuple[SloSeries, np.ndarray, np.ndarray]:
    """A series for `slos` SLOs, each with a method and window; returns it, spec index, objective."""
    kinds = rng.choice(3, size=slos, p=[0.8, 0.1, 0.1])
    methods = [(Method.OCCURRENCES, Method.TIMESLICES, Method.RATIO_TIMESLICES)[k] for k in kinds]
    origin = minute_of(NOW) - days * 1440
    series = SloSeries(methods, origin, slice_minutes=np.where(kinds == 1, 5, 1), slice_targets=0.99)
    spec_index = rng.choice(len(SPECS), size=slos, p=[0.5, 0.3, 0.2])
    objective = rng.choice([0.9, 0.99, 0.995, 0.999, 0.9999], size=slos)
    return series, spec_index, objective


def traffic(objective: np.ndarray, rng: np.random.Generator, rows: int = 97) -> tuple[np.ndarray, np.ndarray]:
    """A pool of per-minute (good, total) rows to cycle through, erring around each objective."""
    slos = len(objective)
    total = rng.poisson(rng.uniform(1, 2_000, size=slos), size=(rows, slos)).astype(float)
    error = (1 - objective) * rng.uniform(0.0, 1.2, size=slos)
    bad = rng.binomial(total.astype(np.int64), error).astype(float)
    return total - bad, total


def fill(series: SloSeries, pool: tuple[np.ndarray, np.ndarray], minutes: int) -> float:
    """Append `minutes` minutes; returns CPU seconds per append."""
    good, total = pool
    started = time.process_time()
    for i in range(minutes):
        series.append(good[i % len(good)], total[i % len(total)])
    return (time.process_time() - started) / max(minutes, 1)


def window_inputs(spec_index: np.ndarray, end: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-SLO start minute, window length and elapsed share of each SLO's window at `end`."""
    now = NOW + timedelta(minutes=end - minute_of(NOW))
    starts = np.empty(len(spec_index), dtype=np.int64)
    lengths = np.empty(len(spec_index))
    elapsed = np.empty(len(spec_index))
    for i, spec in enumerate(SPECS):
        mask = spec_index == i
        starts[mask] = minute_of(window_bounds(spec, now)[0])
        lengths[mask] = window_minutes(spec, now)
        elapsed[mask] = elapsed_share(spec, now)
    return starts, lengths, elapsed


def cycle(series: SloSeries, spec_index: np.ndarray, objective: np.ndarray) -> Evaluation:
    """One full evaluation of every SLO at the series' current minute."""
    starts, lengths, elapsed = window_inputs(spec_index, series.end)
    recent = {m: series.window(m) for m in BURN_WINDOWS}
    return evaluate(series.since(starts), recent, objective, lengths, elapsed)


def cpu_ms(action: Callable[[], object], repeat: int) -> tuple[float, float]:
    """Mean CPU and wall milliseconds of `action` over `repeat` runs."""
    cpu, wall = time.process_time(), time.perf_counter()
    for _ in range(repeat):
        action()
    return (time.process_time() - cpu) * 1e3 / repeat, (time.perf_counter() - wall) * 1e3 / repeat


def main() -> None:
    """Run the benchmark and print its table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slos", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--ticks", type=int, default=500)
    args = parser.parse_args()
    rng = np.random.default_rng(5)
    series, spec_index, objective = build(args.slos, args.days, rng)
    pool = traffic(objective, rng)
    fill_s = fill(series, pool, args.days * 1440)
    cycle_cpu, cycle_wall = cpu_ms(lambda: cycle(series, spec_index, objective), args.repeat)
    tick_s = fill(series, pool, args.ticks)
    result = cycle(series, spec_index, objective)
    held = series.sums.nbytes / 2**20
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"SLOs {args.slos:,}, {args.days} days per minute, windows {len(BURN_WINDOWS) + 1}")
    print(f"  full cycle        {cycle_cpu:8.2f} ms CPU   ({cycle_wall:.2f} ms wall, mean of {args.repeat})")
    print(f"  incremental tick  {tick_s * 1e3:8.3f} ms CPU   (append one minute for every SLO)")
    print(f"  backfill          {fill_s * 1e6:8.1f} us CPU per minute appended")
    print(f"  running sums      {held:8.0f} MiB   peak RSS {peak:.0f} MiB")
    print(
        f"  sanity: {int((result.status == 2).sum())} exhausted, {int(result.alerts.active.any(axis=0).sum())} alerting"
    )


if __name__ == "__main__":
    main()
