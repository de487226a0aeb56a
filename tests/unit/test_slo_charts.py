"""The SLO pages' SVG charts: pure functions of points and a time axis."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.slo.views import Point
from tocsin.web.ui.slo_charts import (
    HEIGHT,
    WIDTH,
    budget_bar,
    budget_class,
    burn_down_chart,
    percent,
    sli_chart,
    time_x,
    value_y,
)

T0 = datetime(2026, 3, 1, tzinfo=UTC)
T1 = T0 + timedelta(days=30)
SVG = "{http://www.w3.org/2000/svg}"


def hours(*values: float | None) -> list[Point]:
    """Points one hour apart from T0 + 1h."""
    return [Point(at=T0 + timedelta(hours=i + 1), value=v) for i, v in enumerate(values)]


def parse(svg: str) -> ET.Element:
    """The SVG as XML (it must be well-formed), with the namespace the browser would assume."""
    return ET.fromstring(svg.replace("<svg ", f'<svg xmlns="{SVG[1:-1]}" ', 1))


@pytest.mark.parametrize(
    ("remaining", "expected"),
    [
        (1.0, "ok"),  # untouched budget
        (0.25, "ok"),  # exactly the warning threshold is still ok
        (0.2499, "warn"),  # under 25% left: the warning status
        (0.0, "bad"),  # nothing left: exhausted
        (-3.0, "bad"),  # overspent
    ],
)
def test_budget_class_follows_the_statuses(remaining: float, expected: str) -> None:
    assert budget_class(remaining) == expected


@pytest.mark.parametrize(
    ("remaining", "filled", "label"),
    [
        (0.5, "60.0", "50.0% of the error budget left"),  # half of a 120-wide bar
        (1.0, "120.0", "100.0% of the error budget left"),
        (-0.5, "0.0", "-50.0% of the error budget left"),  # overspent: empty bar, the title says how far
        (2.0, "120.0", "200.0% of the error budget left"),  # clamped to the bar
    ],
)
def test_budget_bar(remaining: float, filled: str, label: str) -> None:
    root = parse(budget_bar(remaining))
    assert root.find(f"{SVG}title").text == label  # type: ignore[union-attr]
    assert root.findall(f"{SVG}rect")[1].get("width") == filled


@pytest.mark.parametrize(
    ("at", "expected"),
    [
        (T0, 0.0),  # window start: left edge
        (T0 + timedelta(days=15), WIDTH / 2),  # half-way
        (T1, WIDTH),  # window end: right edge
        (T0 - timedelta(days=1), 0.0),  # before the window: clamped
        (T1 + timedelta(days=1), WIDTH),  # after it: clamped
    ],
)
def test_time_axis(at: datetime, expected: float) -> None:
    assert time_x(at, T0, T1) == pytest.approx(expected)


def test_time_axis_of_an_empty_window_is_the_left_edge() -> None:
    assert time_x(T0, T0, T0) == 0.0


@pytest.mark.parametrize(
    ("value", "low", "high", "expected"),
    [
        (1.0, 0.0, 1.0, 0.0),  # the top
        (0.0, 0.0, 1.0, HEIGHT),  # the bottom
        (0.0, -1.0, 1.0, HEIGHT / 2),  # zero in the middle of an overspent chart
        (-5.0, -1.0, 1.0, HEIGHT),  # below the floor: drawn at the bottom
        (0.5, 0.5, 0.5, 0.0),  # a flat range does not divide by zero
    ],
)
def test_value_axis(value: float, low: float, high: float, expected: float) -> None:
    assert value_y(value, low, high) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("value", "digits", "expected"), [(None, 1, "no data"), (0.99912, 3, "99.912%"), (-0.5, 1, "-50.0%")]
)
def test_percent(value: float | None, digits: int, expected: str) -> None:
    assert percent(value, digits) == expected


def test_burn_down_draws_the_line_the_diagonal_and_a_tooltip_per_point() -> None:
    svg = burn_down_chart(hours(1.0, 0.9, 0.75), T0, T1)
    root = parse(svg)
    assert "Error budget left" in root.find(f"{SVG}title").text  # type: ignore[operator,union-attr]
    assert root.get("role") == "img"
    [line] = root.findall(f"{SVG}polyline")
    first, *_, last = line.get("points", "").split()
    assert first == f"{time_x(T0 + timedelta(hours=1), T0, T1):.1f},0.0"  # 100% left: the top
    assert last.endswith(f",{HEIGHT * 0.25:.1f}")  # 75% left
    tips = [r.find(f"{SVG}title").text for r in root.findall(f"{SVG}rect")]  # type: ignore[union-attr]
    assert tips[-1] == "2026-03-01 03:00 UTC: 75.0% of the budget left"
    assert root.find(f"{SVG}line[@class='zero']") is None  # never overspent: no zero line


def test_burn_down_of_an_overspent_budget_shows_zero_and_stops_at_the_floor() -> None:
    root = parse(burn_down_chart(hours(1.0, -0.5, -4.0), T0, T1))
    zero = root.find(f"{SVG}line[@class='zero']")
    assert zero is not None
    assert zero.get("y1") == f"{HEIGHT / 2:.1f}"
    assert root.find(f"{SVG}polyline").get("points", "").endswith(f",{HEIGHT:.1f}")  # type: ignore[union-attr]
    tips = [r.find(f"{SVG}title").text for r in root.findall(f"{SVG}rect")]  # type: ignore[union-attr]
    assert tips[-1].endswith("-400.0% of the budget left")  # type: ignore[union-attr]


@pytest.mark.parametrize("points", [[], hours(None, None)])
def test_charts_without_data_say_so(points: list[Point]) -> None:
    assert "No data" in burn_down_chart(points, T0, T1)
    assert "No data" in sli_chart(points, 0.999, T0, T1)


def test_sli_bars_are_red_below_the_objective_and_gaps_stay_empty() -> None:
    root = parse(sli_chart(hours(1.0, None, 0.99), 0.999, T0, T1))
    bars = root.findall(f"{SVG}rect")
    assert [b.get("class") for b in bars] == ["ok", "bad"]  # the hour without data has no bar
    assert bars[1].find(f"{SVG}title").text == (  # type: ignore[union-attr]
        "2026-03-01 02:00 UTC to 2026-03-01 03:00 UTC: SLI 99.000%"
    )
    objective = root.find(f"{SVG}line[@class='objective']")
    assert objective is not None
    # axis from min(2 * 0.999 - 1, 0.99) = 0.99 to 1: the objective sits a tenth of the way down
    assert float(objective.get("y1", "0")) == pytest.approx(HEIGHT * 0.1)
    assert "objective 99.900%" in root.find(f"{SVG}title").text  # type: ignore[operator,union-attr]


def test_sli_axis_leaves_room_below_the_objective_when_every_step_is_perfect() -> None:
    root = parse(sli_chart(hours(1.0, 1.0), 0.99, T0, T1))
    assert "axis from 98.000% to 100%" in root.find(f"{SVG}title").text  # type: ignore[operator,union-attr]


@given(
    st.lists(st.one_of(st.none(), st.floats(-10, 1, allow_nan=False)), min_size=1, max_size=40),
    st.floats(0.5, 0.9999),
)
def test_charts_stay_inside_their_box(values: list[float | None], objective: float) -> None:
    points = hours(*values)
    for svg in (burn_down_chart(points, T0, T1), sli_chart(points, objective, T0, T1)):
        numbers = [float(n) for n in re.findall(r'(?:x|y|x1|x2|y1|y2|width|height)="(-?[\d.]+)"', svg)]
        numbers += [float(n) for pair in re.findall(r'points="([^"]*)"', svg) for n in re.split("[ ,]", pair)]
        assert all(0 <= n <= max(WIDTH, HEIGHT) for n in numbers)
