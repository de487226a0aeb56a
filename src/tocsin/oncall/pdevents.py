"""PagerDuty Events API v2 payloads: validation with PagerDuty's error shape, and the mapping to alerts; pure.

An alert event becomes one tocsin alert. Its identity is the routing key's service, the
key's name and the `dedup_key`, so deduplication is scoped per routing key as in
PagerDuty; `summary`, `source`, `severity`, `component`, `group` and `class` become labels,
`custom_details` annotations. See docs/oncall/pagerduty.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import orjson

MAX_BYTES = 512 * 1024
SEVERITIES = ("critical", "error", "warning", "info")
ACTIONS = ("trigger", "acknowledge", "resolve")
LABELS = ("source", "severity", "component", "group", "class")
_NAME = re.compile(r"[^a-zA-Z0-9_]")

Action = Literal["trigger", "acknowledge", "resolve"]


class InvalidEvent(ValueError):
    """An event PagerDuty would refuse; `errors` are its messages."""

    def __init__(self, errors: list[str]) -> None:
        super().__init__("; ".join(errors))
        self.errors = errors


@dataclass(frozen=True, slots=True)
class AlertEvent:
    """A valid `POST /v2/enqueue` event."""

    routing_key: str
    action: Action
    dedup_key: str | None
    payload: Mapping[str, Any] = field(default_factory=dict)  # for trigger: summary, source, severity, ...
    links: tuple[str, ...] = ()
    client: str = ""
    client_url: str = ""


@dataclass(frozen=True, slots=True)
class ChangeEvent:
    """A valid `POST /v2/change/enqueue` event."""

    routing_key: str
    summary: str
    event: Mapping[str, Any]


def _text(data: Mapping[str, Any], key: str, where: str, errors: list[str], *, required: bool, limit: int) -> str:
    """A string property: missing, blank, not a string or too long are errors."""
    value = data.get(key)
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            errors.append(f"'{where}' is missing or blank")
        return ""
    if not isinstance(value, str):
        errors.append(f"'{where}' must be a string")
        return ""
    if len(value) > limit:
        errors.append(f"'{where}' is too long (at most {limit} characters)")
    return value


def _object(data: Any, what: str) -> Mapping[str, Any]:
    if not isinstance(data, Mapping):
        raise InvalidEvent([f"{what} must be a JSON object"])
    return data


def _links(data: Mapping[str, Any], errors: list[str]) -> tuple[str, ...]:
    links = data.get("links") or []
    if not isinstance(links, list) or not all(isinstance(x, Mapping) and isinstance(x.get("href"), str) for x in links):
        errors.append("'links' must be a list of objects with an 'href'")
        return ()
    return tuple(str(x["href"]) for x in links)


def parse_alert_event(data: Any) -> AlertEvent:
    """The event in a decoded body, or InvalidEvent listing everything wrong with it."""
    body, errors = _object(data, "The event"), list[str]()
    routing_key = _text(body, "routing_key", "routing_key", errors, required=True, limit=255)
    action = body.get("event_action")
    if action not in ACTIONS:
        errors.append("'event_action' is missing or invalid (must be one of trigger, acknowledge, resolve)")
    dedup_key = _text(body, "dedup_key", "dedup_key", errors, required=action in ("acknowledge", "resolve"), limit=255)
    payload: Mapping[str, Any] = {}
    if action == "trigger":
        payload = _trigger_payload(body.get("payload"), errors)
    links = _links(body, errors)
    client = _text(body, "client", "client", errors, required=False, limit=1024)
    client_url = _text(body, "client_url", "client_url", errors, required=False, limit=2048)
    if errors:
        raise InvalidEvent(errors)
    return AlertEvent(routing_key, action, dedup_key or None, payload, links, client, client_url)  # type: ignore[arg-type]


def _trigger_payload(raw: Any, errors: list[str]) -> Mapping[str, Any]:
    if not isinstance(raw, Mapping):
        errors.append("'payload' is missing or not an object")
        return {}
    _text(raw, "summary", "payload.summary", errors, required=True, limit=1024)
    _text(raw, "source", "payload.source", errors, required=True, limit=255)
    severity = raw.get("severity")
    if severity not in SEVERITIES:
        errors.append("'payload.severity' is missing or invalid (must be one of critical, error, warning, info)")
    for key in ("component", "group", "class", "timestamp"):
        _text(raw, key, f"payload.{key}", errors, required=False, limit=255)
    details = raw.get("custom_details")
    if details is not None and not isinstance(details, Mapping | list | str | int | float | bool):
        errors.append("'payload.custom_details' must be JSON")
    return raw


def parse_change_event(data: Any) -> ChangeEvent:
    """The change event in a decoded body, or InvalidEvent."""
    body, errors = _object(data, "The event"), list[str]()
    routing_key = _text(body, "routing_key", "routing_key", errors, required=True, limit=255)
    payload = body.get("payload")
    summary = ""
    if isinstance(payload, Mapping):
        summary = _text(payload, "summary", "payload.summary", errors, required=True, limit=1024)
    else:
        errors.append("'payload' is missing or not an object")
    _links(body, errors)
    if errors:
        raise InvalidEvent(errors)
    return ChangeEvent(routing_key, summary, dict(body, routing_key="(redacted)"))


def alert_labels(event: AlertEvent, service: str, key_name: str, dedup_key: str) -> dict[str, str]:
    """The labels of the alert a trigger opens: PD-CEF fields, the service, the key's name and the dedup key."""
    labels = {"alertname": str(event.payload.get("summary", ""))}
    labels.update({name: str(event.payload[name]) for name in LABELS if event.payload.get(name)})
    labels.update({"service": service, "integration_key": key_name, "dedup_key": dedup_key})
    return labels


def annotation_name(key: str) -> str:
    """A custom_details key as an annotation name (`ping time` -> `ping_time`)."""
    name = _NAME.sub("_", key) or "_"
    return name if not name[0].isdigit() else f"_{name}"


def alert_annotations(event: AlertEvent) -> dict[str, str]:
    """`custom_details` (objects flattened one level, other values as JSON), summary, timestamp, links, client."""
    details = event.payload.get("custom_details")
    annotations: dict[str, str] = {}
    if isinstance(details, Mapping):
        annotations = {annotation_name(str(k)): _string(v) for k, v in details.items()}
    elif details is not None:
        annotations["custom_details"] = _string(details)
    extra = {
        "summary": str(event.payload.get("summary", "")),
        "timestamp": str(event.payload.get("timestamp") or ""),
        "links": "\n".join(event.links),
        "client": event.client,
        "client_url": event.client_url,
    }
    annotations.update({k: v for k, v in extra.items() if v})
    return annotations


def _string(value: Any) -> str:
    return value if isinstance(value, str) else orjson.dumps(value).decode()
