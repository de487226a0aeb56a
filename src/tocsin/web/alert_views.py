"""View models for alert groups, notification history, silences and maintenance (JSON and HTML)."""

from __future__ import annotations

from collections import Counter
from datetime import datetime
from typing import Any

from pydantic import BaseModel

from tocsin.alerting.alert import Alert
from tocsin.alerting.dispatch import Group
from tocsin.alerting.silence import Silence
from tocsin.labels import format_matchers, matches
from tocsin.pipeline.engine import AlertEngine, AlertStatus
from tocsin.store.alerting import AlertStore, Attempt, OutboxRow


class AlertView(BaseModel):
    """One alert with how the pipeline treats it now."""

    fingerprint: str
    labels: dict[str, str]
    annotations: dict[str, str]
    starts_at: datetime
    ends_at: datetime | None
    state: str  # firing or resolved
    suppressed: bool
    silenced_by: list[str]
    inhibited_by: list[str]
    maintenance: list[str]
    receivers: list[str]


class GroupView(BaseModel):
    """An aggregation group: what is notified, escalated and later acknowledged."""

    key: str
    receiver: str
    labels: dict[str, str]
    state: str  # firing, silenced, inhibited, maintenance, resolved
    firing: int
    resolved: int
    since: datetime | None
    next_flush: datetime
    alerts: list[AlertView]


class GroupList(BaseModel):
    """`GET /api/v1/alerts/groups` and the alerts page."""

    groups: list[GroupView]
    counts: dict[str, int]


class AttemptView(BaseModel):
    """One delivery attempt."""

    at: datetime
    outcome: str
    status_code: int | None
    latency_ms: float
    detail: str


class DeliveryView(BaseModel):
    """One notification to one channel, with every attempt."""

    id: int
    group_key: str
    receiver: str
    integration: int
    channel: str
    reason: str
    status: str
    attempts: int
    created_at: datetime
    next_attempt_at: datetime
    delivered_at: datetime | None
    last_error: str | None
    history: list[AttemptView] = []


class GroupDetail(BaseModel):
    """A group with its notification history."""

    group: GroupView
    deliveries: list[DeliveryView]


class DeliveryList(BaseModel):
    """The notifications page (dead letters first) and `GET /api/v1/notifications`."""

    deliveries: list[DeliveryView]
    counts: dict[str, int]


class SilenceView(BaseModel):
    """A silence with its state and how many current alerts it mutes."""

    id: str
    matchers: str
    starts_at: datetime
    ends_at: datetime
    created_by: str
    comment: str
    state: str
    updated_at: datetime
    matching: int


class SilenceList(BaseModel):
    """The silences page and `GET /api/v1/silences`."""

    silences: list[SilenceView]


class OccurrenceView(BaseModel):
    """One occurrence of a maintenance window."""

    start: datetime
    end: datetime


class MaintenanceView(BaseModel):
    """A maintenance window with whether it is active and its next occurrences."""

    name: str
    description: str
    scope: str
    recurring: str | None
    time_zone: str
    active: bool
    next: list[OccurrenceView]


class MaintenanceList(BaseModel):
    """The maintenance page and `GET /api/v1/maintenance`."""

    windows: list[MaintenanceView]


class SilencePreview(BaseModel):
    """What a silence with these matchers would mute right now."""

    matchers: str
    alerts: list[AlertView]


def alert_views(engine: AlertEngine, alerts: list[Alert], now: datetime) -> list[AlertView]:
    """Alerts with their pipeline status, computed in one batch."""
    return [_alert_view(a, st, now) for a, st in zip(alerts, engine.statuses(alerts, now), strict=True)]


def alert_view(engine: AlertEngine, alert: Alert, now: datetime) -> AlertView:
    """One alert with its pipeline status."""
    return alert_views(engine, [alert], now)[0]


def _alert_view(alert: Alert, status: AlertStatus, now: datetime) -> AlertView:
    return AlertView(
        fingerprint=alert.fingerprint,
        labels=dict(alert.labels),
        annotations=dict(alert.annotations),
        starts_at=alert.starts_at,
        ends_at=alert.ends_at,
        state="resolved" if alert.resolved_at(now) else "firing",
        suppressed=status.state == "suppressed",
        silenced_by=list(status.silenced_by),
        inhibited_by=list(status.inhibited_by),
        maintenance=list(status.maintenance),
        receivers=list(status.receivers),
    )


