"""Alertmanager API v2 (`/api/v2/...`) and `/-/healthy`, `/-/ready`: Prometheus and amtool work unchanged.

Shapes are those of Alertmanager's `api/v2/openapi.yaml` (0.25); times are RFC 3339 in UTC
with milliseconds, as Go's `strfmt.DateTime` writes them. Errors are JSON strings, as
Alertmanager answers. Differences are listed in docs/alerting/api.md. (One module for one
wire surface, a little over the 400-line soft cap: splitting it would scatter the spec.)
"""

from __future__ import annotations

import platform
import re
import uuid
from collections.abc import Callable, Iterable, Mapping
from datetime import datetime
from typing import Annotated, Any

import yaml
from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse

import tocsin
from tocsin.alerting.alert import Alert
from tocsin.alerting.silence import Silence
from tocsin.labels import Matcher, MatcherError, compile_anchored, format_matchers, parse_matchers, parse_op
from tocsin.pipeline.engine import AlertEngine, AlertStatus
from tocsin.pipeline.setup import DEFAULT_ALERTING
from tocsin.runtime import Runtime
from tocsin.store.access_records import AuditEntry
from tocsin.web.api.ingest import (
    PayloadError,
    decode_json,
    format_time,
    ingest_valid,
    parse_postable_alerts,
    parse_time,
)
from tocsin.web.deps import audit, runtime
from tocsin.web.ratelimit import client_address, throttle

router = APIRouter(tags=["alertmanager"])

Filter = Annotated[list[str] | None, Query()]
SilenceId = Annotated[str, Path(alias="silenceID")]  # Alertmanager's parameter name
_SECRET_KEY = re.compile(r"(url|password|secret|token|key|credentials)$")
_GO_TRUE, _GO_FALSE = {"1", "t", "T", "TRUE", "true", "True"}, {"0", "f", "F", "FALSE", "false", "False"}


def _error(message: str, status: int = 400, headers: Mapping[str, str] | None = None) -> JSONResponse:
    """Alertmanager's error answer: the message as a JSON string."""
    return JSONResponse(message, status_code=status, headers=dict(headers or {}))


class BadRequest(ValueError):
    """A query parameter that cannot be used; answered 400 with the message."""


# ---------------------------------------------------------------------------------------
# health


@router.api_route("/-/healthy", methods=["GET", "HEAD"], response_class=PlainTextResponse)
async def healthy() -> PlainTextResponse:
    """Alertmanager's liveness endpoint."""
    return PlainTextResponse("OK")


@router.api_route("/-/ready", methods=["GET", "HEAD"], response_class=PlainTextResponse)
async def ready(request: Request) -> PlainTextResponse:
    """Alertmanager's readiness endpoint: 200 once the runtime has started."""
    if not runtime(request).ready:
        return PlainTextResponse("Service Unavailable", status_code=503)
    return PlainTextResponse("OK")


# ---------------------------------------------------------------------------------------
# alerts


@router.post("/api/v2/alerts")
async def post_alerts(request: Request) -> Response:
    """Ingest `postableAlerts` (committed before 200); invalid alerts are refused by index, the rest kept."""
    rt = runtime(request)
    try:
        alerts = parse_postable_alerts(decode_json(await request.body(), "alerts"))
    except PayloadError as exc:
        return _error(str(exc))
    address = client_address(request)
    throttled = throttle(request, address, len(alerts))
    if throttled is not None:
        return _error(throttled.message, 429, throttled.headers)
    accepted = await ingest_valid(rt, alerts, f"alertmanager-api:{address}")
    if accepted.problems:
        return _error("; ".join(accepted.problems))
    return Response(status_code=200)


def _bool(value: str | None, name: str) -> bool:
    """A boolean query parameter parsed like Go's strconv.ParseBool; absent means true."""
    if value is None or value in _GO_TRUE:
        return True
    if value in _GO_FALSE:
        return False
    raise BadRequest(f"{name} in query must be of type boolean: {value!r}")


def _filters(filter_: list[str] | None) -> list[Matcher]:
    """The `filter=` matchers (tocsin.labels syntax, `{a="b"}` allowed), or BadRequest."""
    try:
        return [m for text in filter_ or () for m in parse_matchers(text)]
    except MatcherError as exc:
        raise BadRequest(f"bad matcher format: {exc}") from None


def _receiver_filter(receiver: str | None) -> Callable[[str], bool] | None:
    if receiver is None:
        return None
    try:
        pattern = compile_anchored(receiver)
    except MatcherError as exc:
        raise BadRequest(f"failed to parse receiver param: {exc}") from None
    return lambda name: pattern.fullmatch(name) is not None


