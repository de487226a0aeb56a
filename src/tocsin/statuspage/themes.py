"""Light and dark palettes of the public pages, as CSS custom properties, with WCAG contrast checks (pure).

A page's `theme` picks one palette, or `auto` lets the reader's `prefers-color-scheme`
choose. Text colours keep a contrast of at least 4.5:1 (WCAG AA) on their background;
banners carry white text on a colour dark enough for it in both palettes.
"""

from __future__ import annotations

from collections.abc import Mapping

Palette = Mapping[str, str]

BANNERS: Palette = {  # white text on these, in both palettes
    "banner-none": "#1a7f37",
    "banner-minor": "#8a5c00",
    "banner-major": "#b34700",
    "banner-critical": "#c11f2a",
    "banner-maintenance": "#0969da",
}
LIGHT: Palette = {
    "bg": "#ffffff",
    "fg": "#1f2328",
    "muted": "#59636e",
    "line": "#d0d7de",
    "ok": "#1a7f37",
    "warn": "#8a5c00",
    "bad": "#c11f2a",
    "none": "#d0d7de",
    "maint": "#0969da",
    "link": "#0550ae",
    **BANNERS,
}
DARK: Palette = {
    "bg": "#0d1117",
    "fg": "#e6edf3",
    "muted": "#9198a1",
    "line": "#30363d",
    "ok": "#3fb950",
    "warn": "#d29922",
    "bad": "#f85149",
    "none": "#30363d",
    "maint": "#4493f8",
    "link": "#58a6ff",
    **BANNERS,
}
TEXT_ON_BG = ("fg", "muted", "ok", "warn", "bad", "maint", "link")  # colours used for text on `bg`


def _vars(palette: Palette) -> str:
    return "".join(f"--{name}:{value};" for name, value in palette.items())


def css(theme: str) -> str:
    """The `:root` rules of a theme: `light`, `dark`, or `auto` (light unless the reader prefers dark)."""
    if theme == "light":
        return f":root{{{_vars(LIGHT)}color-scheme:light}}"
    if theme == "dark":
        return f":root{{{_vars(DARK)}color-scheme:dark}}"
    return (
        f":root{{{_vars(LIGHT)}color-scheme:light dark}}@media (prefers-color-scheme: dark){{:root{{{_vars(DARK)}}}}}"
    )


def _channel(value: int) -> float:
    c = value / 255
    return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4


def luminance(colour: str) -> float:
    """Relative luminance of `#rrggbb` (WCAG 2)."""
    r, g, b = (int(colour[i : i + 2], 16) for i in (1, 3, 5))
    return 0.2126 * _channel(r) + 0.7152 * _channel(g) + 0.0722 * _channel(b)


def contrast(a: str, b: str) -> float:
    """The WCAG contrast ratio of two `#rrggbb` colours (1 to 21)."""
    high, low = sorted((luminance(a), luminance(b)), reverse=True)
    return (high + 0.05) / (low + 0.05)
