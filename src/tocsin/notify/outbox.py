"""The outbox worker: delivers queued notifications at least once, with backoff, jitter and dead letters.

Channels classify failures and never retry; this worker owns retries. A row is claimed
for a lease, so a crashed worker's rows become due again when the lease ends, and on
PostgreSQL several nodes share the queue (`FOR UPDATE SKIP LOCKED`) without sending twice.
"""

from __future__ import annotations

import asyncio
import logging
import random
import time
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Protocol, runtime_checkable

import aiohttp

from tocsin.alerting.alert import Alert, restore
from tocsin.clock import Clock, Signal, sleep_until_or
from tocsin.notify.model import SKIPPED, Channel, DeliveryResult, Notification, PermanentError, RetryableError
from tocsin.store.alerting import AlertStore, Attempt, Delivery, OutboxRow

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=30)  # how long a claim lasts: longer than the 15 s send timeout


@runtime_checkable
class PayloadChannel(Protocol):
    """A channel for deliveries that are not alert notifications (status page subscribers): the outbox hands it
    the stored payload as is, and retries, backoff and dead letters apply as to any channel."""

    async def send_payload(self, payload: dict[str, Any], http: aiohttp.ClientSession) -> DeliveryResult:
        """Send the payload once; raise `RetryableError` or `PermanentError` on failure."""
        ...


