"""Per-source ingest rate limits: a token bucket per client address or integration key, answering 429.

The defaults never throttle a healthy fleet (a burst of 100k alerts in a few seconds from one
Prometheus is normal load); they exist to stop one runaway sender from starving the rest.
Buckets refill from the runtime's clock, so `--test-clock` makes throttling deterministic.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from fastapi import Request
from pydantic import BaseModel, ConfigDict, Field

__all__ = ["IngestLimits", "Throttled", "TokenBuckets", "client_address", "ingest_limits", "throttle"]


class IngestLimits(BaseModel):
    """The `ingest:` settings: how many alerts each source may send (see docs/alerting/api.md)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    alerts_per_minute: int = Field(default=1_000_000, ge=1)  # sustained refill rate of each source's bucket
    burst: int = Field(default=1_000_000, ge=1)  # bucket size: alerts a source may send at once
    max_sources: int = Field(default=100_000, ge=1)  # buckets kept; full buckets are dropped first


@dataclass(slots=True)
class _Bucket:
    tokens: float
    at: float


class TokenBuckets:
    """Token buckets keyed by source; time is passed in as POSIX seconds."""

    def __init__(self, limits: IngestLimits) -> None:
        self.limits = limits
        self._rate = limits.alerts_per_minute / 60.0
        self._buckets: dict[str, _Bucket] = {}

    def take(self, source: str, cost: int, now: float) -> float:
        """Spend `cost` tokens of `source`'s bucket; 0 when allowed, else the seconds until it would be."""
        cost = min(cost, self.limits.burst)  # a request larger than the bucket waits for a full bucket
        bucket = self._buckets.get(source)
        if bucket is None:
            self._make_room(now)
            bucket = self._buckets[source] = _Bucket(float(self.limits.burst), now)
        bucket.tokens = self._level(bucket, now)
        bucket.at = now
        if bucket.tokens >= cost:
            bucket.tokens -= cost
            return 0.0
        return (cost - bucket.tokens) / self._rate

    def _level(self, bucket: _Bucket, now: float) -> float:
        return min(float(self.limits.burst), bucket.tokens + max(now - bucket.at, 0.0) * self._rate)

    def _make_room(self, now: float) -> None:
        """Bound memory under many sources: forget refilled buckets, then the least recently used."""
        if len(self._buckets) < self.limits.max_sources:
            return
        full = [s for s, b in self._buckets.items() if self._level(b, now) >= self.limits.burst]
        for source in full:
            del self._buckets[source]
        if len(self._buckets) >= self.limits.max_sources:
            oldest = min(self._buckets, key=lambda s: self._buckets[s].at)
            del self._buckets[oldest]


def ingest_limits(request: Request) -> IngestLimits:
    """The configured limits (`ingest:` in the config), or the defaults when the section is absent."""
    configured = getattr(request.app.state.runtime.loaded.config, "ingest", None)
    return configured if isinstance(configured, IngestLimits) else IngestLimits()


def _buckets(request: Request) -> TokenBuckets:
    """The app's buckets, rebuilt when a reload changed the limits."""
    limits = ingest_limits(request)
    buckets: TokenBuckets | None = getattr(request.app.state, "ingest_buckets", None)
    if buckets is None or buckets.limits != limits:
        buckets = TokenBuckets(limits)
        request.app.state.ingest_buckets = buckets
    return buckets


@dataclass(frozen=True, slots=True)
class Throttled:
    """A refused ingest request: why, and the `Retry-After` seconds."""

    message: str
    retry_after: int

    @property
    def headers(self) -> dict[str, str]:
        """The `Retry-After` header of the 429 answer."""
        return {"Retry-After": str(self.retry_after)}


def throttle(request: Request, source: str, cost: int) -> Throttled | None:
    """Spend `cost` alerts of `source`'s budget; a Throttled (answer 429) when it is exhausted."""
    now: float = request.app.state.runtime.clock.timestamp()
    wait = _buckets(request).take(source, max(cost, 1), now)
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    per_minute = ingest_limits(request).alerts_per_minute
    message = (
        f"rate limit exceeded for source {source!r}: at most {per_minute} alerts per minute "
        f"(ingest.alerts_per_minute); retry in {seconds}s"
    )
    return Throttled(message, seconds)


def client_address(request: Request) -> str:
    """The peer address of the connection (proxy headers are not trusted; see docs/alerting/api.md)."""
    return request.client.host if request.client else "unknown"
