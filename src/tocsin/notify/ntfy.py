"""ntfy: publish a message as JSON (`POST` to the server root with `topic` in the body).

JSON publishing keeps titles and messages in UTF-8 (headers would need RFC 2047 encoding).
Firing notifications use the configured `priority`; resolved ones are never louder than 3 (default).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import NtfyConfig

__all__ = ["NtfyChannel"]

_MESSAGE_LIMIT = 4000  # ntfy turns messages over 4,096 bytes into attachments
_DEFAULT_PRIORITY = 3


class NtfyChannel:
    """Publishes to `topic` on the ntfy server at `url`."""

    def __init__(self, config: NtfyConfig, key: str = "ntfy_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", config.title)
        self.text = MessageTemplate("text.txt.j2", config.text)
        self._options = config.options()

    def message(self, n: Notification) -> dict[str, Any]:
        """The JSON publish body for `n`."""
        firing = n.status == "firing"
        body: dict[str, Any] = {
            "topic": self.config.topic,
            "title": self.title.render(n),
            "message": fit(n, self.text.render, _MESSAGE_LIMIT),
            "priority": self.config.priority if firing else min(self.config.priority, _DEFAULT_PRIORITY),
            "tags": ["rotating_light" if firing else "white_check_mark"],
        }
        if n.external_url:
            body["click"] = n.console_url
        actions = [{"action": "view", "label": label, "url": url} for label, url in n.links]
        if runbook := n.common_annotations.get("runbook_url"):
            actions.append({"action": "view", "label": "Runbook", "url": runbook})
        if actions:
            body["actions"] = actions[:3]  # ntfy shows at most three action buttons
        return body

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Publish `n` once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        headers = {"Content-Type": "application/json"}
        if self.config.token is not None:
            headers["Authorization"] = f"Bearer {self.config.token.get_secret_value()}"
        body = orjson.dumps(self.message(prepared))
        reply = await deliver(http, "POST", self.config.url, body=body, headers=headers, options=self._options)
        published = reply.json()
        return reply.result(
            f"message id {published['id']}" if isinstance(published, dict) and "id" in published else ""
        )
