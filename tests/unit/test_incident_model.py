"""The incident status machine, milestone order and the service's pure change planning, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.incidents.model import (
    ROLES,
    SEVERITIES,
    IncidentError,
    Milestones,
    Role,
    Severity,
    Status,
    check_order,
    check_transition,
    move,
    parse_role,
    parse_severity,
    parse_status,
)
from tocsin.incidents.service import Changes, Declaration, changed, declared

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
INV, ID, M, R = Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED


def at(minutes: int) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (INV, ID, True),  # the normal path: cause found
        (ID, M, True),  # fix applied, watching
        (M, R, True),  # fix held
        (INV, R, True),  # a short incident may skip straight to resolved
        (INV, M, True),  # mitigated before the cause is known
        (ID, INV, True),  # the suspected cause was wrong: back to investigating
        (M, INV, True),  # the fix did not hold
        (R, INV, True),  # reopen
        (M, ID, False),  # monitoring goes back only to investigating
        (R, ID, False),  # a reopen starts from investigating
        (R, M, False),  # ... never straight to monitoring
        (INV, INV, False),  # not a move
        (R, R, False),  # resolving twice is not a move
    ],
)
def test_transitions(current: Status, target: Status, allowed: bool) -> None:
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(IncidentError, match=f"cannot go from {current} to {target}"):
            check_transition(current, target)


@pytest.mark.parametrize(
    ("times", "error"),
    [
        (Milestones(), None),  # nothing known yet is fine
        (Milestones(at(0), at(5), at(10), at(20), at(30)), None),  # all in order
        (Milestones(detected=at(5), resolved=at(30)), None),  # gaps are fine
        (Milestones(at(0), at(0), at(0)), None),  # equal times are in order
        (
            Milestones(impact_start=at(10), detected=at(5)),
            "detected .* is before impact_start",
        ),  # detected before impact
        (Milestones(detected=at(5), mitigated=at(1)), "mitigated .* is before detected"),  # skips unknown ones between
        (Milestones(acknowledged=at(20), resolved=at(19)), "resolved .* is before acknowledged"),  # resolved too early
        (Milestones(detected=NOW + timedelta(seconds=1)), "detected .* is in the future"),  # no future times
    ],
)
def test_milestone_order(times: Milestones, error: str | None) -> None:
    if error is None:
        check_order(times, NOW)
    else:
        with pytest.raises(IncidentError, match=error):
            check_order(times, NOW)


@pytest.mark.parametrize(
    ("current", "target", "before", "after"),
    [
        (INV, M, Milestones(detected=at(0)), Milestones(detected=at(0), mitigated=NOW)),  # monitoring: mitigated now
        (INV, R, Milestones(), Milestones(mitigated=NOW, resolved=NOW)),  # resolving also mitigates
        (M, R, Milestones(mitigated=at(5)), Milestones(mitigated=at(5), resolved=NOW)),  # a known mitigation is kept
        (R, INV, Milestones(mitigated=at(5), resolved=at(9)), Milestones(mitigated=at(5))),  # reopen clears resolved
        (INV, ID, Milestones(detected=at(0)), Milestones(detected=at(0))),  # identified changes no time
    ],
)
def test_move_fills_milestones(current: Status, target: Status, before: Milestones, after: Milestones) -> None:
    assert move(current, target, before, NOW) == after


@pytest.mark.parametrize(
    ("parse", "text", "expected"),
    [
        (parse_severity, "sev2", Severity.SEV2),  # severities are case-insensitive
        (parse_status, "monitoring", Status.MONITORING),  # statuses by name
        (parse_role, "scribe", Role.SCRIBE),  # roles by name
    ],
)
def test_parse(parse: object, text: str, expected: object) -> None:
    assert parse(text) == expected  # type: ignore[operator]


@pytest.mark.parametrize(
    ("parse", "text", "error"),
    [
        (parse_severity, "SEV5", "unknown severity 'SEV5'; use one of SEV1"),  # only SEV1-SEV4
        (parse_status, "closed", "unknown status 'closed'"),  # the vocabulary says resolved
        (parse_role, "boss", "unknown role 'boss'; use one of commander"),  # three roles
    ],
)
def test_parse_errors(parse: object, text: str, error: str) -> None:
    with pytest.raises(IncidentError, match=error):
        parse(text)  # type: ignore[operator]


def test_every_severity_and_role_is_described() -> None:
    assert set(SEVERITIES) == set(Severity)
    assert set(ROLES) == set(Role)


def test_declare_links_the_group_and_writes_the_first_entries() -> None:
    incident, entries = declared(Declaration(" DB down ", Severity.SEV1, "", '{}:{alertname="DB"}'), "alice", T0)
    assert (incident.title, incident.status, incident.times.detected) == ("DB down", INV, T0)
    assert [e.kind for e in entries] == ["declared", "alert_group"]


def test_changes_write_one_entry_each() -> None:
    incident, _ = declared(Declaration("DB down", Severity.SEV2), "alice", T0)
    changes = Changes(
        1, status=M, severity=Severity.SEV1, roles={Role.COMMANDER: "bob"}, times={"impact_start": at(-5)}
    )
    after, entries = changed(incident, changes, "alice", NOW)
    assert (after.status, after.severity, after.roles, after.times.mitigated) == (
        M,
        Severity.SEV1,
        {"commander": "bob"},
        NOW,
    )
    assert [e.kind for e in entries] == ["time", "status", "severity", "role"]


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (Changes(1, status=INV), None),  # no change: no entries, no error
        (Changes(1, times={"resolved": at(20)}), "resolved time is set by resolving"),  # resolve through the status
        (Changes(1, times={"impact_start": at(30)}), "detected .* is before impact_start"),  # order still holds
        (Changes(1, times={"fixed": at(1)}), "unknown time 'fixed'"),  # only the five milestones
    ],
)
def test_change_errors(changes: Changes, error: str | None) -> None:
    incident, _ = declared(Declaration("DB down", Severity.SEV2), "alice", at(10))
    if error is None:
        assert changed(incident, changes, "alice", NOW)[1] == []
    else:
        with pytest.raises(IncidentError, match=error):
            changed(incident, changes, "alice", NOW)
