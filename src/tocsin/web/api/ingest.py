"""Alert ingest over HTTP: Alertmanager's wire formats and tocsin's generic JSON webhook.

`POST /api/v1/ingest/alertmanager` takes Alertmanager's webhook payload (version 4), so an
existing Alertmanager can forward to tocsin; `POST /api/v1/ingest/generic/{key}` takes one
event per request in the documented generic shape. The parsers here are shared with
`POST /api/v2/alerts`. Every route commits through the alert engine before answering 2xx.
See docs/alerting/api.md for the formats and the generic mapping.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, HTTPException, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, field_validator

from tocsin.pipeline.engine import Incoming
from tocsin.runtime import Runtime
from tocsin.web.deps import runtime
from tocsin.web.ratelimit import client_address, throttle

router = APIRouter(prefix="/api/v1/ingest", tags=["ingest"])

GENERIC_KEYS_ENV = "TOCSIN_GENERIC_KEYS"
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_GO_ZERO_MILLIS = "0001-01-01T00:00:00.000Z"
_valid_names: set[str] = set()
_times: dict[str, tuple[datetime | None]] = {}  # parse_time's recent valid answers


class PayloadError(ValueError):
    """A body that cannot be read as the expected format; the message names the field."""


# ---------------------------------------------------------------------------------------
# Wire-format helpers shared with the Alertmanager API v2


def decode_json(body: bytes, what: str) -> Any:
    """The body as JSON, or a PayloadError saying why not."""
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError as exc:
        raise PayloadError(f"parsing {what} body failed, because {exc}") from None


def format_time(at: datetime | None) -> str:
    """A time as Alertmanager's API writes it: RFC 3339 in UTC with milliseconds (None is Go's zero time)."""
    if at is None:
        return _GO_ZERO_MILLIS
    utc = at.astimezone(UTC)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


def parse_time(value: Any, where: str) -> datetime | None:
    """An RFC 3339 date-time (None when absent or Go's zero time); PayloadError naming `where` otherwise."""
    if value is None or value == "":
        return None
    # Why a cache: the alerts of one batch (one rule evaluation) share their timestamps.
    known = _times.get(value) if isinstance(value, str) else None
    if known is not None:
        return known[0]
    parsed = _parse_time(value, where)
    if isinstance(value, str):
        if len(_times) >= 1024:
            _times.clear()
        _times[value] = (parsed,)
    return parsed


def _parse_time(value: Any, where: str) -> datetime | None:
    parsed = None
    if isinstance(value, str):
        try:
            parsed = datetime.fromisoformat(value)
        except ValueError:
            parsed = None
    if parsed is None or parsed.tzinfo is None or len(value) < 20:
        raise PayloadError(f"{where} in body must be of type date-time: {orjson.dumps(value).decode()}")
    return None if parsed.year == 1 else parsed.astimezone(UTC)


def string_map(value: Any, where: str, *, required: bool = False) -> dict[str, str]:
    """A JSON object of strings (a label set), or a PayloadError naming `where`."""
    if value is None:
        if required:
            raise PayloadError(f"{where} in body is required")
        return {}
    if not isinstance(value, dict):
        raise PayloadError(f"{where} in body must be of type object")
    if all(type(item) is str for item in value.values()):  # the common case, checked in one pass
        return value
    for key, item in value.items():
        if not isinstance(item, str):
            raise PayloadError(f"{where}.{key} in body must be of type string")
    return value


def _generator_url(value: Any, where: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or (
        value and (not re.match(r"^([a-zA-Z][a-zA-Z0-9+.-]*:|/)", value) or " " in value)
    ):
        raise PayloadError(f"{where} in body must be of type uri: {orjson.dumps(value).decode()}")
    return value


def _object(value: Any, where: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise PayloadError(f"{where} in body must be of type object")
    return value


def parse_postable_alerts(data: Any) -> list[Incoming]:
    """Alertmanager API v2 `postableAlerts` as incoming alerts; shape errors name the alert index and field."""
    if not isinstance(data, list):
        raise PayloadError("parsing alerts body failed: expected a JSON array of postableAlert objects")
    alerts = []
    for i, raw in enumerate(data):
        item = _object(raw, str(i))
        alerts.append(
            Incoming(
                labels=string_map(item.get("labels"), f"{i}.labels", required=True),
                annotations=string_map(item.get("annotations"), f"{i}.annotations"),
                starts_at=parse_time(item.get("startsAt"), f"{i}.startsAt"),
                ends_at=parse_time(item.get("endsAt"), f"{i}.endsAt"),
                generator_url=_generator_url(item.get("generatorURL"), f"{i}.generatorURL"),
            )
        )
    return alerts


def parse_webhook(data: Any, now: datetime) -> list[Incoming]:
    """Alertmanager's webhook payload v4 as incoming alerts: firing ones without an end, resolved ones ended."""
    body = _object(data, "payload")
    if body.get("version") != "4":
        raise PayloadError('version in body must be "4" (Alertmanager webhook payload version 4)')
    raw_alerts = body.get("alerts")
    if not isinstance(raw_alerts, list):
        raise PayloadError("alerts in body must be of type array")
    alerts = []
    for i, raw in enumerate(raw_alerts):
        item = _object(raw, f"alerts.{i}")
        status = item.get("status")
        if status not in ("firing", "resolved"):
            raise PayloadError(f'alerts.{i}.status in body should be one of ["firing" "resolved"]')
        ends = parse_time(item.get("endsAt"), f"alerts.{i}.endsAt")
        alerts.append(
            Incoming(
                labels=string_map(item.get("labels"), f"alerts.{i}.labels", required=True),
                annotations=string_map(item.get("annotations"), f"alerts.{i}.annotations"),
                starts_at=parse_time(item.get("startsAt"), f"alerts.{i}.startsAt"),
                ends_at=(ends or now) if status == "resolved" else ends,
                generator_url=_generator_url(item.get("generatorURL"), f"alerts.{i}.generatorURL"),
            )
        )
    return alerts


def _valid_name(name: str) -> bool:
    """A label or annotation name as Prometheus allows; the few names in use are remembered."""
    if name in _valid_names:
        return True
    if _LABEL_NAME.fullmatch(name) is None:
        return False
    if len(_valid_names) >= 1 << 14:  # bounded: a sender inventing names must not grow it forever
        _valid_names.clear()
    _valid_names.add(name)
    return True


def alert_problem(alert: Incoming, now: datetime, resolve_timeout: timedelta | None) -> str | None:
    """Why Alertmanager's `Alert.Validate()` refuses this alert once defaults are applied, or None."""
    labels = {k: v for k, v in alert.labels.items() if v != ""}
    starts = alert.starts_at or alert.ends_at or now
    ends = alert.ends_at or (now + resolve_timeout if resolve_timeout is not None else None)
    if ends is not None and ends < starts:
        return "endsAt: start time must be before end time"
    bad = next((name for name in labels if not _valid_name(name)), None)
    if bad is not None:
        return f"labels: invalid label set: invalid name {orjson.dumps(bad).decode()}"
    if not labels:
        return "labels: at least one label pair required"
    bad = next((name for name in alert.annotations if not _valid_name(name)), None)
    if bad is not None:
        return f"annotations: invalid annotations: invalid name {orjson.dumps(bad).decode()}"
    return None


@dataclass(frozen=True, slots=True)
class Accepted:
    """What an ingest request stored, and the alerts it refused with their index and reason."""

    count: int
    problems: tuple[str, ...]


async def ingest_valid(
    rt: Runtime, alerts: list[Incoming], source: str, prefix: str = "", *, timeout: bool = True
) -> Accepted:
    """Commit the valid alerts (Alertmanager's best effort) and report the invalid ones by index."""
    now = rt.clock.now()
    resolve_timeout = rt.alerts.setup.resolve_timeout if timeout else None
    valid, problems = [], []
    for i, alert in enumerate(alerts):
        problem = alert_problem(alert, now, resolve_timeout)
        if problem is None:
            valid.append(alert)
        else:
            problems.append(f"{prefix}{i}.{problem}")
    if valid:
        await rt.alerts.ingest(valid, source, timeout=timeout)
    return Accepted(len(valid), tuple(problems))


# ---------------------------------------------------------------------------------------
# POST /api/v1/ingest/alertmanager


@router.post("/alertmanager")
async def alertmanager_webhook(request: Request) -> JSONResponse:
    """Ingest an Alertmanager webhook notification (payload version 4); committed before 200."""
    rt = runtime(request)
    try:
        alerts = parse_webhook(decode_json(await request.body(), "webhook"), rt.clock.now())
    except PayloadError as exc:
        return JSONResponse({"detail": str(exc)}, status_code=400)
    address = client_address(request)
    throttled = throttle(request, address, len(alerts))
    if throttled is not None:
        return JSONResponse({"detail": throttled.message}, status_code=429, headers=throttled.headers)
    # Alertmanager zeroes the end of firing alerts: they fire until a resolved notification arrives.
    accepted = await ingest_valid(rt, alerts, f"alertmanager-webhook:{address}", "alerts.", timeout=False)
    if accepted.problems:
        detail = f"{accepted.count} alerts accepted, refused: " + "; ".join(accepted.problems)
        return JSONResponse({"detail": detail}, status_code=400)
    return JSONResponse({"status": "success", "alerts": accepted.count})


# ---------------------------------------------------------------------------------------
# POST /api/v1/ingest/generic/{key}


@dataclass(frozen=True, slots=True)
class GenericKey:
    """Who an integration key belongs to: the service its events are for, and the key's name."""

    service: str
    name: str


def generic_keys(rt: Runtime, environ: Mapping[str, str] = os.environ) -> dict[str, GenericKey]:
    """Keys for the generic webhook: `oncall.services[].integration_keys` of kind generic, then the env var."""
    keys: dict[str, GenericKey] = {}
    oncall = getattr(rt.loaded.config, "oncall", None)
    for service in getattr(oncall, "services", None) or ():
        for key in service.integration_keys:
            if key.kind == "generic":
                keys[key.key] = GenericKey(service.name, key.name)
    for entry in environ.get(GENERIC_KEYS_ENV, "").split(","):
        service, sep, secret = entry.strip().partition("=")
        if sep and service and len(secret) >= 16:
            keys.setdefault(secret, GenericKey(service, "env"))
    return keys


def _find_key(keys: Mapping[str, GenericKey], offered: str) -> GenericKey | None:
    """Compare digests in constant time per key, so response timing says nothing about the keys."""
    digest = hashlib.sha256(offered.encode()).digest()
    found = None
    for secret, owner in keys.items():
        if hmac.compare_digest(hashlib.sha256(secret.encode()).digest(), digest):
            found = owner
    return found


def _created_key(request: Request, key: str) -> GenericKey | None:
    """The owner of a generic key created through the on-call API (see docs/oncall/pagerduty.md)."""
    registry = getattr(getattr(runtime(request), "oncall", None), "keys", None)
    owner = registry.find(key, "generic") if registry is not None else None
    return None if owner is None else GenericKey(owner.service, owner.name)


def integration_key(request: Request, key: str) -> GenericKey:
    """The owner of the key in the path, or 404 (checked before the body is read)."""
    found = _find_key(generic_keys(runtime(request)), key) or _created_key(request, key)
    if found is None:
        raise HTTPException(404, "unknown integration key; see docs/alerting/api.md#generic-webhook")
    return found


class Link(BaseModel):
    """A link shown with the alert."""

    model_config = ConfigDict(extra="forbid")
    href: str = Field(min_length=1, max_length=2048)
    text: str = ""


class GenericEvent(BaseModel):
    """One event of the generic JSON webhook (the mapping to an alert is in docs/alerting/api.md)."""

    model_config = ConfigDict(extra="forbid")
    summary: str = Field(min_length=1, max_length=1024)
    severity: Literal["critical", "error", "warning", "info"] | None = None
    dedup_key: str | None = Field(default=None, min_length=1, max_length=255)
    status: Literal["firing", "resolved"] = "firing"
    source: str | None = Field(default=None, max_length=1024)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    links: list[Link | str] = Field(default_factory=list, max_length=50)

    @field_validator("labels", "annotations")
    @classmethod
    def _names(cls, value: dict[str, str]) -> dict[str, str]:
        for name in value:
            if not _LABEL_NAME.fullmatch(name):
                raise ValueError(f"name {name!r} must match [a-zA-Z_][a-zA-Z0-9_]*")
        return value


def generic_labels(event: GenericEvent, owner: GenericKey) -> dict[str, str]:
    """The labels of a generic event: its own, then alertname, severity, dedup_key and the key's service."""
    labels = {k: v for k, v in event.labels.items() if v != ""}
    labels["alertname"] = labels.get("alertname") or event.summary
    labels["severity"] = event.severity or labels.get("severity") or "critical"
    if event.dedup_key:
        labels["dedup_key"] = event.dedup_key
    labels["service"] = owner.service  # the key decides the service: one key cannot speak for another
    return labels


def generic_incoming(event: GenericEvent, labels: Mapping[str, str], now: datetime) -> Incoming:
    """The incoming alert for a generic event: summary, source and links become annotations."""
    annotations = {**event.annotations, "summary": event.summary}
    if event.source:
        annotations["source"] = event.source
    hrefs = [link if isinstance(link, str) else link.href for link in event.links]
    if hrefs:
        annotations["links"] = "\n".join(hrefs)
    ends = now if event.status == "resolved" else None
    return Incoming(dict(labels), annotations, None, ends, hrefs[0] if hrefs else "")


def known_labels(alerts: Iterable[Mapping[str, str]], service: str, dedup_key: str) -> dict[str, str] | None:
    """The labels of the alert already known under this service and dedup key, if any."""
    for labels in alerts:
        if labels.get("dedup_key") == dedup_key and labels.get("service") == service:
            return dict(labels)
    return None


@router.post("/generic/{key}", status_code=202)
async def generic_webhook(
    request: Request, event: GenericEvent, owner: Annotated[GenericKey, Depends(integration_key)]
) -> JSONResponse:
    """Ingest one generic JSON event for the key's service; committed before 202."""
    rt = runtime(request)
    throttled = throttle(request, f"key:{owner.service}/{owner.name}", 1)
    if throttled is not None:
        return JSONResponse({"detail": throttled.message}, status_code=429, headers=throttled.headers)
    labels = generic_labels(event, owner)
    if event.dedup_key:  # a dedup key keeps the first event's labels: a new summary updates, not forks
        labels = (
            known_labels((s.alert.labels for s in rt.alerts.alerts.values()), owner.service, event.dedup_key) or labels
        )
    incoming = generic_incoming(event, labels, rt.clock.now())
    [stored] = await rt.alerts.ingest([incoming], f"generic:{owner.service}/{owner.name}", timeout=False)
    body = {"status": "accepted", "fingerprint": stored.fingerprint, "dedup_key": event.dedup_key}
    return JSONResponse(body, status_code=202)
