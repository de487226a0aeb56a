"""Maintenance windows: one-off and recurring in a time zone, across DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.alerting.maintenance import MaintenanceWindow, active_windows
from tocsin.labels import parse_matchers

WEEKLY_DB = MaintenanceWindow(
    name="db-weekly",
    matchers=tuple(parse_matchers('{service="db"}')),
    rrule="FREQ=WEEKLY;BYDAY=SU;BYHOUR=2",
    duration=timedelta(hours=2),
    time_zone="Europe/London",
)


@pytest.mark.parametrize(
    ("now", "active"),
    [
        (datetime(2026, 3, 22, 2, 30, tzinfo=UTC), True),  # GMT Sunday 02:30 local = 02:30 UTC
        (datetime(2026, 3, 22, 4, 0, tzinfo=UTC), False),  # end is exclusive: 04:00 local
        (datetime(2026, 3, 29, 1, 30, tzinfo=UTC), True),  # clocks went forward at 01:00 UTC: 02:30 BST
        (datetime(2026, 3, 29, 2, 30, tzinfo=UTC), True),  # 03:30 BST, still inside 02:00-04:00 local
        (datetime(2026, 4, 5, 1, 0, tzinfo=UTC), True),  # BST: 02:00 local is 01:00 UTC
        (datetime(2026, 4, 5, 0, 59, tzinfo=UTC), False),  # a minute before
        (datetime(2026, 4, 6, 1, 30, tzinfo=UTC), False),  # a Monday
    ],
)
def test_recurring_window_follows_local_time(now: datetime, active: bool) -> None:
    assert (WEEKLY_DB.occurrence_at(now) is not None) is active


def test_scope_by_matchers_and_monitors() -> None:
    window = MaintenanceWindow(
        name="w", monitors=("api",), start=datetime(2026, 1, 1, tzinfo=UTC), end=datetime(2026, 1, 2, tzinfo=UTC)
    )
    at = datetime(2026, 1, 1, 12, tzinfo=UTC)
    assert active_windows([window], {"monitor": "api"}, at) == ["w"]
    assert active_windows([window], {"monitor": "web"}, at) == []
    assert active_windows([WEEKLY_DB], {"service": "db"}, datetime(2026, 3, 22, 2, 30, tzinfo=UTC)) == ["db-weekly"]
    assert active_windows([window], {"monitor": "api"}, datetime(2026, 1, 2, tzinfo=UTC)) == []  # end exclusive


def test_next_occurrences() -> None:
    now = datetime(2026, 3, 20, tzinfo=UTC)
    found = [(s.astimezone(UTC), e.astimezone(UTC)) for s, e in WEEKLY_DB.next_occurrences(now, 3)]
    assert found == [
        (datetime(2026, 3, 22, 2, tzinfo=UTC), datetime(2026, 3, 22, 4, tzinfo=UTC)),  # GMT
        # 02:00 local does not exist on the change day: the window opens at the jump (01:00 UTC)
        (datetime(2026, 3, 29, 1, tzinfo=UTC), datetime(2026, 3, 29, 3, tzinfo=UTC)),
        (datetime(2026, 4, 5, 1, tzinfo=UTC), datetime(2026, 4, 5, 3, tzinfo=UTC)),  # BST
    ]
