"""Who hears about an incident: the channels of its audience, read from the running process.

The audience is `incidents.audience` plus the receivers the incident's linked alert groups
were routed to (by the current routing tree, and by the notification log for groups whose
route has changed since). The choice itself is pure (incidents/updates.py); this is the shell.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tocsin.incidents.updates import audience_receivers, notice_integrations, routed_receivers
from tocsin.notify.outbox import Integration
from tocsin.store.incident_updates import UpdateStore

if TYPE_CHECKING:
    from tocsin.runtime import Runtime


def console_url(rt: Runtime, path: str) -> str:
    """`path` under `server.external_url` (relative when none is set)."""
    base = rt.loaded.config.server.external_url or ""
    return base.rstrip("/") + path


def public_url(rt: Runtime, pages: tuple[str, ...]) -> str:
    """Where the public reads about it: the first page's address."""
    return console_url(rt, f"/status/{pages[0]}") if pages else ""


async def audience(rt: Runtime, store: UpdateStore, group_keys: tuple[str, ...]) -> list[Integration]:
    """The channels an internal update of an incident linked to `group_keys` goes through."""
    setup = rt.alerts.setup
    routes = {route.key: route.opts.receiver for route in setup.config.route.walk()}
    linked = routed_receivers(group_keys, routes) + await store.notified_receivers(group_keys)
    receivers = audience_receivers(rt.loaded.config.incidents.audience, linked)
    return notice_integrations(receivers, setup.integrations)