class AlertQuery:
    """Alertmanager's alert filter: state flags, label matchers and a receiver regex."""

    def __init__(self, request: Request, filter_: list[str] | None, receiver: str | None) -> None:
        q = request.query_params
        self.active, self.silenced = _bool(q.get("active"), "active"), _bool(q.get("silenced"), "silenced")
        self.inhibited = _bool(q.get("inhibited"), "inhibited")
        _bool(q.get("unprocessed"), "unprocessed")  # tocsin processes an alert as it is ingested
        self.matchers = _filters(filter_)
        self.receiver = _receiver_filter(receiver)

    def select(self, engine: AlertEngine, alerts: Iterable[Alert], now: datetime) -> list[tuple[Alert, AlertStatus]]:
        """The alerts the filter shows, with their status: cheap label checks first, then one batch status."""
        candidates = [a for a in alerts if not a.resolved_at(now) and all(m.matches(a.labels) for m in self.matchers)]
        return [(a, st) for a, st in zip(candidates, engine.statuses(candidates, now), strict=True) if self._keeps(st)]

    def _keeps(self, status: AlertStatus) -> bool:
        if not self.active and status.state == "active":
            return False
        if not self.silenced and (status.silenced_by or status.maintenance):
            return False
        if not self.inhibited and status.inhibited_by:
            return False
        return self.receiver is None or any(self.receiver(r) for r in status.receivers)


def gettable_alert(alert: Alert, status: AlertStatus, updated_at: datetime, receivers: Iterable[str]) -> dict[str, Any]:
    """Alertmanager's `gettableAlert`."""
    body: dict[str, Any] = {
        "annotations": dict(alert.annotations),
        "endsAt": format_time(alert.ends_at),
        "fingerprint": alert.fingerprint,
        "receivers": [{"name": r} for r in receivers],
        "startsAt": format_time(alert.starts_at),
        "status": {
            "inhibitedBy": list(status.inhibited_by),
            "silencedBy": list(status.silenced_by),
            "state": status.state,
        },
        "updatedAt": format_time(updated_at),
        "labels": dict(alert.labels),
    }
    if alert.generator_url:  # omitted when empty, as Alertmanager does
        body["generatorURL"] = alert.generator_url
    return body


@router.get("/api/v2/alerts")
async def get_alerts(request: Request, filter: Filter = None, receiver: str | None = None) -> JSONResponse:
    """`gettableAlerts`, sorted by fingerprint, filtered like Alertmanager."""
    engine, now = runtime(request).alerts, runtime(request).clock.now()
    try:
        query = AlertQuery(request, filter, receiver)
    except BadRequest as exc:
        return _error(str(exc))
    ordered = [engine.alerts[fp].alert for fp in sorted(engine.alerts)]
    shown = [
        gettable_alert(alert, status, engine.alerts[alert.fingerprint].updated_at, status.receivers)
        for alert, status in query.select(engine, ordered, now)
    ]
    return JSONResponse(shown)


@router.get("/api/v2/alerts/groups")
async def get_alert_groups(request: Request, filter: Filter = None, receiver: str | None = None) -> JSONResponse:
    """`alertGroups`: the dispatcher's aggregation groups with the alerts the filter keeps."""
    engine, now = runtime(request).alerts, runtime(request).clock.now()
    try:
        query = AlertQuery(request, filter, receiver)
    except BadRequest as exc:
        return _error(str(exc))
    groups: list[tuple[dict[str, str], str, list[dict[str, Any]]]] = []
    for group in engine.dispatcher.groups.values():
        if query.receiver is not None and not query.receiver(group.receiver):
            continue
        alerts = _group_alerts(engine, group.alerts.values(), query, now)
        if alerts:
            groups.append((dict(group.labels), group.receiver, alerts))
    groups.sort(key=lambda g: (sorted(g[0].items()), g[1]))
    return JSONResponse([{"alerts": a, "labels": g, "receiver": {"name": r}} for g, r, a in groups])


def _group_alerts(
    engine: AlertEngine, alerts: Iterable[Alert], query: AlertQuery, now: datetime
) -> list[dict[str, Any]]:
    out = []
    for alert, status in query.select(engine, sorted(alerts, key=lambda a: a.fingerprint), now):
        stored = engine.alerts.get(alert.fingerprint)
        updated = stored.updated_at if stored is not None else alert.starts_at
        out.append(gettable_alert(alert, status, updated, status.receivers))
    return out


# ---------------------------------------------------------------------------------------
# silences


def api_matcher(m: Matcher) -> dict[str, Any]:
    """A matcher as the API writes it."""
    return {"isEqual": m.is_equal, "isRegex": m.is_regex, "name": m.name, "value": m.value}


