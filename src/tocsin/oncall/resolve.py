"""The final schedule: the highest layer wins, overrides go on top, gaps are explicit; pure."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from itertools import pairwise

from tocsin.oncall.model import OVERRIDE, Override, Schedule, Shift
from tocsin.oncall.rotation import as_utc, layer_shifts, user_at

Pick = tuple[str | None, str | None]  # (user, layer) chosen for one instant


def who_is_on_call(schedule: Schedule, t: datetime) -> tuple[str, ...]:
    """Who is on call at instant `t`: empty during a gap, else the one person paged."""
    t = as_utc(t)
    pick: Pick = (None, None)
    for layer in reversed(schedule.layers):
        user = user_at(layer, t)
        if user is not None:
            pick = (user, layer.name)
            break
    user = _apply_overrides(_in_utc(schedule.overrides), t, pick)[0]
    return () if user is None else (user,)


def _in_utc(overrides: Sequence[Override]) -> list[Override]:
    """The overrides with UTC instants, so comparisons never depend on a wall clock's fold."""
    return [Override(o.user, as_utc(o.start), as_utc(o.end), o.replaces) for o in overrides]


def _apply_overrides(overrides: Sequence[Override], t: datetime, pick: Pick) -> Pick:
    """Lay every override active at `t` over `pick`, in order, so a later one wins."""
    for override in overrides:
        if override.start <= t < override.end and override.replaces in (None, pick[0]):
            pick = (override.user, OVERRIDE)
    return pick


def shifts(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The final schedule over [start, end): contiguous, non-overlapping, gaps included."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if start >= end:
        return []
    layers = [layer_shifts(layer, start, end) for layer in schedule.layers]
    overrides = [o for o in _in_utc(schedule.overrides) if o.start < end and o.end > start]
    cursors = [0] * len(layers)
    pieces: list[Shift] = []
    for low, high in pairwise(_cuts(start, end, layers, overrides)):
        pick = _apply_overrides(overrides, low, _top_layer(layers, cursors, low))
        pieces.append(Shift(pick[0], low, high, pick[1]))
    return _join(pieces)


def gaps(schedule: Schedule, start: datetime, end: datetime) -> list[Shift]:
    """The stretches of [start, end) when nobody is on call, to show and warn about."""
    return [shift for shift in shifts(schedule, start, end) if shift.gap]


def _cuts(start: datetime, end: datetime, layers: list[list[Shift]], overrides: list[Override]) -> list[datetime]:
    """Every instant in [start, end] at which the answer may change, sorted."""
    edges = {start, end}
    for layer in layers:
        edges.update(edge for shift in layer for edge in (shift.start, shift.end))
    for override in overrides:
        edges.update((override.start, override.end))
    return sorted(edge for edge in edges if start <= edge <= end)


def _top_layer(layers: list[list[Shift]], cursors: list[int], t: datetime) -> Pick:
    """The user of the highest layer with a shift at `t`; cursors only move forward."""
    for index in range(len(layers)):
        layer = layers[index]
        while cursors[index] < len(layer) and layer[cursors[index]].end <= t:
            cursors[index] += 1
    for index in reversed(range(len(layers))):
        layer, cursor = layers[index], cursors[index]
        if cursor < len(layer) and layer[cursor].start <= t:
            return (layer[cursor].user, layer[cursor].layer)
    return (None, None)


def _join(pieces: list[Shift]) -> list[Shift]:
    """Merge neighbouring pieces with the same user from the same layer."""
    joined: list[Shift] = []
    for piece in pieces:
        last = joined[-1] if joined else None
        if last is not None and (last.user, last.layer) == (piece.user, piece.layer):
            joined[-1] = Shift(last.user, last.start, piece.end, last.layer)
        else:
            joined.append(piece)
    return joined
