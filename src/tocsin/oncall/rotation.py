"""Turns and shifts of one layer, with its restrictions applied; pure, all instants in UTC.

Calendar lengths are counted on the layer's wall clock and converted to instants one
handoff at a time, so a 09:00 handoff stays at 09:00 local across daylight saving.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from tocsin.oncall.model import FixedLength, Layer, Shift, require_aware

Span = tuple[datetime, datetime]
_TICK = timedelta(microseconds=1)


def as_utc(value: datetime, what: str = "instant") -> datetime:
    """Return the aware `value` in UTC, so arithmetic and comparisons ignore wall clocks."""
    require_aware(value, what)
    return value.astimezone(UTC)


def local_to_utc(wall: datetime, tz: ZoneInfo) -> datetime:
    """The instant of the naive wall time `wall` in `tz`, monotonic across DST changes."""
    # A repeated wall time (clocks going back) means its first occurrence; a skipped one
    # (clocks going forward) means the moment the clocks jump, so handoffs and window
    # edges keep their order (RFC 5545's "offset before the gap" rule would not).
    early = wall.replace(tzinfo=tz, fold=0).astimezone(UTC)
    if early.astimezone(tz).replace(tzinfo=None) == wall:
        return early
    return _transition(wall.replace(tzinfo=tz, fold=1).astimezone(UTC), early, tz)


def _transition(before: datetime, after: datetime, tz: ZoneInfo) -> datetime:
    """The first instant in (before, after] that has the offset in force at `after`."""
    offset = after.astimezone(tz).utcoffset()
    while after - before > _TICK:
        middle = before + (after - before) // 2
        if middle.astimezone(tz).utcoffset() == offset:
            after = middle
        else:
            before = middle
    return after


def handoff(layer: Layer, turn: int) -> datetime:
    """The UTC instant at which turn number `turn` (0 is the first) begins."""
    if isinstance(layer.length, FixedLength):
        return local_to_utc(layer.first_handoff, layer.zone) + layer.length.duration * turn
    return local_to_utc(layer.first_handoff + layer.length.step(turn), layer.zone)


def _nominal(layer: Layer) -> timedelta:
    """The length of one turn ignoring daylight saving, used to guess a turn number."""
    if isinstance(layer.length, FixedLength):
        return layer.length.duration
    return layer.length.step(1)


def turn_at(layer: Layer, t: datetime) -> int | None:
    """The number of the turn that contains `t`, or None before the layer starts."""
    t = as_utc(t)
    first = handoff(layer, 0)
    if t < first:
        return None
    turn = (t - first) // _nominal(layer)
    # The guess is off by at most a turn or two (DST moves instants by hours, not turns).
    while handoff(layer, turn) > t:
        turn -= 1
    while handoff(layer, turn + 1) <= t:
        turn += 1
    return turn


def participant(layer: Layer, turn: int) -> str:
    """Who takes turn number `turn`: participants in order, round and round."""
    return layer.participants[turn % len(layer.participants)]


def turns(layer: Layer, start: datetime, end: datetime) -> Iterator[Shift]:
    """Every turn overlapping [start, end), clipped to it, ignoring restrictions."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    turn = turn_at(layer, start)
    turn = 0 if turn is None else turn
    begins = handoff(layer, turn)
    while begins < end:
        ends = handoff(layer, turn + 1)
        low, high = max(begins, start), min(ends, end)
        if low < high:  # a turn that falls inside a skipped DST hour has no length
            yield Shift(participant(layer, turn), low, high, layer.name)
        turn, begins = turn + 1, ends


def windows(layer: Layer, start: datetime, end: datetime) -> list[Span]:
    """The merged restriction windows overlapping [start, end), clipped to it."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if not layer.restrictions:
        return [(start, end)] if start < end else []
    spans = [
        (max(low, start), min(high, end)) for low, high in _openings(layer, start, end) if low < end and high > start
    ]
    return _merge(sorted(span for span in spans if span[0] < span[1]))


def _openings(layer: Layer, start: datetime, end: datetime) -> Iterator[Span]:
    """Every restriction window that opens on a local date near [start, end)."""
    tz = layer.zone
    reach = max(r.span_days for r in layer.restrictions) + 1
    day = start.astimezone(tz).date() - timedelta(days=reach)
    last = end.astimezone(tz).date() + timedelta(days=1)
    while day <= last:
        for r in layer.restrictions:
            if day.weekday() in r.days:
                closes = day + timedelta(days=r.span_days)
                yield _wall_span(day, r.start, closes, r.end, tz)
        day += timedelta(days=1)


def _wall_span(opens: date, opens_at: time, closes: date, closes_at: time, tz: ZoneInfo) -> Span:
    """The instants of a window given as local dates and times of day."""
    return (
        local_to_utc(datetime.combine(opens, opens_at), tz),
        local_to_utc(datetime.combine(closes, closes_at), tz),
    )


def _merge(spans: list[Span]) -> list[Span]:
    """Join sorted spans that overlap or touch."""
    merged: list[Span] = []
    for low, high in spans:
        if merged and low <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(merged[-1][1], high))
        else:
            merged.append((low, high))
    return merged


def _intersect(shifts: Iterator[Shift], spans: list[Span]) -> Iterator[Shift]:
    """The parts of `shifts` that fall inside `spans`; both are sorted and disjoint."""
    index = 0
    for shift in shifts:
        while index < len(spans) and spans[index][1] <= shift.start:
            index += 1
        probe = index
        while probe < len(spans) and spans[probe][0] < shift.end:
            low, high = max(spans[probe][0], shift.start), min(spans[probe][1], shift.end)
            if low < high:
                yield Shift(shift.user, low, high, shift.layer)
            probe += 1


def layer_shifts(layer: Layer, start: datetime, end: datetime) -> list[Shift]:
    """The layer's shifts over [start, end): its turns cut down to its restriction windows."""
    start, end = as_utc(start, "start"), as_utc(end, "end")
    if start >= end:
        return []
    return list(_intersect(turns(layer, start, end), windows(layer, start, end)))


def user_at(layer: Layer, t: datetime) -> str | None:
    """Who the layer puts on call at `t`, or None before its start or outside its windows."""
    t = as_utc(t)
    turn = turn_at(layer, t)
    if turn is None or not windows(layer, t, t + _TICK):
        return None
    return participant(layer, turn)
