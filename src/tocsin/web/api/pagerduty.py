"""PagerDuty Events API v2: `POST /v2/enqueue` (alert events) and `POST /v2/change/enqueue` (change events).

Answers exactly as PagerDuty documents: `202 {"status": "success", "message": "Event
processed", "dedup_key": ...}`; `400 {"status": "invalid event", "message": "Event object
is invalid", "errors": [...]}`; `429` over the rate limit; `413` over 512 KB. The
`routing_key` is a tocsin integration key of kind `pagerduty`. Triggers are committed as
alerts before the answer; acknowledge and resolve of an unknown or closed `dedup_key` are
dropped with 202, as PagerDuty does. See docs/oncall/pagerduty.md.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse

from tocsin.alerting.alert import Alert
from tocsin.oncall import pdevents
from tocsin.oncall.engine import OncallEngine
from tocsin.oncall.groups import EngineGroups
from tocsin.oncall.keys import KeyOwner
from tocsin.pipeline.engine import Incoming
from tocsin.runtime import Runtime
from tocsin.web.api.oncall import engine
from tocsin.web.deps import runtime
from tocsin.web.ratelimit import throttle

router = APIRouter(tags=["pagerduty"])


def _invalid(errors: list[str], status: int = 400, message: str = "Event object is invalid") -> JSONResponse:
    return JSONResponse({"status": "invalid event", "message": message, "errors": errors}, status_code=status)


def _accepted(dedup_key: str | None, message: str = "Event processed") -> JSONResponse:
    return JSONResponse({"status": "success", "message": message, "dedup_key": dedup_key}, status_code=202)


async def _body(request: Request) -> bytes | None:
    """The body, or None when it is over 512 KB (refused before reading when the length is declared)."""
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > pdevents.MAX_BYTES:
        return None
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > pdevents.MAX_BYTES:
            return None
        chunks.append(chunk)
    return b"".join(chunks)


async def _decoded(request: Request) -> Any | JSONResponse:
    """The JSON body, or the refusal to answer with."""
    body = await _body(request)
    if body is None:
        return _invalid(["events are limited to 512 KB"], 413, "Request entity too large")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        return _invalid([f"the body is not valid JSON: {exc}"])


def _owner(request: Request, oncall: OncallEngine, routing_key: str) -> KeyOwner | JSONResponse:
    """The key's owner within its rate limit, or the refusal."""
    owner = oncall.keys.find(routing_key, "pagerduty")
    if owner is None:
        return _invalid(["Invalid routing key"])
    throttled = throttle(request, f"pagerduty:{owner.service}/{owner.name}", 1)
    if throttled is not None:
        body = {"status": "throttle event", "message": "Requests for this service are arriving too quickly."}
        return JSONResponse({**body, "errors": [throttled.message]}, status_code=429, headers=throttled.headers)
    return owner


@router.post("/v2/enqueue", status_code=202)
async def enqueue(request: Request) -> JSONResponse:
    """Trigger, acknowledge or resolve an alert; always 202 once the event is valid and accepted."""
    oncall = engine(request)
    data = await _decoded(request)
    if isinstance(data, JSONResponse):
        return data
    try:
        event = pdevents.parse_alert_event(data)
    except pdevents.InvalidEvent as exc:
        return _invalid(exc.errors)
    owner = _owner(request, oncall, event.routing_key)
    if isinstance(owner, JSONResponse):
        return owner
    rt = runtime(request)
    if event.action == "trigger":
        return _accepted(await _trigger(rt, owner, event))
    assert event.dedup_key is not None  # required for acknowledge and resolve
    alert = _open_alert(rt, owner, event.dedup_key)
    if alert is not None:  # an unknown or closed dedup_key is dropped, as PagerDuty does
        await (_acknowledge if event.action == "acknowledge" else _resolve)(rt, oncall, owner, alert)
    return _accepted(event.dedup_key)


def _source(owner: KeyOwner) -> str:
    return f"pagerduty:{owner.service}/{owner.name}"


def _open_alerts(alerts: Iterable[Alert], owner: KeyOwner, dedup_key: str, rt: Runtime) -> Alert | None:
    now = rt.clock.now()
    for alert in alerts:
        labels = alert.labels
        if (labels.get("dedup_key"), labels.get("integration_key"), labels.get("service")) == (
            dedup_key,
            owner.name,
            owner.service,
        ) and not alert.resolved_at(now):
            return alert
    return None


def _open_alert(rt: Runtime, owner: KeyOwner, dedup_key: str) -> Alert | None:
    """The firing alert this key and dedup_key name, if any."""
    return _open_alerts((s.alert for s in rt.alerts.alerts.values()), owner, dedup_key, rt)


async def _trigger(rt: Runtime, owner: KeyOwner, event: pdevents.AlertEvent) -> str:
    """Open or update the alert; a trigger after a resolve opens it again (a new incident)."""
    dedup_key = event.dedup_key or uuid.uuid4().hex
    open_alert = _open_alert(rt, owner, dedup_key)
    labels = (
        dict(open_alert.labels) if open_alert else pdevents.alert_labels(event, owner.service, owner.name, dedup_key)
    )
    annotations = pdevents.alert_annotations(event)
    incoming = Incoming(labels, annotations, None, None, event.client_url)
    await rt.alerts.ingest([incoming], _source(owner), timeout=False)
    return dedup_key


async def _acknowledge(rt: Runtime, oncall: OncallEngine, owner: KeyOwner, alert: Alert) -> None:
    for key in EngineGroups(rt.alerts).keys_with(alert.fingerprint):
        await oncall.acknowledge(key, f"pagerduty:{owner.name}")


async def _resolve(rt: Runtime, oncall: OncallEngine, owner: KeyOwner, alert: Alert) -> None:
    now = rt.clock.now()
    ended = Incoming(dict(alert.labels), dict(alert.annotations), alert.starts_at, now, alert.generator_url)
    await rt.alerts.ingest([ended], _source(owner), timeout=False)
    await oncall.settle(EngineGroups(rt.alerts).keys_with(alert.fingerprint), f"pagerduty:{owner.name}")


@router.post("/v2/change/enqueue", status_code=202)
async def change_enqueue(request: Request) -> JSONResponse:
    """Record a change event (a deploy, a config change): shown with the service, never pages anyone."""
    oncall = engine(request)
    data = await _decoded(request)
    if isinstance(data, JSONResponse):
        return data
    try:
        event = pdevents.parse_change_event(data)
    except pdevents.InvalidEvent as exc:
        return _invalid(exc.errors)
    owner = _owner(request, oncall, event.routing_key)
    if isinstance(owner, JSONResponse):
        return owner
    await oncall.record_change(owner.service, owner.name, event.summary, event.event)
    return _accepted(None, "Change event processed")
