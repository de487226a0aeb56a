"""Which person is told through which contact method when: escalation pages expanded by notification rules; pure.

A page of a step reaches every user its targets name at the page's instant (so a schedule
handoff between two steps pages the new person), through each of the user's rules for the
page's urgency, `delay` after the page. A delayed rule is dropped when the group was
acknowledged or resolved between the page and the rule's instant.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from tocsin.oncall.directory import Directory, Urgency
from tocsin.oncall.escalation import EscalationPolicy, EscalationState, Notification, timeline
from tocsin.oncall.rotation import as_utc


@dataclass(frozen=True, slots=True)
class Send:
    """Tell `user` at `at` through contact method `method` (their `index`th, of `kind`), for one page."""

    at: datetime
    user: str
    method: str
    index: int
    kind: str
    page: Notification

    @property
    def step(self) -> int:
        """The policy step (0-based) whose page this is."""
        return self.page.step_index

    @property
    def repetition(self) -> int:
        """The pass through the policy (0 is the first)."""
        return self.page.repetition


def _interrupted(state: EscalationState, page: datetime, at: datetime) -> bool:
    """True when an acknowledgement or a resolve came after the page and by `at`."""
    if state.resolved_at is not None and as_utc(state.resolved_at) <= at:
        return True
    return any(page < as_utc(ack) <= at for ack in state.acknowledged_at)


def _expanded(
    policy: EscalationPolicy, state: EscalationState, directory: Directory, urgency: Urgency, since: datetime
) -> Iterator[Send]:
    """Every send at or after `since` the history calls for, page by page (one page's sends in rule order)."""
    for page in timeline(policy, state):
        if page.due + directory.max_delay < since:
            continue  # every rule of this page fell before `since`: no need to find its people
        for user in directory.people(page.targets, page.due):
            for rule in directory.rules(user, urgency):
                at = page.due + rule.delay
                if rule.delay and _interrupted(state, page.due, at):
                    continue
                yield Send(at, user, rule.method, rule.index, rule.kind, page)


def sends(
    policy: EscalationPolicy,
    state: EscalationState,
    directory: Directory,
    urgency: Urgency,
    since: datetime,
    until: datetime,
) -> list[Send]:
    """The sends due in [since, until), ordered by instant."""
    since, until = as_utc(since, "since"), as_utc(until, "until")
    found: list[Send] = []
    for send in _expanded(policy, state, directory, urgency, since):
        if send.page.due >= until:
            break
        if since <= send.at < until:
            found.append(send)
    return sorted(found, key=lambda s: s.at)


def next_send_at(
    policy: EscalationPolicy, state: EscalationState, directory: Directory, urgency: Urgency, after: datetime
) -> datetime | None:
    """The instant of the first send at or after `after`, or None when nothing is left to send."""
    after = as_utc(after, "after")
    best: datetime | None = None
    for send in _expanded(policy, state, directory, urgency, after):
        if best is not None and send.page.due > best:
            break  # delays are never negative: later pages cannot send earlier
        if send.at >= after and (best is None or send.at < best):
            best = send.at
    return best
