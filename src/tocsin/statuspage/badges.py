"""Shields-style SVG badges for a status page (pure)."""

from __future__ import annotations

from html import escape

from tocsin.statuspage.status import Indicator

COLOURS = {
    Indicator.NONE: "#4c1",
    Indicator.MINOR: "#dfb317",
    Indicator.MAJOR: "#fe7d37",
    Indicator.CRITICAL: "#e05d44",
    Indicator.MAINTENANCE: "#007ec6",
}


def _width(text: str) -> int:
    return 6 * len(text) + 10  # Verdana 11px averages about 6px a character


def badge(label: str, message: str, colour: str) -> str:
    """A flat two-part badge `label | message` with the message on `colour`."""
    left, right = _width(label), _width(message)
    total = left + right
    text = escape(f"{label}: {message}")
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{total}" height="20" role="img" aria-label="{text}">'
        f"<title>{text}</title>"
        f'<rect width="{left}" height="20" fill="#555"/><rect x="{left}" width="{right}" height="20" fill="{colour}"/>'
        f'<g fill="#fff" text-anchor="middle" font-family="Verdana,DejaVu Sans,sans-serif" font-size="11">'
        f'<text x="{left / 2}" y="14">{escape(label)}</text>'
        f'<text x="{left + right / 2}" y="14">{escape(message)}</text>'
        "</g></svg>"
    )


def status_badge(level: Indicator, description: str) -> str:
    """The page's banner as a badge."""
    return badge("status", description.lower(), COLOURS[level])


def uptime_badge(value: float | None, days: int = 30) -> str:
    """Uptime over `days` as a badge, green at 99.9% and above."""
    if value is None:
        return badge(f"uptime {days}d", "no data", "#9f9f9f")
    colour = "#4c1" if value >= 0.999 else "#dfb317" if value >= 0.99 else "#e05d44"
    return badge(f"uptime {days}d", f"{value * 100:.2f}%", colour)
