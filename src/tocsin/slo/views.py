"""What the SLO API and pages show, as typed view models built from the evaluator's latest snapshot.

Every page has a JSON twin: the API returns these models, the templates render them.
Figures for the current window come from the engine's running sums; the monthly report
and intervals older than the engine's history read the stored SLI hours (hour-aligned).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta

import numpy as np
from pydantic import BaseModel

from tocsin.slo.alerts import window_label
from tocsin.slo.engine import Snapshot
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.math import interval_consumed, postmortem_required, tier_reachable
from tocsin.slo.model import EventsSource, MonitorSource, Slo
from tocsin.slo.series import HOUR
from tocsin.slo.windows import CalendarWindow, RollingWindow, instant_of, minute_of, window_bounds, zone_of

MAX_POINTS = 120  # points of the burn-down and SLI charts


class SloSummary(BaseModel):
    """One row of the SLO list."""

    name: str
    service: str
    description: str
    objective: float  # percent
    window: str
    budgeting: str
    sli_kind: str  # monitor, events, prometheus
    sli: float | None
    budget_remaining: float
    burn_rate_1h: float
    status: str  # ok, warning, exhausted
    release_freeze: bool
    exhaustion_minutes: float | None
    alert: str | None  # the active burn-rate tier


class BurnRow(BaseModel):
    """The burn rate and error ratio over one window."""

    window: str
    burn_rate: float
    error_ratio: float


class TierRow(BaseModel):
    """One burn-rate tier: its threshold, both windows' burn rates, and whether it fires."""

    name: str
    severity: str
    long_window: str
    short_window: str
    threshold: float
    long_burn_rate: float
    short_burn_rate: float
    firing: bool  # both windows above the threshold (with enough events)
    active: bool  # firing and not suppressed by a higher tier
    reachable: bool  # the threshold is below the burn rate of a total outage


class Budget(BaseModel):
    """The window's error budget as a share, minutes of full outage, and events."""

    consumed: float
    remaining: float
    minutes_total: float
    minutes_remaining: float
    events_total: float
    events_remaining: float


class Point(BaseModel):
    """One point of a chart; `value` is None where there was no data."""

    at: datetime
    value: float | None


class SloDetail(SloSummary):
    """The SLO page: burn table, tiers, budget, burn-down and SLI over the window."""

    window_start: datetime
    window_end: datetime
    evaluated_at: datetime
    burn_rates: list[BurnRow]
    tiers: list[TierRow]
    budget: Budget
    burn_down: list[Point]  # budget remaining at each point since the window started
    sli_series: list[Point]  # SLI of each step


class Consumed(BaseModel):
    """Budget spent by one interval (the incident page uses it)."""

    slo: str
    start: datetime
    end: datetime
    consumed: float  # share of the window's budget
    bad_events: float
    total_events: float
    postmortem_required: bool  # more than 20% of the budget in one interval


class MonthRow(BaseModel):
    """The SLI of one SLO over one calendar month."""

    slo: str
    month: str  # YYYY-MM in the SLO's time zone (UTC for rolling windows)
    start: datetime
    end: datetime
    objective: float
    sli: float | None
    met: bool | None  # None: no data that month
    good: float
    total: float


