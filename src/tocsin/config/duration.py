"""Durations written the Prometheus way: `30s`, `5m`, `1h30m`, `2d`, `1w`, `250ms`."""

from __future__ import annotations

import re
from datetime import timedelta
from typing import Annotated, Any

from pydantic import BeforeValidator, PlainSerializer

_UNITS = {
    "ms": 0.001,
    "s": 1.0,
    "m": 60.0,
    "h": 3600.0,
    "d": 86400.0,
    "w": 604800.0,
    "y": 31536000.0,
}
_PART = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h|d|w|y)")


def parse_duration(value: Any) -> timedelta:
    """Turn `1h30m`, a number of seconds, or a timedelta into a timedelta; ValueError if not."""
    if isinstance(value, timedelta):
        return value
    if isinstance(value, bool):
        raise ValueError("a duration is a string like 30s, 5m or 1h30m, not a boolean")
    if isinstance(value, int | float):
        return timedelta(seconds=float(value))
    if not isinstance(value, str):
        raise ValueError("a duration is a string like 30s, 5m or 1h30m")
    text = value.strip()
    if text == "0":
        return timedelta(0)
    pos, total = 0, 0.0
    for match in _PART.finditer(text):
        if match.start() != pos:
            break
        total += float(match.group(1)) * _UNITS[match.group(2)]
        pos = match.end()
    if pos != len(text) or not text:
        raise ValueError(f"{value!r} is not a duration; write it like 30s, 5m, 1h30m or 2d")
    return timedelta(seconds=total)


def format_duration(value: timedelta) -> str:
    """Render a timedelta compactly (`1h30m`, `250ms`), the inverse of `parse_duration`."""
    ms = round(value.total_seconds() * 1000)
    if ms == 0:
        return "0s"
    parts: list[str] = []
    for unit, size in (("d", 86_400_000), ("h", 3_600_000), ("m", 60_000), ("s", 1000)):
        count, ms = divmod(ms, size)
        if count:
            parts.append(f"{count}{unit}")
    if ms:
        parts.append(f"{ms}ms")
    return "".join(parts)


Duration = Annotated[
    timedelta,
    BeforeValidator(parse_duration),
    PlainSerializer(format_duration, return_type=str),
]
