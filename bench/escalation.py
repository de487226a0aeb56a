"""Benchmark: the escalation loop at 10,000 open alert groups, 500 users, 50 schedules, on the real clock.

Run: .venv/bin/python bench/escalation.py [--groups 10000] [--spread 10] [--database-url URL]

The on-call engine runs its own loop (`OncallEngine.run`) against a real database (a
SQLite file by default) exactly as `tocsin serve` runs it. 500 users (two contact methods
each: one at once, one 5 s later) rotate daily through 50 schedules; 10 policies page
schedule i, then schedule i+1, then a team, 15 s apart. The groups trigger through the
escalation hook, spread evenly over `--spread` seconds, and nobody acknowledges, so each
group sends 4 pages (the team has two members) x 2 methods. Reported: the loop's tick time, how late each page was
committed to the outbox after its due instant (p50/p99/max), and notifications per second
into the outbox. Target: every step enqueued within 1 s of its due time at 10k open groups.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import statistics
import tempfile
import time
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from tocsin.alerting.alert import Alert
from tocsin.clock import SystemClock
from tocsin.config.models import TocsinConfig
from tocsin.oncall.engine import OncallEngine
from tocsin.oncall.settings import compile_settings
from tocsin.pipeline.escalate import PAGING_CHANNEL
from tocsin.pipeline.setup import alerting_setup
from tocsin.pipeline.stage import Flush
from tocsin.store.alerting import Delivery
from tocsin.store.oncall import OncallStore
from tocsin.store.store import Store

USERS, SCHEDULES, POLICIES, STEP = 500, 50, 10, timedelta(seconds=15)


def config(hook: str) -> TocsinConfig:
    """The on-call section described in the module docstring, with one paging receiver per policy."""
    methods = [{"name": "a", "kind": "webhook", "url": hook}, {"name": "b", "kind": "webhook", "url": hook}]
    rules = {"high": [{"contact_method": "a"}, {"contact_method": "b", "delay": "5s"}]}
    users = [{"name": f"u{i}", "contact_methods": methods, "notification_rules": rules} for i in range(USERS)]
    per = USERS // SCHEDULES
    schedules = [
        {
            "name": f"s{s}",
            "time_zone": "Europe/London",
            "layers": [
                {
                    "name": "d",
                    "participants": [f"u{s * per + i}" for i in range(per)],
                    "shift": "1d",
                    "start": "2026-01-05",
                }
            ],
        }
        for s in range(SCHEDULES)
    ]
    teams = [{"name": "leads", "members": ["u0", "u250"]}]
    policies = [
        {
            "name": f"p{p}",
            "steps": [
                {"targets": [{"schedule": f"s{p}"}], "delay": "15s"},
                {"targets": [{"schedule": f"s{p + 1}"}], "delay": "15s"},
                {"targets": [{"team": "leads"}], "delay": "15s"},
            ],
        }
        for p in range(POLICIES)
    ]
    receivers = [{"name": f"r{p}", "escalation_policy": f"p{p}"} for p in range(POLICIES)]
    oncall = {"users": users, "teams": teams, "schedules": schedules, "escalation_policies": policies}
    alerting = {"route": {"receiver": "r0"}, "receivers": receivers}
    return TocsinConfig.model_validate({"alerting": alerting, "oncall": {**oncall, "handoff_notice": None}})


class Firing:
    """The `Groups` the engine reads: every triggered group keeps firing (nobody resolves)."""

    def __init__(self) -> None:
        self.by_key: dict[str, tuple[Alert, ...]] = {}

    def alerts(self, key: str) -> tuple[Alert, ...]:
        return self.by_key.get(key, ())

    async def end(self, key: str, now: datetime) -> None:
        self.by_key.pop(key, None)


class Recorder(OncallStore):
    """The real store, noting when each page was committed relative to when it was due."""

    def __init__(self, store: Store) -> None:
        super().__init__(store)
        self.lateness: list[float] = []
        self.committed = 0
        self.first: float | None = None
        self.last = 0.0
        self.writing = 0.0  # seconds spent in transactions that enqueued pages
        self.expected = 0
        self.done = asyncio.Event()

    async def save(
        self, changes: Sequence[Any], deliveries: Sequence[tuple[Delivery, datetime]], now: datetime
    ) -> None:
        started = time.perf_counter()
        await super().save(changes, deliveries, now)
        if deliveries:
            self.writing += time.perf_counter() - started
        done = time.time()
        self.lateness += [done - at.timestamp() for _, at in deliveries]
        if deliveries:
            self.first = self.first if self.first is not None else done
            self.last = done
            self.committed += len(deliveries)
        if self.expected and self.committed >= self.expected:
            self.done.set()


def flush_for(route: Any, index: int, now: datetime) -> Flush:
    alert = Alert({"alertname": "Down", "group": str(index)}, now)
    key = f'{{}}:{{group="{index}"}}'
    return Flush(now, key, {"group": str(index)}, f"r{index % POLICIES}", 0, PAGING_CHANNEL, False, route, (alert,))


async def run(groups_n: int, spread: float, url: str) -> dict[str, Any]:
    cfg = config("http://127.0.0.1:9/hook")
    setup = alerting_setup(cfg)
    store = await Store.open(url)
    recorder = Recorder(store)
    clock = SystemClock()
    engine = OncallEngine(clock, recorder, lambda: None)
    firing = Firing()
    await engine.start(compile_settings(cfg.oncall, setup.config, ""), firing)
    ticks: list[float] = []
    original = engine.tick

    async def timed_tick() -> int:
        started = time.perf_counter()
        sent = await original()
        ticks.append(time.perf_counter() - started)
        return sent

    engine.tick = timed_tick  # type: ignore[method-assign]
    loop = asyncio.create_task(engine.run())
    started = time.time()
    for i in range(groups_n):  # trigger through the hook, evenly over `spread` seconds
        at = started + spread * i / groups_n
        if (wait := at - time.time()) > 0:
            await asyncio.sleep(wait)
        flush = flush_for(setup.config.route, i, clock.now())
        firing.by_key[flush.group_key] = flush.alerts
        await engine(flush)
    expected = recorder.expected = groups_n * 8
    if recorder.committed >= expected:
        recorder.done.set()
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(recorder.done.wait(), 3 * STEP.total_seconds() + 30)
    loop.cancel()
    await store.close()
    late = sorted(recorder.lateness)
    busy = max(recorder.last - (recorder.first or recorder.last), 1e-9)
    return {
        "groups": groups_n,
        "open": len(engine.active),
        "pages": recorder.committed,
        "expected": expected,
        "ticks": len(ticks),
        "tick_p50_ms": statistics.median(ticks) * 1000,
        "tick_p99_ms": _pct(sorted(ticks), 0.99) * 1000,
        "tick_max_ms": max(ticks) * 1000,
        "late_p50_ms": _pct(late, 0.5) * 1000,
        "late_p99_ms": _pct(late, 0.99) * 1000,
        "late_max_ms": late[-1] * 1000 if late else float("nan"),
        "per_second": recorder.committed / busy,
        "capacity": recorder.committed / max(recorder.writing, 1e-9),
    }


def _pct(values: list[float], q: float) -> float:
    return values[min(len(values) - 1, int(q * len(values)))] if values else float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--groups", type=int, default=10_000)
    parser.add_argument("--spread", type=float, default=10.0, help="seconds over which the groups trigger")
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'bench.db'}"
        result = asyncio.run(run(args.groups, args.spread, url))
    print(f"escalation loop, {result['groups']} groups over {args.spread:g}s, {USERS} users, {SCHEDULES} schedules")
    print(f"| {'metric':<44} | {'value':>16} |")
    print(f"|{'-' * 46}|{'-' * 18}|")
    rows = [
        ("open escalations at the end", f"{result['open']}"),
        ("pages enqueued / expected", f"{result['pages']} / {result['expected']}"),
        ("loop ticks", f"{result['ticks']}"),
        (
            "tick time p50 / p99 / max (ms)",
            f"{result['tick_p50_ms']:.1f} / {result['tick_p99_ms']:.1f} / {result['tick_max_ms']:.0f}",
        ),
        ("enqueued after due, p50 (ms)", f"{result['late_p50_ms']:.0f}"),
        ("enqueued after due, p99 (ms)", f"{result['late_p99_ms']:.0f}"),
        ("enqueued after due, max (ms)", f"{result['late_max_ms']:.0f}"),
        ("notifications/s into the outbox (offered)", f"{result['per_second']:.0f}"),
        ("notifications/s while writing (capacity)", f"{result['capacity']:.0f}"),
    ]
    for name, value in rows:
        print(f"| {name:<44} | {value:>16} |")
    print(f"measured {datetime.now(UTC):%Y-%m-%d %H:%M} UTC")


if __name__ == "__main__":
    main()
