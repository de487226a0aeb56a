"""View models of on-call for the API and the console (JSON twins); pure functions of config, state and time."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from tocsin.oncall.directory import Directory
from tocsin.oncall.escalation import EscalationPolicy
from tocsin.oncall.ical import schedule_entries
from tocsin.oncall.resolve import shifts, who_is_on_call
from tocsin.oncall.rotation import as_utc, layer_shifts
from tocsin.oncall.state import Escalation

TIMELINE = timedelta(days=14)
NEXT = timedelta(days=28)


class ShiftView(BaseModel):
    """Someone (or nobody, for a gap) on call over [start, end)."""

    user: str | None
    start: datetime
    end: datetime
    layer: str | None = None


class Upcoming(BaseModel):
    """Who takes over next, and when."""

    user: str
    start: datetime


class ScheduleNow(BaseModel):
    """One schedule right now."""

    name: str
    time_zone: str
    on_call: list[str]
    until: datetime | None  # when the current shift (or gap) ends, within four weeks
    next: Upcoming | None


class ServiceNow(BaseModel):
    """One service right now: who its policy's first step pages."""

    name: str
    escalation_policy: str
    maintenance: bool
    first_step: list[str]


class OnCallNow(BaseModel):
    """`GET /api/v1/oncall/now`: who is on call for every schedule and service."""

    at: datetime
    schedules: list[ScheduleNow]
    services: list[ServiceNow]


class LayerView(BaseModel):
    """One layer's own shifts, before higher layers and overrides are applied."""

    name: str
    shifts: list[ShiftView]


class OverrideView(BaseModel):
    """An override that touches the range."""

    user: str
    start: datetime
    end: datetime
    replaces: str | None


class ScheduleTimeline(BaseModel):
    """`GET /api/v1/oncall/schedules/{name}`: the data behind the schedule's SVG timeline."""

    name: str
    time_zone: str
    start: datetime
    end: datetime
    layers: list[LayerView]
    overrides: list[OverrideView]
    final: list[ShiftView]
    gaps: list[ShiftView]


class UserShift(BaseModel):
    """One of a person's shifts, whole (it may begin before the range or end after it)."""

    schedule: str
    start: datetime
    end: datetime
    layers: list[str]


class UserShifts(BaseModel):
    """`GET /api/v1/oncall/shifts`: a person's shifts across every schedule."""

    user: str
    time_zone: str
    start: datetime
    end: datetime
    shifts: list[UserShift]


class EscalationView(BaseModel):
    """One paged alert group's escalation."""

    group_key: str
    incident: int
    policy: str
    service: str | None
    urgency: str
    status: str  # triggered, acknowledged, resolved
    triggered_at: datetime
    step: int  # 1-based step paged last (0: none yet)
    repetition: int
    acknowledged_by: str | None
    acknowledged_at: datetime | None
    ack_expires_at: datetime | None
    resolved_at: datetime | None
    resolved_by: str | None


def _shift(shift: object) -> ShiftView:
    return ShiftView.model_validate(shift, from_attributes=True)


def schedule_now(directory: Directory, name: str, at: datetime) -> ScheduleNow:
    """Who is on call for one schedule at `at`, until when, and who is next."""
    schedule = directory.schedules[name]
    ahead = shifts(schedule, at, at + NEXT)
    current = ahead[0] if ahead else None
    following = next((s for s in ahead[1:] if s.user is not None and s.user != (current and current.user)), None)
    return ScheduleNow(
        name=name,
        time_zone=schedule.time_zone,
        on_call=list(who_is_on_call(schedule, at)),
        until=current.end if current is not None and current.end < at + NEXT else None,
        next=Upcoming(user=following.user, start=following.start) if following and following.user else None,
    )


def on_call_now(directory: Directory, at: datetime) -> OnCallNow:
    """Who is on call now for every schedule, and whom every service's first step pages."""
    services = [
        ServiceNow(
            name=name,
            escalation_policy=service.escalation_policy,
            maintenance=service.maintenance,
            first_step=_first_step(directory, directory.policies.get(service.escalation_policy), at),
        )
        for name, service in directory.services.items()
    ]
    schedules = [schedule_now(directory, name, at) for name in directory.schedules]
    return OnCallNow(at=as_utc(at), schedules=schedules, services=services)


def _first_step(directory: Directory, policy: EscalationPolicy | None, at: datetime) -> list[str]:
    return [] if policy is None else list(directory.people(policy.steps[0].targets, at))


def schedule_timeline(directory: Directory, name: str, start: datetime, end: datetime) -> ScheduleTimeline:
    """A schedule over [start, end): each layer's shifts, the overrides, the final shifts and the gaps."""
    schedule = directory.schedules[name]
    start, end = as_utc(start, "start"), as_utc(end, "end")
    final = [_shift(s) for s in shifts(schedule, start, end)]
    return ScheduleTimeline(
        name=name,
        time_zone=schedule.time_zone,
        start=start,
        end=end,
        layers=[
            LayerView(name=layer.name, shifts=[_shift(s) for s in layer_shifts(layer, start, end)])
            for layer in schedule.layers
        ],
        overrides=[
            OverrideView(user=o.user, start=o.start, end=o.end, replaces=o.replaces)
            for o in schedule.overrides
            if as_utc(o.start) < end and as_utc(o.end) > start
        ],
        final=final,
        gaps=[s for s in final if s.user is None],
    )


def user_shifts(directory: Directory, user: str, start: datetime, end: datetime) -> UserShifts:
    """A person's shifts in every schedule overlapping [start, end), soonest first."""
    found = [
        UserShift(schedule=entry.schedule, start=entry.start, end=entry.end, layers=list(entry.layers))
        for schedule in directory.schedules.values()
        for entry in schedule_entries(schedule, start, end)
        if entry.user == user
    ]
    found.sort(key=lambda s: (s.start, s.schedule))
    return UserShifts(user=user, time_zone=directory.time_zone(user), start=start, end=end, shifts=found)


def escalation_view(esc: Escalation, policy: EscalationPolicy | None, now: datetime) -> EscalationView:
    """One escalation as the API shows it."""
    ack = esc.acks[-1] if esc.acks else None
    return EscalationView(
        group_key=esc.group_key,
        incident=esc.incident,
        policy=esc.policy,
        service=esc.service,
        urgency=esc.urgency,
        status=esc.status(policy, now),
        triggered_at=esc.triggered_at,
        step=esc.step + 1,
        repetition=esc.repetition,
        acknowledged_by=ack.by if ack else None,
        acknowledged_at=ack.at if ack else None,
        ack_expires_at=esc.ack_expires_at(policy),
        resolved_at=esc.resolved_at,
        resolved_by=esc.resolved_by,
    )
