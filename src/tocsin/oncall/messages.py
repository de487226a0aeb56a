"""What a person is sent: an escalation page (alerts plus acknowledge/resolve links) or a handoff notice."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime
from urllib.parse import quote

from tocsin.alerting.alert import Alert
from tocsin.notify.model import Notification
from tocsin.notify.outbox import encode
from tocsin.oncall.contacts import receiver_of
from tocsin.oncall.handoff import Handoff
from tocsin.oncall.plan import Send
from tocsin.oncall.state import Escalation
from tocsin.pipeline.enqueue import common
from tocsin.store.alerting import Delivery

HANDOFF_ALERT = "OnCallHandoff"


def idempotency_key(*parts: object) -> str:
    """A stable key for one send: retries and a second node computing the same send agree on it."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40]


def ack_url(external_url: str, token: str) -> str:
    """The one-click page for a token (relative when no `server.external_url` is set)."""
    return f"{external_url.rstrip('/')}/ack/{quote(token, safe='')}"


def page(
    esc: Escalation,
    alerts: Sequence[Alert],
    send: Send,
    now: datetime,
    external_url: str,
    links: Sequence[tuple[str, str]],
) -> Notification:
    """The notification of one escalation send."""
    key = idempotency_key(esc.group_key, esc.incident, send.page.due.isoformat(), send.page.resumed, send.user, send.at)
    return Notification(
        receiver=receiver_of(send.user),
        group_key=esc.group_key,
        group_labels=dict(esc.group_labels),
        common_labels=common([a.labels for a in alerts]),
        common_annotations=common([a.annotations for a in alerts]),
        alerts=tuple(alerts),
        status="firing",
        reason="escalation",
        external_url=external_url,
        idempotency_key=key,
        created_at=now,
        links=tuple(links),
    )


def handoff_notice(handoff: Handoff, text: str, external_url: str) -> Notification:
    """The notification of a handoff, as one informational alert the templates already know how to show."""
    labels = {"alertname": HANDOFF_ALERT, "schedule": handoff.schedule, "user": handoff.user, "severity": "info"}
    alert = Alert(labels, handoff.start, {"summary": text}, handoff.end)
    key = f"oncall-handoff:{handoff.schedule}:{handoff.user}:{handoff.start.isoformat()}"
    return Notification(
        receiver=receiver_of(handoff.user),
        group_key=key,
        group_labels={"schedule": handoff.schedule},
        common_labels=labels,
        common_annotations={"summary": text},
        alerts=(alert,),
        status="firing",
        reason="handoff",
        external_url=external_url,
        idempotency_key=idempotency_key(key),
        created_at=handoff.notify_at,
    )


def delivery(n: Notification, index: int, kind: str) -> Delivery:
    """The outbox row for `n` through contact method `index` (of `kind`) of its receiver."""
    key = idempotency_key(n.idempotency_key, index)
    return Delivery(key, n.group_key, n.receiver, index, kind, n.reason, encode(_keyed(n, key)))


def _keyed(n: Notification, key: str) -> Notification:
    """`n` carrying the per-method key, so each method's retries have an `Idempotency-Key` of their own."""
    return replace(n, idempotency_key=key)
