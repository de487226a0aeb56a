"""Sloth prometheus/v1 import (and its Kubernetes form), round-tripped to Sloth-named rules."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tocsin.slo.alerts import alert_labels
from tocsin.slo.catalog import import_file
from tocsin.slo.config import PrometheusSli
from tocsin.slo.importing import SpecError
from tocsin.slo.model import compile_slo
from tocsin.slo.rules import rule_groups

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slo" / "sloth"


def test_getting_started() -> None:
    (slo,) = import_file(FIXTURES / "getting-started.yml", url="http://prometheus:9090")
    assert (slo.name, slo.service, slo.objective, slo.window) == (
        "myservice-requests-availability",
        "myservice",
        99.9,
        timedelta(days=30),
    )
    assert isinstance(slo.sli, PrometheusSli)
    assert slo.sli.prometheus.bad is not None
    assert slo.sli.prometheus.bad.startswith("sum(rate(")
    assert slo.sli.prometheus.url == "http://prometheus:9090"
    assert slo.labels == {"owner": "myteam", "repo": "myorg/myservice", "tier": "2"}
    assert slo.alerting.name == "MyServiceHighErrorRate"
    assert slo.alerting.page.labels == {"severity": "pageteam", "routing_key": "myteam"}


def test_getting_started_rules_match_sloths_output() -> None:
    # Names, groups and labels as in Sloth's examples/_gen/getting-started.yml.
    (slo,) = import_file(FIXTURES / "getting-started.yml")
    groups, skipped = rule_groups([compile_slo(slo)])
    assert not skipped
    assert [g["name"] for g in groups] == [
        "sloth-slo-sli-recordings-myservice-requests-availability",
        "sloth-slo-meta-recordings-myservice-requests-availability",
        "sloth-slo-alerts-myservice-requests-availability",
    ]
    records = [r["record"] for r in groups[0]["rules"]]
    assert records == [f"slo:sli_error:ratio_rate{w}" for w in ("5m", "30m", "1h", "2h", "6h", "1d", "3d", "30d")]
    assert groups[0]["rules"][0]["labels"] == {
        "owner": "myteam",
        "repo": "myorg/myservice",
        "tier": "2",
        "sloth_id": "myservice-requests-availability",
        "sloth_service": "myservice",
        "sloth_slo": "requests-availability",
        "sloth_window": "5m",
    }
    page, ticket = groups[2]["rules"]
    assert page["alert"] == ticket["alert"] == "MyServiceHighErrorRate"
    assert page["labels"] == {
        "severity": "pageteam",
        "category": "availability",
        "routing_key": "myteam",
        "sloth_severity": "page",
    }
    assert ticket["labels"]["slack_channel"] == "#alerts-myteam"
    assert page["annotations"]["summary"] == "High error rate on 'myservice' requests responses"


def test_tocsin_alerts_keep_their_severity_label() -> None:
    # Exported rules follow Sloth (page_alert labels win); tocsin's own alerts say page or ticket.
    (slo,) = import_file(FIXTURES / "getting-started.yml")
    compiled = compile_slo(slo)
    labels = alert_labels(compiled, compiled.tiers[0])
    assert labels["severity"] == "page"
    assert labels["routing_key"] == "myteam"
    assert labels["alertname"] == "MyServiceHighErrorRate"


def test_several_slos_and_disabled_alerts() -> None:
    first, second = import_file(FIXTURES / "home-wifi.yml", window="28d")
    assert first.window == second.window == timedelta(days=28)
    assert first.labels == {"cluster": "valhalla", "component": "ubiquiti", "wifi_band": "5g"}
    assert [t.name for t in compile_slo(first).tiers] == ["page-1h", "page-6h"]
    assert compile_slo(second).tiers == ()
    groups, _ = rule_groups([compile_slo(second)])
    assert len(groups) == 2  # no alert group without alerts


def test_kubernetes_prometheus_service_level() -> None:
    (slo,) = import_file(FIXTURES / "k8s-crd.yml")
    assert slo.name == "myservice-requests-availability"
    assert isinstance(slo.sli, PrometheusSli)
    assert slo.sli.prometheus.total.startswith("sum(rate(")
    assert slo.alerting.page.labels == {"severity": "pageteam"}
    assert slo.alerting.ticket.disabled


BASE: dict[str, Any] = {
    "version": "prometheus/v1",
    "service": "svc",
    "slos": [
        {
            "name": "avail",
            "objective": 99.9,
            "sli": {"events": {"error_query": "sum(rate(e[{{.window}}]))", "total_query": "sum(rate(t[{{.window}}]))"}},
        }
    ],
}


def with_change(where: list[Any], value: Any) -> dict[str, Any]:
    doc = copy.deepcopy(BASE)
    node: Any = doc
    for part in where[:-1]:
        node = node[part]
    if value is ...:
        del node[where[-1]]
    else:
        node[where[-1]] = value
    return doc


ERRORS = [
    (["version"], "prometheus/v2", "version", "must be 'prometheus/v1'"),
    (["service"], ..., "service", "is required"),
    (["slos"], [], "slos", "at least one"),
    (["slos", 0, "objective"], 120, "slos[0].objective", "less than 100"),
    (["slos", 0, "objective"], "high", "slos[0].objective", "must be a number"),
    (["slos", 0, "name"], "bad name!", "slos[0].name", "should match pattern"),
    (["slos", 0, "sli", "raw"], {"error_ratio_query": "x"}, "slos[0].sli.raw", "not a precomputed error ratio"),
    (["slos", 0, "sli", "plugin"], {"id": "x"}, "slos[0].sli.plugin", "not an SLI plugin"),
    (["slos", 0, "sli", "events", "total_query"], ..., "slos[0].sli.events.total_query", "is required"),
    (["slos", 0, "sli", "events", "total_query"], "sum(t)", "slos[0].sli", "{{.window}} placeholder"),
    (
        ["slos", 0, "alerting"],
        {"page_alert": {"disable": "yes"}},
        "slos[0].alerting.page_alert.disable",
        "true or false",
    ),
]


@pytest.mark.parametrize(("where", "value", "field", "message"), ERRORS)
def test_invalid_specs_name_the_field(tmp_path: Path, where: list[Any], value: Any, field: str, message: str) -> None:
    path = tmp_path / "spec.yml"
    path.write_text(yaml.safe_dump(with_change(where, value)))
    with pytest.raises(SpecError) as caught:
        import_file(path)
    assert caught.value.field == field
    assert message in caught.value.message
    assert caught.value.format().startswith(f"{path}: {field}: ")


def test_unreadable_yaml(tmp_path: Path) -> None:
    path = tmp_path / "spec.yml"
    path.write_text("version: [unclosed\n")
    with pytest.raises(SpecError, match="not valid YAML"):
        import_file(path)
