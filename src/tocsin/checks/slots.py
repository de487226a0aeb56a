"""Pure scheduling arithmetic: a stable per-monitor offset inside its interval."""

from __future__ import annotations

import hashlib
import math


def offset(name: str, interval: float) -> float:
    """A stable offset in [0, interval) from the monitor's name, so starts spread evenly."""
    digest = hashlib.blake2b(name.encode(), digest_size=8).digest()
    return (int.from_bytes(digest, "big") % 1_000_000) / 1_000_000 * interval


def next_slot(name: str, interval: float, after: float) -> float:
    """The first instant >= `after` on the monitor's grid (offset + k * interval)."""
    base = offset(name, interval)
    k = math.ceil((after - base) / interval)
    return base + k * interval


def skipped(due: float, interval: float, now: float) -> int:
    """How many whole slots after `due` have already passed at `now` (runs to count as missed)."""
    return max(0, math.floor((now - due) / interval))
