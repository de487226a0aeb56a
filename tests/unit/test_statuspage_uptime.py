"""Daily bars and uptime from daily rollups, maintenance days shown and excluded, from tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.statuspage.maintenance import occurrences, spans_for
from tocsin.statuspage.uptime import DayBar, bar_class, bar_label, bars_from_counts, daily_bars, uptime
from tocsin.store.records import Bucket

NOW = datetime(2026, 11, 22, 15, 0, tzinfo=UTC)


def day(d: int, total: int, down: int = 0, degraded: int = 0) -> Bucket:
    start = datetime(2026, 11, d, tzinfo=UTC)
    return Bucket(start, total, total - down - degraded, degraded, down, None)


def test_ninety_bars_end_today_and_sum_monitors() -> None:
    bars = daily_bars([day(21, 100, 1), day(21, 100, 3), day(22, 10)], [], NOW)
    assert len(bars) == 90
    assert bars[0].day == date(2026, 8, 25)  # 89 days before today
    assert bars[-1] == DayBar(date(2026, 11, 22), 10, 10, 0, 0)
    assert bars[-2] == DayBar(date(2026, 11, 21), 200, 196, 0, 4)  # two monitors, one bar
    assert bars[-3].uptime is None  # no results: no data, not down


def test_maintenance_days_are_shown_and_not_counted() -> None:
    spans = [(datetime(2026, 11, 21, 23, tzinfo=UTC), datetime(2026, 11, 22, 1, tzinfo=UTC))]
    bars = daily_bars([day(20, 100), day(21, 100, 50), day(22, 100, 100)], spans, NOW)
    assert [b.maintenance for b in bars[-3:]] == [False, True, True]  # a span over midnight marks both days
    assert uptime(bars) == 1.0
    assert uptime(daily_bars([day(20, 100), day(21, 100, 50)], [], NOW)) == 0.75


UPTIMES = [
    ([], None),  # nothing measured
    ([DayBar(date(2026, 1, 1), 100, 99, 0, 1)], 0.99),  # one day
    ([DayBar(date(2026, 1, 1), 100, 90, 10, 0)], 1.0),  # degraded counts as up
    ([DayBar(date(2026, 1, 1), 10, 0, 0, 10, True)], None),  # only maintenance: nothing counted
    ([DayBar(date(2026, 1, 1), 300, 300, 0, 0), DayBar(date(2026, 1, 2), 100, 0, 0, 100)], 0.75),  # weighted by results
]


@pytest.mark.parametrize(("bars", "expected"), UPTIMES)
def test_uptime(bars: list[DayBar], expected: float | None) -> None:
    assert uptime(bars) == expected


CLASSES = [
    (DayBar(date(2026, 1, 1)), "none"),  # no data is grey
    (DayBar(date(2026, 1, 1), 1000, 999, 0, 1), "ok"),  # 99.9% is green
    (DayBar(date(2026, 1, 1), 100, 99, 0, 1), "warn"),  # 99% is amber
    (DayBar(date(2026, 1, 1), 100, 98, 0, 2), "bad"),  # below 99% is red
    (DayBar(date(2026, 1, 1), 100, 0, 0, 100, True), "maint"),  # maintenance is its own colour
]


@pytest.mark.parametrize(("bar", "expected"), CLASSES)
def test_bar_class(bar: DayBar, expected: str) -> None:
    assert bar_class(bar) == expected


LABELS = [
    (DayBar(date(2026, 1, 1), 100, 99, 0, 1), "2026-01-01: 99.00% up"),
    (DayBar(date(2026, 1, 1), 100000, 99999, 0, 1), "2026-01-01: 99.99% up"),  # rounded down: never 100% when not
    (DayBar(date(2026, 1, 1), 10, 9, 1, 0), "2026-01-01: 100% up"),  # degraded counts as up
    (DayBar(date(2026, 1, 2), maintenance=True), "2026-01-02: no data (maintenance, not counted)"),
    (DayBar(date(2026, 1, 3)), "2026-01-03: no data"),
]


@pytest.mark.parametrize(("bar", "expected"), LABELS)
def test_bar_label(bar: DayBar, expected: str) -> None:
    assert bar_label(bar) == expected


def test_recurring_occurrences_in_the_past() -> None:
    nightly = MaintenanceWindow(
        "nightly", monitors=("db",), rrule="FREQ=DAILY;BYHOUR=2;BYMINUTE=0", duration=timedelta(hours=1)
    )
    found = occurrences(nightly, NOW - timedelta(days=3), NOW)
    assert [s.astimezone(UTC).day for s, _ in found] == [20, 21, 22]
    assert found[0][1] - found[0][0] == timedelta(hours=1)


def test_spans_only_for_covered_monitors() -> None:
    once = MaintenanceWindow("once", monitors=("db",), start=NOW - timedelta(days=1), end=NOW)
    assert spans_for([once], ["web"], NOW - timedelta(days=90), NOW) == []
    assert spans_for([once], ["web", "db"], NOW - timedelta(days=90), NOW) == [(once.start, once.end)]
    assert occurrences(once, NOW, NOW + timedelta(days=1)) == []  # ended before the span


def test_a_span_ending_at_midnight_does_not_touch_the_next_day() -> None:
    spans = [(datetime(2026, 11, 20, 22, tzinfo=UTC), datetime(2026, 11, 21, tzinfo=UTC))]
    bars = bars_from_counts([], spans, NOW)
    assert [b.maintenance for b in bars[-3:]] == [True, False, False]


def test_bars_from_count_rows_of_several_monitors() -> None:
    midnight = int(datetime(2026, 11, 21, tzinfo=UTC).timestamp())
    bars = bars_from_counts([(midnight, 100, 99, 0, 1), (midnight, 10, 8, 1, 1)], [], NOW)
    assert bars[-2] == DayBar(date(2026, 11, 21), 110, 107, 1, 2)
