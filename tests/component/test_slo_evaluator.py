"""The SLO evaluator on a real store (SQLite and PostgreSQL): monitor SLIs from real rollups, burn alerts, restarts.

Time is a FakeClock; alerts go to a capturing ingest callback (what the runtime passes
as `engine.ingest_internal`).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import timedelta
from typing import Any

import pytest

from tests.store.store_factories import T0, define, result
from tocsin.alerting.alert import Alert
from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.checks.result import Outcome
from tocsin.clock import FakeClock
from tocsin.slo.config import SloConfig
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.model import Slo, compile_slo
from tocsin.slo.sources import EventsBody, push_events
from tocsin.slo.views import consumed, list_slos, monthly_report, slo_detail
from tocsin.store.store import Store

HOURS = 3
NOW = T0 + timedelta(hours=HOURS, seconds=45)  # minute 180 is complete and settled
OUTAGE = range(170, 180)  # the last ten minutes before NOW are down


class Captured:
    """A fake `ingest_internal`: remembers every batch."""

    def __init__(self) -> None:
        self.batches: list[list[Alert]] = []

    async def __call__(self, alerts: Sequence[Alert]) -> None:
        self.batches.append(list(alerts))

    @property
    def alerts(self) -> list[Alert]:
        return [a for batch in self.batches for a in batch]


def slo(name: str = "api-availability", **extra: Any) -> Slo:
    spec = {"name": name, "service": "api", "objective": 99.9, "sli": {"monitor": "api"}, "labels": {"team": "core"}}
    return compile_slo(SloConfig.model_validate({**spec, **extra}))


async def three_hours(store: Store, minutes: int = HOURS * 60, down: range = OUTAGE) -> None:
    """Three results a minute for `api`; down during `down`, up otherwise."""
    await store.sync_monitors([define("api")])
    writes = [
        result("api", T0 + timedelta(minutes=m, seconds=s), Outcome.DOWN if m in down else Outcome.UP)
        for m in range(minutes)
        for s in (0, 20, 40)
    ]
    await store.write(writes)


async def evaluator(store: Store, clock: FakeClock, ingest: Captured, *slos: Slo, **kw: Any) -> SloEvaluator:
    built = SloEvaluator(clock, store, ingest, external_url="https://ops.example.com")
    await built.configure(slos or (slo(),), **kw)
    return built


async def test_monitor_sli_from_rollups_and_a_page(store: Store) -> None:
    await three_hours(store)
    ingest = Captured()
    ev = await evaluator(store, FakeClock(NOW), ingest)
    report = ev.snapshot.report(0)  # type: ignore[union-attr]
    # 540 results, 30 of them down: the SLI is a ratio of the real results
    assert report.sli == pytest.approx(510 / 540, rel=1e-12)
    assert report.burn_rates["5m"] == pytest.approx(1000.0)  # every result down: the maximum burn
    assert report.burn_rates["1h"] == pytest.approx((30 / 180) / 0.001, rel=1e-9)
    (alert,) = ingest.alerts
    assert dict(alert.labels) == {
        "team": "core",
        "alertname": "SLOBurnRate",
        "slo": "api-availability",
        "service": "api",
        "severity": "page",
        "long_window": "1h",
        "short_window": "5m",
    }
    assert alert.ends_at is None
    assert alert.starts_at == NOW
    assert alert.generator_url == "https://ops.example.com/slos/api-availability"
    assert alert.annotations["budget_remaining"].endswith("%")


async def test_tier_change_resolves_then_fires_and_a_restart_does_not_refire(store: Store) -> None:
    await three_hours(store)
    clock, ingest = FakeClock(NOW), Captured()
    ev = await evaluator(store, clock, ingest)
    # Twenty good minutes later the 5m window is clean: the 6h page (30m window still burning) takes over.
    await store.write([result("api", T0 + timedelta(minutes=m, seconds=1)) for m in range(180, 200)])
    await clock.advance(20 * 60)
    snapshot = await ev.tick(clock.now())
    assert snapshot is not None
    assert snapshot.firing[0] == ("page-6h", "ticket-1d", "ticket-3d")
    resolved, fired = ingest.batches[1]
    assert resolved.labels["long_window"] == "1h"
    assert resolved.ends_at == clock.now()
    assert fired.labels["long_window"] == "6h"
    assert fired.labels["short_window"] == "30m"
    assert fired.ends_at is None
    # Ticket tiers fire too, but only the highest tier is sent.
    assert len(ingest.alerts) == 3
    # A new process on the same database finds page-6h already sent: nothing is sent again.
    again = Captured()
    restarted = await evaluator(store, clock, again)
    assert restarted.snapshot is not None
    assert restarted.snapshot.active[0].name == "page-6h"
    assert again.alerts == []


async def test_low_traffic_guard(store: Store) -> None:
    await three_hours(store)
    ingest = Captured()
    ev = await evaluator(store, FakeClock(NOW), ingest, slo(alerting={"min_events": 1000}))
    assert ev.snapshot is not None
    assert ev.snapshot.firing[0] == ()
    assert ingest.alerts == []


async def test_maintenance_is_excluded(store: Store) -> None:
    await three_hours(store)
    window = MaintenanceWindow("deploy", monitors=("api",), start=T0 + timedelta(minutes=170), end=NOW)
    ingest = Captured()
    ev = await evaluator(store, FakeClock(NOW), ingest, maintenance=[window])
    assert ev.snapshot is not None
    assert ev.snapshot.report(0).sli == 1.0
    assert ingest.alerts == []
    counted = await evaluator(store, FakeClock(NOW), Captured(), slo(exclude_maintenance=False), maintenance=[window])
    assert counted.snapshot is not None
    assert counted.snapshot.report(0).sli == pytest.approx(510 / 540)


async def test_pushed_events_are_idempotent(store: Store) -> None:
    await three_hours(store)
    clock = FakeClock(NOW)
    events = slo("checkout", sli={"events": {}}, objective=99)
    ev = await evaluator(store, clock, Captured(), slo(), events)
    body = EventsBody.model_validate(
        {"events": [{"key": "b1", "good": 990, "total": 1000}, {"key": "b2", "good": 5, "total": 5}]}
    )
    first = await push_events(ev.store, ev.slos, "checkout", body, clock.now())
    retry = await push_events(ev.store, ev.slos, "checkout", body, clock.now())
    assert (first.accepted, first.duplicates, retry.accepted, retry.duplicates) == (2, 0, 0, 2)
    await clock.advance(1 * 60)
    await ev.tick(clock.now())
    (row,) = [r for r in list_slos(ev) if r.name == "checkout"]
    assert row.sli == pytest.approx(995 / 1005)
    detail = slo_detail(ev, "checkout")
    assert detail is not None
    assert detail.budget.events_total == pytest.approx(10.05)
    assert [t.name for t in detail.tiers] == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]


async def test_budget_consumed_over_an_interval(store: Store) -> None:
    await three_hours(store)
    ev = await evaluator(store, FakeClock(NOW), Captured())
    outage = await consumed(ev, "api-availability", T0 + timedelta(minutes=170), T0 + timedelta(minutes=180))
    # 30 bad results out of a 30-day window holding 540: 30 / (0.001 * 540) of the budget
    assert outage.bad_events == 30
    assert outage.consumed == pytest.approx(30 / (0.001 * 540))
    assert outage.postmortem_required
    quiet = await consumed(ev, "api-availability", T0, T0 + timedelta(minutes=100))
    assert quiet.consumed == 0
    assert not quiet.postmortem_required


async def test_intervals_older_than_the_engine_holds_read_stored_hours(store: Store) -> None:
    # The engine holds three days of minutes (and 26 hours for a 1h window): after four days the pushed
    # minute is only in slo_hours.
    clock = FakeClock(T0 + timedelta(seconds=10))
    ev = SloEvaluator(clock, store, Captured())
    await ev.configure([slo("checkout", sli={"events": {}}, objective=99, window="1h")])
    body = EventsBody.model_validate({"events": [{"key": "b1", "good": 90, "total": 100}]})
    await push_events(ev.store, ev.slos, "checkout", body, clock.now())
    await clock.advance(4 * 86400 + 35)
    await ev.tick(clock.now())
    assert ev.engine is not None
    assert ev.engine.series.sums.oldest > T0.timestamp() // 60 + 60
    spent = await consumed(ev, "checkout", T0, T0 + timedelta(minutes=2))
    assert (spent.bad_events, spent.total_events) == (10, 100)
    [month] = [r for r in await monthly_report(ev, clock.now(), 1) if r.total]
    assert (month.good, month.total, month.met) == (90, 100, False)


async def test_history_survives_a_restart_from_stored_hours(store: Store) -> None:
    # Four days of results: the 1st day's hours are replayed from slo_hours, not re-read minute by minute.
    await store.sync_monitors([define("api")])
    start = T0 - timedelta(days=4)
    writes = [
        result("api", start + timedelta(minutes=m), Outcome.DOWN if m < 60 else Outcome.UP) for m in range(0, 5760, 2)
    ]
    await store.write(writes)
    now = start + timedelta(days=4, seconds=45)
    first = await evaluator(store, FakeClock(now), Captured())
    assert first.snapshot is not None
    before = first.snapshot.report(0)
    hours = await first.store.hours(["api-availability"], 0, 10**9)
    assert len(hours["api-availability"]) >= 95  # every hour with results is stored
    second = await evaluator(store, FakeClock(now), Captured())
    assert second.snapshot is not None
    assert second.snapshot.report(0) == before
    assert before.sli == pytest.approx(1 - 30 / 2880)
