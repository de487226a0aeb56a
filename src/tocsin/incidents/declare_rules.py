"""Which alert groups declare an incident by themselves: pure rules, no I/O.

Three kinds of rule can ask for an incident when a group starts firing: the route's
`declare_incident: SEV1` (a tocsin key on Alertmanager routes), the `incidents.declare` rules
(matchers against any firing alert of the group) and `incidents.declare_on_slo_page` (an SLO's
page burn-rate alert). When several match, the worst severity wins; on a tie the route comes
first, then the rules in config order, then the SLO page. Matchers are the routes' own
(`tocsin.labels`), so `severity=~"page|critical"` means here what it means in a route.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.alerting.alert import Alert
from tocsin.config.errors import KeyPath, located_error
from tocsin.incidents.config import IncidentsConfig
from tocsin.labels import Matcher, MatcherError, format_matchers, matches, parse_matchers

TITLE_MAX = 300
SUMMARY_ALERTS = 20  # alerts listed in the summary of a declared incident
SLO_PAGE = "page"  # the severity label of an SLO's fast-burn alert (tocsin.slo.math)


@dataclass(frozen=True, slots=True)
class Rule:
    """One compiled `incidents.declare` rule."""

    name: str
    matchers: tuple[Matcher, ...]
    severity: str


@dataclass(frozen=True, slots=True)
class DeclareRules:
    """The config's declaration rules, compiled; `severities` is worst first."""

    severities: tuple[str, ...] = ()
    rules: tuple[Rule, ...] = ()
    slo_page: str | None = None


@dataclass(frozen=True, slots=True)
class Decision:
    """Declare an incident of `severity`; `source` says why: `route`, `rule:<name>` or `slo:<name>`."""

    severity: str
    source: str


def compile_rules(cfg: IncidentsConfig) -> DeclareRules:
    """The rules of a validated `incidents:` section."""
    rules = tuple(Rule(r.name, _matchers(r.matchers), r.severity) for r in cfg.declare)
    return DeclareRules(tuple(s.name for s in cfg.severities), rules, cfg.declare_on_slo_page)


def _matchers(texts: Sequence[str]) -> tuple[Matcher, ...]:
    return tuple(m for text in texts for m in parse_matchers(text))


def slo_page_of(labels: Mapping[str, str], slos: Mapping[str, str]) -> str | None:
    """The SLO whose page alert these labels are (`slos` maps SLO name → its alert name), or None."""
    name = labels.get("slo")
    if name is None or slos.get(name) != labels.get("alertname") or labels.get("severity") != SLO_PAGE:
        return None
    return name


def decide(
    rules: DeclareRules,
    route_severity: str | None,
    firing: Sequence[Mapping[str, str]],
    slos: Mapping[str, str],
) -> Decision | None:
    """Whether a group whose firing alerts carry these labels declares an incident, and how."""
    found = list(_candidates(rules, route_severity, firing, slos))
    if not found:
        return None
    worst = {name: rank for rank, name in enumerate(rules.severities)}
    return min(found, key=lambda d: worst.get(d.severity, len(worst)))  # min() keeps the first of a tie


def _candidates(
    rules: DeclareRules, route_severity: str | None, firing: Sequence[Mapping[str, str]], slos: Mapping[str, str]
) -> Iterator[Decision]:
    if not firing:
        return
    if route_severity:
        yield Decision(route_severity, "route")
    for rule in rules.rules:
        if any(matches(rule.matchers, labels) for labels in firing):
            yield Decision(rule.severity, f"rule:{rule.name}")
    if rules.slo_page is not None:
        for labels in firing:
            if (name := slo_page_of(labels, slos)) is not None:
                yield Decision(rules.slo_page, f"slo:{name}")
                return


def title(firing: Sequence[Alert]) -> str:
    """A title from the group's firing alerts: `ApiDown: API is down (3 alerts)`."""
    names = sorted({a.labels.get("alertname", "") for a in firing} - {""})
    head = ", ".join(names[:3]) + (f" and {len(names) - 3} more" if len(names) > 3 else "")
    first = min(firing, key=lambda a: a.starts_at) if firing else None
    summary = first.annotations.get("summary", "") if first is not None else ""
    text = f"{head or 'Alerts firing'}: {summary}" if summary and len(names) <= 1 else head or "Alerts firing"
    if len(firing) > 1:
        text += f" ({len(firing)} alerts)"
    return text if len(text) <= TITLE_MAX else text[: TITLE_MAX - 1] + "…"


def summary(decision: Decision, group_key: str, firing: Sequence[Alert]) -> str:
    """The declared incident's summary: why it was declared and the alerts that were firing."""
    lines = [f"Declared automatically ({decision.source}) when alert group {group_key} started firing."]
    if firing:
        lines.append("")
    for a in sorted(firing, key=lambda a: a.starts_at)[:SUMMARY_ALERTS]:
        note = a.annotations.get("summary", "")
        lines.append(f"- {format_matchers(_equal(a.labels))}" + (f": {note}" if note else ""))
    if len(firing) > SUMMARY_ALERTS:
        lines.append(f"- … and {len(firing) - SUMMARY_ALERTS} more")
    return "\n".join(lines)


def _equal(labels: Mapping[str, str]) -> list[Matcher]:
    return [Matcher(name, "=", value) for name, value in sorted(labels.items())]


# validation at config load


def check_declare(alerting: Mapping[str, Any], cfg: IncidentsConfig) -> None:
    """Raise a located error for a route's `declare_incident` naming an unknown severity or a bad rule matcher."""
    levels = [s.name for s in cfg.severities]
    problems: list[tuple[KeyPath, str]] = []
    route = alerting.get("route") if isinstance(alerting, Mapping) else None
    for path, value in _route_flags(route, ("alerting", "route")):
        if isinstance(value, str) and value not in levels:
            known = ", ".join(levels)
            problems.append(((*path, "declare_incident"), f"no severity is called {value!r}; known: {known}"))
    for i, rule in enumerate(cfg.declare):
        for j, text in enumerate(rule.matchers):
            try:
                parse_matchers(text)
            except MatcherError as exc:
                problems.append((("incidents", "declare", i, "matchers", j), f"bad matcher {text!r}: {exc}"))
    if problems:
        raise located_error(problems)


def _route_flags(route: Any, path: KeyPath) -> Iterator[tuple[KeyPath, Any]]:
    """Every `declare_incident` written in the raw route tree, with the path of its route."""
    if not isinstance(route, Mapping):
        return
    if route.get("declare_incident") is not None:
        yield path, route["declare_incident"]
    children = route.get("routes")
    for i, child in enumerate(children if isinstance(children, list) else []):
        yield from _route_flags(child, (*path, "routes", i))
