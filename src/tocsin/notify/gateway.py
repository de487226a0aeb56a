"""SMS and voice pages through an HTTP gateway: one JSON `POST` per page to a URL the operator configures.

tocsin does not talk to a telephony provider itself; a small gateway (or a provider's own
webhook API behind a proxy) turns this JSON into a text message or a call:

    {"kind": "sms", "to": "+12025550123", "message": "...", "group_key": "...", "links": {...}}

The `Idempotency-Key` header is the same on every retry of one page.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

import aiohttp
import orjson

from tocsin.notify.classify import RequestOptions, deliver
from tocsin.notify.model import DeliveryResult, Notification
from tocsin.notify.render import MessageTemplate, fit

__all__ = ["GatewayChannel", "PhoneTarget"]

_SMS_LIMIT = 480  # three concatenated SMS segments: enough for a title, a summary and the links


@dataclass(frozen=True, slots=True)
class PhoneTarget:
    """Where the gateway is and whom to reach through it."""

    url: str
    kind: Literal["sms", "voice"]
    number: str
    headers: Mapping[str, str] = field(default_factory=dict)
    timeout: float = 10.0


class GatewayChannel:
    """POSTs one page to the SMS/voice gateway."""

    def __init__(self, target: PhoneTarget, key: str = "phone") -> None:
        self.target, self.key = target, key
        self.title = MessageTemplate("title.txt.j2")
        self._options = RequestOptions(timeout=target.timeout, headers=dict(target.headers))

    def message(self, n: Notification) -> dict[str, Any]:
        """The JSON body for `n`: a short text (the links go separately, for buttons or a keypad menu)."""
        summary = ", ".join(
            dict.fromkeys(a.annotations.get("summary") or a.labels.get("alertname", "") for a in n.firing)
        )
        text = self.title.render(n) + (f": {summary}" if summary else "")
        return {
            "kind": self.target.kind,
            "to": self.target.number,
            "message": fit(n, lambda _: text, _SMS_LIMIT),
            "status": n.status,
            "group_key": n.group_key,
            "links": dict(n.links),
        }

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` to the gateway once."""
        body = orjson.dumps(self.message(n))
        headers = {"Content-Type": "application/json", "Idempotency-Key": n.idempotency_key}
        reply = await deliver(http, "POST", self.target.url, body=body, headers=headers, options=self._options)
        return reply.result()
