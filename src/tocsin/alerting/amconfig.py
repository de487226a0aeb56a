"""The alerting section of the config: alertmanager.yml's `route`, `receivers`,
`inhibit_rules` and `time_intervals`, accepted unchanged and validated like Alertmanager.

Errors are `ConfigError`s whose `path` names the key (`alerting.route.routes[2].matchers[0]`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from tocsin.alerting.inhibit import InhibitRule, parse_inhibit_rules
from tocsin.alerting.route import Route, parse_route_tree
from tocsin.alerting.timeinterval import (
    ConfigError,
    NamedTimeInterval,
    expect_list,
    expect_mapping,
    expect_str_list,
    parse_named_time_intervals,
)

__all__ = ["AlertingConfig", "ConfigError", "Receiver", "parse_alerting_config", "parse_receivers"]

_TOP_KEYS = frozenset(
    {
        "route",
        "receivers",
        "inhibit_rules",
        "time_intervals",
        "mute_time_intervals",  # deprecated name of time_intervals, still read
        "global",  # kept raw so a whole alertmanager.yml can be pasted in
        "templates",
    }
)


@dataclass(frozen=True, slots=True)
class Receiver:
    """A named receiver; its channel settings stay raw until the notifiers parse them."""

    name: str
    raw: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlertingConfig:
    """The parsed, validated alerting section."""

    route: Route
    receivers: tuple[Receiver, ...] = ()
    inhibit_rules: tuple[InhibitRule, ...] = ()
    time_intervals: Mapping[str, NamedTimeInterval] = field(default_factory=dict)
    templates: tuple[str, ...] = ()
    global_settings: Mapping[str, Any] = field(default_factory=dict)

    def receiver(self, name: str) -> Receiver:
        """The receiver called `name`; KeyError when there is none."""
        for receiver in self.receivers:
            if receiver.name == name:
                return receiver
        raise KeyError(name)

    def in_time_interval(self, name: str, now: datetime) -> bool:
        """Whether the named time interval contains `now`."""
        return self.time_intervals[name].contains(now)


def parse_alerting_config(data: Any, path: str = "alerting") -> AlertingConfig:
    """Parse and validate the alerting section from its YAML dict."""
    mapping = expect_mapping(data, path, _TOP_KEYS)
    receivers = parse_receivers(mapping.get("receivers"), f"{path}.receivers")
    intervals = _time_intervals(mapping, path)
    if mapping.get("route") is None:
        raise ConfigError(f"{path}.route", "no route provided in config")
    route = parse_route_tree(
        mapping["route"],
        receivers={r.name for r in receivers},
        time_intervals=intervals.keys(),
        path=f"{path}.route",
    )
    return AlertingConfig(
        route=route,
        receivers=tuple(receivers),
        inhibit_rules=tuple(parse_inhibit_rules(mapping.get("inhibit_rules"), f"{path}.inhibit_rules")),
        time_intervals=intervals,
        templates=tuple(expect_str_list(mapping.get("templates"), f"{path}.templates")),
        global_settings=expect_mapping(mapping.get("global"), f"{path}.global"),
    )


def parse_receivers(data: Any, path: str = "receivers") -> list[Receiver]:
    """Parse the `receivers:` list: each needs a unique `name`; the rest is kept raw."""
    receivers: list[Receiver] = []
    for i, item in enumerate(expect_list(data, path)):
        raw = expect_mapping(item, f"{path}[{i}]")
        name = raw.get("name")
        if not isinstance(name, str) or not name:
            raise ConfigError(f"{path}[{i}].name", "missing name in receiver")
        if any(r.name == name for r in receivers):
            raise ConfigError(f"{path}[{i}].name", f"receiver name {name!r} is not unique")
        receivers.append(Receiver(name, dict(raw)))
    return receivers


def _time_intervals(mapping: Mapping[str, Any], path: str) -> dict[str, NamedTimeInterval]:
    """Both `mute_time_intervals` (deprecated) and `time_intervals`, names unique across both."""
    found: dict[str, NamedTimeInterval] = {}
    for key in ("mute_time_intervals", "time_intervals"):
        for i, interval in enumerate(parse_named_time_intervals(mapping.get(key), f"{path}.{key}")):
            if interval.name in found:
                raise ConfigError(f"{path}.{key}[{i}].name", f"time interval {interval.name!r} is not unique")
            found[interval.name] = interval
    return found
