"""Telling one tocsin user something about an incident, through their on-call contact methods.

A notice goes the way an on-call handoff notice goes: one informational alert addressed to
the receiver `oncall:<user>`, one outbox row per contact method (each method once, delays
ignored), so retries, backoff, idempotency keys and dead letters work as for pages. A user
without contact methods (e.g. a console-only account) gets nothing, which is not an error.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import datetime
from typing import TYPE_CHECKING

from tocsin.alerting.alert import Alert
from tocsin.notify.model import Notification
from tocsin.oncall import messages
from tocsin.oncall.contacts import receiver_of
from tocsin.oncall.directory import Directory
from tocsin.store.alerting import Delivery
from tocsin.store.incidents import Incident, TimelineEntry
from tocsin.store.oncall import OncallStore

if TYPE_CHECKING:
    from tocsin.incidents.service import Listener
    from tocsin.runtime import Runtime

log = logging.getLogger(__name__)

NOTICE_ALERT = "IncidentNotice"
REASON = "incident"  # the outbox row's reason, shown with the delivery in the console


def notice(user: str, subject: str, text: str, url: str, now: datetime, external_url: str) -> Notification:
    """The notification of one notice: an informational alert whose summary is `subject`, with a link."""
    labels = {"alertname": NOTICE_ALERT, "user": user, "severity": "info"}
    annotations = {"summary": subject, "description": text}
    if url:
        annotations["url"] = url
    key = f"incident-notice:{user}:{now.isoformat()}:{subject}"
    return Notification(
        receiver=receiver_of(user),
        group_key=key,
        group_labels={"user": user},
        common_labels=labels,
        common_annotations=annotations,
        alerts=(Alert(labels, now, annotations, None, url),),
        status="firing",
        reason="update",
        external_url=external_url,
        idempotency_key=messages.idempotency_key(key),
        created_at=now,
        links=(("Open", url),) if url else (),
        subject=subject,  # shown as a notice (title and text), not as an alert group
    )


def deliveries(directory: Directory, n: Notification, user: str) -> list[Delivery]:
    """One outbox row per contact method of `user` (low-urgency rules first, else high); none if unknown."""
    rules = directory.rules(user, "low") or directory.rules(user, "high")
    methods = {rule.index: rule.kind for rule in rules}  # each method once, delays ignored
    return [_delivery(messages.delivery(n, index, kind)) for index, kind in methods.items()]


def _delivery(d: Delivery) -> Delivery:
    return Delivery(d.idempotency_key, d.group_key, d.receiver, d.integration, d.channel, REASON, d.payload)


def absolute(external_url: str, path: str) -> str:
    """`path` under `server.external_url` (unchanged when none is set or it is already absolute)."""
    if not external_url or "://" in path:
        return path
    return external_url.rstrip("/") + "/" + path.lstrip("/")


async def notify_user(rt: Runtime, user: str, subject: str, text: str, url: str, now: datetime) -> int:
    """Queue `subject`/`text` (with a link to `url`) to `user` through the outbox; how many deliveries were queued."""
    settings = rt.oncall.settings
    n = notice(user, subject, text, absolute(settings.external_url, url), now, settings.external_url)
    queued = deliveries(settings.directory, n, user)
    if not queued:
        return 0
    await OncallStore(rt.store).save((), [(d, now) for d in queued], now)
    rt.outbox.wake()
    return len(queued)


def assigned(before: Mapping[str, str], after: Mapping[str, str]) -> list[tuple[str, str]]:
    """(role, user) for every role that someone new holds after a change, in role order."""
    return [(role, user) for role, user in sorted(after.items()) if before.get(role) != user]


def role_notices(rt: Runtime) -> Listener:
    """An incident listener that tells each newly assigned person, and timelines whom it told."""

    async def listener(before: Incident, after: Incident) -> None:
        for role, user in assigned(before.roles, after.roles):
            try:
                await _tell(rt, after, role, user)
            except Exception:  # the assignment is stored already; a failed notice must not undo or hide it
                log.exception("could not notify %s of role %s on incident %d", user, role, after.id)

    return listener


async def _tell(rt: Runtime, i: Incident, role: str, user: str) -> None:
    now = i.updated_at
    subject = f"You are {role} of incident #{i.id} ({i.severity}): {i.title}"
    text = f"{i.status} · {i.summary}" if i.summary else f"status: {i.status}"
    sent = await notify_user(rt, user, subject, text, f"/incidents/{i.id}", now)
    what = (
        f"notified {user} ({role}) through {sent} contact method{'s' if sent != 1 else ''}"
        if sent
        else f"{user} ({role}) has no contact methods; not notified"
    )
    entry = TimelineEntry(now, "tocsin", "notified", what, {"user": user, "role": role, "deliveries": sent})
    await rt.incidents.store.add_entries(i.id, [entry], None)