def _group_state(alerts: list[AlertView]) -> str:
    firing = [a for a in alerts if a.state == "firing"]
    if not firing:
        return "resolved"
    if any(not a.suppressed for a in firing):
        return "firing"
    if all(a.maintenance for a in firing):
        return "maintenance"
    return "silenced" if all(a.silenced_by for a in firing) else "inhibited"


def group_view(engine: AlertEngine, group: Group, now: datetime) -> GroupView:
    """A group as the API and console show it."""
    alerts = sorted(alert_views(engine, list(group.alerts.values()), now), key=lambda a: a.starts_at)
    firing = [a for a in alerts if a.state == "firing"]
    return GroupView(
        key=group.key,
        receiver=group.receiver,
        labels=dict(group.labels),
        state=_group_state(alerts),
        firing=len(firing),
        resolved=len(alerts) - len(firing),
        since=min((a.starts_at for a in firing), default=None),
        next_flush=datetime.fromtimestamp(group.next_flush, now.tzinfo),
        alerts=alerts,
    )


_ORDER = {"firing": 0, "inhibited": 1, "silenced": 2, "maintenance": 3, "resolved": 4}


def group_list(engine: AlertEngine, now: datetime, state: str | None = None) -> GroupList:
    """Every group, firing first, then by age."""
    views = [group_view(engine, g, now) for g in engine.dispatcher.groups.values()]
    counts = Counter(v.state for v in views)
    shown = [v for v in views if state is None or v.state == state]
    shown.sort(key=lambda v: (_ORDER[v.state], v.since or now, v.key))
    return GroupList(groups=shown, counts={s: counts.get(s, 0) for s in _ORDER})


def delivery_view(row: OutboxRow, attempts: list[Attempt]) -> DeliveryView:
    """An outbox row with its attempts."""
    d = row.delivery
    return DeliveryView(
        id=row.id,
        group_key=d.group_key,
        receiver=d.receiver,
        integration=d.integration,
        channel=d.channel,
        reason=d.reason,
        status=row.status,
        attempts=row.attempts,
        created_at=row.created_at,
        next_attempt_at=row.next_attempt_at,
        delivered_at=row.delivered_at,
        last_error=row.last_error,
        history=[AttemptView(**{k: getattr(a, k) for k in AttemptView.model_fields}) for a in attempts],
    )


async def deliveries(store: AlertStore, **filters: Any) -> list[DeliveryView]:
    """Outbox rows with their attempts, newest first."""
    rows = await store.deliveries(**filters)
    attempts = await store.attempts([r.id for r in rows])
    by_row: dict[int, list[Attempt]] = {}
    for a in attempts:
        by_row.setdefault(a.outbox_id, []).append(a)
    return [delivery_view(r, by_row.get(r.id, [])) for r in rows]


def silence_view(engine: AlertEngine, silence: Silence, updated_at: datetime, now: datetime) -> SilenceView:
    """A silence with the number of current alerts it matches."""
    matching = sum(1 for s in engine.alerts.values() if matches(silence.matchers, s.alert.labels))
    return SilenceView(
        id=silence.id,
        matchers=format_matchers(silence.matchers),
        starts_at=silence.starts_at,
        ends_at=silence.ends_at,
        created_by=silence.created_by,
        comment=silence.comment,
        state=silence.state(now),
        updated_at=updated_at,
        matching=matching,
    )


def silence_list(engine: AlertEngine, now: datetime) -> SilenceList:
    """Active and pending silences first, then expired ones, newest first."""
    views = [silence_view(engine, s, u, now) for s, u in engine.silences.values()]
    rank = {"active": 0, "pending": 1, "expired": 2}
    views.sort(key=lambda v: (rank.get(v.state, 3), -v.updated_at.timestamp()))
    return SilenceList(silences=views)


def maintenance_list(engine: AlertEngine, now: datetime) -> MaintenanceList:
    """Configured windows with their next occurrences."""
    out = []
    for w in engine.setup.maintenance:
        scope = ", ".join(
            [*(f"monitor {m}" for m in w.monitors), *([format_matchers(w.matchers)] if w.matchers else [])]
        )
        out.append(
            MaintenanceView(
                name=w.name,
                description=w.description,
                scope=scope,
                recurring=w.rrule,
                time_zone=w.time_zone,
                active=w.occurrence_at(now) is not None,
                next=[OccurrenceView(start=s, end=e) for s, e in w.next_occurrences(now, 5)],
            )
        )
    return MaintenanceList(windows=out)
