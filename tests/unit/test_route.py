"""The routing tree: matching order, option inheritance, keys and validation like Alertmanager.

The tree and expectations in the first table are Alertmanager's own (dispatch/route_test.go).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerting.amconfig import parse_alerting_config
from tocsin.alerting.route import Route, RouteOpts, parse_route_tree
from tocsin.alerting.timeinterval import ConfigError
from tocsin.labels import matches

TREE = yaml.safe_load(
    """
receiver: notify-def
routes:
- match: {owner: team-A}
  receiver: notify-A
  routes:
  - match: {env: testing}
    receiver: notify-testing
    group_by: [...]
  - match: {env: production}
    receiver: notify-productionA
    group_wait: 1m
    continue: true
  - match_re: {env: "produ.*", job: ".*"}
    receiver: notify-productionB
    group_wait: 30s
    group_interval: 5m
    repeat_interval: 1h
    group_by: [job]
- match_re: {owner: "team-(B|C)"}
  group_by: [foo, bar]
  group_wait: 2m
  receiver: notify-BC
- match: {group_by: role}
  group_by: [role]
  routes:
  - match: {env: testing}
    receiver: notify-testing
    routes:
    - match: {wait: long}
      group_wait: 2m
"""
)

M = timedelta(minutes=1)
S30 = timedelta(seconds=30)
# (labels, [(key, receiver, group_by, group_by_all, group_wait, repeat_interval)])
MATCH: list[tuple[dict[str, str], list[tuple[str, str, set[str], bool, timedelta, timedelta]]]] = [
    # a child matches: its own options, the parent's defaults
    ({"owner": "team-A"}, [('{}/{owner="team-A"}', "notify-A", set(), False, S30, 240 * M)]),
    # no grandchild matches, so the child itself is the match
    ({"owner": "team-A", "env": "unset"}, [('{}/{owner="team-A"}', "notify-A", set(), False, S30, 240 * M)]),
    # match_re is anchored, and Alertmanager keeps the anchored source in the key
    ({"owner": "team-C"}, [('{}/{owner=~"^(?:team-(B|C))$"}', "notify-BC", {"foo", "bar"}, False, 2 * M, 240 * M)]),
    # group_by '...' groups by all labels
    (
        {"owner": "team-A", "env": "testing"},
        [('{}/{owner="team-A"}/{env="testing"}', "notify-testing", set(), True, S30, 240 * M)],
    ),
    # continue: true lets the next sibling match too, in tree order
    (
        {"owner": "team-A", "env": "production"},
        [
            ('{}/{owner="team-A"}/{env="production"}', "notify-productionA", set(), False, M, 240 * M),
            (
                '{}/{owner="team-A"}/{env=~"^(?:produ.*)$",job=~"^(?:.*)$"}',
                "notify-productionB",
                {"job"},
                False,
                S30,
                60 * M,
            ),
        ],
    ),
    # a route without receiver inherits the root's; a label may be called group_by
    ({"group_by": "role"}, [('{}/{group_by="role"}', "notify-def", {"role"}, False, S30, 240 * M)]),
    # group_by is inherited by grandchildren
    (
        {"env": "testing", "group_by": "role"},
        [('{}/{group_by="role"}/{env="testing"}', "notify-testing", {"role"}, False, S30, 240 * M)],
    ),
    # receiver and group_by inherited two levels down, group_wait overridden
    (
        {"env": "testing", "group_by": "role", "wait": "long"},
        [
            (
                '{}/{group_by="role"}/{env="testing"}/{wait="long"}',
                "notify-testing",
                {"role"},
                False,
                2 * M,
                240 * M,
            )
        ],
    ),
    # nothing matches: the root is the match
    ({"unrelated": "x"}, [("{}", "notify-def", set(), False, S30, 240 * M)]),
]


@pytest.mark.parametrize(("labels", "expected"), MATCH, ids=[str(labels) for labels, _ in MATCH])
def test_match_like_alertmanager(labels: dict[str, str], expected: list[tuple[Any, ...]]) -> None:
    tree = parse_route_tree(TREE)
    got = [
        (r.key, r.opts.receiver, set(r.opts.group_by), r.opts.group_by_all, r.opts.group_wait, r.opts.repeat_interval)
        for r in tree.match(labels)
    ]
    assert got == expected


def test_walk_order_is_depth_first() -> None:
    receivers = [r.opts.receiver for r in parse_route_tree(TREE).walk()]
    assert receivers == [
        "notify-def",
        "notify-A",
        "notify-testing",
        "notify-productionA",
        "notify-productionB",
        "notify-BC",
        "notify-def",
        "notify-testing",
        "notify-testing",
    ]


def test_ids_add_the_position_among_siblings() -> None:
    ids = [r.id for r in parse_route_tree(TREE).walk()]
    assert ids[0] == "{}"  # the root has no position
    assert ids[1] == '{}/{owner="team-A"}/0'
    assert ids[3] == '{}/{owner="team-A"}/{env="production"}/1'  # parent key, then own position
    assert ids[8] == '{}/{group_by="role"}/{env="testing"}/{wait="long"}/0'


def test_matchers_merge_and_sort() -> None:
    tree = parse_route_tree(
        {"receiver": "r", "routes": [{"match": {"z": "1"}, "matchers": ['b!="2", a=~"x"'], "match_re": {"m": "y"}}]}
    )
    assert tree.routes[0].key == '{}/{a=~"x",b!="2",m=~"^(?:y)$",z="1"}'


GROUP_BY: list[tuple[dict[str, Any], set[str], bool]] = [
    ({}, {"a"}, False),  # nothing said: inherit the parent's list
    ({"group_by": []}, {"a"}, False),  # an empty list also inherits (Alertmanager treats it as unset)
    ({"group_by": ["b"]}, {"b"}, False),  # a list replaces the parent's
    ({"group_by": ["..."]}, {"a"}, True),  # '...' groups by everything
]


@pytest.mark.parametrize(("child", "labels", "all_labels"), GROUP_BY, ids=[str(c) for c, _, _ in GROUP_BY])
def test_group_by_inheritance(child: dict[str, Any], labels: set[str], all_labels: bool) -> None:
    tree = parse_route_tree({"receiver": "r", "group_by": ["a"], "routes": [{"match": {"x": "y"}, **child}]})
    assert (set(tree.routes[0].opts.group_by), tree.routes[0].opts.group_by_all) == (labels, all_labels)


def test_group_by_all_is_inherited_until_a_list_resets_it() -> None:
    tree = parse_route_tree(
        {
            "receiver": "r",
            "routes": [
                {
                    "match": {"env": "parent"},
                    "group_by": ["..."],
                    "routes": [{"match": {"env": "c1"}}, {"group_by": ["foo"]}],
                }
            ],
        }
    )
    parent = tree.routes[0]
    assert parent.opts.group_by_all
    assert parent.routes[0].opts.group_by_all  # inherited
    assert not parent.routes[1].opts.group_by_all  # a named list switches it off


def test_time_intervals_are_not_inherited() -> None:
    tree = parse_route_tree(
        {"receiver": "r", "routes": [{"mute_time_intervals": ["night"], "routes": [{"match": {"a": "b"}}]}]},
        time_intervals={"night"},
    )
    assert tree.routes[0].opts.mute_time_intervals == ("night",)
    assert tree.routes[0].routes[0].opts.mute_time_intervals == ()


def test_defaults() -> None:
    opts = parse_route_tree({"receiver": "r"}).opts
    assert (opts.group_wait, opts.group_interval, opts.repeat_interval) == (
        timedelta(seconds=30),
        timedelta(minutes=5),
        timedelta(hours=4),
    )


NOTIFY_REPEAT = [
    (timedelta(minutes=5), timedelta(hours=4), timedelta(hours=4)),  # already a multiple
    (timedelta(minutes=7), timedelta(hours=1), timedelta(minutes=63)),  # rounded up to the next flush
    (timedelta(hours=1), timedelta(minutes=10), timedelta(hours=1)),  # never shorter than one interval
    (timedelta(seconds=90), timedelta(minutes=4), timedelta(minutes=4, seconds=30)),  # 3 flushes of 90s
]


@pytest.mark.parametrize(("interval", "repeat", "effective"), NOTIFY_REPEAT)
def test_notify_repeat_interval(interval: timedelta, repeat: timedelta, effective: timedelta) -> None:
    assert RouteOpts(group_interval=interval, repeat_interval=repeat).notify_repeat_interval == effective


def test_group_labels() -> None:
    labels = {"alertname": "Down", "job": "api", "instance": "a:1"}
    assert RouteOpts(group_by=frozenset({"job", "cluster"})).group_labels(labels) == {"job": "api"}  # absent skipped
    assert RouteOpts(group_by_all=True).group_labels(labels) == labels  # '...' takes all


INVALID: list[tuple[dict[str, Any], str, str]] = [
    ({"group_by": ["a"]}, "route.receiver", "default receiver"),  # the root needs a receiver
    ({"receiver": "r", "match": {"a": "b"}}, "route.match", "must not have any matchers"),  # root filters nothing
    ({"receiver": "r", "continue": True}, "route.continue", "root route"),  # continue at the root
    ({"receiver": "r", "mute_time_intervals": ["t"]}, "route.mute_time_intervals", "root route"),  # root is never muted
    ({"receiver": "r", "routes": [{"receiver": "x"}]}, "route.routes[0].receiver", "undefined receiver 'x'"),
    (
        {"receiver": "r", "routes": [{"matchers": ["a=~("]}]},
        "route.routes[0].matchers[0]",
        "invalid regular expression",
    ),
    ({"receiver": "r", "routes": [{"match": {"a-b": "c"}}]}, "route.routes[0].match.a-b", "invalid label name"),
    ({"receiver": "r", "routes": [{"match_re": {"a": None}}]}, "route.routes[0].match_re.a", "invalid regexp value"),
    ({"receiver": "r", "group_by": ["a", "a"]}, "route.group_by[1]", "duplicated label"),
    ({"receiver": "r", "group_by": ["...", "a"]}, "route.group_by", "wildcard"),
    ({"receiver": "r", "group_by": ["a.b"]}, "route.group_by[0]", "invalid label name"),
    ({"receiver": "r", "group_interval": "0s"}, "route.group_interval", "cannot be zero"),
    ({"receiver": "r", "repeat_interval": "soon"}, "route.repeat_interval", "not a duration"),
    ({"receiver": "r", "routes": [{"continue": "yes"}]}, "route.routes[0].continue", "true or false"),
    ({"receiver": "r", "routes": [{"active_time_intervals": ["t"]}]}, "route.routes[0].active_time_intervals", "'t'"),
    ({"receiver": "r", "routes": [{"recevier": "r"}]}, "route.routes[0].recevier", "unknown field"),
    ({"receiver": "r", "routes": "oops"}, "route.routes", "expected a list"),
]


@pytest.mark.parametrize(("data", "path", "message"), INVALID, ids=[p for _, p, _ in INVALID])
def test_validation_names_the_key(data: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_route_tree(data, receivers={"r"}, time_intervals=set())
    assert caught.value.path == path
    assert message in caught.value.message


def test_receivers_are_only_checked_when_given() -> None:
    assert parse_route_tree({"receiver": "anything"}).opts.receiver == "anything"


label_sets = st.dictionaries(
    st.sampled_from(["owner", "env", "job", "group_by", "wait", "x"]),
    st.sampled_from(["team-A", "team-B", "team-C", "testing", "production", "prod", "role", "long", ""]),
)


def chains(route: Route, above: tuple[Route, ...] = ()) -> dict[int, tuple[Route, ...]]:
    found = {id(route): (*above, route)}
    for child in route.routes:
        found.update(chains(child, (*above, route)))
    return found


@given(label_sets)
def test_every_match_satisfies_its_whole_chain(labels: dict[str, str]) -> None:
    tree = parse_route_tree(TREE)
    by_id = chains(tree)
    result = tree.match(labels)
    assert result  # the root always catches what nothing else does
    for route in result:
        assert all(matches(node.matchers, labels) for node in by_id[id(route)])


@given(label_sets)
def test_without_continue_there_is_exactly_one_match(labels: dict[str, str]) -> None:
    data = yaml.safe_load(yaml.safe_dump(TREE).replace("continue: true", "continue: false"))
    assert len(parse_route_tree(data).match(labels)) == 1


def test_alerting_section_parses_whole_alertmanager_yml() -> None:
    data = yaml.safe_load(
        """