def gettable_silence(silence: Silence, updated_at: datetime, now: datetime) -> dict[str, Any]:
    """Alertmanager's `gettableSilence`."""
    return {
        "id": silence.id,
        "status": {"state": silence.state(now)},
        "updatedAt": format_time(updated_at),
        "comment": silence.comment,
        "createdBy": silence.created_by,
        "endsAt": format_time(silence.ends_at),
        "matchers": [api_matcher(m) for m in silence.matchers],
        "startsAt": format_time(silence.starts_at),
    }


def _silence_sort_key(silence: Silence, now: datetime) -> tuple[int, float]:
    """Active by soonest end, pending by soonest start, expired by most recent end (as Alertmanager)."""
    state = silence.state(now)
    if state == "active":
        return (0, silence.ends_at.timestamp())
    if state == "pending":
        return (1, silence.starts_at.timestamp())
    return (2, -silence.ends_at.timestamp())


def _has_filter_matchers(silence: Silence, matchers: Iterable[Matcher]) -> bool:
    """Alertmanager's silence filter: every filter matcher appears verbatim among the silence's."""
    return all(any((m.name, m.op, m.value) == (s.name, s.op, s.value) for s in silence.matchers) for m in matchers)


@router.get("/api/v2/silences")
async def get_silences(request: Request, filter: Filter = None) -> JSONResponse:
    """`gettableSilences`: active first (soonest to end), then pending, then expired."""
    engine, now = runtime(request).alerts, runtime(request).clock.now()
    try:
        matchers = _filters(filter)
    except BadRequest as exc:
        return _error(str(exc))
    found = [(s, u) for s, u in engine.silences.values() if _has_filter_matchers(s, matchers)]
    found.sort(key=lambda su: _silence_sort_key(su[0], now))
    return JSONResponse([gettable_silence(s, u, now) for s, u in found])


@router.get("/api/v2/silence/{silenceID}")
async def get_silence(request: Request, silence_id: SilenceId) -> JSONResponse:
    """One `gettableSilence`, or 404."""
    found = runtime(request).alerts.silences.get(silence_id)
    if found is None:
        return _error("silence not found", 404)
    return JSONResponse(gettable_silence(found[0], found[1], runtime(request).clock.now()))


@router.delete("/api/v2/silence/{silenceID}")
async def delete_silence(request: Request, silence_id: SilenceId) -> Response:
    """Expire a silence now (committed); expiring an expired silence is a no-op, an unknown id 404."""
    engine = runtime(request).alerts
    if silence_id not in engine.silences:
        return _error("silence not found", 404)
    await engine.expire_silence(silence_id, audit(request, "silence.expire", silence_id))
    return Response(status_code=200)


def _api_matchers(raw: Any) -> tuple[Matcher, ...]:
    """The `matchers` of a postableSilence, validated as Alertmanager does."""
    if not isinstance(raw, list) or not raw:
        raise PayloadError("matchers in body should have at least 1 items")
    out = []
    for i, item in enumerate(raw):
        if not isinstance(item, dict) or not all(k in item for k in ("name", "value", "isRegex")):
            raise PayloadError(f"matchers.{i} in body must be an object with name, value and isRegex")
        name, value, regex, equal = item["name"], item["value"], item["isRegex"], item.get("isEqual", True)
        if not isinstance(name, str) or not isinstance(value, str) or not isinstance(regex, bool):
            raise PayloadError(f"matchers.{i} in body: name and value must be strings, isRegex a boolean")
        op = ("=~" if regex else "=") if equal is not False else ("!~" if regex else "!=")
        try:
            out.append(Matcher(name, parse_op(op), value))
        except MatcherError as exc:
            raise PayloadError(f"silence invalid: invalid label matcher {i}: {exc}") from None
    return tuple(out)


def _required_text(body: Mapping[str, Any], name: str) -> str:
    value = body.get(name)
    if not isinstance(value, str):
        raise PayloadError(f"{name} in body is required" if value is None else f"{name} in body must be a string")
    return value


def postable_silence(data: Any, now: datetime) -> tuple[str | None, Silence]:
    """The id (if any) and the silence of a `postableSilence`, checked as Alertmanager checks it."""
    if not isinstance(data, dict):
        raise PayloadError("parsing silence body failed: expected a JSON object")
    matchers = _api_matchers(data.get("matchers"))
    starts = parse_time(data.get("startsAt"), "startsAt")
    ends = parse_time(data.get("endsAt"), "endsAt")
    if starts is None or ends is None:
        raise PayloadError(f"{'startsAt' if starts is None else 'endsAt'} in body is required")
    starts, ends = _ms(starts), _ms(ends)
    created_by, comment = _required_text(data, "createdBy"), _required_text(data, "comment")
    if starts >= ends:
        raise PayloadError("Failed to create silence: start time must be before end time")
    if ends < now:
        raise PayloadError("Failed to create silence: end time can't be in the past")
    sid = data.get("id") or None
    if sid is not None and not isinstance(sid, str):
        raise PayloadError("id in body must be a string")
    try:
        return sid, Silence(sid or "new", matchers, starts, ends, created_by, comment)
    except ValueError as exc:
        raise PayloadError(f"silence invalid: {exc}") from None


