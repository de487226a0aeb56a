"""The schedule timeline SVG and merging stored overrides into schedules: pure functions, tested from tables."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest

from tocsin.oncall.directory import Directory
from tocsin.oncall.model import Layer, Override, Schedule, Shift, days, swap_overrides
from tocsin.oncall.overrides import (
    OverrideProblem,
    StoredOverride,
    check_override,
    check_swap,
    shift_at,
    with_overrides,
)
from tocsin.oncall.resolve import who_is_on_call
from tocsin.oncall.views import schedule_timeline
from tocsin.web.ui.oncall_charts import day_starts, timeline_svg, user_colour, x_of

T0 = datetime(2026, 1, 5, 9, tzinfo=UTC)
DAILY = Layer("daily", ("alice", "bob"), days(1), date(2026, 1, 5), time_zone="UTC")
NIGHTS = Layer("extra", ("carol",), days(1), date(2026, 1, 8), time_zone="UTC")


def directory(*overrides: Override) -> Directory:
    schedule = Schedule("primary", "UTC", (DAILY,), overrides)
    users = {name: object() for name in ("alice", "bob", "carol")}
    return Directory(schedules={"primary": schedule}, users=users)  # type: ignore[dict-item]


def test_x_of_clamps_to_the_axis() -> None:
    end = T0 + timedelta(days=2)
    assert x_of(T0, T0, end) == pytest.approx(110)  # start: right after the label column
    assert x_of(end, T0, end) == pytest.approx(840)  # end: the right edge
    assert x_of(T0 - timedelta(days=9), T0, end) == pytest.approx(110)  # before the range: clamped


def test_day_starts_are_local_midnights() -> None:
    starts = day_starts(T0, T0 + timedelta(days=3), "Asia/Tokyo")
    assert [s.astimezone(UTC).hour for s in starts] == [15, 15, 15]  # 00:00 in Tokyo is 15:00 UTC


def test_user_colour_is_stable() -> None:
    assert user_colour("alice") == user_colour("alice")


def test_timeline_has_a_row_per_layer_overrides_and_final_with_titles() -> None:
    cover = Override("carol", T0 + timedelta(hours=2), T0 + timedelta(hours=5))
    schedule = Schedule("primary", "UTC", (DAILY, NIGHTS), (cover,))
    d = Directory(schedules={"primary": schedule})
    svg = timeline_svg(schedule_timeline(d, "primary", T0, T0 + timedelta(days=14)))
    assert svg.startswith("<svg")
    assert svg.endswith("</svg>")
    for label in (">daily<", ">extra<", ">overrides<", ">final<"):
        assert label in svg
    assert svg.count('class="shift override"') == 1  # the override in the final row is outlined
    assert "carol · override" in svg
    assert svg.count("<rect") == svg.count("<title>") - 1  # every rect has a tooltip (plus the chart's title)


def test_gaps_are_red() -> None:
    schedule = Schedule("sparse", "UTC", (NIGHTS,))
    d = Directory(schedules={"sparse": schedule})
    svg = timeline_svg(schedule_timeline(d, "sparse", T0, T0 + timedelta(days=14)))
    assert 'class="gap"' in svg
    assert "nobody (gap)" in svg


def test_stored_overrides_go_on_top_newest_last() -> None:
    first = StoredOverride(1, "primary", Override("carol", T0, T0 + timedelta(hours=4)), "x", T0)
    second = StoredOverride(2, "primary", Override("bob", T0 + timedelta(hours=1), T0 + timedelta(hours=2)), "x", T0)
    merged = with_overrides(directory(), [second, first])
    schedule = merged.schedules["primary"]
    assert who_is_on_call(schedule, T0) == ("carol",)  # the first override
    assert who_is_on_call(schedule, T0 + timedelta(hours=1)) == ("bob",)  # the newer one wins where they overlap
    assert merged.on_call("primary", T0 + timedelta(hours=5)) == ("alice",)  # the cache starts fresh


@pytest.mark.parametrize(
    ("user", "start", "end", "replaces", "problem"),
    [
        ("dave", T0, T0 + timedelta(hours=1), None, "not under oncall.users"),  # unknown user
        ("carol", T0, T0 - timedelta(hours=1), None, "ends"),  # end before start
        ("carol", T0, T0 + timedelta(hours=1), "bob", "no shift"),  # bob is not on call then (alice is)
        ("carol", T0, T0 + timedelta(hours=1), "zed", "not under oncall.users"),  # replaces an unknown user
    ],
)
def test_check_override_says_what_is_wrong(
    user: str, start: datetime, end: datetime, replaces: str | None, problem: str
) -> None:
    with pytest.raises(OverrideProblem, match=problem):
        check_override(directory(), "primary", user, start, end, replaces)


def test_swap_of_whole_shifts() -> None:
    d = directory()
    mine = shift_at(d, "primary", "alice", T0 + timedelta(hours=3))
    theirs = shift_at(d, "primary", "bob", T0 + timedelta(days=1, hours=3))
    assert (mine.start, mine.end) == (T0, T0 + timedelta(days=1))  # the whole shift, not the instant
    check_swap(mine, theirs)
    stored = [StoredOverride(i, "primary", o, "bob", T0) for i, o in enumerate(swap_overrides(mine, theirs))]
    schedule = with_overrides(d, stored).schedules["primary"]
    assert who_is_on_call(schedule, T0 + timedelta(hours=3)) == ("bob",)
    assert who_is_on_call(schedule, T0 + timedelta(days=1, hours=3)) == ("alice",)
    with pytest.raises(OverrideProblem, match="no shift"):
        shift_at(d, "primary", "bob", T0 + timedelta(hours=3))
    with pytest.raises(OverrideProblem, match="different people"):
        check_swap(mine, Shift("alice", T0 + timedelta(days=2), T0 + timedelta(days=3)))
