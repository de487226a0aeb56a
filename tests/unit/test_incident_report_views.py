"""The report's range rules, its JSON view and its charts: pure functions, tested from tables."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.incidents.metrics import IncidentFacts, Page, report
from tocsin.incidents.model import Milestones
from tocsin.web.report_views import IncidentReport, RangeError, report_range, report_view
from tocsin.web.ui.report_charts import (
    count_top,
    duration_text,
    incidents_per_month_svg,
    nice_top,
    responder_load_svg,
    response_times_svg,
)

NOW = datetime(2026, 11, 5, 14, 30, tzinfo=UTC)
SEVERITIES = ["SEV1", "SEV2", "SEV3", "SEV4"]
MS = timedelta(milliseconds=1)


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)


@pytest.mark.parametrize(
    ("start", "end", "expected"),
    [
        (None, None, (NOW + MS - timedelta(days=90), NOW + MS)),  # the last 90 days, now included
        ("2026-10-01", "2026-11-01", (utc(2026, 10, 1), utc(2026, 11, 1))),  # dates are midnight UTC
        ("2026-10-01T00:00:00+02:00", "2026-10-02T00:00:00Z", (utc(2026, 9, 30, 22), utc(2026, 10, 2))),
        ("2026-10-01T08:00:00z", None, (utc(2026, 10, 1, 8), NOW + MS)),  # lower-case z; `to`: now, included
        (None, "2026-10-01", (utc(2026, 10, 1) - timedelta(days=90), utc(2026, 10, 1))),
        ("2024-11-05", "2026-11-05", (utc(2024, 11, 5), utc(2026, 11, 5))),  # 730 days: allowed
    ],
)
def test_report_range(start: str | None, end: str | None, expected: tuple[datetime, datetime]) -> None:
    assert report_range(start, end, NOW) == expected


@pytest.mark.parametrize(
    ("start", "end", "error"),
    [
        ("2026-11-01", "2026-10-01", "from (2026-11-01T00:00:00+00:00) must be before to"),
        ("2026-10-01", "2026-10-01", "must be before to"),  # an empty range
        ("2026-12-01", None, "must be before to"),  # from in the future, to defaults to now
        ("2024-01-01", "2026-11-01", "the range is 1035 days; a report covers at most two years"),
        ("yesterday", None, "from: 'yesterday' is not a date (2026-10-01) or an RFC 3339 time"),
        (None, "2026-13-01", "to: '2026-13-01' is not a date"),
        ("2026-10-01T00:00:00", None, "from: '2026-10-01T00:00:00' has no UTC offset; add Z"),
    ],
)
def test_report_range_refusals_say_why(start: str | None, end: str | None, error: str) -> None:
    with pytest.raises(RangeError, match=re.escape(error)):
        report_range(start, end, NOW)


def _view() -> IncidentReport:
    t0 = utc(2026, 10, 3, 2)  # a Saturday
    incidents = [
        IncidentFacts(
            1,
            "SEV1",
            "resolved",
            t0,
            Milestones(t0 - timedelta(minutes=4), t0, t0 + timedelta(minutes=6), None, t0 + timedelta(hours=5)),
            ("api",),
        ),
        IncidentFacts(2, "SEV3", "monitoring", t0, Milestones(None, utc(2026, 11, 2, 9)), ()),
    ]
    pages = [Page("alice", t0), Page("alice", utc(2026, 10, 5, 10)), Page("bob <b>", utc(2026, 10, 6, 23))]
    r = report(incidents, pages, utc(2026, 10, 1), utc(2026, 12, 1), SEVERITIES, {"alice": "Europe/London"})
    return report_view(r, SEVERITIES)


def test_report_view_json_shape() -> None:
    view = _view()
    body = view.model_dump(mode="json")
    assert (body["from"], body["to"]) == ("2026-10-01T00:00:00Z", "2026-12-01T00:00:00Z")
    assert body["months"] == ["2026-10", "2026-11"]
    assert body["totals"]["mttr"] == {
        "count": 1,
        "missing": 1,
        "mean_seconds": 18240.0,  # 5h 4m from the impact start
        "median_seconds": 18240.0,
        "p90_seconds": 18240.0,
    }
    assert body["totals"]["mttd"]["mean_seconds"] == 240.0
    assert body["severity_by_month"][1] == {"month": "2026-11", "counts": {"SEV1": 0, "SEV2": 0, "SEV3": 1, "SEV4": 0}}
    assert body["oncall"]["by_responder"][0] == {
        "user": "alice",
        "time_zone": "Europe/London",
        "month": None,
        "pages": 2,
        "out_of_hours": 1,  # Saturday 03:00 BST; Monday 11:00 BST is in hours
        "out_of_hours_share": 0.5,
    }
    assert body["oncall"]["working_hours"] == "09:00-18:00 Monday-Friday in the responder's time zone"


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (44.6, "45s"), (600, "10m"), (18240, "5h 4m"), (3 * 86400 + 7200, "3d 2h")],
)
def test_duration_text(seconds: float | None, text: str) -> None:
    assert duration_text(seconds) == text


@pytest.mark.parametrize(("value", "top"), [(0, 1), (1, 1), (3, 5), (7, 10), (12, 20), (0.3, 0.5), (250, 500)])
def test_nice_top(value: float, top: float) -> None:
    assert nice_top(value) == pytest.approx(top)


@pytest.mark.parametrize(("value", "top"), [(0, 2), (1, 2), (3, 4), (7, 8), (10, 10), (11, 20), (60, 100)])
def test_count_axes_have_whole_ticks(value: int, top: int) -> None:
    assert count_top(value) == top


def test_charts_have_text_alternatives_and_one_bar_per_value() -> None:
    view = _view()
    per_month = incidents_per_month_svg(view)
    assert 'role="img"' in per_month
    assert "<title>Incidents per month by severity, 2 in all</title>" in per_month
    assert "<desc>Incidents per month: 2026-10: 1; 2026-11: 1.</desc>" in per_month
    assert "<title>2026-10: 1 SEV1</title>" in per_month
    assert "<title>2026-11: 1 SEV3</title>" in per_month

    times = response_times_svg(view)
    assert "<title>2026-10 MTTA: 6m</title>" in times
    assert "<title>2026-10 MTTR: 5h 4m</title>" in times
    assert "2026-11 MTTA" not in times  # no acknowledged incident that month: no bar
    assert "2026-11: MTTA -, MTTR -" in times
    assert ">hours</text>" in times  # 5 hours: the axis is in hours

    people = view.oncall.by_responder
    load = responder_load_svg(people)
    assert "<title>Pages per responder, 3 in all</title>" in load
    assert "alice: 2 pages, 50% out of hours" in load
    assert "bob &lt;b&gt;" in load
    assert "bob <b>" not in load
    assert "No pages in this range." in responder_load_svg([])
    assert "bob &lt;b&gt;: 1 page, 100% out of hours" in load
