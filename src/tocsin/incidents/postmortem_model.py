"""What a postmortem is made of: its facts (a typed record stored as JSON) and its review states.

Pure: no I/O. `postmortem_facts` gathers the facts from the stores and the SLO engine,
`postmortem` renders them as Markdown, the store keeps the text with a version per save.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum
from typing import Any

from pydantic import TypeAdapter


class PostmortemError(ValueError):
    """A change the postmortem rules refuse; the message says why."""


class PostmortemState(StrEnum):
    """Where the postmortem's review stands."""

    DRAFT = "draft"
    IN_REVIEW = "in_review"
    PUBLISHED = "published"


# Allowed moves: back to draft from review (more work needed) and from published (reopen for edits).
TRANSITIONS: dict[PostmortemState, frozenset[PostmortemState]] = {
    PostmortemState.DRAFT: frozenset({PostmortemState.IN_REVIEW}),
    PostmortemState.IN_REVIEW: frozenset({PostmortemState.DRAFT, PostmortemState.PUBLISHED}),
    PostmortemState.PUBLISHED: frozenset({PostmortemState.DRAFT}),
}

EDITABLE = frozenset({PostmortemState.DRAFT, PostmortemState.IN_REVIEW})


def parse_state(value: str) -> PostmortemState:
    """A state from its name, or a PostmortemError listing the valid ones."""
    try:
        return PostmortemState(value)
    except ValueError:
        raise PostmortemError(f"unknown state {value!r}; use one of {', '.join(PostmortemState)}") from None


def check_transition(current: PostmortemState, target: PostmortemState) -> None:
    """Raise PostmortemError unless `current → target` is an allowed move."""
    if target not in TRANSITIONS[current]:
        allowed = ", ".join(sorted(TRANSITIONS[current]))
        raise PostmortemError(f"cannot go from {current} to {target}; from {current} go to: {allowed}")


def check_editable(state: PostmortemState) -> None:
    """Raise PostmortemError when the text may not be changed in `state` (published is read-only)."""
    if state not in EDITABLE:
        raise PostmortemError("the postmortem is published and read-only; move it back to draft to edit it")


@dataclass(frozen=True, slots=True)
class Affected:
    """A service (page "") or a status-page component the incident affected, and how badly."""

    kind: str  # service, component
    name: str
    impact: str  # degraded_performance, partial_outage, major_outage, under_maintenance
    page: str = ""


@dataclass(frozen=True, slots=True)
class SloSpend:
    """Error budget one SLO spent over the impact window, as a percent of its window's budget."""

    slo: str
    service: str
    objective: float  # percent, as configured
    window: str  # 30d, month (UTC)
    consumed: float  # percent of the budget of the SLO's window
    bad_events: float
    total_events: float
    over_threshold: bool
    why: str  # "service api", "alert in a linked group"


@dataclass(frozen=True, slots=True)
class FirstAlert:
    """The earliest alert of the incident's linked alert groups."""

    group_key: str
    alertname: str
    starts_at: datetime
    summary: str = ""


@dataclass(frozen=True, slots=True)
class Page:
    """One on-call page for a linked alert group: who, how, when and what became of it."""

    user: str
    method: str  # the contact method's channel: email, sms, voice, slack ...
    at: datetime
    status: str  # pending, delivered, dead
    group_key: str


@dataclass(frozen=True, slots=True)
class Ack:
    """An acknowledgement of a linked alert group's page."""

    by: str
    at: datetime
    group_key: str


@dataclass(frozen=True, slots=True)
class Moment:
    """One entry of the curated timeline (hidden entries are left out)."""

    at: datetime
    actor: str
    kind: str
    text: str
    pinned: bool = False


@dataclass(frozen=True, slots=True)
class ActionItem:
    """A follow-up action of the incident."""

    title: str
    kind: str  # mitigate, prevent, detect, process
    status: str  # open, in_progress, done, wont_do
    owner: str | None = None
    due: datetime | None = None


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """An update published on the status pages."""

    at: datetime
    status: str
    body: str


