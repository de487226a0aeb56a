"""Status pages' pure parts from tables: precedence of overrides and incidents, incident views, history paging,
themes' contrast, custom-domain paths and the console's component lines."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta

import pytest

from tocsin.statuspage import themes
from tocsin.statuspage.daybars import BarIncident, BarView
from tocsin.statuspage.history import months_of, page_count, page_of
from tocsin.statuspage.incidents import by_day, impact, incident_view
from tocsin.statuspage.registry import host_of
from tocsin.statuspage.status import ComponentStatus as C
from tocsin.statuspage.status import Indicator as I
from tocsin.statuspage.status import effective_status
from tocsin.statuspage.views import ComponentView
from tocsin.store.status_incidents import PageIncident, PublicUpdate
from tocsin.web.status_domains import page_path
from tocsin.web.ui.status_console import component_line, parse_components
from tocsin.web.ui.status_pages import bars_svg

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)

PRECEDENCE = [
    (C.MAJOR_OUTAGE, None, [], C.MAJOR_OUTAGE),  # no override, no incident: the monitors decide
    (C.MAJOR_OUTAGE, C.OPERATIONAL, [], C.OPERATIONAL),  # an override replaces the monitors' verdict (a false alarm)
    (C.OPERATIONAL, C.DEGRADED, [], C.DEGRADED),  # ... in both directions
    (C.OPERATIONAL, C.OPERATIONAL, [C.PARTIAL_OUTAGE], C.PARTIAL_OUTAGE),  # an open incident only worsens
    (C.MAJOR_OUTAGE, None, [C.DEGRADED], C.MAJOR_OUTAGE),  # ... never improves
    (C.MAINTENANCE, None, [C.DEGRADED], C.DEGRADED),  # maintenance shows only when nothing is worse
    (C.OPERATIONAL, None, [C.MAINTENANCE], C.MAINTENANCE),  # an incident can put a component in maintenance
    (C.OPERATIONAL, C.MAINTENANCE, [], C.MAINTENANCE),  # a hand-set maintenance
]


@pytest.mark.parametrize(("monitors", "override", "impacts", "expected"), PRECEDENCE)
def test_status_precedence(monitors: C, override: C | None, impacts: list[C], expected: C) -> None:
    assert effective_status(monitors, override, impacts) is expected


IMPACTS = [
    ([], I.NONE),  # no component affected
    (["degraded_performance"], I.MINOR),
    (["degraded_performance", "partial_outage"], I.MAJOR),  # the worst component decides
    (["major_outage"], I.CRITICAL),
    (["under_maintenance"], I.NONE),  # maintenance is not an incident impact
    (["bogus"], I.NONE),  # an unknown stored value does not break the page
]


@pytest.mark.parametrize(("impacts", "expected"), IMPACTS)
def test_incident_impact(impacts: list[str], expected: I) -> None:
    assert impact(impacts) is expected


def _update(n: int, minutes: int, status: str, components: dict[str, str]) -> PublicUpdate:
    return PublicUpdate(n, 7, T0 + timedelta(minutes=minutes), status, f"update {n}", components)


def test_incident_view_lists_updates_newest_first_with_changed_components() -> None:
    updates = (
        _update(3, 60, "resolved", {"API": "operational"}),
        _update(2, 30, "monitoring", {"API": "degraded_performance"}),
        _update(1, 0, "investigating", {"API": "major_outage", "Gone": "major_outage"}),
    )
    stored = PageIncident(
        7, "API errors", "resolved", T0, T0, T0, T0 + timedelta(hours=1), {"API": "major_outage"}, updates
    )
    view = incident_view(stored, {"API": "c-api"})
    assert [u.id for u in view.updates] == ["3", "2", "1"]
    assert [(a.old_status, a.new_status) for a in view.updates[2].affected] == [("operational", "major_outage")]
    assert [(a.old_status, a.new_status) for a in view.updates[1].affected] == [
        ("major_outage", "degraded_performance")
    ]
    assert view.monitoring_at == T0 + timedelta(minutes=30)
    assert view.resolved_at == T0 + timedelta(hours=1)
    assert (view.components, view.impact) == (["c-api"], I.CRITICAL)  # a component no longer on the page is left out


def test_incidents_mark_every_day_they_touched() -> None:
    stored = PageIncident(1, "Outage", "resolved", T0, T0, T0, T0 + timedelta(days=2), {"API": "major_outage"})
    view = incident_view(stored, {"API": "c-api"})
    days = by_day([view], "c-api", date(2026, 11, 1), 30)
    assert sorted(days) == [date(2026, 11, 20), date(2026, 11, 21), date(2026, 11, 22)]
    assert by_day([view], "c-other", date(2026, 11, 1), 30) == {}


def test_history_pages_are_three_months_newest_first() -> None:
    assert months_of(T0, 1) == [(2026, 11), (2026, 10), (2026, 9)]
    assert months_of(T0, 2) == [(2026, 8), (2026, 7), (2026, 6)]
    assert months_of(datetime(2026, 1, 5, tzinfo=UTC), 1) == [(2026, 1), (2025, 12), (2025, 11)]  # across a year
    assert page_count(T0, None) == 1  # no incidents: one page
    assert page_count(T0, datetime(2026, 9, 30, tzinfo=UTC)) == 1
    assert page_count(T0, datetime(2026, 8, 1, tzinfo=UTC)) == 2
    assert page_of(T0, T0) == 1
    assert page_of(T0, datetime(2026, 8, 31, tzinfo=UTC)) == 2


def test_theme_text_is_readable() -> None:
    for palette in (themes.LIGHT, themes.DARK):
        for name in themes.TEXT_ON_BG:
            assert themes.contrast(palette[name], palette["bg"]) >= 4.5, name
    for name, colour in themes.BANNERS.items():
        assert themes.contrast("#ffffff", colour) >= 4.5, name


def test_theme_css() -> None:
    assert "prefers-color-scheme: dark" in themes.css("auto")
    assert "prefers-color-scheme" not in themes.css("dark")
    assert f"--bg:{themes.DARK['bg']}" in themes.css("dark")
    assert f"--bg:{themes.LIGHT['bg']}" in themes.css("light")


HOSTS = [
    ("Status.Acme.Example", "status.acme.example"),  # case-insensitive
    ("status.acme.example:8443", "status.acme.example"),  # the port is ignored
    ("[::1]:8080", "[::1]"),
]


@pytest.mark.parametrize(("header", "host"), HOSTS)
def test_host_of(header: str, host: str) -> None:
    assert host_of(header) == host


PATHS = [
    ("/", "/status/acme"),
    ("/index.json", "/status/acme.json"),
    ("/history", "/status/acme/history"),
    ("/api/v2/incidents/unresolved.json", "/status/acme/api/v2/incidents/unresolved.json"),
    ("/badge/status.svg", "/status/acme/badge/status.svg"),
    ("/feed.atom", "/status/acme/feed.atom"),
    ("/subscribe", "/status/acme/subscribe"),  # subscriptions work on the domain too
    ("/subscribe.json", "/status/acme/subscribe.json"),
    ("/subscriptions/confirm", "/status/acme/subscriptions/confirm"),
    ("/unsubscribe", "/status/acme/unsubscribe"),
    ("/monitors", None),  # the console is not served on a status domain
    ("/api/v1/monitors", None),  # nor the API
    ("/status/other", None),  # nor other pages
    ("/historyx", None),
]


@pytest.mark.parametrize(("path", "target"), PATHS)
def test_custom_domain_paths(path: str, target: str | None) -> None:
    assert page_path("acme", path) == target


def test_component_lines_round_trip() -> None:
    text = "Core / API: api-eu, api-us\n\n# a comment\nWebsite\nPeople / Support desk"
    previous = [{"name": "Website", "description": "the marketing site"}]
    parsed = parse_components(text, previous)
    assert parsed == [
        {"name": "API", "group": "Core", "monitors": ["api-eu", "api-us"]},
        {"name": "Website", "description": "the marketing site"},  # kept from before: lines carry no description
        {"name": "Support desk", "group": "People"},
    ]
    assert [component_line(c) for c in parsed] == ["Core / API: api-eu, api-us", "Website", "People / Support desk"]


def _component(bars: list[BarView]) -> ComponentView:
    return ComponentView(id="c1", name="API", description="", group=None, group_id=None, position=1,
                         status=C.OPERATIONAL, uptime_90d=None, uptime_30d=None, bars=bars)  # fmt: skip


def _day(n: int, css: str, text: str, incidents: tuple[BarIncident, ...] = ()) -> BarView:
    day = f"2026-11-{n:02d}"
    return BarView(day, 10, 0, 1.0, css == "maint", css, f"{day}: {text}", incidents)


def test_bars_share_a_shape_while_days_say_the_same_and_incident_days_stand_alone() -> None:
    outage = (BarIncident("i9", "API errors"),)
    bars = [_day(1, "ok", "100% up"), _day(2, "ok", "100% up"), _day(3, "bad", "98.00% up"),
            _day(4, "bad", "98.00% up; incidents: API errors", outage), _day(5, "ok", "100% up"),
            _day(6, "none", "no data"), _day(7, "none", "no data")]  # fmt: skip
    svg = bars_svg(_component(bars), lambda incident: f"/history#{incident}")
    shapes = re.findall(r'<rect x="(\d+)" width="(\d+)" height="1" class="(\w+)"><title>([^<]*)</title>', svg)
    assert shapes == [
        ("0", "2", "ok", "2026-11-01 to 2026-11-02, each day: 100% up"),
        ("2", "1", "bad", "2026-11-03: 98.00% up"),
        ("3", "1", "bad", "2026-11-04: 98.00% up; incidents: API errors"),  # linked, alone
        ("4", "1", "ok", "2026-11-05: 100% up"),
        ("5", "2", "none", "2026-11-06 to 2026-11-07, each day: no data"),
    ]
    assert '<a href="/history#i9" aria-label="2026-11-04: 98.00% up; incidents: API errors">' in svg
    assert 'viewBox="0 0 7 1"' in svg
    assert 'aria-label="API: daily uptime, last 7 days"' in svg
    assert "style=" not in svg  # shared CSS classes only
