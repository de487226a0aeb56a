"""Differential test: tocsin's routing tree against Debian's real `amtool config routes test`.

For every alertmanager.yml in tests/fixtures/alertmanager/ we generate seeded random label
sets from the labels and values the config mentions (plus awkward ones: empty, unicode,
commas, quotes, newlines) and require tocsin's receivers to equal amtool's, in order.
A second table feeds both tools broken configs: both must refuse them.
"""

from __future__ import annotations

import itertools
import random
import re
import shutil
import subprocess
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import yaml

from tocsin.alerting.amconfig import ConfigError, parse_alerting_config
from tocsin.alerting.route import Route
from tocsin.labels import Matcher, escape_value

AMTOOL = shutil.which("amtool")
FIXTURES = sorted((Path(__file__).parents[1] / "fixtures" / "alertmanager").glob("*.yml"))
CASES_PER_CONFIG = 150
EXTRA_NAMES = ("alertname", "cluster", "region", "unrelated")
# Values chosen to hit (and narrowly miss) the regexes in the fixtures, plus awkward text.
POOL = (
    "",
    "prod",
    "production",
    "produce",
    "staging",
    "crit",
    "CRIT",
    "Critical",
    "critical",
    "page",
    "warning",
    "info",
    "debug",
    "eu-west-1",
    "us-east-1",
    "api-12",
    "api-x",
    "web",
    "api",
    "db",
    "postgres",
    "redis-cache",
    "redis-",
    "503",
    "5x3",
    "404",
    "/healthz",
    "/api",
    "Lyonville",
    "Zürich",
    "zurich",
    "a,b",
    'She said "hi"',
    "db-12.example.com",
    "db-12xexample.com",
    "10.0.0.1:9100",
    "node",
    "team-A",
    "team-B",
    "team-C",
    "team-X",
    "team-Y",
    "foo1",
    "foo2",
    "baz",
    "files",
    "database",
    "testing",
    "long",
    "role",
    "x quux",
    "Ünïcødé ✓",
    "multi\nline",
    "back\\slash",
)

pytestmark = pytest.mark.skipif(AMTOOL is None, reason="Debian's prometheus-alertmanager (amtool) is not installed")


def amtool_receivers(config: Path, labels: dict[str, str]) -> list[str]:
    """What `amtool config routes test` prints for `labels`, split on commas."""
    assert AMTOOL is not None
    args = [f'{name}="{escape_value(value)}"' for name, value in labels.items()]
    command = [AMTOOL, "config", "routes", "test", f"--config.file={config}", *args]
    done = subprocess.run(command, capture_output=True, text=True, timeout=20, check=True)
    return done.stdout.strip().split(",")


def vocabulary(route: Route) -> dict[str, set[str]]:
    """Label names the tree matches on, each with the literal values it compares against."""
    names: dict[str, set[str]] = {name: set() for name in EXTRA_NAMES}
    for node in route.walk():
        for matcher in node.matchers:
            values = names.setdefault(matcher.name, set())
            candidates = regex_guesses(matcher.value) if matcher.is_regex else [matcher.value]
            values.update(c for c in candidates if not matcher.is_regex or matcher.matches_value(c))
    return names


def regex_guesses(pattern: str) -> list[str]:
    """Cheap strings a regex probably matches: its alternatives with the syntax stripped."""
    return [re.sub(r"\(\?[a-z]*:?|[()^$?*+]|\\", "", part) for part in pattern.split("|")]


def branches(route: Route, above: tuple[Route, ...] = ()) -> Iterator[tuple[Route, ...]]:
    """Every node with the chain of routes from the root down to it."""
    chain = (*above, route)
    yield chain
    for child in route.routes:
        yield from branches(child, chain)


def pick(labels: dict[str, str], matcher: Matcher, names: dict[str, set[str]], rng: random.Random, want: bool) -> None:
    """Set the matcher's label to a known value that does (or does not) satisfy it."""
    options = [v for v in (*sorted(names[matcher.name]), *POOL) if matcher.matches_value(v) == want]
    if options:
        labels[matcher.name] = rng.choice(options)


def label_sets(route: Route, seed: int, count: int) -> Iterator[dict[str, str]]:
    """Seeded label sets aimed at a random node: miss its earlier siblings, satisfy its chain, perturb."""
    rng = random.Random(seed)
    names = vocabulary(route)
    chains = list(branches(route))
    for _ in range(count):
        chain = rng.choice(chains)
        labels: dict[str, str] = {}
        for parent, node in itertools.pairwise(chain):
            for sibling in parent.routes[: parent.routes.index(node)]:
                if sibling.matchers and rng.random() < 0.8:
                    pick(labels, rng.choice(sibling.matchers), names, rng, want=False)
        for node in chain:
            for matcher in node.matchers:
                pick(labels, matcher, names, rng, want=True)
        for name in sorted(names):
            if rng.random() < 0.15:
                labels[name] = rng.choice(POOL)
        if labels and rng.random() < 0.25:
            del labels[rng.choice(sorted(labels))]
        yield labels


