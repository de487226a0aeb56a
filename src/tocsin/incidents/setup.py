"""What incident response runs inside a `tocsin serve` process: role notices and the actions exporter."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING

from tocsin.incidents.exporter import ActionExporter
from tocsin.incidents.notices import role_notices

if TYPE_CHECKING:
    from tocsin.incidents.config import ActionsWebhook
    from tocsin.runtime import Runtime


def start_incident_response(rt: Runtime) -> list[asyncio.Task[None]]:
    """Tell newly assigned people (a listener on the incident service) and start the actions exporter."""
    rt.incidents.listeners.append(role_notices(rt))

    def settings() -> tuple[ActionsWebhook | None, str]:
        config = rt.loaded.config  # read on every turn: a reload may add, change or remove the webhook
        return config.incidents.actions_webhook, config.server.external_url or ""

    def failed(reason: str) -> None:
        rt.metrics.incident_action_export_failures.labels(reason).inc()

    exporter = ActionExporter(rt.clock, rt.incidents.actions, rt.incidents.store, settings, failed)
    return [asyncio.create_task(exporter.run(), name="incident-actions-export")]