@dataclass(frozen=True, slots=True)
class Integration:
    """One channel of one receiver, as the pipeline and the outbox address it."""

    receiver: str
    index: int
    kind: str
    send_resolved: bool
    channel: Channel | PayloadChannel


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter, then a dead letter."""

    max_attempts: int = 10
    base: timedelta = timedelta(seconds=5)
    cap: timedelta = timedelta(minutes=10)

    def delay(self, attempts: int, retry_after: float | None, rng: random.Random) -> timedelta:
        """The wait before the next try: `base * 2^(attempts-1)`, capped, with full jitter in [50%, 100%]."""
        backoff = min(self.cap.total_seconds(), self.base.total_seconds() * 2 ** max(0, attempts - 1))
        wait = backoff * rng.uniform(0.5, 1.0)
        return timedelta(seconds=max(wait, retry_after or 0.0))


def encode(n: Notification) -> dict[str, Any]:
    """A notification as JSON-able data for the outbox row."""
    return {
        "receiver": n.receiver,
        "group_key": n.group_key,
        "group_labels": dict(n.group_labels),
        "common_labels": dict(n.common_labels),
        "common_annotations": dict(n.common_annotations),
        "status": n.status,
        "reason": n.reason,
        "external_url": n.external_url,
        "idempotency_key": n.idempotency_key,
        "created_at": n.created_at.isoformat(),
        "truncated_alerts": n.truncated_alerts,
        "alerts": [_alert(a) for a in n.alerts],
        **({"links": [list(link) for link in n.links]} if n.links else {}),
        **({"subject": n.subject} if n.subject else {}),
    }


def _alert(a: Alert) -> dict[str, Any]:
    return {
        "labels": dict(a.labels),
        "annotations": dict(a.annotations),
        "starts_at": a.starts_at.isoformat(),
        "ends_at": a.ends_at.isoformat() if a.ends_at else None,
        "generator_url": a.generator_url,
        "fingerprint": a.fingerprint,
    }


def decode(data: dict[str, Any]) -> Notification:
    """The inverse of `encode`."""
    alerts = tuple(_decode_alert(a) for a in data["alerts"])
    return Notification(
        receiver=data["receiver"],
        group_key=data["group_key"],
        group_labels=data["group_labels"],
        common_labels=data["common_labels"],
        common_annotations=data["common_annotations"],
        alerts=alerts,
        status=data["status"],
        reason=data["reason"],
        external_url=data["external_url"],
        idempotency_key=data["idempotency_key"],
        created_at=datetime.fromisoformat(data["created_at"]),
        truncated_alerts=data["truncated_alerts"],
        links=tuple((str(label), str(url)) for label, url in data.get("links", ())),
        subject=str(data.get("subject", "")),
    )


def _decode_alert(a: dict[str, Any]) -> Alert:
    starts, ends = (
        datetime.fromisoformat(a["starts_at"]),
        datetime.fromisoformat(a["ends_at"]) if a["ends_at"] else None,
    )
    if "fingerprint" not in a:  # queued by a tocsin that did not store it
        return Alert(a["labels"], starts, a["annotations"], ends, a["generator_url"])
    return restore(a["labels"], starts, a["annotations"], ends, a["generator_url"], a["fingerprint"])


Lookup = Callable[[str, int], Integration | None]


class Wake(Protocol):
    """Tells the outbox worker rows were queued; rows its enqueuer already claimed for it come along."""

    def __call__(self, claimed: Sequence[OutboxRow] = ()) -> None:
        """Look for due rows now, and deliver `claimed` as they are."""
        ...


# Told about every delivery that settled for good: (delivery, "delivered", "skipped" or "failed", error, now).
DeliveryObserver = Callable[[Delivery, str, str, datetime], None]


class OutboxWorker:
    """Claims due deliveries and sends them, concurrently up to `concurrency`."""

    def __init__(
        self,
        clock: Clock,
        store: AlertStore,
        lookup: Lookup,
        http: aiohttp.ClientSession,
        policy: RetryPolicy | None = None,
        concurrency: int = 32,
        lease: timedelta = LEASE,
        rng: random.Random | None = None,
    ) -> None:
        self._clock, self._store, self._lookup, self._http = clock, store, lookup, http
        self.policy = policy or RetryPolicy()
        self._concurrency, self._lease_ms = concurrency, int(lease.total_seconds() * 1000)
        self._rng = rng or random.Random()
        self._wake = Signal()
        self._handed: deque[OutboxRow] = deque()  # claimed by their enqueuer, delivered before any claim
        self._mine: set[int] = set()  # ids of handed rows not yet settled: a claim of the table skips them
        self._look = True  # whether the table may hold due rows nobody handed over
        self.delivered = 0
        self.observer: DeliveryObserver | None = None  # incident timelines (set by the runtime); never raises

    def wake(self, claimed: Sequence[OutboxRow] = ()) -> None:
        """Something was enqueued: look now instead of at the next poll; deliver `claimed` without a claim."""
        if claimed:
            self._handed.extend(claimed)
            self._mine.update(row.id for row in claimed)
        else:
            self._look = True
        self._wake.set()

    async def run(self, poll: float = 1.0) -> None:
        """Deliver until cancelled.

        Why two sources: rows the alert pipeline hands over were inserted already claimed, so
        they go out at once without a claim transaction; the table is claimed from only when
        someone queued rows without handing them over, after a failed try comes due, or at
        the poll (a crashed node's rows once their claim runs out).
        """
        looked = self._clock.timestamp()
        while True:
            self._wake.clear()
            if self._handed:
                await self._deliver_handed()
                continue
            if self._look:
                self._look = False
                looked = self._clock.timestamp()
                if await self._deliver_claimed():
                    self._look = True  # maybe more than one batch is due
                    continue
            # The next poll is due `poll` after the last look, not after it returned: time that passed
            # during the claim (a jump of the test clock, a slow store) must not push the poll out.
            await sleep_until_or(self._clock, looked + poll, self._wake)
            if not self._wake.is_set():
                self._look = True  # the poll

    async def deliver_due(self) -> int:
        """Deliver what was handed over, then claim and deliver one batch of due rows; how many in all."""
        handed = 0
        while self._handed:
            handed += await self._deliver_handed()
        return handed + await self._deliver_claimed()

    async def _deliver_handed(self) -> int:
        rows = [self._handed.popleft() for _ in range(min(self._concurrency, len(self._handed)))]
        try:
            await asyncio.gather(*(self._deliver(row) for row in rows))
        finally:
            self._mine.difference_update(row.id for row in rows)
        return len(rows)

    async def _deliver_claimed(self) -> int:
        rows = await self._store.claim(self._clock.now(), self._lease_ms, self._concurrency)
        # A handed row's 30 s claim may have run out before its send settles (a clock jump, a send or
        # commit slower than the lease): the table then offers it again, but it is this worker's to send once.
        if others := [row for row in rows if row.id not in self._mine]:
            await asyncio.gather(*(self._deliver(row) for row in others))
        return len(rows)

    async def _deliver(self, row: OutboxRow) -> None:
        integration = self._lookup(row.delivery.receiver, row.delivery.integration)
        now = self._clock.now()
        if integration is None:
            detail = f"receiver {row.delivery.receiver!r} has no integration #{row.delivery.integration} any more"
            await self._store.settle(row.id, Attempt(row.id, now, "permanent", None, 0.0, detail), "dead", None)
            self._settled(row, "failed", detail, now)
            return
        started = time.perf_counter()
        try:
            result = await _send(integration.channel, row.delivery.payload, self._http)
        except RetryableError as exc:
            await self._retry(row, now, started, exc.message, exc.status_code, exc.retry_after)
        except PermanentError as exc:
            attempt = Attempt(row.id, now, "permanent", exc.status_code, _ms(started), exc.message)
            await self._store.settle(row.id, attempt, "dead", None)
            self._settled(row, "failed", exc.message, now)
            log.warning("notification %s to %s failed permanently: %s", row.id, row.delivery.receiver, exc.message)
        except Exception as exc:  # a channel bug is treated as retryable, and logged
            log.exception("channel %s crashed", integration.kind)
            await self._retry(row, now, started, f"{type(exc).__name__}: {exc}", None, None)
        else:
            attempt = Attempt(row.id, now, "delivered", result.status_code, _ms(started), result.detail or "")
            await self._store.settle(row.id, attempt, "delivered", None)
            self.delivered += 1
            self._settled(row, "skipped" if result is SKIPPED else "delivered", "", now)

    async def _retry(
        self, row: OutboxRow, now: datetime, started: float, detail: str, code: int | None, retry_after: float | None
    ) -> None:
        attempts = row.attempts + 1
        attempt = Attempt(row.id, now, "retryable", code, _ms(started), detail)
        if attempts >= self.policy.max_attempts:
            await self._store.settle(row.id, attempt, "dead", None)
            self._settled(row, "failed", detail, now)
            log.warning(
                "notification %s to %s is dead after %d attempts: %s", row.id, row.delivery.receiver, attempts, detail
            )
            return
        next_at = now + self.policy.delay(attempts, retry_after, self._rng)
        await self._store.settle(row.id, attempt, "pending", next_at)

    def _settled(self, row: OutboxRow, outcome: str, error: str, now: datetime) -> None:
        if self.observer is not None:
            self.observer(row.delivery, outcome, error, now)


async def _send(
    channel: Channel | PayloadChannel, payload: dict[str, Any], http: aiohttp.ClientSession
) -> DeliveryResult:
    if isinstance(channel, PayloadChannel):
        return await channel.send_payload(payload, http)
    return await channel.send(decode(payload), http)


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000
