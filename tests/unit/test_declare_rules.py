"""Declaring by rule, from tables: route flags, `incidents.declare` rules, SLO page alerts; titles; budget levels."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import yaml

from tocsin.alerting.alert import Alert
from tocsin.alerting.amconfig import parse_alerting_config
from tocsin.alerting.timeinterval import ConfigError
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.incidents.config import IncidentsConfig
from tocsin.incidents.declare_rules import Decision, compile_rules, decide, slo_page_of, summary, title
from tocsin.incidents.recorder import budget_entries, budget_level

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)

RULES = compile_rules(
    IncidentsConfig.model_validate(
        {
            "declare": [
                {
                    "name": "payments",
                    "matchers": ['service="payments"', 'severity=~"page|critical"'],
                    "severity": "SEV2",
                },
                {"name": "anything-db", "matchers": ['{team="db"}'], "severity": "SEV3"},
                {"name": "worst", "matchers": ["alertname=DataLoss"], "severity": "SEV1"},
            ],
            "declare_on_slo_page": "SEV2",
        }
    )
)
SLOS = {"api-availability": "SLOBurnRate", "checkout": "CheckoutBurn"}


@pytest.mark.parametrize(
    ("route", "firing", "expected"),
    [
        # nothing firing never declares, whatever the route says
        ("SEV1", [], None),
        # the route flag alone
        ("SEV3", [{"alertname": "X"}], Decision("SEV3", "route")),
        # all of a rule's matchers must hold for one alert; the regex is anchored like a route's
        (None, [{"service": "payments", "severity": "page"}], Decision("SEV2", "rule:payments")),
        (None, [{"service": "payments", "severity": "pager"}], None),
        (None, [{"service": "payments"}, {"severity": "page"}], None),
        # any firing alert of the group may match
        (None, [{"alertname": "A"}, {"team": "db"}], Decision("SEV3", "rule:anything-db")),
        # the worst severity wins across route and rules
        ("SEV3", [{"service": "payments", "severity": "critical"}], Decision("SEV2", "rule:payments")),
        (None, [{"team": "db", "alertname": "DataLoss"}], Decision("SEV1", "rule:worst")),
        # on a tie the route comes first
        ("SEV2", [{"service": "payments", "severity": "page"}], Decision("SEV2", "route")),
        # an SLO's page alert: its alertname, its slo label, severity page
        (
            None,
            [{"alertname": "SLOBurnRate", "slo": "api-availability", "severity": "page"}],
            Decision("SEV2", "slo:api-availability"),
        ),
        (None, [{"alertname": "SLOBurnRate", "slo": "api-availability", "severity": "ticket"}], None),
        (None, [{"alertname": "SLOBurnRate", "slo": "unknown-slo", "severity": "page"}], None),
        (None, [{"alertname": "Other", "slo": "checkout", "severity": "page"}], None),
    ],
)
def test_decide(route: str | None, firing: list[dict[str, str]], expected: Decision | None) -> None:
    assert decide(RULES, route, firing, SLOS) == expected


def test_no_rules_means_only_the_route_decides() -> None:
    empty = compile_rules(IncidentsConfig())
    assert decide(empty, None, [{"alertname": "SLOBurnRate", "slo": "checkout", "severity": "page"}], SLOS) is None
    assert decide(empty, "SEV4", [{"alertname": "A"}], {}) == Decision("SEV4", "route")


def test_slo_page_of() -> None:
    assert slo_page_of({"alertname": "CheckoutBurn", "slo": "checkout", "severity": "page"}, SLOS) == "checkout"
    assert slo_page_of({"alertname": "CheckoutBurn", "severity": "page"}, SLOS) is None


def alert(name: str, at: int = 0, **labels: str) -> Alert:
    annotations = {"summary": labels.pop("summary")} if "summary" in labels else {}
    return Alert({"alertname": name, **labels}, T0 + timedelta(seconds=at), annotations)


@pytest.mark.parametrize(
    ("alerts", "expected"),
    [
        ([alert("ApiDown", summary="API is down")], "ApiDown: API is down"),
        (
            [alert("ApiDown", 5, i="b", summary="b down"), alert("ApiDown", 0, i="a", summary="a down")],
            "ApiDown: a down (2 alerts)",
        ),
        ([alert("A"), alert("B"), alert("C"), alert("D"), alert("E")], "A, B, C and 2 more (5 alerts)"),
        ([Alert({"job": "x"}, T0)], "Alerts firing"),
        ([alert("X" * 400)], "X" * 299 + "…"),
    ],
)
def test_title(alerts: list[Alert], expected: str) -> None:
    assert title(alerts) == expected


def test_summary_lists_the_alerts() -> None:
    text = summary(Decision("SEV1", "route"), '{}:{alertname="ApiDown"}', [alert("ApiDown", summary="down", i="a")])
    assert text.splitlines() == [
        'Declared automatically (route) when alert group {}:{alertname="ApiDown"} started firing.',
        "",
        '- {alertname="ApiDown",i="a"}: down',
    ]


@pytest.mark.parametrize(
    ("consumed", "level"),
    [(float("nan"), 0), (0.0, 0), (0.2499, 0), (0.25, 1), (0.5, 2), (0.74, 2), (0.75, 3), (1.0, 4), (3.0, 4)],
)
def test_budget_level(consumed: float, level: int) -> None:
    assert budget_level(consumed) == level


def test_budget_entries_one_per_threshold_crossed() -> None:
    entries = budget_entries("api", 1, 3, 0.8, T0)
    assert [(e.kind, e.detail["threshold"]) for e in entries] == [("slo_budget", 50), ("slo_budget", 75)]
    assert entries[1].text == "SLO api has consumed 75% of its error budget (80.0% now)"
    assert budget_entries("api", 2, 2, 0.6, T0) == []


ROUTE = """
receiver: a
routes:
  - matchers: ['service="api"']
    declare_incident: SEV1
    routes:
      - matchers: ['env="dev"']
        declare_incident: false
      - matchers: ['env="prod"']
  - matchers: ['service="db"']
    declare_incident: SEV2
