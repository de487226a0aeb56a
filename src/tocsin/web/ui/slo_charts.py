"""Pure SVG charts of the SLO pages: the budget-left bar, the budget burn-down and the SLI over time.

Charts stretch to their container (`preserveAspectRatio="none"`, strokes that do not
scale), carry a `<title>` for screen readers, and a `<title>` tooltip on every step.
Times are placed on a time axis from the window's start to its end, so a calendar
window shows how much of the period is still ahead.
"""

from __future__ import annotations

import itertools
from collections.abc import Sequence
from datetime import datetime
from html import escape

from tocsin.slo.views import Point

WIDTH, HEIGHT = 720, 180
NO_DATA = '<p class="muted">No data in this window yet.</p>'
FLOOR = -1.0  # the burn-down's lowest line: 100% overspent (lower values are drawn there; titles say the truth)


def budget_class(remaining: float) -> str:
    """`bad` when no budget is left, `warn` under 25%, `ok` otherwise (the SLO statuses' thresholds)."""
    if remaining <= 0:
        return "bad"
    return "warn" if remaining < 0.25 else "ok"


def percent(value: float | None, digits: int = 1) -> str:
    """`99.9%`, or `no data`."""
    return "no data" if value is None else f"{value * 100:.{digits}f}%"


def budget_bar(remaining: float, width: int = 120, height: int = 10) -> str:
    """A small bar of the budget left, coloured like the status; empty when overspent."""
    filled = max(0.0, min(1.0, remaining)) * width
    label = escape(f"{percent(remaining)} of the error budget left")
    return (
        f'<svg class="budget" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img">'
        f"<title>{label}</title>"
        f'<rect class="none" width="{width}" height="{height}" rx="2"/>'
        f'<rect class="{budget_class(remaining)}" width="{filled:.1f}" height="{height}" rx="2"/></svg>'
    )


def time_x(at: datetime, start: datetime, end: datetime, width: float = WIDTH) -> float:
    """Where an instant falls on an axis from `start` (0) to `end` (`width`), clamped to it."""
    span = (end - start).total_seconds()
    if span <= 0:
        return 0.0
    return max(0.0, min(1.0, (at - start).total_seconds() / span)) * width


def value_y(value: float, low: float, high: float, height: float = HEIGHT) -> float:
    """Where a value falls between `low` (bottom) and `high` (top), clamped to the chart."""
    share = (value - low) / (high - low) if high > low else 1.0
    return height - max(0.0, min(1.0, share)) * height


def _svg(title: str, body: str, cls: str = "chart") -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {WIDTH} {HEIGHT}" preserveAspectRatio="none" role="img">'
        f"<title>{escape(title)}</title>{body}</svg>"
    )


def _line(y: float, cls: str) -> str:
    return f'<line class="{cls}" x1="0" x2="{WIDTH}" y1="{y:.1f}" y2="{y:.1f}"/>'


def _hit(x0: float, x1: float, title: str) -> str:
    """A transparent column that shows `title` when hovered."""
    return (
        f'<rect class="hit" x="{x0:.1f}" y="0" width="{max(x1 - x0, 1.0):.1f}" height="{HEIGHT}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _stamp(at: datetime) -> str:
    return f"{at:%Y-%m-%d %H:%M} UTC"


def _burn_down_body(shown: Sequence[Point], xs: Sequence[float], low: float) -> str:
    """The even-spend diagonal, the zero line when overspent, the budget line and its hover columns."""
    top, bottom = value_y(1.0, low, 1.0), value_y(0.0, low, 1.0)
    ideal = f'<line class="ideal" x1="0" y1="{top:.1f}" x2="{WIDTH}" y2="{bottom:.1f}"/>'
    zero = _line(bottom, "zero") if low < 0 else ""
    coords = " ".join(f"{x:.1f},{value_y(p.value or 0.0, low, 1.0):.1f}" for x, p in zip(xs, shown, strict=True))
    bounds = [0.0, *((a + b) / 2 for a, b in itertools.pairwise(xs)), float(WIDTH)]
    hits = (
        _hit(bounds[i], bounds[i + 1], f"{_stamp(p.at)}: {percent(p.value)} of the budget left")
        for i, p in enumerate(shown)
    )
    return f'{ideal}{zero}<polyline class="line" points="{coords}"/>{"".join(hits)}'


def burn_down_chart(points: Sequence[Point], start: datetime, end: datetime) -> str:
    """Budget left over the window as a line, with the even-spend diagonal and the zero line."""
    shown = [p for p in points if p.value is not None]
    if not shown:
        return NO_DATA
    low = max(FLOOR, min(0.0, *(p.value for p in shown if p.value is not None)))
    xs = [time_x(p.at, start, end) for p in shown]
    title = f"Error budget left from {_stamp(start)} to {_stamp(end)}: {percent(shown[-1].value)} at the last point"
    return _svg(title, _burn_down_body(shown, xs, low))


def _bar(left: datetime, p: Point, objective: float, low: float, axis: tuple[datetime, datetime]) -> str:
    """One step's SLI as a bar from the bottom, green at or above the objective, red below."""
    if p.value is None:
        return ""
    x0, x1 = time_x(left, *axis), time_x(p.at, *axis)
    y, cls = value_y(p.value, low, 1.0), "ok" if p.value >= objective else "bad"
    text = f"{_stamp(left)} to {_stamp(p.at)}: SLI {percent(p.value, 3)}"
    return (
        f'<rect class="{cls}" x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0 - 0.5, 0.5):.1f}" '
        f'height="{HEIGHT - y:.1f}"><title>{escape(text)}</title></rect>'
    )


def sli_chart(points: Sequence[Point], objective: float, start: datetime, end: datetime) -> str:
    """The SLI of each step as bars (red below the objective), with the objective as a dashed line."""
    present = [p.value for p in points if p.value is not None]
    if not present:
        return NO_DATA
    low = min(2 * objective - 1, *present)
    lefts = [start, *(p.at for p in points[:-1])]
    bars = "".join(_bar(left, p, objective, low, (start, end)) for left, p in zip(lefts, points, strict=True))
    title = (
        f"SLI per step from {_stamp(start)} to {_stamp(end)}; "
        f"objective {percent(objective, 3)}, axis from {percent(low, 3)} to 100%"
    )
    return _svg(title, bars + _line(value_y(objective, low, 1.0), "objective"))
