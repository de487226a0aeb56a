"""The engine (many SLOs, each with its own method, window and tiers) against brute force, and alert transitions."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.slo.alerts import Sent, transition
from tocsin.slo.engine import SloEngine
from tocsin.slo.math import WORKBOOK_TIERS, burn_rate, evaluate_tiers
from tocsin.slo.minutes import budgeted
from tocsin.slo.model import EventsSource, Slo
from tocsin.slo.series import Method
from tocsin.slo.windows import BURN_WINDOWS, CalendarWindow, RollingWindow, minute_of

NOW = datetime(2026, 3, 29, 12, 0, tzinfo=UTC)  # a DST day in London
ORIGIN = minute_of(NOW) - 24 * 60  # every minute below is on a multiple of 60: slices align

SLOS = (
    Slo("occ-30d", 0.999, RollingWindow(timedelta(days=30)), EventsSource()),
    Slo(
        "slices-7d",
        0.99,
        RollingWindow(timedelta(days=7)),
        EventsSource(),
        method=Method.TIMESLICES,
        slice_minutes=5,
        slice_target=0.95,
    ),
    Slo(
        "ratio-month",
        0.995,
        CalendarWindow("month", "Europe/London"),
        EventsSource(),
        method=Method.RATIO_TIMESLICES,
        slice_minutes=2,
    ),
    Slo("no-alerts", 0.9, RollingWindow(timedelta(hours=6)), EventsSource(), tiers=()),
)

minutes = st.integers(min_value=1, max_value=400)


@settings(max_examples=25, deadline=None)
@given(count=minutes, seed=st.integers(0, 2**32 - 1))
def test_engine_matches_brute_force(count: int, seed: int) -> None:
    rng = np.random.default_rng(seed)
    total = rng.integers(0, 50, size=(count, len(SLOS))).astype(float)
    good = total - rng.binomial(total.astype(np.int64), rng.uniform(0, 0.2, size=len(SLOS)))
    engine = SloEngine(SLOS, ORIGIN)
    for row in range(count):
        engine.append(good[row], total[row])
    snapshot = engine.evaluate()
    for i, slo in enumerate(SLOS):
        # what the series holds for this SLO: the budgeting method applied to whole slices
        done = count - count % slo.slice_minutes
        g, t = budgeted(slo.method, slo.slice_minutes, slo.slice_target, ORIGIN, good[:done, i], total[:done, i])
        g, t = np.pad(g, (0, count - done)), np.pad(t, (0, count - done))  # the open slice counts nothing yet
        for window in BURN_WINDOWS:
            expected = burn_rate(g[-window:].sum(), t[-window:].sum(), slo.objective)
            assert snapshot.evaluation.burn[window][i] == pytest.approx(float(expected), rel=1e-12, abs=1e-12)
        # the SLI over the SLO's own window (the calendar month holds the whole history)
        span = slo.window.length // timedelta(minutes=1) if isinstance(slo.window, RollingWindow) else count
        gw, tw = g[-span:].sum(), t[-span:].sum()
        sli = snapshot.evaluation.sli[i]
        assert (np.isnan(sli) and tw == 0) or sli == pytest.approx(gw / tw, rel=1e-12)
        if slo.tiers:
            windows = {m: (g[-m:].sum(), t[-m:].sum()) for m in engine.windows}
            minutes_in = float(snapshot.windows.minutes[i])
            brute = evaluate_tiers(slo.tiers, windows, slo.objective, minutes_in)
            assert snapshot.firing[i] == tuple(
                x.name for x, on in zip(slo.tiers, brute.firing[:, 0], strict=True) if on
            )
        else:
            assert snapshot.firing[i] == ()
            assert snapshot.active[i] is None


def test_calendar_month_length_follows_dst() -> None:
    engine = SloEngine(SLOS, ORIGIN)
    engine.append(np.ones(len(SLOS)), np.ones(len(SLOS)))
    state = engine.window_state(engine.end)
    assert state.minutes[2] == 31 * 1440 - 60  # London's March loses an hour
    assert state.minutes[0] == 30 * 1440
    assert state.elapsed[0] == 1.0
    assert state.elapsed[2] == pytest.approx((27 * 1440 + 12 * 60 + 1) / (31 * 1440 - 60))  # 28 March, 12:01 UTC


PAGE, PAGE_6H = WORKBOOK_TIERS[0], WORKBOOK_TIERS[1]
AT = datetime(2026, 1, 1, tzinfo=UTC)


def sent(tier: str) -> Sent:
    return Sent(tier, {"alertname": "SLOBurnRate", "slo": "occ-30d", "long_window": tier}, AT - timedelta(hours=1))


@pytest.mark.parametrize(
    ("previous", "active", "expected"),
    [
        # nothing firing, nothing to send
        (None, None, []),
        # a tier starts: one firing alert
        (None, PAGE, [("page-1h", None)]),
        # the same tier still active: nothing is sent again
        (sent("page-1h"), PAGE, []),
        # a higher tier takes over: the lower one is resolved, the higher one fires
        (sent("ticket-1d"), PAGE, [("ticket-1d", AT), ("page-1h", None)]),
        # a lower tier after a higher one: resolve, then fire the lower one
        (sent("page-1h"), PAGE_6H, [("page-1h", AT), ("page-6h", None)]),
        # burning stops: the alert is resolved at `now`
        (sent("page-6h"), None, [("page-6h", AT)]),
    ],
)
def test_transitions(previous: Sent | None, active: object, expected: list[tuple[str, datetime | None]]) -> None:
    alerts, current = transition(SLOS[0], active, previous, None, AT)  # type: ignore[arg-type]
    got = [
        (a.labels["long_window"] if a.ends_at else a.labels["severity"] + "-" + a.labels["long_window"], a.ends_at)
        for a in alerts
    ]
    assert got == expected
    assert (current.tier if current else None) == (getattr(active, "name", None))
