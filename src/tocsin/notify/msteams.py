"""Microsoft Teams through a Workflows (Power Automate) webhook: one Adaptive Card in a message envelope.

The card uses schema version 1.4 (the newest Teams renders everywhere), a coloured
title, the markdown body Teams' TextBlock understands, and buttons for the console and runbook.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.notify.classify import deliver
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification, for_channel
from tocsin.notify.render import MessageTemplate, fit

if TYPE_CHECKING:
    from tocsin.notify.config import MSTeamsConfig

__all__ = ["MSTeamsChannel", "teams_message"]

_TEXT_LIMIT = 20_000  # Teams rejects messages over ~28 KB


def teams_message(n: Notification, title: MessageTemplate, text: MessageTemplate) -> dict[str, Any]:
    """The workflow webhook body: `{"type": "message", "attachments": [adaptive card]}`."""
    card: dict[str, Any] = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "msteams": {"width": "Full"},
        "body": [
            {
                "type": "TextBlock",
                "text": title.render(n),
                "size": "Large",
                "weight": "Bolder",
                "color": "Attention" if n.status == "firing" else "Good",
                "wrap": True,
                "style": "heading",
            },
            {"type": "TextBlock", "text": fit(n, text.render, _TEXT_LIMIT), "wrap": True},
        ],
    }
    if actions := _actions(n):
        card["actions"] = actions
    attachment = {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
    return {"type": "message", "attachments": [attachment]}


def _actions(n: Notification) -> list[dict[str, str]]:
    links = [("Open in tocsin", n.console_url)] if n.external_url else []
    if runbook := n.common_annotations.get("runbook_url"):
        links.append(("Runbook", runbook))
    return [{"type": "Action.OpenUrl", "title": label, "url": url} for label, url in links]


class MSTeamsChannel:
    """POSTs an Adaptive Card to a Teams workflow `webhook_url`."""

    def __init__(self, config: MSTeamsConfig, key: str = "msteams_configs[0]") -> None:
        self.config, self.key = config, key
        self.title = MessageTemplate("title.txt.j2", config.title)
        self.text = MessageTemplate("markdown.md.j2", config.text)
        self._options = config.options()

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Send `n` once."""
        prepared = for_channel(n, self.config.send_resolved)
        if prepared is None:
            return SKIPPED
        body = orjson.dumps(teams_message(prepared, self.title, self.text))
        url = self.config.webhook_url.get_secret_value()
        headers = {"Content-Type": "application/json"}
        reply = await deliver(http, "POST", url, body=body, headers=headers, options=self._options)
        return reply.result()
