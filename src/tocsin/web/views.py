"""View models shared by the JSON API and the HTML pages (every page has a JSON twin)."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, timedelta
from typing import Any

from pydantic import BaseModel

from tocsin.checks.result import CheckResult, MonitorStatus
from tocsin.runtime import Runtime
from tocsin.store.records import Bucket, MonitorRecord, WindowStats

WINDOWS = {
    "24h": timedelta(hours=24),
    "7d": timedelta(days=7),
    "30d": timedelta(days=30),
    "90d": timedelta(days=90),
}
PAGE_SIZE = 100


class ResultView(BaseModel):
    """One check result."""

    at: datetime
    outcome: str
    latency_ms: float | None
    reason: str | None
    message: str
    failures: list[dict[str, Any]] = []


class LatencyView(BaseModel):
    """Latency percentiles in milliseconds."""

    p50: float | None = None
    p95: float | None = None
    p99: float | None = None
    mean: float | None = None


class WindowView(BaseModel):
    """Uptime and counts over one window."""

    uptime: float | None
    total: int
    down: int
    degraded: int


class MonitorSummary(BaseModel):
    """A monitor as the list shows it."""

    name: str
    kind: str
    target: str
    status: str
    since: datetime | None
    paused: bool
    source: str
    location: str | None
    labels: dict[str, str]
    last_result: ResultView | None
    uptime: dict[str, WindowView]
    latency_24h: LatencyView
    sparkline: list[float | None] = []


class MonitorList(BaseModel):
    """The monitors page and `GET /api/v1/monitors`."""

    monitors: list[MonitorSummary]
    counts: dict[str, int]
    page: int
    pages: int


class BucketView(BaseModel):
    """One point of a chart or one uptime bar."""

    start: datetime
    total: int
    down: int
    degraded: int
    uptime: float | None
    latency_mean: float | None


class MonitorDetail(BaseModel):
    """The monitor page and `GET /api/v1/monitors/{name}`."""

    monitor: MonitorSummary
    spec: dict[str, Any]
    ping_url: str | None
    recent_results: list[ResultView]
    recent_failures: list[ResultView]
    latency_chart: list[BucketView]
    uptime_days: list[BucketView]


def result_view(result: CheckResult) -> ResultView:
    """A CheckResult as the API shows it."""
    failures = [
        {
            "condition": f.condition,
            "actual": f.actual,
            "expected": f.expected,
            "degraded_only": f.degraded_only,
        }
        for f in result.failures
    ]
    return ResultView(
        at=result.at,
        outcome=result.outcome.value,
        latency_ms=result.latency_ms,
        reason=result.reason.value if result.reason else None,
        message=result.message,
        failures=failures,
    )


_STEPS = {"minute": timedelta(minutes=1), "hour": timedelta(hours=1), "day": timedelta(days=1)}


def _floor(t: datetime, step: timedelta) -> datetime:
    seconds = int(t.timestamp())
    return datetime.fromtimestamp(seconds - seconds % int(step.total_seconds()), t.tzinfo)


def filled(buckets: list[Bucket], since: datetime, until: datetime, resolution: str) -> list[BucketView]:
    """Every bucket of the period, in order; those without results have total 0 and no uptime."""
    step = _STEPS[resolution]
    known = {b.start: b for b in buckets}
    out, t = [], _floor(since, step) + step
    while t <= until:
        bucket = known.get(t)
        out.append(
            bucket_view(bucket)
            if bucket
            else BucketView(start=t, total=0, down=0, degraded=0, uptime=None, latency_mean=None)
        )
        t += step
    return out


def bucket_view(bucket: Bucket) -> BucketView:
    """A rollup bucket as the API shows it."""
    return BucketView(
        start=bucket.start,
        total=bucket.total,
        down=bucket.down,
        degraded=bucket.degraded,
        uptime=bucket.uptime,
        latency_mean=bucket.latency_mean,
    )


_SECRET_KEYS = {"token", "bearer_token", "password"}
_SECRET_HEADERS = {"authorization", "cookie", "x-api-key", "proxy-authorization"}


def redact(spec: Any) -> Any:
    """A copy of a monitor spec with secrets (tokens, passwords, auth headers) masked."""
    if isinstance(spec, dict):
        out = {}
        for key, value in spec.items():
            secret = key in _SECRET_KEYS or key.lower() in _SECRET_HEADERS
            out[key] = "***" if secret and value else redact(value)
        return out
    if isinstance(spec, list):
        return [redact(item) for item in spec]
    return spec


def _target(spec: dict[str, Any]) -> str:
    kind = spec.get("kind")
    if kind == "http":
        return str(spec.get("url", ""))
    if kind in ("tcp", "tls"):
        return f"{spec.get('host')}:{spec.get('port')}"
    if kind == "dns":
        return f"{spec.get('query')} {spec.get('record_type')}"
    return f"every {spec.get('period')}"


def _window(stats: WindowStats | None) -> WindowView:
    if stats is None:
        return WindowView(uptime=None, total=0, down=0, degraded=0)
    return WindowView(uptime=stats.uptime, total=stats.total, down=stats.down, degraded=stats.degraded)


def summary(
    runtime: Runtime,
    record: MonitorRecord,
    windows: dict[str, dict[str, WindowStats]],
    last: CheckResult | None,
    sparkline: list[float | None],
) -> MonitorSummary:
    """Assemble one monitor's summary from its record, runtime state and window stats."""
    state = runtime.runner.states.get(record.name, record.state)
    paused = record.name in runtime.runner.paused or record.paused
    status = MonitorStatus.PAUSED if paused else state.status
    day = windows["24h"].get(record.name)
    latency = day.latency if day else None
    return MonitorSummary(
        name=record.name,
        kind=record.kind,
        target=_target(record.spec),
        status=status.value,
        since=state.since,
        paused=paused,
        source=record.source,
        location=record.location,
        labels=record.spec.get("labels", {}),
        last_result=result_view(last) if last else None,
        uptime={w: _window(windows[w].get(record.name)) for w in WINDOWS},
        latency_24h=LatencyView(**asdict(latency)) if latency else LatencyView(),
        sparkline=sparkline,
    )


