"""Discord webhooks: one embed (title, description, colour, link) and no pings.

`allowed_mentions: {parse: []}` stops `@everyone` in a label from pinging a server;
`?wait=true` makes Discord confirm the message was created (200 with the message)
instead of accepting it for later (204).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson
from yarl import URL

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import DiscordConfig

__all__ = ["DiscordChannel"]

_TITLE_LIMIT = 256
_DESCRIPTION_LIMIT = 4096
_CONTENT_LIMIT = 2000
_RED, _GREEN = 0x992D22, 0x2ECC71  # Alertmanager's firing and resolved colours


class DiscordChannel:
    """POSTs an embed to a Discord `webhook_url`."""

    def __init__(self, config: DiscordConfig, key: str = "discord_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", config.title)
        self.text = MessageTemplate("markdown.md.j2", config.message)
        self.content = None if config.content is None else MessageTemplate("text.txt.j2", config.content)
        self._options = config.options()

    def message(self, n: Notification) -> dict[str, Any]:
        """The webhook body for `n`."""
        title = self.title.render(n)
        embed: dict[str, Any] = {
            "title": title if len(title) <= _TITLE_LIMIT else title[: _TITLE_LIMIT - 1] + "…",
            "description": fit(n, self.text.render, _DESCRIPTION_LIMIT),
            "color": _RED if n.status == "firing" else _GREEN,
        }
        if n.external_url:
            embed["url"] = n.console_url
        body: dict[str, Any] = {"embeds": [embed], "allowed_mentions": {"parse": []}}
        if self.content is not None:
            body["content"] = fit(n, self.content.render, _CONTENT_LIMIT)
        body.update({k: v for k in ("username", "avatar_url") if (v := getattr(self.config, k))})
        return body

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        url = URL(self.config.webhook_url.get_secret_value()).update_query(wait="true")
        headers = {"Content-Type": "application/json"}
        body = orjson.dumps(self.message(prepared))
        reply = await deliver(http, "POST", url, body=body, headers=headers, options=self._options)
        created = reply.json()
        return reply.result(f"message id {created['id']}" if isinstance(created, dict) and "id" in created else "")