@pytest.mark.parametrize("config", FIXTURES, ids=[path.stem for path in FIXTURES])
def test_receivers_agree_with_amtool(config: Path) -> None:
    route = parse_alerting_config(yaml.safe_load(config.read_text())).route
    cases = list(label_sets(route, seed=len(config.stem) * 7919, count=CASES_PER_CONFIG))
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda labels: amtool_receivers(config, labels), cases))
    disagreements = [
        (labels, want, route.receivers(labels))
        for labels, want in zip(cases, expected, strict=True)
        if route.receivers(labels) != want
    ]
    assert disagreements == []
    # The generator must actually exercise the tree, not send everything to the root.
    assert len({tuple(receivers) for receivers in expected}) >= 4


TI = "route: {receiver: r}\nreceivers: [{name: r}]\ntime_intervals: [{name: t, time_intervals: ["
# Each row: a broken alertmanager.yml and the key path tocsin blames; amtool must refuse it too.
BROKEN = [
    # the root route is the fallback: it needs a receiver
    ("route: {group_by: [a]}\nreceivers: [{name: r}]", "alerting.route.receiver"),
    # the root route must not filter alerts
    ("route: {receiver: r, matchers: [a=b]}\nreceivers: [{name: r}]", "alerting.route.matchers"),
    # continue on the root route is meaningless and rejected
    ("route: {receiver: r, continue: true}\nreceivers: [{name: r}]", "alerting.route.continue"),
    # a child naming a receiver that does not exist
    ("route: {receiver: r, routes: [{receiver: x}]}\nreceivers: [{name: r}]", "alerting.route.routes[0].receiver"),
    # a matcher value with an unescaped quote in the middle
    (
        'route: {receiver: r, routes: [{matchers: [\'a="b"c"\']}]}\nreceivers: [{name: r}]',
        "alerting.route.routes[0].matchers[0]",
    ),
    # a regex that RE2 cannot compile (lookahead)
    (
        "route: {receiver: r, routes: [{matchers: ['a=~(?=x)']}]}\nreceivers: [{name: r}]",
        "alerting.route.routes[0].matchers[0]",
    ),
    # an unbalanced regex in deprecated match_re
    (
        "route: {receiver: r, routes: [{match_re: {a: '('}}]}\nreceivers: [{name: r}]",
        "alerting.route.routes[0].match_re.a",
    ),
    # a label name that Prometheus would not accept
    ("route: {receiver: r, routes: [{match: {0a: b}}]}\nreceivers: [{name: r}]", "alerting.route.routes[0].match.0a"),
    # the same label twice in group_by
    ("route: {receiver: r, group_by: [a, a]}\nreceivers: [{name: r}]", "alerting.route.group_by[1]"),
    # '...' cannot be combined with named labels
    ("route: {receiver: r, group_by: ['...', a]}\nreceivers: [{name: r}]", "alerting.route.group_by"),
    # a repeat interval of zero would notify in a loop
    ("route: {receiver: r, repeat_interval: 0s}\nreceivers: [{name: r}]", "alerting.route.repeat_interval"),
    # a route field that does not exist (typo)
    ("route: {receiver: r, reciever: r}\nreceivers: [{name: r}]", "alerting.route.reciever"),
    # a mute interval that is not defined
    (
        "route: {receiver: r, routes: [{mute_time_intervals: [nope]}]}\nreceivers: [{name: r}]",
        "alerting.route.routes[0].mute_time_intervals",
    ),
    # two receivers with one name
    ("route: {receiver: r}\nreceivers: [{name: r}, {name: r}]", "alerting.receivers[1].name"),
    # the same time interval name in both the old and the new list
    (
        "route: {receiver: r}\nreceivers: [{name: r}]\n"
        "mute_time_intervals: [{name: t, time_intervals: []}]\ntime_intervals: [{name: t, time_intervals: []}]",
        "alerting.time_intervals[0].name",
    ),
    # weekdays are names, not numbers
    (
        TI + "{weekdays: ['1']}]}]",
        "alerting.time_intervals[0].time_intervals[0].weekdays[0]",
    ),
    # a negative start day needs a negative end day
    (
        TI + "{days_of_month: ['-3:5']}]}]",
        "alerting.time_intervals[0].time_intervals[0].days_of_month[0]",
    ),
    # the end time is exclusive and must come after the start
    (
        TI + "{times: [{start_time: '10:00', end_time: '09:00'}]}]}]",
        "alerting.time_intervals[0].time_intervals[0].times[0]",
    ),
    # an unknown IANA zone
    (
        TI + "{location: Mars/Olympus}]}]",
        "alerting.time_intervals[0].time_intervals[0].location",
    ),
    # equal lists label names
    (
        "route: {receiver: r}\nreceivers: [{name: r}]\ninhibit_rules: [{equal: ['a-b']}]",
        "alerting.inhibit_rules[0].equal[0]",
    ),
]