async def _windows(runtime: Runtime, names: list[str], now: datetime) -> dict[str, dict[str, WindowStats]]:
    store = runtime.store
    return {w: await store.many_window_stats(names, now - span, now) for w, span in WINDOWS.items()}


async def _sparkline(runtime: Runtime, name: str, now: datetime) -> list[float | None]:
    since = now - timedelta(hours=1)
    buckets = await runtime.store.buckets(name, since, now, "minute")
    return [b.latency_mean for b in filled(buckets, since, now, "minute")]


async def monitor_list(runtime: Runtime, page: int = 1, status: str | None = None) -> MonitorList:
    """Every configured monitor, worst first, a page at a time."""
    now = runtime.clock.now()
    records = [r for r in await runtime.store.list_monitors() if r.name in runtime.runner.monitors]
    counts: dict[str, int] = {s.value: 0 for s in MonitorStatus}
    rank = {"down": 0, "degraded": 1, "pending": 2, "up": 3, "paused": 4}
    rows = []
    for record in records:
        paused = record.name in runtime.runner.paused
        st = "paused" if paused else runtime.runner.state(record.name).status.value
        counts[st] += 1
        if status is None or st == status:
            rows.append((rank[st], record.name, record))
    rows.sort(key=lambda row: (row[0], row[1]))
    pages = max(1, -(-len(rows) // PAGE_SIZE))
    page = min(max(1, page), pages)
    shown = [r for _, _, r in rows[(page - 1) * PAGE_SIZE : page * PAGE_SIZE]]
    windows = await _windows(runtime, [r.name for r in shown], now)
    out = []
    for record in shown:
        last = await runtime.store.recent_results(record.name, limit=1)
        out.append(
            summary(
                runtime,
                record,
                windows,
                last[0] if last else None,
                await _sparkline(runtime, record.name, now),
            )
        )
    return MonitorList(monitors=out, counts=counts, page=page, pages=pages)


async def monitor_detail(runtime: Runtime, record: MonitorRecord) -> MonitorDetail:
    """One monitor with its recent results, failures, latency chart and 90 daily bars."""
    now = runtime.clock.now()
    store, name = runtime.store, record.name
    windows = await _windows(runtime, [name], now)
    recent = await store.recent_results(name, limit=50)
    failures = await store.recent_failures(name, limit=20)
    day_ago, quarter_ago = now - timedelta(hours=24), now - timedelta(days=90)
    chart = filled(await store.buckets(name, day_ago, now, "hour"), day_ago, now, "hour")
    days = filled(await store.buckets(name, quarter_ago, now, "day"), quarter_ago, now, "day")
    base = runtime.loaded.config.server.external_url or ""
    ping_url = f"{base.rstrip('/')}/ping/{record.heartbeat_token}" if record.heartbeat_token else None
    return MonitorDetail(
        monitor=summary(
            runtime,
            record,
            windows,
            recent[0] if recent else None,
            await _sparkline(runtime, name, now),
        ),
        spec=redact(record.spec),
        ping_url=ping_url,
        recent_results=[result_view(r) for r in recent],
        recent_failures=[result_view(r) for r in failures],
        latency_chart=chart,
        uptime_days=days,
    )
