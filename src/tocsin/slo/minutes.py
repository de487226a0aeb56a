"""Pure helpers over per-minute count arrays: dense arrays, maintenance masks, budgeting, hourly sums.

Minutes are UTC minute numbers (`windows.minute_of`). Ranges are half-open [start, end).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import timedelta

import numpy as np
from numpy.typing import NDArray

from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.slo.series import Method
from tocsin.slo.windows import instant_of, minute_of

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]
HOUR = 60


def dense(rows: Iterable[tuple[int, float, float]], start: int, end: int) -> tuple[FloatArray, FloatArray]:
    """Good and total arrays for minutes [start, end) from sparse (minute, good, total) rows."""
    good, total = np.zeros(end - start), np.zeros(end - start)
    for minute, g, t in rows:
        if start <= minute < end:
            good[minute - start] += g
            total[minute - start] += t
    return good, total


def occurrences(window: MaintenanceWindow, start: int, end: int) -> list[tuple[int, int]]:
    """Minute ranges of a maintenance window's occurrences overlapping [start, end), clipped to it."""
    found: list[tuple[int, int]] = []
    at = instant_of(start)
    while at < instant_of(end):
        batch = window.next_occurrences(at, count=64)
        for begin, finish in batch:
            first = max(minute_of(begin), start)
            last = min(minute_of(finish - timedelta(microseconds=1)) + 1, end)
            if first < last and (not found or found[-1] != (first, last)):
                found.append((first, last))
        if len(batch) < 64 or batch[-1][0] <= at:
            break
        at = batch[-1][0] + timedelta(seconds=1)
    return found


def maintenance_mask(
    windows: Sequence[MaintenanceWindow], labels: Mapping[str, str], start: int, end: int
) -> BoolArray:
    """True for the minutes of [start, end) that a maintenance window scoping `labels` touches."""
    mask = np.zeros(end - start, dtype=np.bool_)
    for window in windows:
        if window.scopes(labels):
            for first, last in occurrences(window, start, end):
                mask[first - start : last - start] = True
    return mask


def budgeted(
    method: Method, slice_minutes: int, target: float, start: int, good: FloatArray, total: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """Inputs in method units per minute, a slice's score at its last minute; `start` must align to slices."""
    if method == Method.OCCURRENCES:
        return good, total
    if start % slice_minutes or len(good) % slice_minutes:
        raise ValueError("timeslice scoring needs whole slices")
    g = good.reshape(-1, slice_minutes).sum(axis=1)
    t = total.reshape(-1, slice_minutes).sum(axis=1)
    measured = t > 0
    ratio = np.divide(g, t, out=np.zeros_like(g), where=measured)
    score = ratio if method == Method.RATIO_TIMESLICES else (ratio >= target).astype(np.float64)
    out_good, out_total = np.zeros_like(good), np.zeros_like(total)
    out_good[slice_minutes - 1 :: slice_minutes] = np.where(measured, score, 0.0)
    out_total[slice_minutes - 1 :: slice_minutes] = measured
    return out_good, out_total


def hourly(good: FloatArray, total: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Sums per hour of per-minute arrays that start on an hour and hold whole hours."""
    return good.reshape(-1, HOUR).sum(axis=1), total.reshape(-1, HOUR).sum(axis=1)
