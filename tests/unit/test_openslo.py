"""OpenSLO v1 import: every kind tocsin reads, all three budgeting methods, and errors that name the field."""

from __future__ import annotations

import copy
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml

from tocsin.slo.catalog import import_file
from tocsin.slo.config import CalendarWindowConfig, PrometheusSli, SloConfig
from tocsin.slo.importing import SpecError
from tocsin.slo.model import compile_slo
from tocsin.slo.series import Method
from tocsin.slo.windows import CalendarWindow, RollingWindow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slo" / "openslo"


def by_name(configs: list[SloConfig]) -> dict[str, SloConfig]:
    return {c.name: c for c in configs}


def test_one_file_with_every_kind() -> None:
    slos = by_name(import_file(FIXTURES / "web-shop.yaml"))
    assert sorted(slos) == ["checkout-uptime-internal-objective", "checkout-uptime-sla", "search-availability"]
    search = slos["search-availability"]
    assert (search.service, search.objective, search.window, search.budgeting) == (
        "web-shop",
        99.5,
        timedelta(days=28),
        "Occurrences",
    )
    assert isinstance(search.sli, PrometheusSli)
    # indicatorRef -> SLI, metricSourceRef -> DataSource's URL; `{{.window}}` queries are not counters
    assert search.sli.prometheus.url == "http://prometheus.example.com:9090"
    assert search.sli.prometheus.bad is not None
    assert "code=~" in search.sli.prometheus.bad
    assert not search.sli.prometheus.counter
    # metadata.labels: list values are joined; the notification target becomes a routing label
    assert search.labels == {"team": "shop", "tier": "gold,eu"}
    assert search.alerting.labels == {"notification_target": "OnCallDevopsMailNotification"}


def test_alert_policy_conditions_become_tiers() -> None:
    search = compile_slo(by_name(import_file(FIXTURES / "web-shop.yaml"))["search-availability"])
    tiers = {t.name: t for t in search.tiers}
    assert sorted(tiers) == ["page-1h", "ticket-3d"]
    # a burnrate threshold is kept as the factor over the SLO's own window (28 days here)
    assert float(tiers["page-1h"].factor(28 * 1440)) == pytest.approx(14.4)
    assert tiers["page-1h"].short_minutes == 5  # the workbook's short window: 1/12 of the long one
    assert (tiers["ticket-3d"].long_minutes, tiers["ticket-3d"].short_minutes) == (4320, 360)


def test_timeslices_on_a_calendar_month_with_two_objectives() -> None:
    slos = by_name(import_file(FIXTURES / "web-shop.yaml"))
    internal, sla = slos["checkout-uptime-internal-objective"], slos["checkout-uptime-sla"]
    assert internal.window == CalendarWindowConfig(calendar="month", time_zone="America/New_York")
    assert (internal.objective, sla.objective) == (99.5, 99.0)  # target and targetPercent
    assert internal.timeslice is not None
    assert sla.timeslice is not None
    assert internal.timeslice.size == sla.timeslice.size == timedelta(minutes=5)  # "5m" and the number 5
    assert internal.timeslice.target == 99.0
    # instant counter queries without a placeholder are read as counters
    assert isinstance(internal.sli, PrometheusSli)
    assert internal.sli.prometheus.counter
    compiled = compile_slo(internal)
    assert compiled.window == CalendarWindow("month", "America/New_York")
    assert (compiled.method, compiled.slice_minutes, compiled.slice_target) == (Method.TIMESLICES, 5, 0.99)
    assert [t.name for t in compiled.tiers] == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]  # no policy: workbook


def test_ratio_timeslices_with_an_inline_source_and_a_given_url() -> None:
    (slo,) = import_file(FIXTURES / "ratio-timeslices.yaml", url="http://victoria:8428")
    compiled = compile_slo(slo)
    assert compiled.method == Method.RATIO_TIMESLICES
    assert compiled.slice_minutes == 1
    assert compiled.window == RollingWindow(timedelta(weeks=2))
    assert isinstance(slo.sli, PrometheusSli)
    assert slo.sli.prometheus.url == "http://victoria:8428"


def test_a_source_without_url_asks_for_one() -> None:
    with pytest.raises(SpecError) as caught:
        import_file(FIXTURES / "ratio-timeslices.yaml")
    assert caught.value.field == "spec.indicator.spec.ratioMetric.total.metricSource"
    assert "url" in caught.value.message