def window_text(slo: Slo) -> str:
    """`30d`, or `month (Europe/London)`."""
    if isinstance(slo.window, RollingWindow):
        return window_label(slo.window.length // timedelta(minutes=1))
    return f"{slo.window.unit} ({slo.window.time_zone})"


def sli_kind(slo: Slo) -> str:
    """monitor, events or prometheus."""
    source = slo.source
    return (
        "monitor"
        if isinstance(source, MonitorSource)
        else "events"
        if isinstance(source, EventsSource)
        else "prometheus"
    )


def _summary(slo: Slo, snap: Snapshot, i: int) -> dict[str, object]:
    r = snap.report(i)
    active = snap.active[i]
    return {
        "name": slo.name,
        "service": slo.service,
        "description": slo.description,
        "objective": slo.objective_percent,
        "window": window_text(slo),
        "budgeting": slo.method.value,
        "sli_kind": sli_kind(slo),
        "sli": r.sli,
        "budget_remaining": r.budget_remaining,
        "burn_rate_1h": r.burn_rates.get("1h", 0.0),
        "status": r.status.value,
        "release_freeze": r.release_freeze,
        "exhaustion_minutes": r.exhaustion_minutes,
        "alert": active.name if active else None,
    }


def list_slos(evaluator: SloEvaluator) -> list[SloSummary]:
    """Every SLO, least budget left first (then by name)."""
    snap, engine = evaluator.snapshot, evaluator.engine
    if snap is None or engine is None:
        return []
    rows = [SloSummary.model_validate(_summary(s, snap, i)) for i, s in enumerate(engine.slos)]
    return sorted(rows, key=lambda r: (r.budget_remaining, r.name))


def slo_detail(evaluator: SloEvaluator, name: str) -> SloDetail | None:
    """One SLO's page, or None when there is no such SLO (or nothing evaluated yet)."""
    snap, engine = evaluator.snapshot, evaluator.engine
    if snap is None or engine is None or name not in engine.index:
        return None
    i, slo = engine.index[name], engine.slos[engine.index[name]]
    r = snap.report(i)
    share = 1 - slo.objective
    burns = [BurnRow(window=k, burn_rate=v, error_ratio=v * share) for k, v in r.burn_rates.items()]
    start, minutes = int(snap.windows.start[i]), float(snap.windows.minutes[i])
    return SloDetail.model_validate(
        {
            **_summary(slo, snap, i),
            "window_start": instant_of(start),
            "window_end": instant_of(start + int(minutes)),
            "evaluated_at": snap.at,
            "burn_rates": burns,
            "tiers": _tiers(slo, snap, i),
            "budget": Budget(
                consumed=r.budget_consumed,
                remaining=r.budget_remaining,
                minutes_total=r.budget_minutes,
                minutes_remaining=r.budget_remaining_minutes,
                events_total=r.budget_events,
                events_remaining=r.budget_remaining_events,
            ),
            "burn_down": _burn_down(evaluator, slo, i, start, float(snap.windows.elapsed[i])),
            "sli_series": _sli_series(evaluator, i, start),
        }
    )


def _tiers(slo: Slo, snap: Snapshot, i: int) -> list[TierRow]:
    minutes = float(snap.windows.minutes[i])
    burn = snap.evaluation.burn
    active = snap.active[i]
    return [
        TierRow(
            name=t.name,
            severity=t.severity.value,
            long_window=window_label(t.long_minutes),
            short_window=window_label(t.short_minutes),
            threshold=float(t.factor(minutes)),
            long_burn_rate=float(burn[t.long_minutes][i]),
            short_burn_rate=float(burn[t.short_minutes][i]),
            firing=t.name in snap.firing[i],
            active=active is not None and active.name == t.name,
            reachable=bool(tier_reachable(t, slo.objective, minutes)),
        )
        for t in slo.tiers
    ]


def _steps(start: int, end: int) -> list[int]:
    """Chart boundaries from `start` to `end`: whole hours, at most MAX_POINTS of them."""
    step = max(HOUR, -(-(end - start) // MAX_POINTS // HOUR) * HOUR)
    first = -(-start // HOUR) * HOUR
    return [start, *range(first + step if first == start else first, end, step), end]


def _sums(evaluator: SloEvaluator, i: int, boundaries: Sequence[int]) -> np.ndarray:
    assert evaluator.engine is not None
    sums = evaluator.engine.series.sums
    return np.array([sums.at(b)[:, i] for b in boundaries])


def _burn_down(evaluator: SloEvaluator, slo: Slo, i: int, start: int, elapsed: float) -> list[Point]:
    assert evaluator.engine is not None
    points = _steps(start, evaluator.engine.end)
    sums = _sums(evaluator, i, points)
    so_far = sums - sums[0]
    window_total = so_far[-1, 1]
    spent = interval_consumed(so_far[:, 0], so_far[:, 1], window_total, slo.objective, elapsed)
    return [Point(at=instant_of(b), value=float(1 - c)) for b, c in zip(points, spent, strict=True)]


def _sli_series(evaluator: SloEvaluator, i: int, start: int) -> list[Point]:
    assert evaluator.engine is not None
    points = _steps(start, evaluator.engine.end)
    steps = np.diff(_sums(evaluator, i, points), axis=0)
    return [
        Point(at=instant_of(b), value=float(g / t) if t > 0 else None)
        for b, (g, t) in zip(points[1:], steps, strict=True)
    ]


async def _counts(evaluator: SloEvaluator, slo: Slo, start: int, end: int) -> tuple[float, float]:
    """Good and total of [start, end): stored hours before the engine's history, the engine after it."""
    engine = evaluator.engine
    held = engine is not None and slo.name in engine.index
    # Split on an hour the engine still holds: stored hours before it, exact engine sums after it.
    split = min(max(-(-engine.series.sums.oldest // HOUR) * HOUR, start), end) if engine is not None and held else end
    good = total = 0.0
    if start < split:
        rows = (await evaluator.store.hours([slo.name], start - start % HOUR, split)).get(slo.name, [])
        good, total = sum(r[1] for r in rows), sum(r[2] for r in rows)
    if engine is not None and held and split < min(end, engine.end):
        g, t = engine.between(split, min(end, engine.end))
        good, total = good + float(g[engine.index[slo.name]]), total + float(t[engine.index[slo.name]])
    return good, total


def ceil_minute(at: datetime) -> int:
    """The first minute boundary at or after an instant."""
    minute = minute_of(at)
    return minute if instant_of(minute) == at else minute + 1


async def consumed(evaluator: SloEvaluator, name: str, start: datetime, end: datetime) -> Consumed:
    """Share of the budget of the window holding `end` that [start, end) spent (KeyError: no such SLO)."""
    slo = evaluator.slos[name]
    first, last = minute_of(start), ceil_minute(end)
    win_start, win_end = (minute_of(x) for x in window_bounds(slo.window, end))
    rolling = isinstance(slo.window, RollingWindow)
    window_from = last - (win_end - win_start) if rolling else win_start
    elapsed = 1.0 if rolling else min((last - win_start) / (win_end - win_start), 1.0)
    good, total = await _counts(evaluator, slo, max(first, window_from), last)
    _, window_total = await _counts(evaluator, slo, window_from, last)
    share = float(interval_consumed(good, total, window_total, slo.objective, elapsed))
    return Consumed(
        slo=name,
        start=start,
        end=end,
        consumed=share,
        bad_events=total - good,
        total_events=total,
        postmortem_required=bool(postmortem_required(share)),
    )


def _months(slo: Slo, now: datetime, count: int) -> list[tuple[str, datetime, datetime]]:
    """The last `count` calendar months up to the one holding `now`, in the SLO's time zone."""
    zone = slo.window.time_zone if isinstance(slo.window, CalendarWindow) else "UTC"
    spec = CalendarWindow("month", zone)
    out: list[tuple[str, datetime, datetime]] = []
    at = now
    for _ in range(count):
        start, end = window_bounds(spec, at)
        out.append((start.astimezone(zone_of(zone)).strftime("%Y-%m"), start, end))
        at = start - timedelta(seconds=1)
    return out[::-1]


async def monthly_report(evaluator: SloEvaluator, now: datetime, months: int = 12) -> list[MonthRow]:
    """The SLI of every SLO for each of the last `months` calendar months, met or missed."""
    rows: list[MonthRow] = []
    for slo in evaluator.slos.values():
        for label, start, end in _months(slo, now, months):
            good, total = await _counts(evaluator, slo, minute_of(start), minute_of(end))
            sli = good / total if total else None
            rows.append(
                MonthRow(
                    slo=slo.name,
                    month=label,
                    start=start,
                    end=end,
                    objective=slo.objective_percent,
                    sli=sli,
                    met=None if sli is None else sli >= slo.objective,
                    good=good,
                    total=total,
                )
            )
    return rows


def report_csv(rows: Sequence[MonthRow]) -> str:
    """The monthly report as CSV (one line per SLO and month, SLI as a percentage)."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(["slo", "month", "objective", "sli", "met", "good", "total"])
    for r in rows:
        sli = "" if r.sli is None else f"{r.sli * 100:.4f}"
        met = "" if r.met is None else ("met" if r.met else "missed")
        writer.writerow([r.slo, r.month, r.objective, sli, met, r.good, r.total])
    return out.getvalue()
