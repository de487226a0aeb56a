"""The `incidents:` section: severities, roles, who hears internal updates, update templates,
reminders, automatic declaration rules, the follow-up actions webhook and postmortem rules.

Every key has a default, so a config without the section gets SEV1-SEV4, the three standard
roles, a 30-minute update reminder and no automatic declaration.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from typing import Any, Literal

from pydantic import Field, HttpUrl

from tocsin.config.duration import Duration
from tocsin.config.errors import KeyPath, located_error
from tocsin.config.models import Strict

LEVEL = r"^[A-Za-z0-9][A-Za-z0-9_\-]{0,7}$"  # at most 8: incidents.severity is String(8)
ROLE = r"^[a-z][a-z0-9_]{0,31}$"


class SeverityLevel(Strict):
    """One severity; the list's order is the order of badness (first is worst)."""

    name: str = Field(pattern=LEVEL)
    description: str = ""


class RoleSpec(Strict):
    """One incident role; assigning someone to it notifies them."""

    name: str = Field(pattern=ROLE)
    description: str = ""


class UpdateTemplate(Strict):
    """A starting text for an update, offered in the console and named in the API.

    `body` may use `{title}`, `{severity}`, `{status}`, `{components}`, `{url}` and `{id}`.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    audience: Literal["internal", "public"] = "public"
    status: Literal["investigating", "identified", "monitoring", "resolved"] | None = None
    body: str = Field(min_length=1, max_length=5000)


class ActionsWebhook(Strict):
    """Where follow-up actions are POSTed (e.g. a small service that opens tickets)."""

    url: HttpUrl
    headers: dict[str, str] = Field(default_factory=dict)


class DeclareRule(Strict):
    """Declare an incident when an alert group matching all `matchers` starts firing."""

    name: str = Field(pattern=r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,63}$")
    matchers: list[str] = Field(min_length=1)  # Alertmanager matchers: 'service="api"', 'severity=~"page|critical"'
    severity: str


DEFAULT_SEVERITIES = (
    SeverityLevel(name="SEV1", description="critical: a core service is down or data is at risk for many customers"),
    SeverityLevel(name="SEV2", description="major: a core feature is degraded or down for some customers"),
    SeverityLevel(name="SEV3", description="minor: a non-core feature is affected or a workaround exists"),
    SeverityLevel(name="SEV4", description="low: little or no customer impact; worth tracking"),
)

DEFAULT_ROLES = (
    RoleSpec(name="commander", description="incident commander: coordinates the response and decides"),
    RoleSpec(name="communications", description="communications lead: updates stakeholders and status pages"),
    RoleSpec(name="scribe", description="scribe: keeps the timeline"),
)


class IncidentsConfig(Strict):
    """How incidents are run here."""

    severities: list[SeverityLevel] = Field(default_factory=lambda: list(DEFAULT_SEVERITIES), min_length=1)
    roles: list[RoleSpec] = Field(default_factory=lambda: list(DEFAULT_ROLES), min_length=1)
    audience: list[str] = Field(default_factory=list)  # alerting receivers that get internal updates
    update_reminder: Duration | None = timedelta(minutes=30)  # remind the commander after this long without an update
    templates: list[UpdateTemplate] = Field(default_factory=list)
    declare: list[DeclareRule] = Field(default_factory=list)
    declare_on_slo_page: str | None = None  # severity to declare with when an SLO page alert fires; None: never
    actions_webhook: ActionsWebhook | None = None
    postmortem_budget_threshold: float = Field(default=20.0, gt=0, le=100)  # % of an SLO's budget → required


def check_incidents(cfg: IncidentsConfig, alerting: Mapping[str, Any], path: KeyPath = ("incidents",)) -> None:
    """Raise a located error for duplicate names, unknown severities and unknown audience receivers."""
    problems: list[tuple[KeyPath, str]] = []
    problems += _duplicates([s.name for s in cfg.severities], (*path, "severities"), "severity")
    problems += _duplicates([r.name for r in cfg.roles], (*path, "roles"), "role")
    problems += _duplicates([t.name for t in cfg.templates], (*path, "templates"), "template")
    problems += _duplicates([d.name for d in cfg.declare], (*path, "declare"), "declare rule")
    if "commander" not in {r.name for r in cfg.roles}:
        problems.append(((*path, "roles"), "the roles must include commander (reminders and postmortems need one)"))
    levels = [s.name for s in cfg.severities]
    for index, rule in enumerate(cfg.declare):
        problems += _unknown(rule.severity, levels, (*path, "declare", index, "severity"), "severity")
    if cfg.declare_on_slo_page is not None:
        problems += _unknown(cfg.declare_on_slo_page, levels, (*path, "declare_on_slo_page"), "severity")
    receivers = alerting.get("receivers") if isinstance(alerting, Mapping) else None
    names = [r.get("name") for r in receivers if isinstance(r, Mapping)] if isinstance(receivers, list) else []
    for index, name in enumerate(cfg.audience):
        problems += _unknown(name, [str(n) for n in names], (*path, "audience", index), "alerting receiver")
    if problems:
        raise located_error(problems)


def _duplicates(names: Sequence[str], path: KeyPath, noun: str) -> list[tuple[KeyPath, str]]:
    seen: set[str] = set()
    found: list[tuple[KeyPath, str]] = []
    for index, name in enumerate(names):
        if name in seen:
            found.append(((*path, index, "name"), f"{noun} {name!r} is defined twice; names must be unique"))
        seen.add(name)
    return found


def _unknown(value: str, known: Sequence[str], path: KeyPath, noun: str) -> list[tuple[KeyPath, str]]:
    if value in known:
        return []
    return [(path, f"no {noun} is called {value!r}; known: {', '.join(known) or 'none'}")]