def _can_update(old: Silence, new: Silence, now: datetime) -> bool:
    """Alertmanager's rule: same matchers, and times changed only as the old silence's state allows."""
    if old.matchers != new.matchers:
        return False
    state = old.state(now)
    if state == "active":
        return new.starts_at == _ms(old.starts_at) and new.ends_at >= now
    return state == "pending" and new.starts_at >= now


async def save_silence(
    engine: AlertEngine, sid: str | None, silence: Silence, now: datetime, request: Request
) -> str | None:
    """Create or update as Alertmanager does (audited); returns the id it is stored under, None for an unknown id."""
    found = engine.silences.get(sid) if sid is not None else None
    old = found[0] if found is not None else None
    if sid is not None and old is None:
        return None
    if old is not None and _can_update(old, silence, now):
        await engine.put_silence(_with(silence, old.id, silence.starts_at), _audit(request, "update", old.id, silence))
        return old.id
    if old is not None and old.state(now) != "expired":  # matchers changed: expire, then create anew
        await engine.expire_silence(old.id, audit(request, "silence.expire", old.id, replaced=True))
    new_id = str(uuid.uuid4())
    await engine.put_silence(
        _with(silence, new_id, max(silence.starts_at, now)), _audit(request, "create", new_id, silence)
    )
    return new_id


def _audit(request: Request, verb: str, sid: str, silence: Silence) -> AuditEntry:
    return audit(
        request,
        f"silence.{verb}",
        sid,
        matchers=format_matchers(silence.matchers),
        ends_at=silence.ends_at.isoformat(),
        comment=silence.comment,
    )


def _with(s: Silence, sid: str, starts: datetime) -> Silence:
    return Silence(sid, s.matchers, starts, s.ends_at, s.created_by, s.comment)


def _ms(at: datetime) -> datetime:
    """Truncated to the millisecond: the precision the API shows and the store keeps."""
    return at.replace(microsecond=at.microsecond // 1000 * 1000)


@router.post("/api/v2/silences")
async def post_silences(request: Request) -> JSONResponse:
    """Create a silence, or update the one named by `id` (committed before 200 `{"silenceID"}`)."""
    rt = runtime(request)
    now = _ms(rt.clock.now())
    try:
        sid, silence = postable_silence(decode_json(await request.body(), "silence"), now)
    except PayloadError as exc:
        return _error(str(exc))
    saved = await save_silence(rt.alerts, sid, silence, now, request)
    if saved is None:
        return _error("silence not found", 404)
    return JSONResponse({"silenceID": saved})


# ---------------------------------------------------------------------------------------
# status and receivers


def mask_secrets(value: Any, key: str = "") -> Any:
    """A copy of a config tree with secret-looking values (urls, keys, tokens, passwords) as `<secret>`."""
    if isinstance(value, dict):
        return {k: mask_secrets(v, str(k)) for k, v in value.items()}
    if isinstance(value, list):
        return [mask_secrets(v, key) for v in value]
    if isinstance(value, str) and _SECRET_KEY.search(key) and not key.endswith("_file"):
        return "<secret>"
    return value


def original_config(rt: Runtime) -> str:
    """The alerting section as alertmanager.yml text, secrets masked (Alertmanager's `config.original`)."""
    section = rt.loaded.config.alerting or DEFAULT_ALERTING
    text: str = yaml.safe_dump(mask_secrets(section), sort_keys=False, default_flow_style=False)
    return text


@router.get("/api/v2/status")
async def get_status(request: Request) -> JSONResponse:
    """`alertmanagerStatus`: clustering disabled, tocsin's version, the alerting config, start time."""
    rt = runtime(request)
    started = rt.started_at or rt.clock.now()
    version = {
        "branch": "",
        "buildDate": "",
        "buildUser": "tocsin",
        "goVersion": f"python{platform.python_version()}",
        "revision": "",
        "version": tocsin.__version__,
    }
    body = {
        "cluster": {"peers": [], "status": "disabled"},
        "config": {"original": original_config(rt)},
        "uptime": format_time(started),
        "versionInfo": version,
    }
    return JSONResponse(body)


@router.get("/api/v2/receivers")
async def get_receivers(request: Request) -> JSONResponse:
    """Every configured receiver's name, in config order."""
    return JSONResponse([{"name": r.name} for r in runtime(request).alerts.setup.config.receivers])
