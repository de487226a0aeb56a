"""Pure SVG chart rendering on the server: sparklines, latency charts, uptime bars."""

from __future__ import annotations

from collections.abc import Sequence
from html import escape

from tocsin.web.views import BucketView


def _scale(values: Sequence[float | None], height: float) -> tuple[float, float]:
    present = [v for v in values if v is not None]
    top = max(present) if present else 1.0
    return (top or 1.0), height


def sparkline(values: Sequence[float | None], width: int = 120, height: int = 24) -> str:
    """A tiny latency line; gaps where there was no data. Decorative, so aria-hidden."""
    if not any(v is not None for v in values):
        return f'<svg class="spark" width="{width}" height="{height}" aria-hidden="true"></svg>'
    top, h = _scale(values, height - 2)
    step = width / max(1, len(values) - 1)
    segments: list[list[str]] = []
    current: list[str] = []
    for i, value in enumerate(values):
        if value is None:
            if current:
                segments.append(current)
            current = []
            continue
        current.append(f"{i * step:.1f},{height - 1 - value / top * h:.1f}")
    if current:
        segments.append(current)
    paths = "".join(f'<polyline points="{" ".join(seg)}"/>' for seg in segments)
    size = f'width="{width}" height="{height}" viewBox="0 0 {width} {height}"'
    return f'<svg class="spark" {size} aria-hidden="true">{paths}</svg>'


def latency_chart(buckets: Sequence[BucketView], width: int = 720, height: int = 160) -> str:
    """Mean latency per bucket as bars, red where the bucket had failures; with a title for screen readers."""
    if not buckets:
        return '<p class="muted">No results in this period yet.</p>'
    values = [b.latency_mean for b in buckets]
    top, _ = _scale(values, height)
    bar = width / len(buckets)
    rects = []
    for i, b in enumerate(buckets):
        value = b.latency_mean or 0.0
        h = max(1.0, value / top * (height - 20)) if b.latency_mean is not None else 0.0
        cls = "bad" if b.down else ("warn" if b.degraded else "ok")
        label = f"{b.start:%Y-%m-%d %H:%M} UTC: {value:.0f} ms, {b.down} down of {b.total}"
        rects.append(
            f'<rect class="{cls}" x="{i * bar:.1f}" y="{height - h:.1f}" '
            f'width="{max(bar - 1, 1):.1f}" height="{h:.1f}">'
            f"<title>{escape(label)}</title></rect>"
        )
    return (
        f'<svg class="chart" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="none">'
        f"<title>Mean latency per hour, peak {top:.0f} ms</title>{''.join(rects)}</svg>"
    )


def uptime_bars(days: Sequence[BucketView], width: int = 720, height: int = 34) -> str:
    """One bar per day coloured by uptime, each with a tooltip; days without data are grey."""
    if not days:
        return '<p class="muted">No daily history yet.</p>'
    bar = width / len(days)
    rects = []
    for i, d in enumerate(days):
        cls = _uptime_class(d.uptime)
        text = "no data" if d.uptime is None else f"{d.uptime * 100:.3f}% up, {d.down} failed of {d.total}"
        rects.append(
            f'<rect class="{cls}" x="{i * bar:.1f}" y="0" width="{max(bar - 2, 1):.1f}" height="{height}" rx="1">'
            f"<title>{d.start:%Y-%m-%d}: {escape(text)}</title></rect>"
        )
    return (
        f'<svg class="bars" viewBox="0 0 {width} {height}" role="img" preserveAspectRatio="none">'
        f"<title>Daily uptime, last {len(days)} days</title>{''.join(rects)}</svg>"
    )


def _uptime_class(uptime: float | None) -> str:
    if uptime is None:
        return "none"
    if uptime >= 0.999:
        return "ok"
    return "warn" if uptime >= 0.99 else "bad"
