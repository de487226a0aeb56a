"""On-call: schedules of layered rotations and escalation timing, computed by pure functions.

See docs/oncall/schedules.md for how layers, restrictions, overrides and DST behave.
"""

from tocsin.oncall.escalation import (
    EscalationPolicy,
    EscalationState,
    Notification,
    Step,
    Target,
    TargetKind,
    expand_targets,
    next_due,
    notifications,
)
from tocsin.oncall.model import (
    EVERY_DAY,
    OVERRIDE,
    WEEKEND,
    WORKDAYS,
    CalendarLength,
    FixedLength,
    Layer,
    Override,
    Restriction,
    Schedule,
    Shift,
    ShiftLength,
    Unit,
    days,
    fixed,
    hours,
    swap_overrides,
    weeks,
)
from tocsin.oncall.resolve import gaps, shifts, who_is_on_call
from tocsin.oncall.rotation import layer_shifts

__all__ = [
    "EVERY_DAY",
    "OVERRIDE",
    "WEEKEND",
    "WORKDAYS",
    "CalendarLength",
    "EscalationPolicy",
    "EscalationState",
    "FixedLength",
    "Layer",
    "Notification",
    "Override",
    "Restriction",
    "Schedule",
    "Shift",
    "ShiftLength",
    "Step",
    "Target",
    "TargetKind",
    "Unit",
    "days",
    "expand_targets",
    "fixed",
    "gaps",
    "hours",
    "layer_shifts",
    "next_due",
    "notifications",
    "shifts",
    "swap_overrides",
    "weeks",
    "who_is_on_call",
]
