"""Pure SLO math for many SLOs at once: SLIs, error budgets, burn rates, status, policy, alerts.

Functions take numpy arrays (one value per SLO) or plain numbers and return arrays; read a
single result with `float(x)`. Objectives are ratios (0.999, not 99.9). The alerting rules
follow the Google SRE Workbook, chapter 5 "Alerting on SLOs". See docs/slo/math.md.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import timedelta
from decimal import Decimal
from enum import StrEnum

import numpy as np
import numpy.typing as npt
from numpy.typing import NDArray

from tocsin.config.duration import format_duration

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
IntArray = NDArray[np.int64]
Pair = tuple[npt.ArrayLike, npt.ArrayLike]

POSTMORTEM_SHARE = 0.2  # Workbook ch. 5 policy: one incident spending > 20% needs a postmortem
WARNING_BELOW = 0.25  # status turns `warning` when less than this share of budget is left


def _f(value: npt.ArrayLike) -> FloatArray:
    """An array of float64 (a 0-d array for a plain number)."""
    return np.asarray(value, dtype=np.float64)


def _ratio(num: npt.ArrayLike, den: npt.ArrayLike, empty: float = 0.0) -> FloatArray:
    """num / den element-wise, `empty` where den is zero."""
    n, d = np.broadcast_arrays(_f(num), _f(den))
    out = np.full(n.shape, empty)
    np.divide(n, d, out=out, where=d != 0)
    return out


def objective_from_percent(percent: float) -> float:
    """Turn 99.9 into 0.999 exactly (99.9 / 100 in floating point is 0.9990000000000001)."""
    return float(Decimal(repr(percent)) / 100)


def budget_share(objective: npt.ArrayLike) -> FloatArray:
    """The error budget as a share of events, 1 - objective; objectives must lie in (0, 1)."""
    o = _f(objective)
    if np.any((o <= 0) | (o >= 1)):
        raise ValueError("an objective is a ratio strictly between 0 and 1 (0.999 for 99.9%)")
    return 1.0 - o


def sli(good: npt.ArrayLike, total: npt.ArrayLike) -> FloatArray:
    """The SLI, good / total (a ratio of sums); NaN where there were no events."""
    return _ratio(good, total, empty=np.nan)


def error_ratio(good: npt.ArrayLike, total: npt.ArrayLike) -> FloatArray:
    """The share of bad events, 1 - good / total; 0 where there were no events."""
    # Computed as 1 - ratio, like budget_share, so a burn of exactly 1 comes out as 1.0.
    return np.where(_f(total) > 0, 1.0 - _ratio(good, total), 0.0)


def burn_rate(good: npt.ArrayLike, total: npt.ArrayLike, objective: npt.ArrayLike) -> FloatArray:
    """How fast the budget burns: error ratio / (1 - objective); 1 spends it over the window."""
    return error_ratio(good, total) / budget_share(objective)


def max_burn_rate(objective: npt.ArrayLike) -> FloatArray:
    """The burn rate when every event is bad, 1 / (1 - objective)."""
    return 1.0 / budget_share(objective)


@dataclass(frozen=True)
class Budget:
    """Error budgets of many SLOs over their windows, as shares, minutes and events."""

    consumed: FloatArray  # share of the budget spent; 1.0 is all of it, more is overspent
    total_minutes: FloatArray  # minutes of full outage the window allows
    total_events: FloatArray  # bad events the window allows (projected for calendar windows)
    bad_events: FloatArray  # bad events so far

    @property
    def remaining(self) -> FloatArray:
        """Share of the budget left, 1 - consumed (negative when overspent)."""
        return 1.0 - self.consumed

    @property
    def consumed_minutes(self) -> FloatArray:
        """Minutes of full outage the consumed share stands for."""
        return self.consumed * self.total_minutes

    @property
    def remaining_minutes(self) -> FloatArray:
        """Minutes of full outage still allowed."""
        return self.remaining * self.total_minutes

    @property
    def remaining_events(self) -> FloatArray:
        """Bad events still allowed."""
        return self.total_events - self.bad_events


def error_budget(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    objective: npt.ArrayLike,
    window_minutes: npt.ArrayLike,
    elapsed: npt.ArrayLike = 1.0,
) -> Budget:
    """The budget of a window whose counts so far are good/total and `elapsed` share has passed."""
    share = budget_share(objective)
    # A calendar window's budget is for the whole period: the events so far are projected
    # to the full period, so consumed = elapsed x burn rate so far (equal at period end).
    consumed = _f(elapsed) * burn_rate(good, total, objective)
    return Budget(
        consumed=consumed,
        total_minutes=share * _f(window_minutes),
        total_events=_ratio(share * _f(total), elapsed),
        bad_events=_f(total) - _f(good),
    )


def interval_consumed(
    good: npt.ArrayLike,
    total: npt.ArrayLike,
    window_total: npt.ArrayLike,
    objective: npt.ArrayLike,
    elapsed: npt.ArrayLike = 1.0,
) -> FloatArray:
    """Share of a window's budget spent by the bad events of one interval inside it."""
    bad = _f(total) - _f(good)
    return _ratio(_f(elapsed) * bad, budget_share(objective) * _f(window_total))


