"""Daily uptime bars and uptime percentages from daily rollups, with maintenance days excluded (pure).

Daily rollups cannot tell which results of a day fell inside a maintenance window, so a day
that overlaps one is shown as a maintenance day and left out of the uptime percentage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta

from tocsin.store.records import Bucket

DAYS = 90
Span = tuple[datetime, datetime]


@dataclass(frozen=True, slots=True)
class DayBar:
    """One UTC day of one component: result counts of all its monitors, and whether maintenance touched it."""

    day: date
    total: int = 0
    up: int = 0
    degraded: int = 0
    down: int = 0
    maintenance: bool = False

    @property
    def uptime(self) -> float | None:
        """Share of results that were up or degraded, or None without results."""
        return (self.up + self.degraded) / self.total if self.total else None


def day_start(day: date) -> datetime:
    """Midnight UTC at the start of `day`."""
    return datetime.combine(day, time(0), tzinfo=UTC)


def first_day(now: datetime, days: int = DAYS) -> date:
    """The oldest day of the `days` bars that end with today (UTC)."""
    return now.astimezone(UTC).date() - timedelta(days=days - 1)


def daily_bars(buckets: Iterable[Bucket], maintenance: Sequence[Span], now: datetime, days: int = DAYS) -> list[DayBar]:
    """`days` bars ending today, summing the daily buckets of every monitor, oldest first."""
    start = first_day(now, days)
    counts: dict[date, list[int]] = {}
    for b in buckets:
        row = counts.setdefault(b.start.astimezone(UTC).date(), [0, 0, 0, 0])
        for i, value in enumerate((b.total, b.up, b.degraded, b.down)):
            row[i] += value
    bars = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        total, up, degraded, down = counts.get(day, [0, 0, 0, 0])
        bars.append(DayBar(day, total, up, degraded, down, _touches(day, maintenance)))
    return bars


def _touches(day: date, spans: Sequence[Span]) -> bool:
    begin = day_start(day)
    end = begin + timedelta(days=1)
    return any(s < end and e > begin for s, e in spans)


def uptime(bars: Iterable[DayBar]) -> float | None:
    """Uptime over the bars, leaving out maintenance days; None when no counted day has results."""
    counted = [b for b in bars if not b.maintenance]
    total = sum(b.total for b in counted)
    return sum(b.up + b.degraded for b in counted) / total if total else None


def bar_class(bar: DayBar) -> str:
    """The colour class of a bar: maintenance, no data, or by uptime."""
    if bar.maintenance:
        return "maint"
    if bar.uptime is None:
        return "none"
    if bar.uptime >= 0.999:
        return "ok"
    return "warn" if bar.uptime >= 0.99 else "bad"


def bar_label(bar: DayBar) -> str:
    """The tooltip of a bar, like `2026-11-20: 99.930% up, 1 failed of 1440`."""
    text = "no data" if bar.uptime is None else f"{bar.uptime * 100:.3f}% up, {bar.down} failed of {bar.total}"
    return f"{bar.day:%Y-%m-%d}: {text}" + (" (maintenance, not counted)" if bar.maintenance else "")
