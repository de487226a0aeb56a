"""The incident status machine, milestone order and the service's pure change planning, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.models import IncidentsConfig
from tocsin.incidents.model import (
    Impact,
    IncidentError,
    Milestones,
    Status,
    check_impacts,
    check_order,
    check_transition,
    impact_changes,
    move,
    parse_role,
    parse_severity,
    parse_status,
    severity_rank,
)
from tocsin.incidents.service import Changes, Declaration, changed, declared

T0 = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
NOW = T0 + timedelta(hours=1)
INV, ID, M, R = Status.INVESTIGATING, Status.IDENTIFIED, Status.MONITORING, Status.RESOLVED
LEVELS = {s.name: s.description for s in IncidentsConfig().severities}
ROLES = {r.name: r.description for r in IncidentsConfig().roles}
CUSTOM = {"P1": "everything is down", "P2": "", "P3": "cosmetic"}


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
    ("text", "levels", "expected"),
    [
        ("sev2", LEVELS, "SEV2"),  # severities are case-insensitive
        (" SEV1 ", LEVELS, "SEV1"),  # and trimmed
        ("p3", CUSTOM, "P3"),  # configured levels replace SEV1-SEV4
    ],
)
def test_parse_severity(text: str, levels: dict[str, str], expected: str) -> None:
    assert parse_severity(text, levels) == expected


@pytest.mark.parametrize(
    ("text", "levels", "error"),
    [
        ("SEV5", LEVELS, r"unknown severity 'SEV5'; use one of SEV1 \(critical"),  # only the configured ones
        ("SEV1", CUSTOM, r"use one of P1 \(everything is down\), P2, P3"),  # SEV1 is gone when P1-P3 are configured
    ],
)
def test_parse_severity_errors(text: str, levels: dict[str, str], error: str) -> None:
    with pytest.raises(IncidentError, match=error):
        parse_severity(text, levels)


def test_parse_status_and_role() -> None:
    assert parse_status("monitoring") is Status.MONITORING
    assert parse_role("scribe", ROLES) == "scribe"
    assert parse_role("liaison", {**ROLES, "liaison": "customer liaison"}) == "liaison"  # configured roles
    with pytest.raises(IncidentError, match="unknown status 'closed'"):
        parse_status("closed")  # the vocabulary says resolved
    with pytest.raises(IncidentError, match=r"unknown role 'boss'; use one of commander \(incident commander"):
        parse_role("boss", ROLES)


@pytest.mark.parametrize(
    ("severity", "levels", "rank"),
    [
        ("SEV1", LEVELS, 0),  # first is worst
        ("SEV4", LEVELS, 3),
        ("SEV2", CUSTOM, None),  # removed from the config since: still shown, unranked
    ],
)
def test_severity_rank(severity: str, levels: dict[str, str], rank: int | None) -> None:
    assert severity_rank(severity, levels) == rank


COMPONENTS = {"public": ["API", "Web"], "internal": []}
SERVICES = ["api", "db"]


@pytest.mark.parametrize(
    ("impacts", "error"),
    [
        ([Impact("component", "public", "API", "major_outage")], None),  # a known component
        ([Impact("service", "", "db", "degraded_performance")], None),  # a known service
        ([], None),  # clearing is fine
        (
            [Impact("component", "public", "Auth", "major_outage")],
            "status page 'public' has no component 'Auth'; known: API, Web",
        ),
        ([Impact("component", "nope", "API", "major_outage")], "no status page 'nope'; known: public, internal"),
        ([Impact("service", "", "cache", "partial_outage")], r"impacts\[0\].name: no service 'cache'; known: api, db"),
        ([Impact("service", "public", "api", "partial_outage")], "a service belongs to no status page"),
        (
            [Impact("service", "", "api", "down")],
            "impact: 'down' is not one of degraded_performance",
        ),  # the four levels
        ([Impact("monitor", "", "api", "major_outage")], "kind: 'monitor' is not one of service, component"),
        (
            [Impact("service", "", "api", "major_outage"), Impact("service", "", "api", "partial_outage")],
            r"impacts\[1\]: service api is listed twice",
        ),  # one impact per target
    ],
)
def test_check_impacts(impacts: list[Impact], error: str | None) -> None:
    if error is None:
        check_impacts(impacts, COMPONENTS, SERVICES)
    else:
        with pytest.raises(IncidentError, match=error):
            check_impacts(impacts, COMPONENTS, SERVICES)


def test_impact_changes_pair_old_and_new() -> None:
    api = Impact("service", "", "api", "partial_outage")
    worse = Impact("service", "", "api", "major_outage")
    web = Impact("component", "public", "Web", "degraded_performance")
    assert impact_changes([api], [worse, web]) == [(None, web), (api, worse)]  # added, changed
    assert impact_changes([api, web], [api]) == [(web, None)]  # removed
    assert impact_changes([api], [api]) == []  # unchanged


def test_declare_links_the_group_and_writes_the_first_entries() -> None:
    incident, entries = declared(
        Declaration(" DB down ", "SEV1", "", '{}:{alertname="DB"}', "alert_group"), "alice", T0
    )
    assert (incident.title, incident.status, incident.times.detected) == ("DB down", INV, T0)
    assert [e.kind for e in entries] == ["declared", "alert_group"]
    assert (incident.source, entries[0].detail) == ("alert_group", {"source": "alert_group"})


def test_changes_write_one_entry_each() -> None:
    incident, _ = declared(Declaration("DB down", "SEV2"), "alice", T0)
    changes = Changes(
        1,
        status=M,
        severity="SEV1",
        roles={"commander": "bob"},
        times={"impact_start": at(-5), "detected": T0},  # detected unchanged: no entry
        title="DB primary down",
        summary="failover running",
        impacts=(Impact("service", "", "db", "major_outage"),),
    )
    after, entries = changed(incident, changes, "alice", NOW)
    assert (after.status, after.severity, after.roles, after.times.mitigated) == (M, "SEV1", {"commander": "bob"}, NOW)
    assert (after.title, after.summary, after.impacts) == ("DB primary down", "failover running", changes.impacts)
    assert [e.kind for e in entries] == ["time", "status", "severity", "role", "title", "summary", "impact"]
    assert entries[-1].text == "service db: major outage"
    _, more = changed(after, Changes(2, roles={"commander": "bob"}, impacts=()), "alice", NOW)
    assert [e.text for e in more] == ["service db: no longer affected"]  # same commander: no entry


@pytest.mark.parametrize(
    ("changes", "error"),
    [
        (Changes(1, status=INV), None),  # no change: no entries, no error
        (Changes(1, times={"resolved": at(20)}), "resolved time is set by resolving"),  # resolve through the status
        (Changes(1, times={"impact_start": at(30)}), "detected .* is before impact_start"),  # order still holds
        (Changes(1, times={"fixed": at(1)}), "unknown time 'fixed'"),  # only the five milestones
        (Changes(1, title="  "), "title: give the incident a title"),  # a title cannot be emptied
    ],
)
def test_change_errors(changes: Changes, error: str | None) -> None:
    incident, _ = declared(Declaration("DB down", "SEV2"), "alice", at(10))
    if error is None:
        assert changed(incident, changes, "alice", NOW)[1] == []
    else:
        with pytest.raises(IncidentError, match=error):
            changed(incident, changes, "alice", NOW)
