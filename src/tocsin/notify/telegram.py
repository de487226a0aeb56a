"""Telegram: Bot API `sendMessage` in HTML parse mode.

The bot token is part of the URL path, so no error message ever includes the URL.
Messages stay within Telegram's 4,096 characters by dropping alerts, then lines.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import TelegramConfig

__all__ = ["TelegramChannel"]

_TEXT_LIMIT = 4096


class TelegramChannel:
    """Sends a message to `chat_id` as the bot behind `bot_token`."""

    def __init__(self, config: TelegramConfig, key: str = "telegram_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", None)
        self.text = MessageTemplate("telegram.html.j2", config.message, fmt="html")
        self._options = config.options()

    def message(self, n: Notification) -> dict[str, Any]:
        """The `sendMessage` parameters for `n`."""
        title = self.title.render(n)
        body: dict[str, Any] = {
            "chat_id": self.config.chat_id,
            "text": fit(n, lambda m: self.text.render(m, title=title), _TEXT_LIMIT),
            "parse_mode": self.config.parse_mode,
            "disable_notification": self.config.disable_notifications,
            "link_preview_options": {"is_disabled": True},
        }
        if self.config.message_thread_id is not None:
            body["message_thread_id"] = self.config.message_thread_id
        return body

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        token = self.config.bot_token.get_secret_value()
        url = f"{self.config.api_url.rstrip('/')}/bot{token}/sendMessage"
        headers = {"Content-Type": "application/json"}
        body = orjson.dumps(self.message(prepared))
        reply = await deliver(http, "POST", url, body=body, headers=headers, options=self._options)
        sent = reply.json()
        result = sent.get("result") if isinstance(sent, dict) else None
        return reply.result(f"message_id {result['message_id']}" if isinstance(result, dict) else "")