global: {resolve_timeout: 5m}
templates: ['/etc/am/*.tmpl']
route: {receiver: team, routes: [{matchers: [sev=page], receiver: pager, mute_time_intervals: [night]}]}
receivers:
  - name: team
    webhook_configs: [{url: 'http://127.0.0.1:9/hook'}]
  - name: pager
    escalation_policy: core
mute_time_intervals:
  - name: night
    time_intervals: [{times: [{start_time: '00:00', end_time: '06:00'}]}]
inhibit_rules:
  - source_matchers: [sev=page]
    target_matchers: [sev=ticket]
    equal: [service]
"""
    )
    config = parse_alerting_config(data)
    assert config.route.receivers({"sev": "page"}) == ["pager"]
    assert config.receiver("pager").raw["escalation_policy"] == "core"  # extensions stay raw
    assert set(config.time_intervals) == {"night"}  # the deprecated key still defines intervals
    assert config.in_time_interval("night", datetime(2024, 1, 1, 3, tzinfo=UTC))
    assert len(config.inhibit_rules) == 1
    assert config.templates == ("/etc/am/*.tmpl",)
    assert config.global_settings == {"resolve_timeout": "5m"}


ALERTING_ERRORS: list[tuple[dict[str, Any], str]] = [
    ({"receivers": [{"name": "r"}]}, "alerting.route"),  # a route is required
    ({"route": {"receiver": "r"}, "receivers": [{"webhook_configs": []}]}, "alerting.receivers[0].name"),  # unnamed
    ({"route": {"receiver": "r"}, "receivers": [{"name": "r"}], "inhibit": []}, "alerting.inhibit"),  # typo'd key
    (
        {"route": {"receiver": "r"}, "receivers": [{"name": "r"}], "time_intervals": [{"name": "t"}, {"name": "t"}]},
        "alerting.time_intervals[1].name",
    ),
]


@pytest.mark.parametrize(("data", "path"), ALERTING_ERRORS, ids=[p for _, p in ALERTING_ERRORS])
def test_alerting_section_errors_name_the_key(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_alerting_config(data)
    assert caught.value.path == path
