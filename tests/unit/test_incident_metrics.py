"""Incident metrics and on-call load against values computed by hand for a scripted set of incidents and pages."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from tocsin.incidents.metrics import (
    UNASSIGNED,
    IncidentFacts,
    Load,
    Page,
    Summary,
    by_severity,
    durations,
    load,
    months,
    out_of_hours,
    quantile,
    report,
    summarize,
)
from tocsin.incidents.model import Milestones

SEVERITIES = ("SEV1", "SEV2", "SEV3", "SEV4")
JAN, MAR = datetime(2026, 1, 1, tzinfo=UTC), datetime(2026, 3, 1, tzinfo=UTC)


def at(day: str, hm: str) -> datetime:
    return datetime.fromisoformat(f"{day}T{hm}:00+00:00")


def m(minutes: float) -> timedelta:
    return timedelta(minutes=minutes)


# A: impact in January, detected right after midnight UTC on 1 February: a February incident; two services.
A = IncidentFacts(
    1,
    "SEV1",
    "resolved",
    at("2026-02-01", "00:00"),
    Milestones(
        at("2026-01-31", "23:50"),
        at("2026-02-01", "00:00"),
        at("2026-02-01", "00:05"),
        at("2026-02-01", "00:30"),
        at("2026-02-01", "01:50"),
    ),
    ("api", "db"),
)
# B: impact start unknown (MTTM and MTTR run from detection); detected a minute before February: January.
B = IncidentFacts(
    2,
    "SEV2",
    "resolved",
    at("2026-01-31", "23:59"),
    Milestones(
        None, at("2026-01-31", "23:59"), at("2026-02-01", "00:09"), at("2026-02-01", "00:29"), at("2026-02-01", "00:59")
    ),
    ("api",),
)
# C: still open, never acknowledged, no service named.
C = IncidentFacts(
    3,
    "SEV2",
    "investigating",
    at("2026-02-10", "10:20"),
    Milestones(at("2026-02-10", "10:00"), at("2026-02-10", "10:20")),
)
# D: `detected` cleared: placed by when it was declared; MTTD and MTTA unknown, MTTM/MTTR from the impact start.
D = IncidentFacts(
    4,
    "SEV3",
    "resolved",
    at("2026-02-15", "12:00"),
    Milestones(at("2026-02-15", "11:00"), None, None, at("2026-02-15", "11:30"), at("2026-02-15", "13:00")),
    ("db",),
)
# E: detected exactly at the range's (exclusive) end: left out.
E = IncidentFacts(5, "SEV1", "resolved", MAR, Milestones(MAR - m(5), MAR, MAR, MAR, MAR), ("api",))
INCIDENTS = (A, B, C, D, E)


def s(
    count: int, missing: int, mean: float | None = None, median: float | None = None, p90: float | None = None
) -> Summary:
    """A summary from minutes."""
    minutes = (mean, median, p90)
    mean_, median_, p90_ = (None if v is None else m(v) for v in minutes)
    return Summary(count, missing, mean_, median_, p90_)


def test_durations_follow_the_definitions() -> None:
    assert durations(A.times) == {"mttd": m(10), "mtta": m(5), "mttm": m(40), "mttr": m(120)}
    assert durations(B.times) == {"mttd": None, "mtta": m(10), "mttm": m(30), "mttr": m(60)}  # from detected
    assert durations(C.times) == {"mttd": m(20), "mtta": None, "mttm": None, "mttr": None}
    assert durations(D.times) == {"mttd": None, "mtta": None, "mttm": m(30), "mttr": m(120)}
    assert durations(Milestones()) == dict.fromkeys(("mttd", "mtta", "mttm", "mttr"))


@pytest.mark.parametrize(
    ("values", "q", "expected"),
    [
        ([10], 0.9, 10),  # one value is every quantile
        ([10, 20], 0.5, 15),  # an even count: the mean of the middle two
        ([10, 20], 0.9, 19),  # 90% of the way from 10 to 20
        ([30, 30, 40], 0.5, 30),
        ([30, 30, 40], 0.9, 38),  # rank 1.8: 30 + 0.8 of 10
        ([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], 0.9, 9.1),
    ],
)
def test_quantile_interpolates_between_closest_ranks(values: list[int], q: float, expected: float) -> None:
    assert quantile([m(v) for v in values], q) == m(expected)


def test_summarize_counts_what_it_skipped() -> None:
    assert summarize([m(30), None, m(40), m(30)]) == s(3, 1, 100 / 3, 30, 38)
    assert summarize([None, None]) == s(0, 2)
    assert summarize([]) == s(0, 0)


def test_report_by_hand() -> None:
    r = report(INCIDENTS, [], JAN, MAR, SEVERITIES, {})
    assert r.months == ("2026-01", "2026-02")
    t = r.totals
    assert (t.incidents, t.open, t.resolved) == (4, 1, 3)  # E is outside [from, to)
    assert t.metrics["mttd"] == s(2, 2, 15, 15, 19)  # A 10m, C 20m
    assert t.metrics["mtta"] == s(2, 2, 7.5, 7.5, 9.5)  # A 5m, B 10m
    assert t.metrics["mttm"] == s(3, 1, 100 / 3, 30, 38)  # A 40m, B 30m, D 30m
    assert t.metrics["mttr"] == s(3, 1, 100, 120, 120)  # A 120m, B 60m, D 120m

    services = {g.key: g for g in r.by_service}
    assert list(services) == ["api", "db", UNASSIGNED]  # by name, unassigned last
    assert (services["api"].incidents, services["api"].open) == (2, 0)  # A and B
    assert services["api"].metrics["mttr"] == s(2, 0, 90, 90, 114)
    assert services["db"].metrics["mttm"] == s(2, 0, 35, 35, 39)  # A counts in both of its services
    assert services["db"].metrics["mtta"] == s(1, 1, 5, 5, 5)
    assert (services[UNASSIGNED].incidents, services[UNASSIGNED].open) == (1, 1)  # C

    assert [(g.key, g.incidents, g.open) for g in r.by_severity] == [
        ("SEV1", 1, 0),
        ("SEV2", 2, 1),
        ("SEV3", 1, 0),
        ("SEV4", 0, 0),  # configured severities are all shown, in order
    ]
    assert r.by_severity[3].metrics["mttr"] == s(0, 0)

    assert [(g.key, g.incidents) for g in r.by_month] == [("2026-01", 1), ("2026-02", 3)]  # month of detection
    assert r.by_month[0].metrics["mttr"] == s(1, 0, 60, 60, 60)  # B alone
    assert r.severity_by_month == {
        "2026-01": {"SEV1": 0, "SEV2": 1, "SEV3": 0, "SEV4": 0},
        "2026-02": {"SEV1": 1, "SEV2": 1, "SEV3": 1, "SEV4": 0},
    }


def test_a_service_named_twice_counts_once_and_unknown_severities_come_last() -> None:
    twice = IncidentFacts(9, "P0", "resolved", A.declared, A.times, ("api", "api"))
    groups = report([twice, A], [], JAN, MAR, SEVERITIES, {})
    assert [(g.key, g.incidents) for g in groups.by_service] == [("api", 2), ("db", 1)]
    assert [g.key for g in by_severity([twice, A], SEVERITIES)] == [*SEVERITIES, "P0"]
    assert groups.severity_by_month["2026-02"]["P0"] == 1


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (JAN, MAR, ["2026-01", "2026-02"]),  # the end is exclusive: March is not touched
        (JAN, MAR + timedelta(milliseconds=1), ["2026-01", "2026-02", "2026-03"]),
        (at("2025-11-15", "12:00"), at("2026-01-02", "00:00"), ["2025-11", "2025-12", "2026-01"]),  # across a year
        (at("2026-02-10", "00:00"), at("2026-02-11", "00:00"), ["2026-02"]),
    ],
)
def test_months_touched_by_a_range(start: datetime, end: datetime, expected: list[str]) -> None:
    assert months(start, end) == expected


ZONES = {"alice": "Europe/London", "bob": "America/New_York", "carol": "Asia/Kolkata"}  # dave: UTC by default
PAGES = [
    # London changes to BST on Sunday 2026-03-29: the same UTC time is an hour later on the wall clock after it
    ("alice", "2026-03-23", "08:30", True),  # Monday 08:30 GMT: before nine
    ("alice", "2026-03-30", "08:30", False),  # Monday 09:30 BST
    ("alice", "2026-03-27", "17:30", False),  # Friday 17:30 GMT
    ("alice", "2026-04-03", "17:30", True),  # Friday 18:30 BST
    # New York changes to EDT on Sunday 2026-03-08
    ("bob", "2026-03-06", "22:30", False),  # Friday 17:30 EST
    ("bob", "2026-03-09", "22:30", True),  # Monday 18:30 EDT
    ("bob", "2026-03-07", "15:00", True),  # Saturday 10:00 EST: weekends are out of hours
    ("bob", "2026-04-01", "00:30", True),  # Tuesday 31 March 20:30 EDT, but an April page (UTC month)
    ("carol", "2026-03-31", "04:00", False),  # Tuesday 09:30 IST (+05:30, no DST)
    ("dave", "2026-03-31", "12:00", False),  # no time zone known: UTC
    ("dave", "2026-04-01", "09:00", False),  # 09:00 is in working hours
    ("dave", "2026-04-01", "18:00", True),  # 18:00 is not
]


@pytest.mark.parametrize(("user", "day", "hm", "late"), PAGES)
def test_out_of_hours_in_the_responders_zone(user: str, day: str, hm: str, late: bool) -> None:
    assert out_of_hours(at(day, hm), ZoneInfo(ZONES.get(user, "UTC"))) is late


def test_load_per_responder_and_month() -> None:
    pages = [Page(user, at(day, hm)) for user, day, hm, _ in PAGES]
    people, monthly = load(pages, ZONES)
    assert people == [
        Load("alice", "Europe/London", 4, 2),  # most paged first, ties by name
        Load("bob", "America/New_York", 4, 3),
        Load("dave", "UTC", 3, 1),
        Load("carol", "Asia/Kolkata", 1, 0),
    ]
    assert people[1].out_of_hours_share == 0.75
    assert [(x.user, x.month, x.pages, x.out_of_hours) for x in monthly] == [
        ("alice", "2026-03", 3, 1),
        ("alice", "2026-04", 1, 1),
        ("bob", "2026-03", 3, 2),
        ("bob", "2026-04", 1, 1),
        ("carol", "2026-03", 1, 0),
        ("dave", "2026-03", 1, 0),
        ("dave", "2026-04", 2, 1),
    ]


def test_report_counts_only_pages_in_range() -> None:
    pages = [Page(user, at(day, hm)) for user, day, hm, _ in PAGES]
    r = report([], pages, MAR, datetime(2026, 4, 1, tzinfo=UTC), SEVERITIES, ZONES)
    assert (r.pages, r.out_of_hours) == (8, 3)  # March only: alice 1, bob 2 out of hours; April left out
    assert r.totals.incidents == 0
    assert [g.key for g in r.by_service] == []
    assert Load("x", "UTC", 0, 0).out_of_hours_share == 0.0
