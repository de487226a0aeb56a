"""Escalation timing: which step pages whom, and when; pure, driven by the group's events.

A policy runs its steps in order, each `delay` after the previous one, `repeat` more times
after the first pass. Acknowledging stops it; when an acknowledgement expires while the
group still fires, the step that was paged last is paged again and escalation carries on
from there. Resolving stops it for good.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import StrEnum

from tocsin.oncall.model import Schedule, require_aware
from tocsin.oncall.resolve import who_is_on_call
from tocsin.oncall.rotation import as_utc


class TargetKind(StrEnum):
    """What a step pages: one user, whoever a schedule has on call, or every team member."""

    USER = "user"
    SCHEDULE = "schedule"
    TEAM = "team"


@dataclass(frozen=True)
class Target:
    """One thing a step pages, by kind and name."""

    kind: TargetKind
    name: str


@dataclass(frozen=True)
class Step:
    """Page `targets`, then wait `delay` before the next step."""

    targets: tuple[Target, ...]
    delay: timedelta

    def __post_init__(self) -> None:
        if not self.targets:
            raise ValueError("an escalation step needs at least one target")
        if self.delay < timedelta(0):
            raise ValueError(f"an escalation delay cannot be negative, got {self.delay}")


@dataclass(frozen=True)
class EscalationPolicy:
    """Steps run in order, then `repeat` more passes; an ack lasts `ack_timeout` (None: forever)."""

    name: str
    steps: tuple[Step, ...]
    repeat: int = 0
    ack_timeout: timedelta | None = None

    def __post_init__(self) -> None:
        if not self.steps:
            raise ValueError(f"escalation policy {self.name!r} needs at least one step")
        if self.repeat < 0:
            raise ValueError("repeat counts extra passes and cannot be negative")
        if self.ack_timeout is not None and self.ack_timeout <= timedelta(0):
            raise ValueError("ack_timeout must be longer than zero (leave it unset to never expire)")


@dataclass(frozen=True)
class EscalationState:
    """What has happened to one alert group: when it fired, was acknowledged, was resolved."""

    triggered_at: datetime
    acknowledged_at: tuple[datetime, ...] = ()
    resolved_at: datetime | None = None

    def __post_init__(self) -> None:
        require_aware(self.triggered_at, "triggered_at")
        for ack in self.acknowledged_at:
            require_aware(ack, "acknowledged_at")
        if self.resolved_at is not None:
            require_aware(self.resolved_at, "resolved_at")


@dataclass(frozen=True)
class Notification:
    """Page `targets` of step `step_index` at `due`, in pass `repetition` (0 is the first)."""

    due: datetime
    step_index: int
    targets: tuple[Target, ...]
    repetition: int = 0
    resumed: bool = False  # True when an expired acknowledgement brought this page back


def timeline(policy: EscalationPolicy, state: EscalationState) -> Iterator[Notification]:
    """Every page the group's history calls for, in order of `due`."""
    triggered = as_utc(state.triggered_at)
    acks = deque(sorted(a for a in map(as_utc, state.acknowledged_at) if a >= triggered))
    resolved = None if state.resolved_at is None else as_utc(state.resolved_at)
    count, total = len(policy.steps), len(policy.steps) * (policy.repeat + 1)
    position, due, resumed = 0, triggered, False
    while True:
        # An ack at or before the next page silences it (acks are taken in time order).
        if acks and (position >= total or acks[0] <= due):
            expiry = _expiry(acks, policy.ack_timeout)
            if expiry is None:
                return
            position, due, resumed = max(position - 1, 0), expiry, True
            continue
        if position >= total or (resolved is not None and due >= resolved):
            return
        step = policy.steps[position % count]
        yield Notification(due, position % count, step.targets, position // count, resumed)
        position, due, resumed = position + 1, due + step.delay, False


def _expiry(acks: deque[datetime], timeout: timedelta | None) -> datetime | None:
    """When the ack at the head of `acks` lapses; acks made while it holds restart the timer."""
    expiry = acks.popleft()
    if timeout is None:
        return None
    expiry += timeout
    while acks and acks[0] < expiry:
        expiry = acks.popleft() + timeout
    return expiry


def notifications(
    policy: EscalationPolicy, state: EscalationState, since: datetime, until: datetime
) -> list[Notification]:
    """The pages due in [since, until), in order."""
    since, until = as_utc(since, "since"), as_utc(until, "until")
    due: list[Notification] = []
    for notification in timeline(policy, state):
        if notification.due >= until:
            break
        if notification.due >= since:
            due.append(notification)
    return due


def next_due(policy: EscalationPolicy, state: EscalationState, now: datetime) -> Notification | None:
    """The first page due at or after `now`, or None when escalation has nothing left."""
    now = as_utc(now, "now")
    return next((n for n in timeline(policy, state) if n.due >= now), None)


def expand_targets(
    targets: Sequence[Target],
    at: datetime,
    schedules: Mapping[str, Schedule],
    teams: Mapping[str, Sequence[str]],
) -> tuple[str, ...]:
    """The users `targets` page at `at`, each once, in target order."""
    users: dict[str, None] = {}
    for target in targets:
        users.update(dict.fromkeys(_users_of(target, at, schedules, teams)))
    return tuple(users)


def _users_of(
    target: Target,
    at: datetime,
    schedules: Mapping[str, Schedule],
    teams: Mapping[str, Sequence[str]],
) -> Sequence[str]:
    """The users one target pages at `at`; an unknown schedule or team is an error."""
    if target.kind is TargetKind.USER:
        return (target.name,)
    found = schedules if target.kind is TargetKind.SCHEDULE else teams
    if target.name not in found:
        raise ValueError(f"escalation target {target.kind} {target.name!r} does not exist")
    if target.kind is TargetKind.SCHEDULE:
        return who_is_on_call(schedules[target.name], at)
    return teams[target.name]
