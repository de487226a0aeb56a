"""The actions webhook exporter: POSTs every created or changed follow-up action to `incidents.actions_webhook`.

Durable and restart-safe: what is left to send is read from the store (actions whose
`exported_at` is unset or older than their `updated_at`), never kept only in memory, so a
restart or a crash resends at most what was in flight. Each send carries an `Idempotency-Key`
derived from the action and the change it reports, so a receiver can drop repeats (retries,
or two nodes exporting at once on PostgreSQL). Failures are retried with exponential backoff
and jitter (5 s doubling to 1 h, per action) and counted in
`tocsin_incident_action_export_failures_total`.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import logging
import random
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

import aiohttp
import orjson

from tocsin.clock import Clock, sleep_until_or
from tocsin.incidents.actions import Action, ActionService
from tocsin.notify.outbox import RetryPolicy
from tocsin.store.incidents import Incident, IncidentStore

if TYPE_CHECKING:  # the config package imports this one's config module: no import cycle at run time
    from tocsin.incidents.config import ActionsWebhook

log = logging.getLogger(__name__)

BACKOFF = RetryPolicy(base=timedelta(seconds=5), cap=timedelta(hours=1))
IDLE = 60.0  # seconds between looks when nothing is pending (a reload may have added the webhook)
TIMEOUT = 15.0


def idempotency_key(a: Action) -> str:
    """The same for every try of one change of one action; different for the next change."""
    return hashlib.sha256(f"incident-action:{a.id}:{a.updated_at.isoformat()}".encode()).hexdigest()[:40]


def payload(a: Action, i: Incident | None, external_url: str, now: datetime) -> dict[str, Any]:
    """The JSON body for one action: the event, the action, and the incident it belongs to."""
    base = external_url.rstrip("/")
    incident = None
    if i is not None:
        url = f"{base}/incidents/{i.id}"
        incident = {"id": i.id, "title": i.title, "severity": i.severity, "status": i.status.value, "url": url}
    return {
        "event": "created" if a.exported_at is None else "updated",
        "action": {
            "id": a.id,
            "title": a.title,
            "owner": a.owner,
            "kind": a.kind,
            "status": a.status,
            "due": a.due.isoformat() if a.due else None,
            "overdue": a.overdue(now),
            "created_at": a.created_at.isoformat(),
            "updated_at": a.updated_at.isoformat(),
        },
        "incident": incident,
    }


class ExportFailed(Exception):
    """The webhook did not accept an action; `reason` labels the failure metric."""

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason


class ActionExporter:
    """Sends pending actions to the configured webhook until cancelled."""

    def __init__(
        self,
        clock: Clock,
        actions: ActionService,
        incidents: IncidentStore,
        settings: Callable[[], tuple[ActionsWebhook | None, str]],
        failed: Callable[[str], None],
        rng: random.Random | None = None,
    ) -> None:
        self._clock, self._actions, self._incidents = clock, actions, incidents
        self._settings, self._failed = settings, failed  # (webhook, external_url) as configured now
        self._rng = rng or random.Random()
        self._retry: dict[int, tuple[int, datetime]] = {}  # action id → (failed tries, not before)

    async def run(self) -> None:
        """Export whatever is pending, then sleep until a change, the next retry, or the idle poll."""
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=TIMEOUT)) as session:
            while True:
                self._actions.changed.clear()
                try:
                    wake = await self.export_due(session)
                except asyncio.CancelledError:
                    raise
                except Exception:  # the store may be briefly unreachable; never let the loop die
                    log.exception("exporting incident actions failed; trying again")
                    wake = self._clock.timestamp() + BACKOFF.base.total_seconds()
                await sleep_until_or(self._clock, wake, self._actions.changed)

    async def export_due(self, session: aiohttp.ClientSession) -> float:
        """Send every pending action not waiting for a retry; when to look again (clock seconds)."""
        hook, external_url = self._settings()
        now = self._clock.now()
        idle = self._clock.timestamp() + IDLE
        if hook is None:
            return idle
        pending = await self._actions.store.pending_export()
        self._retry = {k: v for k, v in self._retry.items() if k in {a.id for a in pending}}
        for action in pending:
            if action.id in self._retry and self._retry[action.id][1] > now:
                continue
            await self._export(session, hook, action, external_url, now)
        waits = [at.timestamp() for _, at in self._retry.values()]
        return min([idle, *waits])

    async def _export(
        self, session: aiohttp.ClientSession, hook: ActionsWebhook, a: Action, external_url: str, now: datetime
    ) -> None:
        body = orjson.dumps(payload(a, await self._incidents.get(a.incident_id), external_url, now))
        headers = {**hook.headers, "Content-Type": "application/json", "Idempotency-Key": idempotency_key(a)}
        try:
            await _post(session, str(hook.url), body, headers)
        except ExportFailed as exc:
            tries = self._retry.get(a.id, (0, now))[0] + 1
            self._retry[a.id] = (tries, now + BACKOFF.delay(tries, None, self._rng))
            self._failed(exc.reason)
            log.warning("actions webhook refused action %d (try %d): %s", a.id, tries, exc)
            return
        self._retry.pop(a.id, None)
        await self._actions.store.mark_exported(a, now)


async def _post(session: aiohttp.ClientSession, url: str, body: bytes, headers: dict[str, str]) -> None:
    """POST once; ExportFailed unless the answer is 2xx."""
    try:
        async with session.post(url, data=body, headers=headers) as reply:
            with contextlib.suppress(aiohttp.ClientError):
                await reply.read()
            if not 200 <= reply.status < 300:
                raise ExportFailed("status", f"{url} answered {reply.status}")
    except TimeoutError as exc:
        raise ExportFailed("timeout", f"{url} did not answer within {TIMEOUT:.0f}s") from exc
    except aiohttp.ClientError as exc:
        raise ExportFailed("connect", f"cannot reach {url}: {exc}") from exc
