"""The routing tree of an alertmanager.yml `route:` block, with Alertmanager's exact semantics.

An alert enters at the root and descends depth-first, left to right: a child that matches
stops the search at its level unless it has `continue: true`; a route matches itself
only when none of its children do. Children inherit `receiver`, `group_by`, `group_wait`,
`group_interval` and `repeat_interval` from their parent, but not time intervals.

`declare_incident: SEV1` is a tocsin extension: a group of this route (or of a descendant that
does not say `declare_incident: false`) declares an incident when it starts firing. Alertmanager
does not know the key; `tocsin routes test` answers exactly as amtool does with it present.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from tocsin.alerting.timeinterval import ConfigError, expect_list, expect_mapping, expect_str_list
from tocsin.config.duration import parse_duration
from tocsin.labels import Matcher, MatcherError, format_matchers, matches, parse_matchers

GROUP_BY_ALL = "..."
_LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
_ROUTE_KEYS = frozenset(
    {
        "receiver",
        "group_by",
        "match",
        "match_re",
        "matchers",
        "mute_time_intervals",
        "active_time_intervals",
        "continue",
        "routes",
        "group_wait",
        "group_interval",
        "repeat_interval",
        "declare_incident",  # tocsin extension: the severity to declare an incident with
    }
)


@dataclass(frozen=True, slots=True)
class RouteOpts:
    """The effective options of a route after inheritance from its ancestors."""

    receiver: str = ""
    group_by: frozenset[str] = frozenset()
    group_by_all: bool = False
    group_wait: timedelta = timedelta(seconds=30)
    group_interval: timedelta = timedelta(minutes=5)
    repeat_interval: timedelta = timedelta(hours=4)
    mute_time_intervals: tuple[str, ...] = ()
    active_time_intervals: tuple[str, ...] = ()
    declare_incident: str | None = None  # tocsin: severity of the incident its groups declare; inherited

    @property
    def notify_repeat_interval(self) -> timedelta:
        """`repeat_interval` rounded up to a multiple of `group_interval`.

        Alertmanager only re-sends when a group is flushed, every `group_interval`, so a
        notification repeats after the first flush at or past `repeat_interval`.
        """
        flushes = math.ceil(self.repeat_interval / self.group_interval)
        return self.group_interval * max(flushes, 1)

    def group_labels(self, labels: Mapping[str, str]) -> dict[str, str]:
        """The labels of an alert that name its group on this route (all with `...`)."""
        if self.group_by_all:
            return dict(labels)
        return {name: value for name, value in labels.items() if name in self.group_by}


@dataclass(frozen=True, slots=True, eq=False)
class Route:
    """One node of the routing tree."""

    opts: RouteOpts
    matchers: tuple[Matcher, ...]
    continue_: bool
    routes: tuple[Route, ...]
    key: str
    id: str

    def match(self, labels: Mapping[str, str]) -> list[Route]:
        """The routes an alert with `labels` is delivered to, in tree order (empty if none)."""
        if not matches(self.matchers, labels):
            return []
        found: list[Route] = []
        for child in self.routes:
            hits = child.match(labels)
            found.extend(hits)
            if hits and not child.continue_:
                break
        return found or [self]

    def receivers(self, labels: Mapping[str, str]) -> list[str]:
        """Receiver names for `labels`, like `amtool config routes test` prints them."""
        return [route.opts.receiver for route in self.match(labels)]

    def walk(self) -> Iterator[Route]:
        """This route and all its descendants, depth-first."""
        yield self
        for child in self.routes:
            yield from child.walk()


def parse_route_tree(
    data: Any,
    *,
    receivers: Collection[str] | None = None,
    time_intervals: Collection[str] | None = None,
    path: str = "route",
) -> Route:
    """Build and validate the routing tree from an alertmanager.yml `route:` mapping.

    Receiver names are checked when `receivers` is given, time interval names when
    `time_intervals` is given.
    """
    mapping = expect_mapping(data, path, _ROUTE_KEYS)
    _check_root(mapping, path)
    root = _build(mapping, RouteOpts(), None, path)
    for route, route_path in _paths(root, path):
        _check_names(route, route_path, receivers, time_intervals)
    return root


def _check_root(mapping: Mapping[str, Any], path: str) -> None:
    if not mapping.get("receiver"):
        raise ConfigError(f"{path}.receiver", "root route must specify a default receiver")
    for key in ("match", "match_re", "matchers"):
        if mapping.get(key):
            raise ConfigError(f"{path}.{key}", "root route must not have any matchers")
    for key in ("mute_time_intervals", "active_time_intervals"):
        if mapping.get(key):
            raise ConfigError(f"{path}.{key}", f"root route must not have any {key}")
    if mapping.get("continue"):
        raise ConfigError(f"{path}.continue", "cannot have continue in root route")


def _build(mapping: Mapping[str, Any], parent: RouteOpts, parent_key: tuple[str, int] | None, path: str) -> Route:
    opts = _opts(mapping, parent, path)
    found = sorted(_route_matchers(mapping, path), key=Matcher.sort_key)
    key = format_matchers(found) if parent_key is None else f"{parent_key[0]}/{format_matchers(found)}"
    route_id = key if parent_key is None else f"{key}/{parent_key[1]}"
    children = expect_list(mapping.get("routes"), f"{path}.routes")
    built = tuple(
        _build(
            expect_mapping(child, f"{path}.routes[{i}]", _ROUTE_KEYS),
            opts,
            (key, i),
            f"{path}.routes[{i}]",
        )
        for i, child in enumerate(children)
    )
    return Route(opts, tuple(found), _bool(mapping, "continue", path), built, key, route_id)


def _opts(mapping: Mapping[str, Any], parent: RouteOpts, path: str) -> RouteOpts:
    opts = replace(
        parent,
        mute_time_intervals=tuple(expect_str_list(mapping.get("mute_time_intervals"), f"{path}.mute_time_intervals")),
        active_time_intervals=tuple(
            expect_str_list(mapping.get("active_time_intervals"), f"{path}.active_time_intervals")
        ),
    )
    receiver = mapping.get("receiver")
    if receiver is not None and not isinstance(receiver, str):
        raise ConfigError(f"{path}.receiver", "a receiver is a name (string)")
    if receiver:
        opts = replace(opts, receiver=receiver)
    opts = _group_by(mapping, opts, path)
    opts = _declare_incident(mapping, opts, path)
    return _timers(mapping, opts, path)


def _declare_incident(mapping: Mapping[str, Any], opts: RouteOpts, path: str) -> RouteOpts:
    """Apply the tocsin `declare_incident` key: a severity name, or `false` to stop inheriting one."""
    if "declare_incident" not in mapping or mapping["declare_incident"] is None:
        return opts
    value = mapping["declare_incident"]
    if value is False:
        return replace(opts, declare_incident=None)
    if not isinstance(value, str) or not value:
        raise ConfigError(f"{path}.declare_incident", "expected a severity name (like SEV1), or false")
    return replace(opts, declare_incident=value)


def _group_by(mapping: Mapping[str, Any], opts: RouteOpts, path: str) -> RouteOpts:
    """Apply `group_by`; an empty list or a lone `...` keeps the inherited label list."""
    names = expect_str_list(mapping.get("group_by"), f"{path}.group_by")
    labels = [name for name in names if name != GROUP_BY_ALL]
    for i, name in enumerate(names):
        if name != GROUP_BY_ALL and not is_label_name(name):
            raise ConfigError(f"{path}.group_by[{i}]", f"invalid label name {name!r} in group_by")
        if name != GROUP_BY_ALL and name in names[:i]:
            raise ConfigError(f"{path}.group_by[{i}]", f"duplicated label {name!r} in group_by")
    if labels and GROUP_BY_ALL in names:
        raise ConfigError(f"{path}.group_by", "cannot have wildcard group_by (`...`) and other labels")
    if labels:
        return replace(opts, group_by=frozenset(labels), group_by_all=False)
    return replace(opts, group_by_all=True) if names else opts


def _timers(mapping: Mapping[str, Any], opts: RouteOpts, path: str) -> RouteOpts:
    return replace(
        opts,
        group_wait=_duration(mapping, "group_wait", opts.group_wait, path),
        group_interval=_duration(mapping, "group_interval", opts.group_interval, path),
        repeat_interval=_duration(mapping, "repeat_interval", opts.repeat_interval, path),
    )


def _duration(mapping: Mapping[str, Any], key: str, inherited: timedelta, path: str) -> timedelta:
    if mapping.get(key) is None:
        return inherited
    try:
        value = parse_duration(mapping[key])
    except ValueError as exc:
        raise ConfigError(f"{path}.{key}", str(exc)) from None
    if key != "group_wait" and value <= timedelta(0):
        raise ConfigError(f"{path}.{key}", f"{key} cannot be zero")
    return value


def _route_matchers(mapping: Mapping[str, Any], path: str) -> list[Matcher]:
    """Matchers from `match` and `match_re` (deprecated) and from `matchers`, merged."""
    found: list[Matcher] = []
    for key, op in (("match", "="), ("match_re", "=~")):
        for name, value in expect_mapping(mapping.get(key), f"{path}.{key}").items():
            found.append(legacy_matcher(name, op, value, f"{path}.{key}.{name}"))
    for i, line in enumerate(expect_str_list(mapping.get("matchers"), f"{path}.matchers")):
        try:
            found.extend(parse_matchers(line))
        except MatcherError as exc:
            raise ConfigError(f"{path}.matchers[{i}]", str(exc)) from None
    return found


def legacy_matcher(name: Any, op: str, value: Any, path: str) -> Matcher:
    """A matcher from a deprecated `match:`/`match_re:` entry (strict Prometheus label name)."""
    if not isinstance(name, str) or not is_label_name(name):
        raise ConfigError(path, f"invalid label name {name!r}")
    if value is None and op != "=":
        raise ConfigError(path, f"invalid regexp value for {name!r}")
    text = "" if value is None else scalar_text(value, path)
    try:
        if op == "=":
            return Matcher(name, "=", text)
        # Alertmanager stores the pre-anchored source, which shows up in route keys.
        return Matcher(name, "=~", f"^(?:{text})$")
    except MatcherError as exc:
        raise ConfigError(path, str(exc)) from None


def is_label_name(name: str) -> bool:
    """Whether `name` is a valid Prometheus label name (`[a-zA-Z_][a-zA-Z0-9_]*`)."""
    return _LABEL_NAME.fullmatch(name) is not None


def scalar_text(value: Any, path: str) -> str:
    """A YAML scalar as the string Go's yaml.v2 would read (`true`, `500`, `text`)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise ConfigError(path, f"expected a string, got {type(value).__name__}")


def _bool(mapping: Mapping[str, Any], key: str, path: str) -> bool:
    value = mapping.get(key, False)
    if not isinstance(value, bool):
        raise ConfigError(f"{path}.{key}", "expected true or false")
    return value


def _paths(route: Route, path: str) -> Iterator[tuple[Route, str]]:
    yield route, path
    for i, child in enumerate(route.routes):
        yield from _paths(child, f"{path}.routes[{i}]")


def _check_names(route: Route, path: str, receivers: Collection[str] | None, intervals: Collection[str] | None) -> None:
    own = route.opts
    if receivers is not None and own.receiver not in receivers:
        raise ConfigError(f"{path}.receiver", f"undefined receiver {own.receiver!r} used in route")
    if intervals is None:
        return
    for key, names in (
        ("mute_time_intervals", own.mute_time_intervals),
        ("active_time_intervals", own.active_time_intervals),
    ):
        for name in names:
            if name not in intervals:
                raise ConfigError(f"{path}.{key}", f"undefined time interval {name!r} used in route")
