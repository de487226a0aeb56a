"""The incident report's charts as server-side SVG; pure.

Every chart is an `img` with a title and a description that states its figures; the page puts
a table with the same numbers under each chart, so nothing depends on seeing colours.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

from tocsin.web.report_views import GroupView, IncidentReport, ResponderView

WIDTH, HEIGHT = 720, 240
LEFT, RIGHT, TOP, BOTTOM = 44, 8, 28, 24  # plot margins: y-axis labels, legend, month labels
SEVERITY_COLOURS = ("#c5221f", "#e8710a", "#f9ab00", "#4e79a7", "#76b7b2", "#9c755f", "#b07aa1", "#8a8a8a")
MTTA_COLOUR, MTTR_COLOUR = "#4e79a7", "#e8710a"
IN_HOURS_COLOUR, OUT_OF_HOURS_COLOUR = "#76b7b2", "#c5221f"
BAR_ROW = 24


def severity_colour(index: int) -> str:
    """The colour of the `index`th configured severity (worst first: red, orange, yellow, blue ...)."""
    return SEVERITY_COLOURS[min(index, len(SEVERITY_COLOURS) - 1)]


def duration_text(seconds: float | None) -> str:
    """A duration for people: 45s, 12m, 3h 20m, 2d 4h; a dash when unknown."""
    if seconds is None:
        return "-"
    s = round(seconds)
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h {s % 3600 // 60}m"
    return f"{s // 86400}d {s % 86400 // 3600}h"


def nice_top(value: float) -> float:
    """A round axis maximum at or above `value` (1, 2 or 5 times a power of ten)."""
    if value <= 0:
        return 1.0
    scale = 1.0
    while scale * 10 <= value:
        scale *= 10
    while scale > value:
        scale /= 10
    return next(step * scale for step in (1, 2, 5, 10) if step * scale >= value)


def count_top(value: float) -> int:
    """A round axis maximum for counts whose half-way tick is a whole number too."""
    return max(2, math.ceil(value / 2) * 2) if value <= 10 else int(nice_top(value))


def _svg(title: str, desc: str, body: Sequence[str], height: int = HEIGHT, cls: str = "chart report") -> str:
    return (
        f'<svg class="{cls}" viewBox="0 0 {WIDTH} {height}" role="img" aria-label="{escape(title)}">'
        f"<title>{escape(title)}</title><desc>{escape(desc)}</desc>{''.join(body)}</svg>"
    )


def _text(x: float, y: float, text: str, anchor: str = "start", size: int = 11) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" '
        f'fill="currentColor">{escape(text)}</text>'
    )


def _rect(x: float, y: float, w: float, h: float, fill: str, title: str) -> str:
    return (
        f'<rect x="{x:.1f}" y="{y:.1f}" width="{max(w, 0.5):.1f}" height="{max(h, 0.0):.1f}" fill="{fill}">'
        f"<title>{escape(title)}</title></rect>"
    )


def _legend(items: Sequence[tuple[str, str]]) -> list[str]:
    out, x = [], float(LEFT)
    for label, colour in items:
        out.append(f'<rect x="{x:.1f}" y="6" width="10" height="10" fill="{colour}"/>')
        out.append(_text(x + 14, 15, label))
        x += 24 + 7 * len(label)
    return out


def _y_axis(top: float, label: str) -> list[str]:
    plot = HEIGHT - TOP - BOTTOM
    out = []
    for share in (0.0, 0.5, 1.0):
        y = TOP + plot * (1 - share)
        out.append(f'<line x1="{LEFT}" x2="{WIDTH - RIGHT}" y1="{y:.1f}" y2="{y:.1f}" stroke="#8886"/>')
        out.append(_text(LEFT - 4, y + 4, f"{top * share:g}", "end", 10))
    out.append(_text(4, TOP - 6, label, size=10))
    return out


def _slots(count: int) -> tuple[float, float]:
    """The width of each month's slot and of a bar in it."""
    slot = (WIDTH - LEFT - RIGHT) / max(count, 1)
    return slot, max(slot * 0.7, 1.0)


def _month_labels(months: Sequence[str], slot: float) -> list[str]:
    every = max(1, round(len(months) / 12))  # at most about twelve labels
    return [
        _text(LEFT + i * slot + slot / 2, HEIGHT - 8, m, "middle", 10) for i, m in enumerate(months) if i % every == 0
    ]


