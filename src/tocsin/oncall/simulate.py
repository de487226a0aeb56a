"""The escalation simulator: who would be told when, and how, if an alert fired and nobody answered; pure.

It runs the real planner (`plan.sends`) over a group that fires at `at` and is never
acknowledged, so schedule handoffs and daylight-saving changes during the escalation are
what they will be. `tocsin oncall simulate --policy P --at T` prints `render(...)`.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import BaseModel

from tocsin.oncall.directory import Directory, Urgency
from tocsin.oncall.escalation import EscalationState, timeline
from tocsin.oncall.model import load_zone
from tocsin.oncall.plan import sends
from tocsin.oncall.rotation import as_utc

FAR = timedelta(days=3650)  # a policy without acknowledgements always ends; this is only an upper bound


class SimulatedSend(BaseModel):
    """One message the policy would send."""

    at: datetime
    after: str  # time since the alert fired, like `+1h05m`
    step: int  # 1-based, as people count steps
    repetition: int  # 0 for the first pass
    user: str
    contact_method: str
    kind: str
    local_time: str  # the person's own wall clock, with its zone abbreviation


class Unanswered(BaseModel):
    """A step that would page nobody: its schedule has a gap then."""

    at: datetime
    step: int
    repetition: int


class Simulation(BaseModel):
    """`GET /api/v1/oncall/policies/{name}/simulate` and the CLI's answer."""

    policy: str
    at: datetime
    urgency: Urgency
    sends: list[SimulatedSend]
    unanswered: list[Unanswered]


def simulate(directory: Directory, policy: str, at: datetime, urgency: Urgency = "high") -> Simulation:
    """Everything the policy would send for an alert firing at `at` that nobody acknowledges."""
    if policy not in directory.policies:
        known = ", ".join(sorted(directory.policies)) or "none"
        raise KeyError(f"no escalation policy {policy!r} (defined: {known})")
    found = directory.policies[policy]
    at = as_utc(at, "at")
    state = EscalationState(at)
    planned = sends(found, state, directory, urgency, at, at + FAR)
    gaps = [
        Unanswered(at=page.due, step=page.step_index + 1, repetition=page.repetition)
        for page in timeline(found, state)
        if not directory.people(page.targets, page.due)
    ]
    return Simulation(
        policy=policy,
        at=at,
        urgency=urgency,
        sends=[
            SimulatedSend(
                at=s.at,
                after=_offset(s.at - at),
                step=s.step + 1,
                repetition=s.repetition,
                user=s.user,
                contact_method=s.method,
                kind=s.kind,
                local_time=_local(s.at, directory.time_zone(s.user)),
            )
            for s in planned
        ],
        unanswered=gaps,
    )


def _offset(delta: timedelta) -> str:
    minutes = int(delta.total_seconds() // 60)
    hours, minutes = divmod(minutes, 60)
    return f"+{hours}h{minutes:02d}m" if hours else f"+{minutes}m"


def _local(at: datetime, time_zone: str) -> str:
    local = at.astimezone(load_zone(time_zone))
    return f"{local:%Y-%m-%d %H:%M} {local.tzname()} ({time_zone})"


def render(sim: Simulation) -> str:
    """The simulation as the table the CLI prints."""
    lines = [f"policy {sim.policy}: an alert at {sim.at:%Y-%m-%d %H:%M} UTC, {sim.urgency} urgency, never acknowledged"]
    rows = [("after", "UTC", "step", "who", "how", "their time")]
    for s in sim.sends:
        step = f"{s.step}" + (f" (pass {s.repetition + 1})" if s.repetition else "")
        rows.append((s.after, f"{s.at:%Y-%m-%d %H:%M}", step, s.user, f"{s.contact_method} ({s.kind})", s.local_time))
    widths = [max(len(row[i]) for row in rows) for i in range(5)]
    lines += ["  ".join(cell.ljust(w) for cell, w in zip(row, widths, strict=False)) + "  " + row[5] for row in rows]
    if not sim.sends:
        lines.append("(nobody would be told: no step reaches anyone with a rule for this urgency)")
    lines += [
        f"warning: step {u.step} at {u.at:%Y-%m-%d %H:%M} UTC pages nobody (a gap in its schedule)"
        for u in sim.unanswered
    ]
    return "\n".join(lines)
