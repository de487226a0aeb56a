"""The enqueue stage: record what is notified and queue its delivery, in one transaction."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Literal

from tocsin.alerting.alert import Alert
from tocsin.notify.model import Notification, Reason, for_channel
from tocsin.notify.outbox import LEASE, Wake, encode
from tocsin.pipeline.dedup import LogEntry
from tocsin.pipeline.stage import Flush
from tocsin.store.alerting import AlertStore, Delivery


def common(maps: Sequence[Mapping[str, str]]) -> dict[str, str]:
    """The pairs every mapping shares (Alertmanager's commonLabels / commonAnnotations)."""
    if not maps:
        return {}
    shared = dict(maps[0])
    for m in maps[1:]:
        shared = {k: v for k, v in shared.items() if m.get(k) == v}
    return shared


def idempotency_key(flush: Flush) -> str:
    """Stable for one flush of one group to one integration: a retried request carries the same key."""
    fingerprints = ",".join(sorted(a.fingerprint for a in flush.alerts))
    raw = f"{flush.group_key}|{flush.receiver}|{flush.integration}|{flush.now.isoformat()}|{fingerprints}"
    return hashlib.sha256(raw.encode()).hexdigest()[:40]


def notification(flush: Flush, external_url: str) -> Notification:
    """The notification a flush describes."""
    alerts: tuple[Alert, ...] = flush.alerts
    status: Literal["firing", "resolved"] = "firing" if flush.firing() else "resolved"
    reason: Reason = flush.reason if flush.reason in ("new", "update", "repeat", "resolved") else "update"  # type: ignore[assignment]
    return Notification(
        receiver=flush.receiver,
        group_key=flush.group_key,
        group_labels=dict(flush.group_labels),
        common_labels=common([a.labels for a in alerts]),
        common_annotations=common([a.annotations for a in alerts]),
        alerts=alerts,
        status=status,
        reason=reason,
        external_url=external_url,
        idempotency_key=idempotency_key(flush),
        created_at=flush.now,
    )


CLAIM_MS = int(LEASE.total_seconds() * 1000)


class Enqueue:
    """Writes the notification-log entry and (unless there is nothing to say) the outbox row.

    The row is inserted already claimed by this process and handed to the outbox worker, so
    a notification costs one transaction between the flush and the send; the durable row is
    what makes it at-least-once (a crash leaves it pending, due again when the claim ends).
    """

    def __init__(
        self, store: AlertStore, external_url: Callable[[], str], wake: Wake, now: Callable[[], datetime]
    ) -> None:
        self._store, self._external_url, self._wake, self._now = store, external_url, wake, now

    async def __call__(self, flush: Flush) -> Flush | None:
        """Commit, then hand the row to the outbox worker."""
        entry = LogEntry(
            frozenset(a.fingerprint for a in flush.firing()),
            frozenset(a.fingerprint for a in flush.resolved()),
            flush.now,
        )
        n = for_channel(notification(flush, self._external_url()), flush.send_resolved)
        delivery = None
        if n is not None:
            delivery = Delivery(
                n.idempotency_key,
                flush.group_key,
                flush.receiver,
                flush.integration,
                flush.channel,
                n.reason,
                encode(n),
            )
        key = (flush.group_key, flush.receiver, flush.integration)
        # The claim runs from the clock, not from the flush's logical time: a flush that ran late (a
        # backlog, a slow commit) would otherwise insert a claim already near its end, and the poll
        # of another node could take the row while this one is still sending it.
        claimed_from = max(flush.now, self._now())
        row = await self._store.enqueue(key, entry, delivery, flush.now, CLAIM_MS, claimed_from)
        if row is not None:
            self._wake((row,))
        return flush
