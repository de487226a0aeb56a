"""Who is told through which contact method when, handoff notices, PagerDuty event mapping: pure, from tables."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.oncall.config import OncallConfig
from tocsin.oncall.directory import compile_directory, urgency_of
from tocsin.oncall.escalation import EscalationState, expand_targets
from tocsin.oncall.handoff import due_handoffs, notice_text
from tocsin.oncall.pdevents import InvalidEvent, alert_annotations, alert_labels, annotation_name, parse_alert_event
from tocsin.oncall.plan import next_send_at, sends
from tocsin.oncall.simulate import render, simulate

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)  # bob's day on the rotation below


def m(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


CONFIG: dict[str, Any] = {
    "users": [
        {"name": "alice", "email": "alice@example.com", "time_zone": "Europe/London"},
        {
            "name": "bob",
            "time_zone": "America/New_York",
            "contact_methods": [
                {"name": "push", "kind": "ntfy", "url": "https://ntfy.sh/bob"},
                {"name": "phone", "kind": "sms", "number": "+12025550123"},
                {"name": "mail", "kind": "email", "address": "bob@example.com"},
            ],
            "notification_rules": {
                "high": [{"contact_method": "push"}, {"contact_method": "phone", "delay": "5m"}],
                "low": [{"contact_method": "mail"}],
            },
        },
        {"name": "carol", "email": "carol@example.com"},
    ],
    "teams": [{"name": "sre", "members": ["alice", "bob", "carol"]}],
    "schedules": [
        {
            "name": "primary",
            "time_zone": "Europe/London",
            "layers": [{"name": "daily", "participants": ["alice", "bob"], "shift": "1d", "start": "2026-01-05"}],
        }
    ],
    "escalation_policies": [
        {
            "name": "core",
            "steps": [
                {"targets": [{"schedule": "primary"}], "delay": "10m"},
                {"targets": [{"team": "sre"}, {"user": "bob"}], "delay": "10m"},
            ],
            "ack_timeout": "30m",
        }
    ],
}
DIRECTORY = compile_directory(OncallConfig.model_validate(CONFIG))
CORE = DIRECTORY.policies["core"]


def plan(state: EscalationState, urgency: str = "high", until: float = 600) -> list[tuple[float, str, str, int]]:
    """(minute, user, method, step) of every send up to `until` minutes."""
    found = sends(CORE, state, DIRECTORY, urgency, T0, m(until))  # type: ignore[arg-type]
    return [((s.at - T0) / timedelta(minutes=1), s.user, s.method, s.step) for s in found]


STEP_1 = [(0, "bob", "push", 0), (5, "bob", "phone", 0)]
STEP_2 = [(10, "alice", "email", 1), (10, "bob", "push", 1), (10, "carol", "email", 1), (15, "bob", "phone", 1)]

# after an ack at 3m lapses (ack_timeout 30m) bob's step is paged again, then escalation carries on
RESUMED = [(33, "bob", "push", 0), (38, "bob", "phone", 0)] + [(43 + s[0] - 10, *s[1:]) for s in STEP_2]

PLANS = [
    # nobody answers: bob (on call) by push, by phone 5m later; then the team, bob once although named twice
    (EscalationState(T0), "high", STEP_1 + STEP_2),
    # acked at 3m: the phone rule 5m after the page is dropped (an ack came between page and rule), then RESUMED
    (EscalationState(T0, (m(3),)), "high", [(0, "bob", "push", 0), *RESUMED]),
    # resolved at 7m: the phone rule (5m) went out, step 2 never comes
    (EscalationState(T0, (), m(7)), "high", STEP_1),
    # resolved at 4m: the delayed phone rule is dropped too
    (EscalationState(T0, (), m(4)), "high", STEP_1[:1]),
    # low urgency: bob's low rules (mail); users without rules use every method at once
    (EscalationState(T0), "low", [(0, "bob", "mail", 0), (10, "alice", "email", 1), (10, "bob", "mail", 1),
                                  (10, "carol", "email", 1)]),
]  # fmt: skip


@pytest.mark.parametrize(("state", "urgency", "expected"), PLANS)
def test_sends_from_policy_rules_and_history(state: EscalationState, urgency: str, expected: list[Any]) -> None:
    assert sorted(plan(state, urgency)) == sorted(expected)


@pytest.mark.parametrize(
    ("after", "expected"),
    [
        (0, 0),  # the first page is due at once
        (0.5, 5),  # then bob's phone rule
        (5.5, 10),  # then step 2
        (15.5, None),  # nothing after the last rule of the last step
    ],
)
def test_next_send(after: float, expected: float | None) -> None:
    found = next_send_at(CORE, EscalationState(T0), DIRECTORY, "high", m(after))
    assert found == (None if expected is None else m(expected))


def test_sends_in_consecutive_windows_add_up_to_the_whole() -> None:
    whole = plan(EscalationState(T0))
    cuts = [0, 0.001, 4.9, 5, 10, 12, 600]
    pieces = [
        ((s.at - T0) / timedelta(minutes=1), s.user, s.method, s.step)
        for a, b in itertools.pairwise(cuts)
        for s in sends(CORE, EscalationState(T0), DIRECTORY, "high", m(a), m(b))
    ]
    assert sorted(pieces) == sorted(whole)  # each send exactly once, however the loop slices time


@settings(max_examples=200, deadline=None)
@given(st.integers(min_value=0, max_value=60 * 24 * 120))
def test_cached_lookups_agree_with_expand_targets(minutes: int) -> None:
    at = datetime(2026, 1, 1, tzinfo=UTC) + timedelta(minutes=minutes)
    for step in CORE.steps:
        assert DIRECTORY.people(step.targets, at) == expand_targets(
            step.targets, at, DIRECTORY.schedules, DIRECTORY.teams
        )


@pytest.mark.parametrize(
    ("labels", "urgency"),
    [({"severity": "critical"}, "high"), ({"severity": "Warning"}, "low"), ({"severity": "info"}, "low"), ({}, "high")],
)
def test_urgency_follows_severity(labels: dict[str, str], urgency: str) -> None:
    assert urgency_of(labels) == urgency


def test_handoff_notices_are_due_ahead_of_each_new_person() -> None:
    # London springs forward on 2026-03-29: the 09:00 handoff is at 08:00 UTC, so its notice at 07:00 UTC
    since, until = datetime(2026, 3, 28, 0, 0, tzinfo=UTC), datetime(2026, 3, 30, 0, 0, tzinfo=UTC)
    found = due_handoffs(DIRECTORY.schedules, since, until, timedelta(hours=1))
    assert [(h.user, h.start, h.notify_at) for h in found] == [
        ("alice", datetime(2026, 3, 28, 9, tzinfo=UTC), datetime(2026, 3, 28, 8, tzinfo=UTC)),
        ("bob", datetime(2026, 3, 29, 8, tzinfo=UTC), datetime(2026, 3, 29, 7, tzinfo=UTC)),
    ]
    assert notice_text(found[1], "America/New_York") == (
        "You are on call for primary from Sun 29 Mar 2026 04:00 EDT until Mon 30 Mar 2026 04:00 EDT."
    )


def test_simulation_crosses_a_dst_handoff() -> None:
    sim = simulate(DIRECTORY, "core", datetime(2026, 3, 29, 7, 55, tzinfo=UTC))  # 08:55 BST: alice until 09:00
    assert [(s.after, s.user, s.contact_method) for s in sim.sends][:2] == [
        ("+0m", "alice", "email"),
        ("+10m", "alice", "email"),
    ]
    assert "2026-03-29 04:10 EDT (America/New_York)" in render(sim)  # bob's own clock for step 2


TRIGGER: dict[str, Any] = {
    "routing_key": "k" * 32,
    "event_action": "trigger",
    "payload": {"summary": "Disk", "source": "db-1", "severity": "error"},
}
BAD_EVENTS = [
    ({}, ["'routing_key' is missing or blank", "'event_action' is missing or invalid"]),
    ({**TRIGGER, "payload": {}}, ["'payload.summary' is missing or blank", "'payload.source' is missing or blank"]),
    ({**TRIGGER, "payload": {**TRIGGER["payload"], "summary": "x" * 1025}}, ["'payload.summary' is too long"]),
    ({**TRIGGER, "links": [{"text": "no href"}]}, ["'links' must be a list of objects with an 'href'"]),
    ({"routing_key": "k", "event_action": "resolve"}, ["'dedup_key' is missing or blank"]),
]  # fmt: skip


@pytest.mark.parametrize(("event", "errors"), BAD_EVENTS)
def test_invalid_events_say_what_is_wrong(event: dict[str, Any], errors: list[str]) -> None:
    with pytest.raises(InvalidEvent) as caught:
        parse_alert_event(event)
    for error in errors:
        assert any(e.startswith(error) for e in caught.value.errors), caught.value.errors


def test_a_trigger_becomes_labels_and_annotations() -> None:
    event = parse_alert_event(
        {
            **TRIGGER,
            "dedup_key": "d1",
            "payload": {**TRIGGER["payload"], "component": "mysql", "class": "disk", "custom_details": {"free %": 3}},
            "links": [{"href": "https://grafana/d/1"}],
        }
    )
    assert alert_labels(event, "api", "pd", "d1") == {
        "alertname": "Disk",
        "source": "db-1",
        "severity": "error",
        "component": "mysql",
        "class": "disk",
        "service": "api",
        "integration_key": "pd",
        "dedup_key": "d1",
    }
    assert alert_annotations(event) == {"free__": "3", "summary": "Disk", "links": "https://grafana/d/1"}
    assert annotation_name("9 lives") == "_9_lives"
