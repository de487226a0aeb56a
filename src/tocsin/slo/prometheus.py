"""Read SLI counts per minute from a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics).

Sloth-style queries (`sum(rate(x[{{.window}}]))`) are run with the window set to `1m`
at each minute's end: the per-second rate over that minute, times 60, is the minute's
count. Counter queries (`counter: true`) are sampled at every minute boundary and the
minute's count is the increase (a drop is a counter reset: the new value is the count).
Backfill uses `query_range` (at most `MAX_POINTS` points a request); the per-minute
poll uses instant queries when only a minute or two are missing.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import Mapping, Sequence
from typing import Any

import aiohttp

from tocsin.slo.config import WINDOW_PLACEHOLDER
from tocsin.slo.model import PrometheusSource

STEP_SECONDS = 60
MAX_POINTS = 10_000  # Prometheus refuses more than 11,000 points per series in one range query
INSTANT_BELOW = 3  # fewer missing minutes than this: instant queries instead of a range query
Counts = tuple[int, float, float]


class PrometheusError(Exception):
    """The API could not be reached or answered with an error; the message says which."""


def minute_query(query: str) -> str:
    """The query for one minute: Sloth's `{{.window}}` placeholder set to `1m`."""
    return query.replace(WINDOW_PLACEHOLDER, "1m")


def _values(body: Mapping[str, Any]) -> dict[int, float]:
    """Sum the series of a query or query_range answer into {unix seconds: value}."""
    if body.get("status") != "success":
        raise PrometheusError(f"{body.get('errorType', 'error')}: {body.get('error', 'no status')}")
    data = body.get("data") or {}
    out: dict[int, float] = {}
    for series in data.get("result") or []:
        points = series.get("values") or ([series["value"]] if "value" in series else [])
        for at, text in points:
            value = float(text)
            if not math.isnan(value):
                key = round(float(at))
                out[key] = out.get(key, 0.0) + value
    return out


class PrometheusReader:
    """Fetches per-minute good/total counts of Prometheus SLIs over one aiohttp session."""

    def __init__(self, session: aiohttp.ClientSession, *, concurrency: int = 8, timeout: float = 30.0) -> None:
        self._session = session
        self._gate = asyncio.Semaphore(concurrency)
        self._timeout = aiohttp.ClientTimeout(total=timeout)

    async def _get(self, source: PrometheusSource, path: str, params: dict[str, str]) -> dict[int, float]:
        url = f"{source.url}/api/v1/{path}"
        async with self._gate:
            try:
                async with self._session.get(
                    url, params=params, headers=dict(source.headers), timeout=self._timeout
                ) as response:
                    body = await response.json(content_type=None)
            except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
                raise PrometheusError(f"{url}: {exc or type(exc).__name__}") from exc
        if not isinstance(body, dict):
            raise PrometheusError(f"{url}: answered HTTP {response.status} without a JSON object")
        return _values(body)

    async def samples(self, source: PrometheusSource, query: str, first: int, last: int) -> dict[int, float]:
        """The query's value at every minute boundary in [first, last] (minute numbers), where it has one."""
        if last - first + 1 < INSTANT_BELOW:
            found: dict[int, float] = {}
            for boundary in range(first, last + 1):
                values = await self._get(source, "query", {"query": query, "time": str(boundary * STEP_SECONDS)})
                if values:
                    found[boundary] = sum(values.values())
            return found
        out: dict[int, float] = {}
        for chunk in range(first, last + 1, MAX_POINTS):
            end = min(chunk + MAX_POINTS - 1, last)
            params = {"query": query, "start": str(chunk * 60), "end": str(end * 60), "step": str(STEP_SECONDS)}
            values = await self._get(source, "query_range", params)
            out.update({at // 60: v for at, v in values.items()})
        return out

    async def counts(self, source: PrometheusSource, start: int, end: int) -> list[Counts]:
        """(minute, good, total) for minutes [start, end) with traffic; raises PrometheusError."""
        if start >= end:
            return []
        queries = [source.total, source.good if source.good is not None else source.bad or ""]
        if source.counter:
            total, other = await asyncio.gather(*(self._increases(source, q, start, end) for q in queries))
        else:
            total, other = await asyncio.gather(
                *(self.samples(source, minute_query(q), start + 1, end) for q in queries)
            )
            total = {m - 1: v * 60 for m, v in total.items()}
            other = {m - 1: v * 60 for m, v in other.items()}
        return _pair(total, other, good_given=source.good is not None)

    async def _increases(self, source: PrometheusSource, query: str, start: int, end: int) -> dict[int, float]:
        values = await self.samples(source, query, start, end)
        out: dict[int, float] = {}
        for minute in range(start, end):
            before, after = values.get(minute), values.get(minute + 1)
            if before is not None and after is not None:
                out[minute] = after - before if after >= before else after
        return out


def _pair(total: Mapping[int, float], other: Mapping[int, float], *, good_given: bool) -> list[Counts]:
    """Good/total per minute, clamped to 0 <= good <= total (rates from separate queries can disagree)."""
    rows: list[Counts] = []
    for minute in sorted(total):
        t = max(total[minute], 0.0)
        value = min(max(other.get(minute, 0.0), 0.0), t)
        if t > 0:
            rows.append((minute, value if good_given else t - value, t))
    return rows


def missing_ranges(have_until: int | None, start: int, end: int) -> Sequence[tuple[int, int]]:
    """The minutes of [start, end) not fetched yet, given data is stored up to `have_until` (exclusive)."""
    begin = start if have_until is None else max(start, have_until)
    return [(begin, end)] if begin < end else []