"""


def test_route_flag_is_inherited_and_can_be_switched_off() -> None:
    tree = parse_alerting_config({"route": yaml.safe_load(ROUTE), "receivers": [{"name": "a"}]}).route
    flags = {r.id: r.opts.declare_incident for r in tree.walk()}
    assert list(flags.values()) == [None, "SEV1", None, "SEV1", "SEV2"]
    assert tree.receivers({"service": "api", "env": "dev"}) == ["a"]  # routing itself is unchanged


@pytest.mark.parametrize("value", [3, "", ["SEV1"], True])
def test_route_flag_must_be_a_severity_name(value: Any) -> None:
    route = {"receiver": "a", "routes": [{"receiver": "a", "declare_incident": value}]}
    with pytest.raises(ConfigError) as err:
        parse_alerting_config({"route": route, "receivers": [{"name": "a"}]})
    assert err.value.path == "alerting.route.routes[0].declare_incident"


def test_config_errors_are_located(tmp_path: Any) -> None:
    path = tmp_path / "tocsin.yaml"
    path.write_text(
        """\
alerting:
  route:
    receiver: a
    routes:
      - matchers: ['service="api"']
        declare_incident: SEV9
  receivers: [{name: a}]
incidents:
  severities: [{name: P1}, {name: P2}]
  declare:
    - {name: x, matchers: ['service="a'], severity: P1}
"""
    )
    with pytest.raises(ConfigErrors) as err:
        load_config(path)
    text = err.value.format()
    assert f"{path}:6: alerting.route.routes[0].declare_incident: no severity is called 'SEV9'; known: P1, P2" in text
    assert f"{path}:11: incidents.declare[x].matchers[0]: bad matcher 'service=\"a'" in text
