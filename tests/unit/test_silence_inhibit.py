"""Silences and inhibition rules with Alertmanager's semantics, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.alerting.alert import fingerprint
from tocsin.alerting.inhibit import InhibitRule, inhibited, inhibited_by, parse_inhibit_rule, parse_inhibit_rules
from tocsin.alerting.silence import Silence, silenced_by
from tocsin.alerting.timeinterval import ConfigError
from tocsin.labels import Matcher, parse_matchers

T0 = datetime(2024, 5, 1, 12, 0, tzinfo=UTC)
H = timedelta(hours=1)


def silence(matchers: str, start: datetime = T0, end: datetime = T0 + H, sid: str = "s1") -> Silence:
    return Silence(sid, tuple(parse_matchers(matchers)), start, end, created_by="alice", comment="deploy")


STATES = [
    (T0 - timedelta(seconds=1), "pending"),  # before the start
    (T0, "active"),  # the start instant is active
    (T0 + H - timedelta(microseconds=1), "active"),  # just before the end
    (T0 + H, "expired"),  # the end instant is expired (Alertmanager's CalcSilenceState: active while now < end)
]


@pytest.mark.parametrize(("now", "state"), STATES, ids=["before", "start", "before-end", "end"])
def test_silence_state(now: datetime, state: str) -> None:
    assert silence('a="b"').state(now) == state


SILENCED = [
    ('service="api"', {"service": "api", "env": "prod"}, T0, True),  # matching and active
    ('service="api"', {"service": "web"}, T0, False),  # not matching
    ('service="api"', {"service": "api"}, T0 - H, False),  # pending silences mute nothing
    ('service="api"', {"service": "api"}, T0 + 2 * H, False),  # expired silences mute nothing
    ('service="api", env!="prod"', {"service": "api"}, T0, True),  # a missing env is "" which is not prod
    ('service=~"api|web", env=""', {"service": "web", "env": ""}, T0, True),  # env="" matches empty env
]


@pytest.mark.parametrize(("matchers", "labels", "now", "muted"), SILENCED, ids=[str(r[:2]) for r in SILENCED])
def test_silenced_by(matchers: str, labels: dict[str, str], now: datetime, muted: bool) -> None:
    assert silenced_by([silence(matchers)], labels, now) == (["s1"] if muted else [])


def test_silenced_by_lists_every_active_match_in_order() -> None:
    silences = [silence('a="1"', sid="x"), silence('b="2"', sid="y"), silence('a="1"', T0 + H, T0 + 2 * H, "z")]
    assert silenced_by(silences, {"a": "1", "b": "2"}, T0) == ["x", "y"]  # z is still pending


INVALID_SILENCES: list[tuple[dict[str, Any], str]] = [
    ({"matchers": ()}, "at least one matcher required"),  # would silence everything
    ({"matchers": (Matcher("a", "=", ""),)}, "must not match the empty string"),  # matches every alert
    ({"matchers": (Matcher("a", "=~", ".*"), Matcher("b", "=", ""))}, "must not match the empty string"),  # ditto
    ({"ends_at": T0 - H}, "end time must not be before start time"),  # reversed range
    ({"id": ""}, "needs an id"),  # ids are assigned before a silence exists
    ({"starts_at": datetime(2024, 1, 1)}, "timezone-aware"),  # naive datetimes are ambiguous
]


@pytest.mark.parametrize(("change", "message"), INVALID_SILENCES, ids=[m for _, m in INVALID_SILENCES])
def test_invalid_silences(change: dict[str, Any], message: str) -> None:
    fields: dict[str, Any] = {"id": "s", "matchers": (Matcher("a", "=", "b"),), "starts_at": T0, "ends_at": T0 + H}
    with pytest.raises(ValueError, match=message):
        Silence(**{**fields, **change})


def test_negative_matchers_alone_are_a_valid_silence() -> None:
    # Alertmanager only counts = and =~ as "matching the empty string".
    assert silence('a!="b"').matchers[0].op == "!="


SIMPLE = parse_inhibit_rules(
    [
        {
            "source_match": {"severity": "critical"},
            "target_match": {"severity": "warning"},
            "equal": ["alertname", "cluster"],
        }
    ]
)
CRIT = {"alertname": "Disk", "cluster": "eu", "severity": "critical"}

INHIBITS: list[tuple[list[InhibitRule], dict[str, str], list[dict[str, str]], bool]] = [
    (SIMPLE, {**CRIT, "severity": "warning"}, [CRIT], True),  # same alertname and cluster
    (SIMPLE, {**CRIT, "severity": "warning", "cluster": "us"}, [CRIT], False),  # equal label differs
    (SIMPLE, {**CRIT, "severity": "info"}, [CRIT], False),  # target side does not match
    (SIMPLE, {**CRIT, "severity": "warning"}, [], False),  # no firing source
    (SIMPLE, {**CRIT, "severity": "warning"}, [{**CRIT, "severity": "page"}], False),  # source side does not match
    # a label missing on both sides counts as equal (both empty)
    (SIMPLE, {"alertname": "Disk", "severity": "warning"}, [{"alertname": "Disk", "severity": "critical"}], True),
    # missing on one side only is "" versus a value: not equal
    (SIMPLE, {"alertname": "Disk", "severity": "warning"}, [CRIT], False),
]


@pytest.mark.parametrize(("rules", "target", "sources", "expected"), INHIBITS, ids=[str(r[1]) for r in INHIBITS])
def test_inhibited(
    rules: list[InhibitRule], target: dict[str, str], sources: list[dict[str, str]], expected: bool
) -> None:
    assert inhibited(rules, target, sources) is expected


TWO_SIDED = parse_inhibit_rules([{"source_matchers": ["team=db"], "target_matchers": ["team=db"], "equal": ["zone"]}])


def test_an_alert_never_inhibits_itself() -> None:
    alert = {"team": "db", "zone": "a"}
    assert not inhibited(TWO_SIDED, alert, [alert])


def test_alerts_matching_both_sides_do_not_inhibit_each_other() -> None:
    a, b = {"team": "db", "zone": "a", "n": "1"}, {"team": "db", "zone": "a", "n": "2"}
    assert not inhibited(TWO_SIDED, a, [a, b])


def test_a_source_only_alert_inhibits_a_two_sided_target() -> None:
    rules = parse_inhibit_rules([{"source_matchers": ["sev=~crit|page"], "target_matchers": ["sev=~crit|warn"]}])
    target, source = {"sev": "crit"}, {"sev": "page"}  # target matches both sides, source only the source side
    assert inhibited_by(rules, target, [source, target]) == [fingerprint(source)]


def test_deprecated_and_new_matchers_combine() -> None:
    rule = parse_inhibit_rule(
        {"source_match_re": {"severity": "crit.*"}, "source_matchers": ['team="x"'], "target_match": {"a": "b"}}, "r"
    )
    assert [str(m) for m in rule.source_matchers] == ['severity=~"^(?:crit.*)$"', 'team="x"']
    assert [str(m) for m in rule.target_matchers] == ['a="b"']


INVALID_RULES: list[tuple[dict[str, Any], str]] = [
    ({"equal": ["a-b"]}, "r.equal[0]"),  # equal names are label names
    ({"source_matchers": ['a="b']}, "r.source_matchers[0]"),  # matcher syntax errors point at the line
    ({"target_match": {"0a": "b"}}, "r.target_match.0a"),  # deprecated keys are label names too
    ({"target_match_re": {"a": "("}}, "r.target_match_re.a"),  # and regexes must compile
    ({"sources": []}, "r.sources"),  # unknown keys are rejected
]


@pytest.mark.parametrize(("data", "path"), INVALID_RULES, ids=[p for _, p in INVALID_RULES])
def test_invalid_rules_name_the_key(data: dict[str, Any], path: str) -> None:
    with pytest.raises(ConfigError) as caught:
        parse_inhibit_rule(data, "r")
    assert caught.value.path == path


labels = st.dictionaries(st.sampled_from(["team", "zone", "sev"]), st.sampled_from(["db", "a", "crit", ""]), max_size=3)
rule_sides = st.lists(st.sampled_from(['team="db"', 'sev=~"crit|a"', 'zone!=""', "team!~db"]), max_size=2)


@given(labels, rule_sides, rule_sides, st.lists(st.sampled_from(["team", "zone"]), max_size=2))
def test_no_alert_inhibits_itself(
    alert: dict[str, str], source: list[str], target: list[str], equal: list[str]
) -> None:
    rules = parse_inhibit_rules([{"source_matchers": source, "target_matchers": target, "equal": equal}])
    assert not inhibited(rules, alert, [alert])


@given(labels, labels, labels, rule_sides, rule_sides)
def test_more_firing_sources_never_lift_an_inhibition(
    target: dict[str, str], a: dict[str, str], b: dict[str, str], source: list[str], target_side: list[str]
) -> None:
    rules = parse_inhibit_rules([{"source_matchers": source, "target_matchers": target_side, "equal": ["zone"]}])
    if inhibited(rules, target, [a]):
        assert inhibited(rules, target, [a, b])
