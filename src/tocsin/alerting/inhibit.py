"""Inhibition rules: a firing source alert mutes target alerts that share the `equal` labels.

Semantics follow Alertmanager's `inhibit` package: a label missing from either alert counts
as empty in `equal`; when the target itself matches the source side of a rule, source
alerts that also match the target side are ignored, so an alert never inhibits itself
and two alerts matching both sides do not inhibit each other.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from tocsin.alerting.alert import fingerprint
from tocsin.alerting.route import is_label_name, legacy_matcher
from tocsin.alerting.timeinterval import ConfigError, expect_list, expect_mapping, expect_str_list
from tocsin.labels import Matcher, MatcherError, matches, parse_matchers

_RULE_KEYS = frozenset(
    {
        "name",
        "source_match",
        "source_match_re",
        "source_matchers",
        "target_match",
        "target_match_re",
        "target_matchers",
        "equal",
    }
)


@dataclass(frozen=True, slots=True)
class InhibitRule:
    """One inhibition rule: sources that mute targets when the `equal` labels agree."""

    source_matchers: tuple[Matcher, ...]
    target_matchers: tuple[Matcher, ...]
    equal: frozenset[str] = frozenset()
    name: str = ""

    def inhibiting(self, target: Mapping[str, str], sources: Iterable[Mapping[str, str]]) -> list[Mapping[str, str]]:
        """The firing `sources` that inhibit `target` under this rule."""
        if not matches(self.target_matchers, target):
            return []
        two_sided = matches(self.source_matchers, target)
        return [
            source
            for source in sources
            if matches(self.source_matchers, source)
            and self._equal(source, target)
            and not (two_sided and matches(self.target_matchers, source))
        ]

    def _equal(self, source: Mapping[str, str], target: Mapping[str, str]) -> bool:
        return all(source.get(name, "") == target.get(name, "") for name in self.equal)


class InhibitIndex:
    """Firing sources indexed per rule by their `equal` label values: one lookup per target, not a scan.

    Built once per evaluation over all firing alerts; answers like `inhibited_by` for each target.
    """

    def __init__(self, rules: Sequence[InhibitRule], firing_sources: Iterable[Mapping[str, str]]) -> None:
        self._rules = rules
        self._by_rule: list[dict[tuple[str, ...], list[Mapping[str, str]]]] = [{} for _ in rules]
        for source in firing_sources:
            for rule, index in zip(rules, self._by_rule, strict=True):
                if matches(rule.source_matchers, source):
                    index.setdefault(_key(rule, source), []).append(source)

    def inhibited_by(self, target: Mapping[str, str]) -> list[str]:
        """Fingerprints of the firing alerts that inhibit `target`."""
        found: list[str] = []
        for rule, index in zip(self._rules, self._by_rule, strict=True):
            candidates = index.get(_key(rule, target)) if matches(rule.target_matchers, target) else None
            if candidates:
                found.extend(fingerprint(s) for s in rule.inhibiting(target, candidates))
        return found


def _key(rule: InhibitRule, labels: Mapping[str, str]) -> tuple[str, ...]:
    return tuple(labels.get(name, "") for name in sorted(rule.equal))


def inhibited_by(
    rules: Iterable[InhibitRule],
    target_labels: Mapping[str, str],
    firing_source_alerts: Iterable[Mapping[str, str]],
) -> list[str]:
    """Fingerprints of the firing alerts that inhibit `target_labels`, rule by rule."""
    sources: Sequence[Mapping[str, str]] = list(firing_source_alerts)
    return [fingerprint(source) for rule in rules for source in rule.inhibiting(target_labels, sources)]


def inhibited(
    rules: Iterable[InhibitRule],
    target_labels: Mapping[str, str],
    firing_source_alerts: Iterable[Mapping[str, str]],
) -> bool:
    """Whether any rule lets one of the firing alerts (label sets) inhibit `target_labels`."""
    return bool(inhibited_by(rules, target_labels, firing_source_alerts))


def parse_inhibit_rules(data: Any, path: str = "inhibit_rules") -> list[InhibitRule]:
    """Parse an alertmanager.yml `inhibit_rules:` list."""
    items = expect_list(data, path)
    return [parse_inhibit_rule(item, f"{path}[{i}]") for i, item in enumerate(items)]


def parse_inhibit_rule(data: Any, path: str) -> InhibitRule:
    """Parse one rule, merging deprecated `*_match`/`*_match_re` into the matchers."""
    mapping = expect_mapping(data, path, _RULE_KEYS)
    equal = expect_str_list(mapping.get("equal"), f"{path}.equal")
    for i, name in enumerate(equal):
        if not is_label_name(name):
            raise ConfigError(f"{path}.equal[{i}]", f"invalid label name {name!r} in equal list")
    name = mapping.get("name") or ""
    if not isinstance(name, str):
        raise ConfigError(f"{path}.name", "a rule name is a string")
    return InhibitRule(
        source_matchers=_side(mapping, "source", path),
        target_matchers=_side(mapping, "target", path),
        equal=frozenset(equal),
        name=name,
    )


def _side(mapping: Mapping[str, Any], side: str, path: str) -> tuple[Matcher, ...]:
    found: list[Matcher] = []
    for suffix, op in (("match", "="), ("match_re", "=~")):
        key = f"{side}_{suffix}"
        for label, value in expect_mapping(mapping.get(key), f"{path}.{key}").items():
            found.append(legacy_matcher(label, op, value, f"{path}.{key}.{label}"))
    key = f"{side}_matchers"
    for i, line in enumerate(expect_str_list(mapping.get(key), f"{path}.{key}")):
        try:
            found.extend(parse_matchers(line))
        except MatcherError as exc:
            raise ConfigError(f"{path}.{key}[{i}]", str(exc)) from None
    return tuple(found)
