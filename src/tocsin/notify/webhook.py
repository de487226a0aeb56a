"""The generic webhook: Alertmanager's webhook payload v4, byte for byte, plus an idempotency key and signature.

A receiver written for Alertmanager (`POST` of `{"version": "4", ...}`) works unchanged.
tocsin adds two headers: `Idempotency-Key` (the same on every retry of one notification)
and, when `hmac_secret` is set, `X-Tocsin-Signature: sha256=<hex HMAC-SHA256 of the body>`.
"""

from __future__ import annotations

import hashlib
import hmac
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel

if TYPE_CHECKING:
    from tocsin.notify.config import WebhookConfig

__all__ = ["GO_ZERO_TIME", "WebhookChannel", "go_time", "payload_v4", "signature"]

GO_ZERO_TIME = "0001-01-01T00:00:00Z"  # what Go's zero time.Time marshals to: Alertmanager's "not set"


def go_time(value: datetime | None) -> str:
    """A time as Go's RFC 3339 nano JSON form in UTC (`2026-01-01T10:00:00.5Z`); None is Go's zero time."""
    if value is None:
        return GO_ZERO_TIME
    utc = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    fraction = f".{utc.microsecond:06d}".rstrip("0") if utc.microsecond else ""
    return utc.strftime("%Y-%m-%dT%H:%M:%S") + fraction + "Z"


def payload_v4(n: Notification) -> dict[str, Any]:
    """The Alertmanager webhook payload (version 4) for `n`; pages to people add `links` (label -> URL)."""
    body = _v4(n)
    if n.links:
        body["links"] = dict(n.links)
    return body


def _v4(n: Notification) -> dict[str, Any]:
    """Alertmanager's payload exactly; firing alerts carry a zero `endsAt`, as in Alertmanager."""
    return {
        "version": "4",
        "groupKey": n.group_key,
        "truncatedAlerts": n.truncated_alerts,
        "status": n.status,
        "receiver": n.receiver,
        "groupLabels": dict(n.group_labels),
        "commonLabels": dict(n.common_labels),
        "commonAnnotations": dict(n.common_annotations),
        "externalURL": n.external_url,
        "alerts": [
            {
                "status": n.alert_status(a),
                "labels": dict(a.labels),
                "annotations": dict(a.annotations),
                "startsAt": go_time(a.starts_at),
                "endsAt": go_time(a.ends_at if n.alert_status(a) == "resolved" else None),
                "generatorURL": a.generator_url,
                "fingerprint": a.fingerprint,
            }
            for a in n.alerts
        ],
    }


def signature(secret: str, body: bytes) -> str:
    """The `X-Tocsin-Signature` value: `sha256=` and the hex HMAC-SHA256 of the exact body bytes."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookChannel:
    """POSTs the v4 payload to `url`."""

    def __init__(self, config: WebhookConfig, key: str = "webhook_configs[0]") -> None:
        self.config, self.key = config, key
        self._options = config.options()

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` (truncated to `max_alerts`) once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        body = orjson.dumps(payload_v4(prepared.truncated(self.config.max_alerts)))
        headers = {"Content-Type": "application/json", "Idempotency-Key": n.idempotency_key}
        if self.config.hmac_secret is not None:
            headers["X-Tocsin-Signature"] = signature(self.config.hmac_secret.get_secret_value(), body)
        url = self.config.url.get_secret_value()
        reply = await deliver(http, "POST", url, body=body, headers=headers, options=self._options)
        return reply.result()