def time_to_exhaustion(remaining: npt.ArrayLike, burn: npt.ArrayLike, window_minutes: npt.ArrayLike) -> FloatArray:
    """Minutes until the remaining budget is gone at burn rate `burn` (inf if not burning)."""
    left = np.maximum(_f(remaining), 0.0) * _f(window_minutes)
    return np.where(left > 0, _ratio(left, burn, empty=np.inf), 0.0)


class Status(StrEnum):
    """Budget status of an SLO."""

    OK = "ok"
    WARNING = "warning"
    EXHAUSTED = "exhausted"


STATUSES = (Status.OK, Status.WARNING, Status.EXHAUSTED)  # indexed by `status_codes`


def status_codes(remaining: npt.ArrayLike, warning_below: float = WARNING_BELOW) -> IntArray:
    """0 (ok), 1 (warning: less than `warning_below` left) or 2 (exhausted) per SLO."""
    left = _f(remaining)
    return np.where(left <= 0, 2, np.where(left < warning_below, 1, 0)).astype(np.int64)


def release_freeze(remaining: npt.ArrayLike) -> BoolArray:
    """Error budget policy: freeze releases while the window's budget is exhausted."""
    return np.asarray(_f(remaining) <= 0)


def postmortem_required(consumed: npt.ArrayLike, share: float = POSTMORTEM_SHARE) -> BoolArray:
    """Error budget policy: an interval that spent more than `share` of the budget."""
    return np.asarray(_f(consumed) > share)


class Severity(StrEnum):
    """What a burn-rate alert asks for."""

    PAGE = "page"
    TICKET = "ticket"


@dataclass(frozen=True)
class BurnTier:
    """A multiwindow burn-rate alert: fire when both windows burn faster than the factor."""

    name: str
    severity: Severity
    long_minutes: int
    short_minutes: int
    budget_share: float  # share of the window's budget spent in `long_minutes` at the factor
    min_events: float = 0.0  # the long window needs this many events (low-traffic guard)
    enabled: bool = True

    def factor(self, window_minutes: npt.ArrayLike) -> FloatArray:
        """The burn-rate threshold: budget share x window / long window (14.4 for 2%/1h/30d)."""
        return self.budget_share * _f(window_minutes) / self.long_minutes


# Workbook ch. 5, multiwindow multi-burn-rate alerts (plus Sloth's 1d/2h ticket), for 30 days.
WORKBOOK_TIERS: tuple[BurnTier, ...] = (
    BurnTier("page-1h", Severity.PAGE, 60, 5, 0.02),  # 14.4x: 2% of budget in 1 hour
    BurnTier("page-6h", Severity.PAGE, 360, 30, 0.05),  # 6x: 5% in 6 hours
    BurnTier("ticket-1d", Severity.TICKET, 1440, 120, 0.10),  # 3x: 10% in 1 day
    BurnTier("ticket-3d", Severity.TICKET, 4320, 360, 0.10),  # 1x: 10% in 3 days
)


def configure_tiers(
    tiers: Sequence[BurnTier] = WORKBOOK_TIERS,
    *,
    disabled: Collection[str] = (),
    min_events: float | None = None,
) -> tuple[BurnTier, ...]:
    """Copy tiers with some disabled by name and, optionally, one minimum event count for all."""
    unknown = set(disabled) - {t.name for t in tiers}
    if unknown:
        raise ValueError(f"unknown burn-rate tiers: {', '.join(sorted(unknown))}")
    return tuple(
        replace(
            t,
            enabled=t.name not in disabled,
            min_events=t.min_events if min_events is None else min_events,
        )
        for t in tiers
    )


def tier_reachable(tier: BurnTier, objective: npt.ArrayLike, window_minutes: npt.ArrayLike) -> BoolArray:
    """Whether the tier can fire at all: its factor is below the burn of a total outage."""
    return np.asarray(tier.factor(window_minutes) < max_burn_rate(objective))


@dataclass(frozen=True)
class TierAlerts:
    """Burn-rate tiers of many SLOs: rows are tiers (highest first), columns are SLOs."""

    tiers: tuple[BurnTier, ...]
    firing: BoolArray  # each tier's condition, before suppression
    active: BoolArray  # after suppression: only the highest firing tier of each SLO

    def highest(self) -> IntArray:
        """Index of each SLO's active tier, -1 where none fires."""
        if not len(self.tiers):
            return np.full(self.active.shape[1], -1, dtype=np.int64)
        return np.where(self.active.any(axis=0), self.active.argmax(axis=0), -1).astype(np.int64)

    def names(self, index: int) -> tuple[str, ...]:
        """Names of the active tiers of the SLO at `index` (none or one)."""
        return tuple(t.name for t, on in zip(self.tiers, self.active[:, index], strict=True) if on)


