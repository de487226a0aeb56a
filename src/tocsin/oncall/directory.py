"""The on-call config compiled once for fast lookups: schedules, teams, policies, services, users' rules; pure."""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from functools import cached_property
from typing import Literal

from tocsin.oncall.config import OncallConfig, ServiceConfig, UserConfig, schedules_by_name, teams_by_name, to_policy
from tocsin.oncall.escalation import EscalationPolicy, Target, TargetKind, expand_targets
from tocsin.oncall.model import Schedule, Shift
from tocsin.oncall.resolve import shifts
from tocsin.oncall.rotation import as_utc

Urgency = Literal["high", "low"]
LOW_SEVERITIES = frozenset({"warning", "info", "low", "none"})
CACHE_WINDOW = timedelta(days=2)  # how much of a schedule's final shifts is computed at once for lookups


@dataclass(frozen=True, slots=True)
class Rule:
    """Use contact method `method` (number `index` of the user's methods, of `kind`) `delay` after a page."""

    method: str
    index: int
    kind: str
    delay: timedelta


@dataclass(frozen=True)
class Directory:
    """Everything escalation needs to turn a policy's targets into people and their contact methods."""

    schedules: Mapping[str, Schedule] = field(default_factory=dict)
    teams: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    policies: Mapping[str, EscalationPolicy] = field(default_factory=dict)
    services: Mapping[str, ServiceConfig] = field(default_factory=dict)
    users: Mapping[str, UserConfig] = field(default_factory=dict)
    _rules: Mapping[tuple[str, str], tuple[Rule, ...]] = field(default_factory=dict)

    _shifts: dict[str, tuple[list[datetime], list[Shift]]] = field(default_factory=dict)  # per schedule: a window

    def people(self, targets: Sequence[Target], at: datetime) -> tuple[str, ...]:
        """The users `targets` page at `at`, each once (the same answer as `expand_targets`, faster)."""
        users: dict[str, None] = {}
        for target in targets:
            if target.kind is TargetKind.SCHEDULE and target.name in self.schedules:
                found = self.on_call(target.name, at)
                users.update(dict.fromkeys(found))
            else:
                users.update(dict.fromkeys(expand_targets((target,), at, self.schedules, self.teams)))
        return tuple(users)

    def on_call(self, schedule: str, at: datetime) -> tuple[str, ...]:
        """Who schedule `schedule` has on call at `at`, from a cached window of its final shifts."""
        at = as_utc(at)
        starts, pieces = self._shifts.get(schedule) or ([], [])
        if not pieces or not starts[0] <= at < pieces[-1].end:
            pieces = shifts(self.schedules[schedule], at, at + CACHE_WINDOW)
            starts = [piece.start for piece in pieces]
            self._shifts[schedule] = (starts, pieces)
        user = pieces[bisect_right(starts, at) - 1].user
        return () if user is None else (user,)

    def rules(self, user: str, urgency: Urgency) -> tuple[Rule, ...]:
        """How `user` is reached for a page of `urgency` (nothing for an unknown user)."""
        return self._rules.get((user, urgency), ())

    @cached_property
    def max_delay(self) -> timedelta:
        """The longest delay of any notification rule: no send comes later than this after its page."""
        return max((rule.delay for rules in self._rules.values() for rule in rules), default=timedelta(0))

    def time_zone(self, user: str) -> str:
        """The user's time zone (UTC when unknown)."""
        found = self.users.get(user)
        return found.time_zone if found is not None else "UTC"


def user_rules(user: UserConfig, urgency: Urgency) -> tuple[Rule, ...]:
    """The user's rules for `urgency`, resolved to contact-method positions and kinds."""
    methods = {method.name: (index, method.kind) for index, method in enumerate(user.methods())}
    return tuple(
        Rule(rule.contact_method, *methods[rule.contact_method], rule.delay)
        for rule in user.rules(urgency)
        if rule.contact_method in methods
    )


def compile_directory(cfg: OncallConfig) -> Directory:
    """The directory for a validated `oncall:` section."""
    rules = {(u.name, urgency): user_rules(u, urgency) for u in cfg.users for urgency in ("high", "low")}
    return Directory(
        schedules=schedules_by_name(cfg),
        teams=teams_by_name(cfg),
        policies={p.name: to_policy(p) for p in cfg.escalation_policies},
        services={s.name: s for s in cfg.services},
        users={u.name: u for u in cfg.users},
        _rules=rules,
    )


def urgency_of(labels: Mapping[str, str]) -> Urgency:
    """High urgency unless the `severity` label says warning, info, low or none."""
    return "low" if labels.get("severity", "").lower() in LOW_SEVERITIES else "high"
