"""The schedule timeline as server-side SVG: one row per layer, then overrides, then the final schedule; pure."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from datetime import datetime, timedelta
from html import escape

from tocsin.oncall.model import OVERRIDE, load_zone
from tocsin.oncall.views import OverrideView, ScheduleTimeline, ShiftView

WIDTH = 840
LABEL = 110  # the left column with row names
ROW, PAD, AXIS = 26, 6, 20
PALETTE = ("#4e79a7", "#59a14f", "#b07aa1", "#f28e2b", "#76b7b2", "#edc948", "#9c755f", "#e15759")
GAP_FILL = "#d93025"


def user_colour(user: str) -> str:
    """A stable colour per person (the same on every page and every process)."""
    return PALETTE[zlib.crc32(user.encode()) % len(PALETTE)]


def x_of(t: datetime, start: datetime, end: datetime) -> float:
    """Where instant `t` falls on the time axis, clamped to it."""
    span = (end - start).total_seconds() or 1.0
    share = min(max((t - start).total_seconds() / span, 0.0), 1.0)
    return LABEL + share * (WIDTH - LABEL)


def day_starts(start: datetime, end: datetime, time_zone: str) -> list[datetime]:
    """Every local midnight of `time_zone` inside [start, end), for the axis ticks."""
    zone = load_zone(time_zone)
    day = start.astimezone(zone).date() + timedelta(days=1)
    found: list[datetime] = []
    while (midnight := datetime.combine(day, datetime.min.time(), zone)) < end:
        found.append(midnight)
        day += timedelta(days=1)
    return found


def _when(t: datetime, time_zone: str) -> str:
    return f"{t.astimezone(load_zone(time_zone)):%a %d %b %H:%M}"


def shift_title(shift: ShiftView | OverrideView, time_zone: str, what: str) -> str:
    """The tooltip of one rect: who, why, from when to when in the schedule's zone."""
    who = shift.user or "nobody (gap)"
    return f"{who} · {what} · {_when(shift.start, time_zone)} to {_when(shift.end, time_zone)} ({time_zone})"


def _rect(x0: float, x1: float, y: float, fill: str, title: str, css: str, label: str = "") -> str:
    text = ""
    if label and x1 - x0 > 7 * len(label):
        text = f'<text x="{x0 + 3:.1f}" y="{y + ROW / 2 + 4:.1f}" font-size="11" fill="#fff">{escape(label)}</text>'
    stroke = ' stroke="#111" stroke-width="2"' if "override" in css.split() else ""
    return (
        f'<g class="{css}"><rect x="{x0:.1f}" y="{y:.1f}" width="{max(x1 - x0, 1):.1f}" height="{ROW}" '
        f'fill="{fill}"{stroke}><title>{escape(title)}</title></rect>{text}</g>'
    )


def _shift_rects(view: ScheduleTimeline, shifts: Sequence[ShiftView], y: float, final: bool) -> list[str]:
    rects = []
    for s in shifts:
        x0, x1 = x_of(s.start, view.start, view.end), x_of(s.end, view.start, view.end)
        if s.user is None:
            rects.append(_rect(x0, x1, y, GAP_FILL, shift_title(s, view.time_zone, "gap"), "gap"))
            continue
        css = "shift override" if final and s.layer == OVERRIDE else "shift"
        title = shift_title(s, view.time_zone, f"layer {s.layer}" if s.layer != OVERRIDE else "override")
        rects.append(_rect(x0, x1, y, user_colour(s.user), title, css, s.user))
    return rects


def _override_rects(view: ScheduleTimeline, y: float) -> list[str]:
    rects = []
    for o in view.overrides:
        x0, x1 = x_of(o.start, view.start, view.end), x_of(o.end, view.start, view.end)
        what = f"override instead of {o.replaces}" if o.replaces else "override"
        rects.append(_rect(x0, x1, y, user_colour(o.user), shift_title(o, view.time_zone, what), "override", o.user))
    return rects


def _row_label(name: str, y: float) -> str:
    return f'<text x="4" y="{y + ROW / 2 + 4:.1f}" font-size="12" fill="currentColor">{escape(name)}</text>'


def _axis(view: ScheduleTimeline, height: float) -> list[str]:
    marks = []
    for day in day_starts(view.start, view.end, view.time_zone):
        x = x_of(day, view.start, view.end)
        marks.append(f'<line x1="{x:.1f}" y1="{AXIS - 4}" x2="{x:.1f}" y2="{height:.0f}" stroke="#8888" />')
        marks.append(f'<text x="{x + 2:.1f}" y="{AXIS - 6}" font-size="10" fill="currentColor">{day:%d %b}</text>')
    return marks


def timeline_svg(view: ScheduleTimeline) -> str:
    """The whole timeline: each layer's own shifts, the overrides, and the final schedule with gaps in red."""
    rows: list[tuple[str, list[str]]] = []
    for index, layer in enumerate(view.layers):
        rows.append((layer.name, _shift_rects(view, layer.shifts, _y(index), final=False)))
    if view.overrides:
        rows.append(("overrides", _override_rects(view, _y(len(rows)))))
    rows.append(("final", _shift_rects(view, view.final, _y(len(rows)), final=True)))
    height = _y(len(rows))
    body = [*_axis(view, height)]
    for index, (name, rects) in enumerate(rows):
        body += [_row_label(name, _y(index)), *rects]
    counts = f"{len(view.final) - len(view.gaps)} shifts, {len(view.gaps)} gaps, {len(view.overrides)} overrides"
    title = f"{view.name}, next {(view.end - view.start).days} days: {counts}"
    return (
        f'<svg class="chart timeline" viewBox="0 0 {WIDTH} {height:.0f}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title>{''.join(body)}</svg>"
    )


def _y(row: int) -> float:
    return AXIS + row * (ROW + PAD)