@pytest.mark.parametrize(("text", "path"), BROKEN, ids=[path for _, path in BROKEN])
def test_both_refuse_broken_configs(tmp_path: Path, text: str, path: str) -> None:
    assert AMTOOL is not None
    config = tmp_path / "alertmanager.yml"
    config.write_text(text)
    checked = subprocess.run(
        [AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=20, check=False
    )
    assert checked.returncode != 0, checked.stdout
    with pytest.raises(ConfigError) as caught:
        parse_alerting_config(yaml.safe_load(text))
    assert caught.value.path == path


# RE2 corners that tocsin translates to Python's `re`; Go's own regexp decides through amtool.
PATTERNS = [
    "x|y",
    "x$",
    "\\d+",
    "\\w+",
    "[\\d.]+",
    "\\s",
    "[[:alpha:]]+",
    "[[:digit:]x]+",
    "(?i)crit",
    "x(?i)y|z",
    "(?i:a)b",
    "(?s:.)",
    ".",
    "a{,2}",
    "a{2}",
    "\\Q.*\\E",
    "x\\z",
    "[a&&b]",
    "[]a]",
    "(?P<n>x)",
    "Zür.ch",
    "\\bx\\b.*",
    "[^\\s]+",
    "(?m)^x$",
    ".*",
]
VALUES = [
    "x",
    "y",
    "Z",
    "XY",
    "x\n",
    "",
    "12",
    "١٢",
    "é",
    "1.2",
    "\v",
    " ",
    "abc",
    "1x2",
    "CRIT",
    "Ab",
    "\n",
    ".",
    "a{,2}",
]
VALUES += ["aa", ".*", "&", "]", "Zürich", "x yz", "x-y", "éx"]


def test_regex_translation_agrees_with_go(tmp_path: Path) -> None:
    routes = [
        {"matchers": [f'a=~"{escape_value(pattern)}"'], "receiver": f"r{i}", "continue": True}
        for i, pattern in enumerate(PATTERNS)
    ]
    names = [{"name": "none"}] + [{"name": f"r{i}"} for i in range(len(PATTERNS))]
    text = yaml.safe_dump({"route": {"receiver": "none", "routes": routes}, "receivers": names})
    config = tmp_path / "regex.yml"
    config.write_text(text)
    route = parse_alerting_config(yaml.safe_load(text)).route
    with ThreadPoolExecutor(max_workers=4) as pool:
        expected = list(pool.map(lambda value: amtool_receivers(config, {"a": value}), VALUES))
    got = [route.receivers({"a": value}) for value in VALUES]
    assert [(v, w, g) for v, w, g in zip(VALUES, expected, got, strict=True) if w != g] == []


# Time interval snippets: tocsin must accept exactly what `amtool check-config` accepts.
INTERVALS: list[tuple[dict[str, object], bool]] = [
    ({"times": [{"start_time": "22:00", "end_time": "24:00"}]}, True),  # 24:00 closes the day
    ({"weekdays": ["Saturday", "monday:friday"]}, True),  # names any case, ranges
    ({"days_of_month": ["-7:-1", "1:-1", "25:31"]}, True),  # negative and clamped days
    ({"months": ["january:3", "13"]}, True),  # numbers mix with names; 13 parses (never matches)
    ({"years": ["2020:2022", "2030"]}, True),  # year ranges
    ({"location": "Local"}, True),  # the host's zone
    ({"weekdays": []}, True),  # an empty list is accepted (and matches nothing)
    ({"times": [{"start_time": "9:00", "end_time": "10:00"}]}, False),  # hours need two digits
    ({"weekdays": ["saturday:sunday"]}, False),  # no wrap-around
    ({"days_of_month": ["-3:5"]}, False),  # sign mix
    ({"days_of_month": ["10:-20"]}, False),  # always empty
    ({"months": ["jan"]}, False),  # no abbreviations
    ({"location": "Mars/Olympus"}, False),  # unknown zone
]


@pytest.mark.parametrize(("interval", "valid"), INTERVALS, ids=[str(i) for i, _ in INTERVALS])
def test_time_interval_acceptance_agrees(tmp_path: Path, interval: dict[str, object], valid: bool) -> None:
    assert AMTOOL is not None
    data = {
        "route": {"receiver": "r", "routes": [{"receiver": "r", "active_time_intervals": ["t"]}]},
        "receivers": [{"name": "r"}],
        "time_intervals": [{"name": "t", "time_intervals": [interval]}],
    }
    config = tmp_path / "alertmanager.yml"
    config.write_text(yaml.safe_dump(data))
    checked = subprocess.run(
        [AMTOOL, "check-config", str(config)], capture_output=True, text=True, timeout=20, check=False
    )
    assert (checked.returncode == 0) is valid, checked.stdout
    try:
        parse_alerting_config(data)
    except ConfigError:
        assert not valid
    else:
        assert valid
