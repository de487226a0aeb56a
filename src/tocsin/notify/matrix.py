"""Matrix: `PUT /_matrix/client/v3/rooms/{roomId}/send/m.room.message/{txnId}` with an HTML body.

The transaction ID is the notification's idempotency key, so the homeserver drops a
retried send it already accepted instead of posting the message twice.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from urllib.parse import quote

import aiohttp
import orjson
from yarl import URL

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import MatrixConfig

__all__ = ["MatrixChannel", "send_url"]

_PART_LIMIT = 10_000  # characters per body: two of them stay under the 64 KiB event limit even at 3 bytes a character


def send_url(homeserver: str, room_id: str, txn_id: str) -> URL:
    """The client-server API v3 send URL, room ID and transaction ID percent-encoded."""
    path = f"/_matrix/client/v3/rooms/{quote(room_id, safe='')}/send/m.room.message/{quote(txn_id, safe='')}"
    return URL(homeserver.rstrip("/") + path, encoded=True)


class MatrixChannel:
    """Posts an `m.room.message` to `room_id` as the user behind `access_token`."""

    def __init__(self, config: MatrixConfig, key: str = "matrix_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", config.title)
        self.text = MessageTemplate("text.txt.j2", config.text)
        # A custom plain body without a custom HTML body is sent plain: the default HTML would contradict it.
        self.html = None if config.text and not config.html else MessageTemplate("html.html.j2", config.html)
        self._options = config.options()

    def content(self, n: Notification) -> dict[str, Any]:
        """The event content: plain `body`, and `formatted_body` in `org.matrix.custom.html`."""
        title = self.title.render(n)
        body = fit(n, lambda m: f"{title}\n{self.text.render(m)}", _PART_LIMIT)
        content: dict[str, Any] = {"msgtype": self.config.msgtype, "body": body}
        if (html := self.html) is not None:
            content["format"] = "org.matrix.custom.html"
            content["formatted_body"] = fit(n, lambda m: html.render(m, title=title), _PART_LIMIT)
        return content

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once (a retry with the same idempotency key is deduplicated by the homeserver)."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        url = send_url(self.config.homeserver, self.config.room_id, n.idempotency_key)
        headers = {
            "Content-Type": "application/json",
            "Authorization": f"Bearer {self.config.access_token.get_secret_value()}",
        }
        body = orjson.dumps(self.content(prepared))
        reply = await deliver(http, "PUT", url, body=body, headers=headers, options=self._options)
        event = reply.json()
        return reply.result(f"event_id {event['event_id']}" if isinstance(event, dict) and "event_id" in event else "")