def evaluate_tiers(
    tiers: Sequence[BurnTier],
    windows: Mapping[int, Pair],
    objective: npt.ArrayLike,
    window_minutes: npt.ArrayLike,
) -> TierAlerts:
    """Evaluate tiers from (good, total) per window length in minutes, highest tier first."""
    rows = [_tier_fires(t, windows, objective, window_minutes) for t in tiers]
    size = max((np.size(total) for _, total in windows.values()), default=1)
    firing = np.array(np.broadcast_arrays(*rows)).reshape(len(rows), -1) if rows else np.zeros((0, size), bool)
    # While a higher tier fires, every lower one is suppressed.
    higher = np.cumsum(firing, axis=0) - firing > 0
    return TierAlerts(tuple(tiers), firing, firing & ~higher)


def _tier_fires(
    tier: BurnTier, windows: Mapping[int, Pair], objective: npt.ArrayLike, window: npt.ArrayLike
) -> BoolArray:
    """One tier's condition: long and short burn above the factor, enough long-window events."""
    long_good, long_total = windows[tier.long_minutes]
    factor = tier.factor(window)
    long = burn_rate(long_good, long_total, objective) > factor
    short = burn_rate(*windows[tier.short_minutes], objective) > factor
    enough = _f(long_total) >= tier.min_events
    return np.asarray(long & short & enough & tier.enabled)


@dataclass(frozen=True)
class SloReport:
    """One SLO's figures, plain values ready for the JSON API."""

    sli: float | None
    objective: float
    burn_rates: dict[str, float]  # "5m" .. "3d" and "window"
    budget_consumed: float
    budget_remaining: float
    budget_minutes: float
    budget_remaining_minutes: float
    budget_events: float
    budget_remaining_events: float
    exhaustion_minutes: float | None  # None: not burning
    status: Status
    release_freeze: bool
    alerts: tuple[str, ...]  # the active burn-rate tier, if any


@dataclass(frozen=True)
class Evaluation:
    """Everything issue 5 reports for many SLOs, one array entry per SLO."""

    sli: FloatArray
    objective: FloatArray
    burn: dict[int, FloatArray]  # burn rate per short window, keyed by minutes
    window_burn: FloatArray  # burn rate over the (elapsed part of the) whole window
    budget: Budget
    exhaustion_minutes: FloatArray
    status: IntArray
    release_freeze: BoolArray
    alerts: TierAlerts

    def report(self, index: int) -> SloReport:
        """The plain figures of the SLO at `index`."""
        b, i = self.budget, index
        rates = {format_duration(timedelta(minutes=m)): float(r[i]) for m, r in self.burn.items()}
        tte = float(self.exhaustion_minutes[i])
        return SloReport(
            sli=None if np.isnan(self.sli[i]) else float(self.sli[i]),
            objective=float(self.objective[i]),
            burn_rates={**rates, "window": float(self.window_burn[i])},
            budget_consumed=float(b.consumed[i]),
            budget_remaining=float(b.remaining[i]),
            budget_minutes=float(b.total_minutes[i]),
            budget_remaining_minutes=float(b.remaining_minutes[i]),
            budget_events=float(b.total_events[i]),
            budget_remaining_events=float(b.remaining_events[i]),
            exhaustion_minutes=None if np.isinf(tte) else tte,
            status=STATUSES[int(self.status[i])],
            release_freeze=bool(self.release_freeze[i]),
            alerts=self.alerts.names(i),
        )


def evaluate(
    window: Pair,
    recent: Mapping[int, Pair],
    objective: npt.ArrayLike,
    window_minutes: npt.ArrayLike,
    elapsed: npt.ArrayLike = 1.0,
    *,
    tiers: Sequence[BurnTier] = WORKBOOK_TIERS,
    rate_minutes: int = 60,
    warning_below: float = WARNING_BELOW,
) -> Evaluation:
    """One evaluation cycle: whole-window counts plus (good, total) per short window in minutes."""
    good, total = window
    budget = error_budget(good, total, objective, window_minutes, elapsed)
    burn = {m: burn_rate(g, t, objective) for m, (g, t) in recent.items()}
    size = np.shape(budget.consumed)
    return Evaluation(
        sli=sli(good, total),
        objective=np.broadcast_to(_f(objective), size),
        burn=burn,
        window_burn=burn_rate(good, total, objective),
        budget=budget,
        exhaustion_minutes=time_to_exhaustion(budget.remaining, burn[rate_minutes], window_minutes),
        status=status_codes(budget.remaining, warning_below),
        release_freeze=release_freeze(budget.remaining),
        alerts=evaluate_tiers(tiers, recent, objective, window_minutes),
    )