def incidents_per_month_svg(r: IncidentReport) -> str:
    """Incidents per month, each bar stacked by severity (worst at the bottom)."""
    top = count_top(max((sum(m.counts.values()) for m in r.severity_by_month), default=0))
    slot, bar = _slots(len(r.severity_by_month))
    plot = HEIGHT - TOP - BOTTOM
    body = [*_y_axis(top, "incidents"), *_legend([(s, severity_colour(i)) for i, s in enumerate(r.severities)])]
    for i, month in enumerate(r.severity_by_month):
        y = float(TOP + plot)
        for index, (severity, count) in enumerate(month.counts.items()):
            if not count:
                continue
            h = count / top * plot
            y -= h
            x = LEFT + i * slot + (slot - bar) / 2
            body.append(_rect(x, y, bar, h, severity_colour(index), f"{month.month}: {count} {severity}"))
    body += _month_labels(r.months, slot)
    per_month = "; ".join(f"{m.month}: {sum(m.counts.values())}" for m in r.severity_by_month)
    title = f"Incidents per month by severity, {r.totals.incidents} in all"
    return _svg(title, f"Incidents per month: {per_month}.", body)


def response_times_svg(r: IncidentReport) -> str:
    """Mean time to acknowledge and to resolve per month, side by side; months without data have no bar."""
    values = [v for g in r.by_month for v in (g.mtta.mean_seconds, g.mttr.mean_seconds) if v is not None]
    hours = max(values, default=0) >= 3 * 3600
    unit, per = ("hours", 3600.0) if hours else ("minutes", 60.0)
    top = nice_top(max(values, default=0) / per)
    slot, bar = _slots(len(r.by_month))
    plot = HEIGHT - TOP - BOTTOM
    body = [*_y_axis(top, unit), *_legend([("MTTA (mean)", MTTA_COLOUR), ("MTTR (mean)", MTTR_COLOUR)])]
    for i, g in enumerate(r.by_month):
        for j, (name, colour, seconds) in enumerate(
            (("MTTA", MTTA_COLOUR, g.mtta.mean_seconds), ("MTTR", MTTR_COLOUR, g.mttr.mean_seconds))
        ):
            if seconds is None:
                continue
            h = seconds / per / top * plot
            x = LEFT + i * slot + (slot - bar) / 2 + j * bar / 2
            body.append(_rect(x, TOP + plot - h, bar / 2, h, colour, f"{g.key} {name}: {duration_text(seconds)}"))
    body += _month_labels(r.months, slot)
    return _svg("Mean time to acknowledge and to resolve per month", _times_desc(r.by_month), body)


def _times_desc(groups: Sequence[GroupView]) -> str:
    parts = [
        f"{g.key}: MTTA {duration_text(g.mtta.mean_seconds)}, MTTR {duration_text(g.mttr.mean_seconds)}" for g in groups
    ]
    return "; ".join(parts) + "."


def responder_load_svg(people: Sequence[ResponderView]) -> str:
    """Pages per responder as horizontal bars: in working hours, then out of hours."""
    height = TOP + BAR_ROW * max(len(people), 1) + 8
    top = count_top(max((p.pages for p in people), default=0))
    label_width, room = 120, WIDTH - 120 - 200  # room on the right for "12 pages, 40% out of hours"
    body = _legend([("working hours", IN_HOURS_COLOUR), ("out of hours", OUT_OF_HOURS_COLOUR)])
    for i, p in enumerate(people):
        y = TOP + i * BAR_ROW
        inside = (p.pages - p.out_of_hours) / top * room
        late = p.out_of_hours / top * room
        body.append(_text(4, y + 15, p.user))
        body.append(
            _rect(label_width, y + 3, inside, 16, IN_HOURS_COLOUR, f"{p.user}: {p.pages - p.out_of_hours} in hours")
        )
        body.append(
            _rect(
                label_width + inside, y + 3, late, 16, OUT_OF_HOURS_COLOUR, f"{p.user}: {p.out_of_hours} out of hours"
            )
        )
        body.append(_text(label_width + inside + late + 6, y + 15, _load_text(p)))
    desc = "; ".join(f"{p.user}: {_load_text(p)}" for p in people) or "No pages in this range."
    return _svg(f"Pages per responder, {sum(p.pages for p in people)} in all", desc, body, height)


def _load_text(p: ResponderView) -> str:
    pages = "1 page" if p.pages == 1 else f"{p.pages} pages"
    return f"{pages}, {p.out_of_hours_share * 100:.0f}% out of hours"
