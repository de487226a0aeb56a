"""SLO math from tables: the Google SRE Workbook ch. 5 numbers, one comment per row."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tocsin.slo.math import (
    WORKBOOK_TIERS,
    BurnTier,
    Severity,
    Status,
    burn_rate,
    configure_tiers,
    error_budget,
    evaluate,
    evaluate_tiers,
    interval_consumed,
    objective_from_percent,
    postmortem_required,
    release_freeze,
    sli,
    status_codes,
    tier_reachable,
    time_to_exhaustion,
)

DAY = 1440
D30 = 30 * DAY
D28 = 28 * DAY
WINDOWS = (5, 30, 60, 120, 360, 1440, 4320)
TIER = {t.name: t for t in WORKBOOK_TIERS}


@pytest.mark.parametrize(
    ("tier", "window", "factor"),
    [
        ("page-1h", D30, 14.4),  # workbook ch. 5 multiwindow table: 2% of a 30-day budget in 1 hour
        ("page-6h", D30, 6.0),  # 5% in 6 hours
        ("ticket-1d", D30, 3.0),  # 10% in 1 day
        ("ticket-3d", D30, 1.0),  # 10% in 3 days
        ("page-1h", D28, 13.44),  # issue 5: share x window / long window for 28 days
        ("page-6h", D28, 5.6),
        ("ticket-1d", D28, 2.8),
        ("ticket-3d", D28, 0.9333333333333333),
        ("page-1h", 7 * DAY, 3.36),  # a 7-day window pages at 3.36x
    ],
)
def test_tier_factor_scales_with_the_window(tier: str, window: int, factor: float) -> None:
    """Thresholds are budget share x window / long window."""
    assert float(TIER[tier].factor(window)) == pytest.approx(factor)


@pytest.mark.parametrize(
    ("objective", "total"),
    [
        (0.999, 1_000_000),  # workbook's running example, 99.9%
        (0.9999, 1_000_000),  # four nines
        (0.995, 200_000),  # 99.5%
        (0.99, 12_345_600),  # a large odd total
        (0.9, 10),  # tiny traffic, 1 bad event in 10
    ],
)
def test_burn_rate_one_over_the_whole_window_leaves_exactly_zero(objective: float, total: int) -> None:
    """Burning at exactly 1 for a whole window spends exactly the whole budget."""
    good = round(objective * total)
    assert float(burn_rate(good, total, objective)) == 1.0
    budget = error_budget(good, total, objective, D30)
    assert float(budget.remaining) == 0.0
    assert float(budget.remaining_events) == pytest.approx(0.0, abs=1e-6)
    assert status_codes(budget.remaining) == 2  # exhausted
    assert bool(release_freeze(budget.remaining))


@pytest.mark.parametrize(
    ("burn", "minutes"),
    [
        (1.0, D30),  # workbook ch. 5 burn-rate table: burn 1 (0.1% errors at 99.9%) lasts 30 days
        (2.0, 15 * DAY),  # burn 2 exhausts it in 15 days
        (10.0, 3 * DAY),  # burn 10 in 3 days
        (14.4, 50 * 60),  # the fast page rate empties it in 50 hours
        (1000.0, 43.2),  # burn 1000 (100% errors at 99.9%) in 43 minutes
        (0.0, math.inf),  # not burning: never
    ],
)
def test_time_to_exhaustion_of_a_full_30_day_budget(burn: float, minutes: float) -> None:
    """Minutes until a full 30-day budget is gone at a constant burn rate."""
    assert float(time_to_exhaustion(1.0, burn, D30)) == pytest.approx(minutes)


def test_total_outage_at_three_nines_burns_1000x() -> None:
    """100% errors against a 99.9% objective is a 1000x burn, 43 minutes to exhaustion."""
    burn = burn_rate(0, 5_000, 0.999)
    assert float(burn) == pytest.approx(1000.0)
    assert float(time_to_exhaustion(1.0, burn, D30)) == pytest.approx(43.2)


@pytest.mark.parametrize(
    ("remaining", "burn", "minutes"),
    [
        (0.5, 1000.0, 21.6),  # half the budget goes twice as fast
        (0.0, 1000.0, 0.0),  # nothing left: exhausted now
        (-0.3, 5.0, 0.0),  # overspent: exhausted now, never negative
    ],
)
def test_time_to_exhaustion_of_what_is_left(remaining: float, burn: float, minutes: float) -> None:
    """Only the remaining share of the budget is left to burn."""
    assert float(time_to_exhaustion(remaining, burn, D30)) == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("objective", "window", "minutes"),
    [
        (0.999, D30, 43.2),  # 99.9% over 30 days allows 43.2 minutes of full outage
        (0.999, D28, 40.32),  # over 28 days, 40.32 minutes
        (0.9999, D30, 4.32),  # four nines, 4.32 minutes
        (0.99, 7 * DAY, 100.8),  # 99% over a week, 100.8 minutes
    ],
)
def test_budget_in_minutes_of_full_outage(objective: float, window: int, minutes: float) -> None:
    """A budget read as minutes of full outage is (1 - objective) x window."""
    assert float(error_budget(10, 10, objective, window).total_minutes) == pytest.approx(minutes)


@pytest.mark.parametrize(
    ("burn", "interval", "consumed"),
    [
        (14.4, 60, 0.02),  # workbook: 14.4x for 1 hour spends 2% of a 30-day budget
        (6.0, 360, 0.05),  # 6x for 6 hours spends 5%
        (3.0, 1440, 0.10),  # 3x for 1 day spends 10%
        (1.0, 4320, 0.10),  # 1x for 3 days spends 10%
        (1000.0, 43.2, 1.0),  # 1000x for 43.2 minutes spends it all
    ],
)
def test_budget_consumed_over_an_interval(burn: float, interval: float, consumed: float) -> None:
    """With steady traffic an interval at burn b spends b x interval / window of the budget."""
    per_minute = 1_000.0
    bad = burn * 0.001 * per_minute * interval  # 99.9% objective
    spent = interval_consumed(per_minute * interval - bad, per_minute * interval, per_minute * D30, 0.999)
    assert float(spent) == pytest.approx(consumed)


@pytest.mark.parametrize(
    ("consumed", "required"),
    [
        (0.2, False),  # exactly 20% is not "more than 20%"
        (0.2001, True),  # more than 20% of the budget needs a postmortem
        (0.05, False),  # a small incident does not
    ],
)
def test_postmortem_policy(consumed: float, required: bool) -> None:
    """Error budget policy: an interval that spent more than 20% needs a postmortem."""
    assert bool(postmortem_required(consumed)) is required


@pytest.mark.parametrize(
    ("remaining", "status"),
    [
        (1.0, Status.OK),  # untouched budget
        (0.25, Status.OK),  # a quarter left is still ok
        (0.2499, Status.WARNING),  # less than a quarter left warns
        (0.0, Status.EXHAUSTED),  # nothing left
        (-2.0, Status.EXHAUSTED),  # overspent
    ],
)
def test_status(remaining: float, status: Status) -> None:
    """Status follows the remaining budget."""
    from tocsin.slo.math import STATUSES

    assert STATUSES[int(status_codes(remaining))] is status


@pytest.mark.parametrize(
    ("good", "total", "elapsed", "consumed", "budget_events"),
    [
        (999, 1000, 1.0, 1.0, 1.0),  # rolling: burn 1 spends it all
        (999, 1000, 0.5, 0.5, 2.0),  # half a calendar month at burn 1: half spent, events projected
        (1000, 1000, 0.5, 0.0, 2.0),  # no errors: nothing spent
        (0, 1000, 0.01, 10.0, 100.0),  # total outage in the first 1% of a month: 10x overspent
        (0, 0, 0.3, 0.0, 0.0),  # no events: nothing spent, no budget in events yet
    ],
)
def test_calendar_budget_is_projected_over_the_whole_period(
    good: int, total: int, elapsed: float, consumed: float, budget_events: float
) -> None:
    """Consumed = elapsed share x burn rate so far, equal to the plain figure at period end."""
    budget = error_budget(good, total, 0.999, D30, elapsed)
    assert float(budget.consumed) == pytest.approx(consumed)
    assert float(budget.total_events) == pytest.approx(budget_events)


def test_ratio_of_sums_not_average_of_ratios() -> None:
    """The SLI of a window is total good over total events, weighting busy minutes more."""
    good = np.array([0.0, 99.0])
    total = np.array([1.0, 100.0])
    assert float(sli(good.sum(), total.sum())) == pytest.approx(99 / 101)
    assert float(np.mean(good / total)) == pytest.approx(0.495)


def test_no_events_means_no_sli_and_no_burn() -> None:
    """Without events the SLI is undefined (NaN) and nothing burns."""
    assert math.isnan(float(sli(0, 0)))
    assert float(burn_rate(0, 0, 0.999)) == 0.0


def test_objective_from_percent_is_exact() -> None:
    """99.9 / 100 is 0.9990000000000001 in floats; the helper gives 0.999."""
    assert objective_from_percent(99.9) == 0.999
    assert objective_from_percent(99.99) == 0.9999


@pytest.mark.parametrize("objective", [0.0, 1.0, 99.9, -0.5])
def test_objectives_are_ratios(objective: float) -> None:
    """Objectives outside (0, 1) are refused (99.9 is a percent, not a ratio)."""
    with pytest.raises(ValueError, match="strictly between 0 and 1"):
        burn_rate(1, 1, objective)


def windows_at(burns: dict[int, float], objective: float, total: float = 10_000.0) -> dict[int, tuple[float, float]]:
    """(good, total) per window giving the requested burn rates (default 0)."""
    share = 1.0 - objective
    return {m: (total * (1.0 - burns.get(m, 0.0) * share), total) for m in WINDOWS}


def active(
    burns: dict[int, float], objective: float = 0.999, tiers: tuple[BurnTier, ...] = WORKBOOK_TIERS
) -> list[str]:
    """Names of the active tiers for one SLO with the given burn rates."""
    alerts = evaluate_tiers(tiers, windows_at(burns, objective), objective, D30)
    return list(alerts.names(0))


@pytest.mark.parametrize(
    ("burns", "expected"),
    [
        ({60: 15, 5: 15}, ["page-1h"]),  # both page-1h windows above 14.4
        ({60: 15, 5: 1}, []),  # long window still high but the problem stopped: no page
        ({60: 1, 5: 15}, []),  # a short spike alone does not page
        ({60: 14.4, 5: 14.4}, []),  # the threshold itself does not fire (strictly above)
        ({360: 7, 30: 7}, ["page-6h"]),  # slow page: 6h and 30m above 6
        ({1440: 4, 120: 4}, ["ticket-1d"]),  # ticket: 1d and 2h above 3
        ({4320: 1.5, 360: 1.5}, ["ticket-3d"]),  # ticket: 3d and 6h above 1
        (dict.fromkeys(WINDOWS, 20), ["page-1h"]),  # everything fires: only the highest tier is active
        ({360: 7, 30: 7, 1440: 4, 120: 4, 4320: 2}, ["page-6h"]),  # the slow page suppresses tickets
    ],
)
def test_burn_rate_tiers(burns: dict[int, float], expected: list[str]) -> None:
    """Multiwindow, multi-burn-rate alerts (workbook ch. 5, approach 6)."""
    assert active(burns) == expected


def test_suppressed_tiers_still_report_their_condition() -> None:
    """Suppression hides lower tiers from `active`, not from `firing`."""
    alerts = evaluate_tiers(WORKBOOK_TIERS, windows_at(dict.fromkeys(WINDOWS, 20), 0.999), 0.999, D30)
    assert alerts.firing[:, 0].tolist() == [True, True, True, True]
    assert alerts.active[:, 0].tolist() == [True, False, False, False]
    assert alerts.highest().tolist() == [0]


def test_a_90_percent_slo_can_never_fire_the_fast_page() -> None:
    """At 90% a total outage burns only 10x, below 14.4: the 2%/1h page is unreachable."""
    assert not bool(tier_reachable(TIER["page-1h"], 0.9, D30))
    assert bool(tier_reachable(TIER["page-6h"], 0.9, D30))
    everything_bad = dict.fromkeys(WINDOWS, (0.0, 1000.0))
    alerts = evaluate_tiers(WORKBOOK_TIERS, everything_bad, 0.9, D30)
    assert alerts.firing[:, 0].tolist() == [False, True, True, True]
    assert alerts.names(0) == ("page-6h",)


def test_disabled_tiers_never_fire_and_do_not_suppress() -> None:
    """A disabled tier is skipped; the next tier down takes over."""
    tiers = configure_tiers(disabled={"page-1h"})
    assert active(dict.fromkeys(WINDOWS, 20), tiers=tiers) == ["page-6h"]


def test_unknown_tier_names_are_refused() -> None:
    """Disabling a tier that does not exist is a config error."""
    with pytest.raises(ValueError, match="page-2h"):
        configure_tiers(disabled={"page-2h"})


def test_minimum_events_guard_low_traffic() -> None:
    """Below min_events in the long window a tier stays quiet, however bad the ratio."""
    tiers = configure_tiers(min_events=100)
    few = dict.fromkeys(WINDOWS, (0.0, 50.0))  # one bad request in two would page at 99.9%
    assert evaluate_tiers(tiers, few, 0.999, D30).names(0) == ()
    many = dict.fromkeys(WINDOWS, (0.0, 100.0))
    assert evaluate_tiers(tiers, many, 0.999, D30).names(0) == ("page-1h",)


def test_a_custom_tier() -> None:
    """Teams may add their own tiers; the factor follows the same rule."""
    tier = BurnTier("page-15m", Severity.PAGE, 15, 1, 0.01)
    assert float(tier.factor(D30)) == pytest.approx(28.8)


def test_evaluate_reports_every_figure() -> None:
    """One cycle for two SLOs: a healthy one and one in a total outage for the last 4 hours."""
    total = np.array([1e7, 1e7])
    window = (np.array([1e7, 1e7 - 240_000]), total)
    recent = {m: (np.array([1e3 * m, 1e3 * max(m - 240, 0)]), np.full(2, 1e3 * m)) for m in WINDOWS}
    result = evaluate(window, recent, np.array([0.999, 0.9]), D30)
    healthy, outage = result.report(0), result.report(1)
    assert healthy.status is Status.OK
    assert healthy.sli == 1.0
    assert healthy.exhaustion_minutes is None
    assert healthy.alerts == ()
    assert outage.sli == pytest.approx(0.976)
    assert outage.burn_rates["1h"] == pytest.approx(10.0)  # total outage at 90% burns 10x
    assert outage.burn_rates["6h"] == pytest.approx(240 / 360 / 0.1)
    assert outage.burn_rates["window"] == pytest.approx(0.24)
    assert outage.budget_consumed == pytest.approx(0.24)
    assert outage.budget_remaining == pytest.approx(0.76)
    assert outage.budget_minutes == pytest.approx(4320.0)
    assert outage.budget_remaining_minutes == pytest.approx(0.76 * 4320)
    assert outage.budget_events == pytest.approx(1_000_000.0)
    assert outage.budget_remaining_events == pytest.approx(760_000.0)
    assert outage.exhaustion_minutes == pytest.approx(0.76 * D30 / 10)
    assert outage.alerts == ("page-6h",)  # 90%: the 1h page is unreachable, 6h/30m above 6
    assert outage.status is Status.OK
    assert not outage.release_freeze


def test_tiers_broadcast_scalar_windows_over_many_objectives() -> None:
    """The same counts against three objectives: only the strictest SLO pages."""
    counts = dict.fromkeys(WINDOWS, (980.0, 1_000.0))  # 2% errors everywhere
    alerts = evaluate_tiers(WORKBOOK_TIERS, counts, np.array([0.9, 0.99, 0.999]), D30)
    assert alerts.highest().tolist() == [-1, 3, 0]  # 0.2x burn, 2x (3d ticket), 20x (1h page)


def test_no_tiers_no_alerts() -> None:
    """With every tier removed nothing fires."""
    alerts = evaluate_tiers((), dict.fromkeys(WINDOWS, (0.0, 10.0)), 0.999, D30)
    assert alerts.highest().tolist() == [-1]
