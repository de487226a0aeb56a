"""What a channel is given (a `Notification`), what it returns, and how it fails.

A channel renders one message and sends it once. It never retries: it raises
`RetryableError` or `PermanentError` and the outbox decides what happens next.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Literal, Protocol
from urllib.parse import quote

import aiohttp

from tocsin.alerting.alert import Alert

__all__ = [
    "SKIPPED",
    "Channel",
    "DeliveryError",
    "DeliveryResult",
    "Notification",
    "PermanentError",
    "Reason",
    "RetryableError",
    "Status",
    "for_channel",
]

Status = Literal["firing", "resolved"]
Reason = Literal["new", "update", "repeat", "resolved", "escalation", "handoff"]


@dataclass(frozen=True, slots=True, kw_only=True)
class Notification:
    """One alert group to tell one receiver about, frozen at the instant the dispatcher flushed it.

    `created_at` is that instant: an alert is resolved in this notification when its
    `ends_at` is at or before it, exactly as Alertmanager decides at flush time.
    """

    receiver: str
    group_key: str
    group_labels: Mapping[str, str]
    common_labels: Mapping[str, str]
    common_annotations: Mapping[str, str]
    alerts: tuple[Alert, ...]
    status: Status
    reason: Reason
    external_url: str
    idempotency_key: str
    created_at: datetime
    truncated_alerts: int = 0
    links: tuple[tuple[str, str], ...] = field(default=())  # (label, url): one-click acknowledge/resolve for people
    # A notice (e.g. an incident update) rather than news of alert states: when set, the built-in
    # templates show `subject` as the title and the alert's description as the body (docs/alerting/channels.md).
    subject: str = ""

    def alert_status(self, alert: Alert) -> Status:
        """Whether `alert` is firing or resolved as of `created_at`."""
        return "resolved" if alert.resolved_at(self.created_at) else "firing"

    @property
    def firing(self) -> tuple[Alert, ...]:
        """The alerts still firing."""
        return tuple(a for a in self.alerts if not a.resolved_at(self.created_at))

    @property
    def resolved(self) -> tuple[Alert, ...]:
        """The alerts that have ended."""
        return tuple(a for a in self.alerts if a.resolved_at(self.created_at))

    @property
    def console_url(self) -> str:
        """The group's page in the tocsin console (`{external_url}/alerts/group?key=...`, key percent-encoded).

        A notice has no group page: its console URL is its first link (the page it is about).
        """
        if self.subject and self.links:
            return self.links[0][1]
        return f"{self.external_url.rstrip('/')}/alerts/group?key={quote(self.group_key, safe='')}"

    def only_firing(self) -> Notification:
        """This notification without its resolved alerts (for channels with `send_resolved: false`)."""
        return dataclasses.replace(self, alerts=self.firing)

    def truncated(self, max_alerts: int) -> Notification:
        """Keep the first `max_alerts` alerts (0 keeps all) and count the rest in `truncated_alerts`."""
        if max_alerts <= 0 or len(self.alerts) <= max_alerts:
            return self
        dropped = len(self.alerts) - max_alerts
        return dataclasses.replace(
            self, alerts=self.alerts[:max_alerts], truncated_alerts=self.truncated_alerts + dropped
        )


def for_channel(n: Notification, send_resolved: bool) -> Notification | None:
    """What a channel should send: all of `n`, only its firing alerts, or nothing (None).

    Alertmanager's rule: a channel that does not send resolved notifications drops
    resolved alerts from its messages and stays silent when nothing is firing.
    """
    if send_resolved:
        return n
    return n.only_firing() if n.firing else None


class DeliveryError(Exception):
    """A notification that was not delivered; `status_code` is the remote reply when there was one."""

    def __init__(self, message: str, *, status_code: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.status_code = status_code


class RetryableError(DeliveryError):
    """A failure that may pass if the same message is sent again later (after `retry_after` seconds if known)."""

    def __init__(self, message: str, retry_after: float | None = None, *, status_code: int | None = None) -> None:
        super().__init__(message, status_code=status_code)
        self.retry_after = retry_after


class PermanentError(DeliveryError):
    """A failure that sending the same message again cannot fix (bad config, rejected payload)."""


@dataclass(frozen=True, slots=True)
class DeliveryResult:
    """A delivered notification: the remote status code (SMTP reply code for email), latency and a short detail."""

    status_code: int
    latency_ms: float
    detail: str = ""


SKIPPED = DeliveryResult(0, 0.0, "skipped: nothing firing and send_resolved is false")


class Channel(Protocol):
    """Something that delivers a notification once (email ignores `http` and uses its own SMTP transport)."""

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Render and send `n`; raise `RetryableError` or `PermanentError` on failure."""
        ...
