"""Slack incoming webhooks: a Block Kit message (header, body, context, buttons) with fallback text.

Slack shows the top-level `text` in notifications and where blocks cannot be shown.
Limits respected: header 150 characters, section text 3,000, button label 75.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import SlackConfig

__all__ = ["SlackChannel", "slack_payload"]

_HEADER_LIMIT = 150
_SECTION_LIMIT = 3000


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def slack_payload(n: Notification, title: MessageTemplate, text: MessageTemplate) -> dict[str, Any]:
    """The incoming-webhook JSON body for `n`."""
    heading = title.render(n)
    body = fit(n, text.render, _SECTION_LIMIT)
    blocks: list[dict[str, Any]] = [
        {"type": "header", "text": {"type": "plain_text", "text": _clip(heading, _HEADER_LIMIT), "emoji": True}},
        {"type": "section", "text": {"type": "mrkdwn", "text": body or heading}},
        {"type": "context", "elements": [{"type": "mrkdwn", "text": _context_line(n)}]},
    ]
    if buttons := _buttons(n):
        blocks.append({"type": "actions", "elements": buttons})
    return {"text": heading, "blocks": blocks}


def _context_line(n: Notification) -> str:
    counts = "" if n.subject else f"{len(n.firing)} firing · {len(n.resolved)} resolved · "  # a notice has no counts
    receiver = n.receiver.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    return f"{counts}receiver *{receiver}* · via tocsin"


def _buttons(n: Notification) -> list[dict[str, Any]]:
    """Console and runbook buttons, only for links that exist."""
    links = []
    if n.external_url:
        links.append(("Open in tocsin", n.console_url, "open_console"))
    if runbook := n.common_annotations.get("runbook_url"):
        links.append(("Runbook", runbook, "open_runbook"))
    return [
        {"type": "button", "text": {"type": "plain_text", "text": label}, "url": url, "action_id": action}
        for label, url, action in links
    ]


class SlackChannel:
    """POSTs a Block Kit message to a Slack incoming webhook (`api_url`)."""

    def __init__(self, config: SlackConfig, key: str = "slack_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", config.title)
        self.text = MessageTemplate("slack.mrkdwn.j2", config.text, fmt="slack")
        self._options = config.options()

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        payload = slack_payload(prepared, self.title, self.text)
        for name in ("channel", "username", "icon_emoji", "icon_url"):
            if (value := getattr(self.config, name)) is not None:
                payload[name] = value
        url = self.config.api_url.get_secret_value()
        headers = {"Content-Type": "application/json"}
        reply = await deliver(http, "POST", url, body=orjson.dumps(payload), headers=headers, options=self._options)
        return reply.result()
