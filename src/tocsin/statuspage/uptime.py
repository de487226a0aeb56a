"""Daily uptime bars and uptime percentages from daily rollups, with maintenance days excluded (pure).

Daily rollups cannot tell which results of a day fell inside a maintenance window, so a day
that overlaps one is shown as a maintenance day and left out of the uptime percentage.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from math import floor

from tocsin.store.records import Bucket
from tocsin.store.status_rollups import DAY_SECONDS, DayCounts

DAYS = 90
Span = tuple[datetime, datetime]
_TICK = timedelta(microseconds=1)
EPOCH = date(1970, 1, 1)
_NONE = (0, 0, 0, 0)


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
    rows = ((int(b.start.timestamp()), b.total, b.up, b.degraded, b.down) for b in buckets)
    return bars_from_counts(rows, maintenance, now, days)


def bars_from_counts(
    rows: Iterable[DayCounts], maintenance: Sequence[Span], now: datetime, days: int = DAYS
) -> list[DayBar]:
    """`days` bars ending today from `(day start in epoch seconds, total, up, degraded, down)` rows, oldest first."""
    start = first_day(now, days)
    counts = sum_by_day(rows)
    touched = maintenance_days(start, days, maintenance)
    first = (start - EPOCH).days
    bars = []
    for offset in range(days):
        day = start + timedelta(days=offset)
        total, up, degraded, down = counts.get(first + offset) or _NONE
        bars.append(DayBar(day, total, up, degraded, down, day in touched))
    return bars


def sum_by_day(rows: Iterable[DayCounts]) -> dict[int, list[int]]:
    """`[total, up, degraded, down]` per day number (days since 1970-01-01 UTC), summed over the rows' monitors."""
    counts: dict[int, list[int]] = {}
    for bucket, total, up, degraded, down in rows:
        row = counts.get(bucket // DAY_SECONDS)
        if row is None:
            counts[bucket // DAY_SECONDS] = [total, up, degraded, down]
        else:
            row[0], row[1], row[2], row[3] = row[0] + total, row[1] + up, row[2] + degraded, row[3] + down
    return counts


def day_number(day: date) -> int:
    """Days since 1970-01-01 (UTC): the key of `sum_by_day`."""
    return (day - EPOCH).days


def maintenance_days(start: date, days: int, spans: Sequence[Span]) -> set[date]:
    """The days from `start` that any span overlaps (a span ending at midnight does not touch the next day)."""
    last = start + timedelta(days=days - 1)
    out: set[date] = set()
    for s, e in spans:
        if e <= s:
            continue
        first = max(s.astimezone(UTC).date(), start)
        final = min((e - _TICK).astimezone(UTC).date(), last)
        out.update(first + timedelta(days=k) for k in range((final - first).days + 1))
    return out


def uptime(bars: Iterable[DayBar]) -> float | None:
    """Uptime over the bars, leaving out maintenance days; None when no counted day has results."""
    counted = [b for b in bars if not b.maintenance]
    total = sum(b.total for b in counted)
    return sum(b.up + b.degraded for b in counted) / total if total else None


def bar_class(bar: DayBar) -> str:
    """The colour class of a bar: maintenance, no data, or by uptime."""
    return day_class(bar.maintenance, bar.uptime)


def day_class(maintenance: bool, value: float | None) -> str:
    """The colour class of a day with this maintenance flag and uptime."""
    if maintenance:
        return "maint"
    if value is None:
        return "none"
    if value >= 0.999:
        return "ok"
    return "warn" if value >= 0.99 else "bad"


def bar_label(bar: DayBar) -> str:
    """The tooltip of a bar, like `2026-11-20: 99.93% up` (short: a big page has 9,000 of them)."""
    return f"{bar.day.isoformat()}: {day_text(bar.maintenance, bar.uptime)}"


def day_text(maintenance: bool, value: float | None) -> str:
    """What a day's tooltip says after its date: `100% up`, `99.93% up` (rounded down), `no data`; maintenance."""
    text = "no data" if value is None else "100% up" if value == 1 else f"{floor(value * 10000) / 100:.2f}% up"
    return text + " (maintenance, not counted)" if maintenance else text
