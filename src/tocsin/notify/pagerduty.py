"""PagerDuty Events API v2: trigger and resolve an alert in an existing PagerDuty service.

`dedup_key` is the SHA-256 of the group key (as Alertmanager computes it), so each
tocsin alert group is one PagerDuty alert: later triggers update it, a resolve closes it.
"""

from __future__ import annotations

import hashlib
from typing import TYPE_CHECKING, Any, Literal

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit
from tocsin.notify.webhook import go_time

if TYPE_CHECKING:
    from tocsin.notify.config import PagerdutyConfig

__all__ = ["PagerdutyChannel", "dedup_key", "pagerduty_severity"]

Severity = Literal["critical", "error", "warning", "info"]
_SUMMARY_LIMIT = 1024
_DETAILS_LIMIT = 8000
_SEVERITIES: dict[str, Severity] = {
    "critical": "critical",
    "page": "critical",
    "p1": "critical",
    "fatal": "critical",
    "error": "error",
    "high": "error",
    "major": "error",
    "p2": "error",
    "warning": "warning",
    "warn": "warning",
    "minor": "warning",
    "medium": "warning",
    "p3": "warning",
    "info": "info",
    "low": "info",
    "none": "info",
    "p4": "info",
    "p5": "info",
}


def dedup_key(group_key: str) -> str:
    """The PagerDuty dedup key of an alert group: hex SHA-256 of its group key."""
    return hashlib.sha256(group_key.encode()).hexdigest()


def pagerduty_severity(value: str) -> Severity:
    """Map a severity word (`critical`, `page`, `warning`, `P3`, ...) to PagerDuty's four; unknown is `error`."""
    return _SEVERITIES.get(value.strip().lower(), "error")


class PagerdutyChannel:
    """Sends Events API v2 `trigger` (firing) and `resolve` (resolved) events to `url`."""

    def __init__(self, config: PagerdutyConfig, key: str = "pagerduty_configs[0]") -> None:
        self.config, self.key = config, key
        self.summary = MessageTemplate("title.txt.j2", config.description)
        self.instances = MessageTemplate("text.txt.j2", None)
        self.severity = MessageTemplate("title.txt.j2", config.severity or "{{ common_labels.severity }}")
        self.source = MessageTemplate("title.txt.j2", config.source or _DEFAULT_SOURCE)
        self.details = {k: MessageTemplate("text.txt.j2", v) for k, v in config.details.items() if v is not None}
        self._options = config.options()

    def event(self, n: Notification) -> dict[str, Any]:
        """The event for `n`: a resolve carries only the routing and dedup keys, as the API asks."""
        base = {"routing_key": self.config.routing_key.get_secret_value(), "dedup_key": dedup_key(n.group_key)}
        if n.status == "resolved":
            return {**base, "event_action": "resolve"}
        return {**base, "event_action": "trigger", "payload": self._payload(n), **self._client(n)}

    def _payload(self, n: Notification) -> dict[str, Any]:
        payload: dict[str, Any] = {
            "summary": _clip(self.summary.render(n), _SUMMARY_LIMIT),
            "source": self.source.render(n) or "tocsin",
            "severity": pagerduty_severity(self.severity.render(n)),
            "timestamp": go_time(min(a.starts_at for a in n.firing or n.alerts)),
            "custom_details": self._custom_details(n),
        }
        extra = {"component": self.config.component, "group": self.config.group, "class": self.config.class_}
        return payload | {k: v for k, v in extra.items() if v}

    def _custom_details(self, n: Notification) -> dict[str, Any]:
        details: dict[str, Any] = {
            "firing": fit(n.only_firing(), self.instances.render, _DETAILS_LIMIT) if n.firing else "",
            "num_firing": len(n.firing),
            "num_resolved": len(n.resolved),
            "group_labels": dict(n.group_labels),
        }
        return details | {k: t.render(n) for k, t in self.details.items()}

    def _client(self, n: Notification) -> dict[str, Any]:
        client_url = self.config.client_url or (n.console_url if n.external_url else "")
        fields: dict[str, Any] = {"client": self.config.client}
        if client_url:
            fields["client_url"] = client_url
        links = [{"href": client_url, "text": "Open in tocsin"}] if client_url else []
        if runbook := n.common_annotations.get("runbook_url"):
            links.append({"href": runbook, "text": "Runbook"})
        return fields | ({"links": links} if links else {})

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send one event for `n`."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        body = orjson.dumps(self.event(prepared))
        headers = {"Content-Type": "application/json"}
        reply = await deliver(http, "POST", self.config.url, body=body, headers=headers, options=self._options)
        answer = reply.json()
        key = answer.get("dedup_key") if isinstance(answer, dict) else None
        return reply.result(f"dedup_key {key}" if key else "")


_DEFAULT_SOURCE = "{{ common_labels.instance or common_labels.service or common_labels.job or 'tocsin' }}"


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"