BASE: dict[str, Any] = {
    "apiVersion": "openslo/v1",
    "kind": "SLO",
    "metadata": {"name": "api"},
    "spec": {
        "service": "api",
        "indicator": {
            "metadata": {"name": "api-errors"},
            "spec": {
                "ratioMetric": {
                    "bad": {"metricSource": {"type": "Prometheus", "spec": {"query": "sum(rate(e[{{.window}}]))"}}},
                    "total": {"metricSource": {"type": "Prometheus", "spec": {"query": "sum(rate(t[{{.window}}]))"}}},
                }
            },
        },
        "timeWindow": [{"duration": "30d", "isRolling": True}],
        "budgetingMethod": "Occurrences",
        "objectives": [{"target": 0.999}],
    },
}


def change(path: str, value: Any) -> dict[str, Any]:
    """A copy of BASE with one value set (`a.b.0.c`); `...` deletes it."""
    doc = copy.deepcopy(BASE)
    *parents, last = path.split(".")
    node: Any = doc
    for part in parents:
        node = node[int(part)] if part.isdigit() else node[part]
    key: Any = int(last) if last.isdigit() else last
    if value is ...:
        del node[key]
    else:
        node[key] = value
    return doc


RATIO = "spec.indicator.spec.ratioMetric"
ERRORS = [
    # only v1 is read: v1alpha files have another shape
    (change("apiVersion", "openslo/v1alpha"), "apiVersion", "must be openslo/v1"),
    (change("kind", "Objective"), "kind", "must be one of SLO"),
    # 1m is a minute: a calendar window must be 1w, 1M (a month) or 1Q
    (
        change("spec.timeWindow", [{"duration": "1m", "isRolling": False, "calendar": {"timeZone": "UTC"}}]),
        "spec.timeWindow[0].duration",
        "a calendar window is 1w, 1M or 1Q, not '1m'",
    ),
    (change("spec.timeWindow.0.duration", "1M"), "spec.timeWindow[0].duration", "a rolling window is in m, h, d or w"),
    (change("spec.timeWindow.0.duration", "thirty days"), "spec.timeWindow[0].duration", "must be like 28d"),
    (change(f"{RATIO}.bad.metricSource.type", "Datadog"), f"{RATIO}.bad.metricSource.type", "Prometheus-compatible"),
    (change("spec.indicator.spec", {"thresholdMetric": {}}), "spec.indicator.spec", "ratioMetric"),
    (change(f"{RATIO}.raw", {}), f"{RATIO}.raw", "not a precomputed ratio"),
    (change(f"{RATIO}.good", {}), f"{RATIO}.good", "exactly one of good and bad"),
    (change(f"{RATIO}.total.metricSource.spec", {}), f"{RATIO}.total.metricSource.spec.query", "is required"),
    (change("spec.objectives.0", {"displayName": "x"}), "spec.objectives[0].target", "exactly one of target"),
    (change("spec.objectives.0.target", 1.5), "spec.objectives[0].target", "less than 100"),
    (change("spec.budgetingMethod", "Timeslices"), "spec.objectives[0].timeSliceWindow", "required for Timeslices"),
    (change("spec.budgetingMethod", "Weekly"), "spec.budgetingMethod", "Occurrences"),
    (change("spec.indicator", ...), "spec.indicatorRef", "is required"),
    (change("spec.objectives", []), "spec.objectives", "at least one"),
    (
        change("spec.alertPolicies", [{"alertPolicyRef": "nope"}]),
        "spec.alertPolicies[0].alertPolicyRef",
        "no AlertPolicy called 'nope'",
    ),
    # a query without the {{.window}} placeholder must be a counter
    (change(f"{RATIO}.bad.metricSource.spec.query", "sum(e)"), "spec.indicator", "{{.window}} placeholder"),
]


@pytest.mark.parametrize(("doc", "field", "message"), ERRORS)
def test_invalid_files_name_the_field(tmp_path: Path, doc: dict[str, Any], field: str, message: str) -> None:
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump(doc))
    with pytest.raises(SpecError) as caught:
        import_file(path, url="http://prometheus:9090", kind="openslo")
    assert caught.value.field == field
    assert message in caught.value.message
    assert caught.value.format().startswith(f"{path}: document 1: {field}: ")


def test_alert_condition_severity_must_be_page_or_ticket(tmp_path: Path) -> None:
    policy = {
        "kind": "AlertPolicy",
        "metadata": {"name": "p"},
        "spec": {
            "conditions": [
                {
                    "kind": "AlertCondition",
                    "metadata": {"name": "c"},
                    "spec": {"severity": "sev9", "condition": {"threshold": 2, "lookbackWindow": "1h"}},
                }
            ]
        },
    }
    path = tmp_path / "slo.yaml"
    path.write_text(yaml.safe_dump(change("spec.alertPolicies", [policy])))
    with pytest.raises(SpecError) as caught:
        import_file(path, url="http://prometheus:9090")
    assert caught.value.field == "spec.alertPolicies[0].spec.conditions[0].spec.severity"