@dataclass(frozen=True, slots=True)
class Durations:
    """The response's key durations in seconds (None when a milestone is unknown)."""

    impact: float | None = None  # the impact window
    to_detect: float | None = None  # impact start → detected
    to_acknowledge: float | None = None  # detected → acknowledged
    to_mitigate: float | None = None  # impact start (or detected) → mitigated
    to_resolve: float | None = None  # impact start (or detected) → resolved


@dataclass(frozen=True, slots=True)
class Facts:
    """Everything the generated parts of a postmortem say, computed when it is (re)generated."""

    incident_id: int
    title: str
    severity: str
    summary: str
    generated_at: datetime
    source: str | None = None  # how the incident was declared
    roles: dict[str, str] = field(default_factory=dict)
    times: dict[str, datetime | None] = field(default_factory=dict)  # the incident's milestones
    window_start: datetime | None = None
    window_end: datetime | None = None
    durations: Durations = field(default_factory=Durations)
    affected: list[Affected] = field(default_factory=list)
    slos: list[SloSpend] = field(default_factory=list)
    threshold: float = 20.0  # percent of a budget above which a postmortem is required
    required: bool = False
    alert_groups: list[str] = field(default_factory=list)
    first_alert: FirstAlert | None = None
    pages: list[Page] = field(default_factory=list)
    acks: list[Ack] = field(default_factory=list)
    timeline: list[Moment] = field(default_factory=list)
    actions: list[ActionItem] = field(default_factory=list)
    updates: list[PublicUpdate] = field(default_factory=list)


_FACTS = TypeAdapter(Facts)


def facts_json(f: Facts) -> dict[str, Any]:
    """The facts as a JSON document (times as ISO 8601 strings)."""
    out: dict[str, Any] = _FACTS.dump_python(f, mode="json")
    return out


def facts_from_json(data: dict[str, Any]) -> Facts:
    """Facts from their stored JSON document."""
    return _FACTS.validate_python(data)


def _seconds(start: datetime | None, end: datetime | None) -> float | None:
    return (end - start).total_seconds() if start is not None and end is not None else None


def impact_window(times: dict[str, datetime | None]) -> tuple[datetime | None, datetime | None]:
    """impact_start (or detected) → resolved (or mitigated)."""
    return times.get("impact_start") or times.get("detected"), times.get("resolved") or times.get("mitigated")


def durations(times: dict[str, datetime | None]) -> Durations:
    """Time to detect, acknowledge, mitigate and resolve, and the impact window's length."""
    start, end = impact_window(times)
    detected = times.get("detected")
    return Durations(
        impact=_seconds(start, end),
        to_detect=_seconds(times.get("impact_start"), detected),
        to_acknowledge=_seconds(detected, times.get("acknowledged")),
        to_mitigate=_seconds(start, times.get("mitigated")),
        to_resolve=_seconds(start, times.get("resolved")),
    )


def human_duration(seconds: float | None) -> str:
    """`2d 3h`, `1h 28m`, `4m 05s`, `45s`; `unknown` for None."""
    if seconds is None:
        return "unknown"
    left = round(max(seconds, 0.0))
    days, left = divmod(left, 86400)
    hours, left = divmod(left, 3600)
    minutes, secs = divmod(left, 60)
    if days:
        return f"{days}d {hours}h" if hours else f"{days}d"
    if hours:
        return f"{hours}h {minutes:02d}m"
    if minutes:
        return f"{minutes}m {secs:02d}s" if secs else f"{minutes}m"
    return f"{secs}s"


def spend_percent(share: float) -> float:
    """A budget share (0.25) as a percent rounded for display and storage (25.0)."""
    return round(share * 100, 4)


def over(consumed_percent: float, threshold: float) -> bool:
    """The error budget policy: more than `threshold` percent of the budget spent."""
    return consumed_percent > threshold
