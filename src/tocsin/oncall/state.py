"""What tocsin keeps per paged alert group: its escalation's history and progress; pure values."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Literal

from tocsin.oncall.escalation import EscalationPolicy, EscalationState

Status = Literal["triggered", "acknowledged", "resolved"]


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement: who, and when."""

    at: datetime
    by: str


@dataclass(frozen=True, slots=True)
class Escalation:
    """One occurrence (`incident`) of an alert group being paged through `policy`."""

    group_key: str
    incident: int
    policy: str
    receiver: str
    service: str | None
    urgency: Literal["high", "low"]
    triggered_at: datetime
    sent_until: datetime  # every send due before this instant is in the outbox
    group_labels: Mapping[str, str] = field(default_factory=dict)
    acks: tuple[Ack, ...] = ()
    resolved_at: datetime | None = None
    resolved_by: str | None = None
    step: int = -1  # the step paged last
    repetition: int = 0

    @property
    def active(self) -> bool:
        """True until resolved."""
        return self.resolved_at is None

    def core(self) -> EscalationState:
        """The history as the pure escalation timeline reads it."""
        return EscalationState(self.triggered_at, tuple(a.at for a in self.acks), self.resolved_at)

    def ack_in_force(self, policy: EscalationPolicy | None, now: datetime) -> Ack | None:
        """The acknowledgement holding at `now` (the latest one, unless its `ack_timeout` ran out)."""
        past = [a for a in self.acks if a.at <= now]
        if not past or not self.active:
            return None
        latest = past[-1]
        timeout = policy.ack_timeout if policy is not None else None
        return latest if timeout is None or now < latest.at + timeout else None

    def ack_expires_at(self, policy: EscalationPolicy | None) -> datetime | None:
        """When the latest acknowledgement lapses (None: never, or not acknowledged)."""
        if not self.acks or policy is None or policy.ack_timeout is None:
            return None
        return self.acks[-1].at + policy.ack_timeout

    def status(self, policy: EscalationPolicy | None, now: datetime) -> Status:
        """Triggered, acknowledged (an ack in force) or resolved, at `now`."""
        if not self.active:
            return "resolved"
        return "acknowledged" if self.ack_in_force(policy, now) is not None else "triggered"

    def acknowledged(self, at: datetime, by: str) -> Escalation:
        """This escalation with one more acknowledgement."""
        return replace(self, acks=(*self.acks, Ack(at, by)))

    def resolved(self, at: datetime, by: str) -> Escalation:
        """This escalation resolved at `at` by `by` (unchanged when already resolved)."""
        return self if not self.active else replace(self, resolved_at=at, resolved_by=by)


def retrigger(previous: Escalation | None, fresh: Escalation) -> Escalation:
    """`fresh` numbered after `previous` (a trigger after a resolve is a new incident)."""
    return replace(fresh, incident=1 if previous is None else previous.incident + 1)


def progress(esc: Escalation, step: int, repetition: int, until: datetime) -> Escalation:
    """`esc` after its sends up to `until` went out, the last one for `step` of pass `repetition`."""
    return replace(esc, step=step, repetition=repetition, sent_until=until)
