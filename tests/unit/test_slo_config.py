"""The `slos:` config section: valid shapes compile, bad ones give located errors, every key is documented."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from pydantic import Field, ValidationError, model_validator

from tests.unit.test_docs import all_docs, config_keys
from tocsin.config.errors import ConfigErrors
from tocsin.config.include import read_tree
from tocsin.config.loader import LoadedConfig
from tocsin.config.translate import translate
from tocsin.slo.catalog import load_slos
from tocsin.slo.config import SloEntry, SloStrict, check_slos
from tocsin.slo.math import Severity
from tocsin.slo.model import EventsSource, MonitorSource, PrometheusSource
from tocsin.slo.series import Method
from tocsin.slo.windows import CalendarWindow, RollingWindow

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slo"


class Root(SloStrict):
    """A stand-in for TocsinConfig with the section and the validator the lead wires in."""

    monitors: list[dict[str, Any]] = Field(default_factory=list)
    slos: list[SloEntry] = Field(default_factory=list)

    @model_validator(mode="after")
    def _slos_are_consistent(self) -> Root:
        check_slos(self.slos, [m["name"] for m in self.monitors])
        return self


def load(tmp_path: Path, text: str) -> LoadedConfig:
    """Load YAML like the real loader: errors name the file, line and key."""
    path = tmp_path / "tocsin.yaml"
    path.write_text(text)
    tree = read_tree(path, {})
    try:
        config = Root.model_validate(tree.data)
    except ValidationError as exc:
        pending = translate(exc, Root, tree.data, tree.locations, set())
        raise ConfigErrors(*(p.render(tree.data) for p in pending)) from exc
    return LoadedConfig(config, (path,), tree.locations)  # type: ignore[arg-type]


def errors(tmp_path: Path, text: str) -> str:
    with pytest.raises(ConfigErrors) as caught:
        load(tmp_path, text)
    return caught.value.format().replace(str(tmp_path) + "/", "")


MONITOR = "monitors: [{name: api}]\n"


def test_the_design_example(tmp_path: Path) -> None:
    text = (
        MONITOR + "slos:\n  - name: api-availability\n    service: api\n    objective: 99.9\n    sli: {monitor: api}\n"
    )
    (slo,) = load_slos(load(tmp_path, text))
    assert slo.objective == 0.999
    assert slo.window == RollingWindow(timedelta(days=30))
    assert slo.source == MonitorSource("api")
    assert slo.method == Method.OCCURRENCES
    assert [t.name for t in slo.tiers] == ["page-1h", "page-6h", "ticket-1d", "ticket-3d"]
    assert slo.exclude_maintenance


def test_every_shape(tmp_path: Path) -> None:
    text = (
        MONITOR
        + """slos:
  - name: latency
    objective: 99
    window: {calendar: month, time_zone: Europe/London}
    budgeting: Timeslices
    timeslice: {size: 5m, target: 95}
    sli: {monitor: api, latency_threshold: 250ms}
    exclude_maintenance: false
  - name: pushed
    objective: 99.5
    window: 7d
    budgeting: RatioTimeslices
    timeslice: {size: 1m}
    sli: {events: {}}
    alerting:
      min_events: 100
      page: {tiers: [{long_window: 2h, short_window: 10m, burn_rate: 10}]}
      ticket: {disabled: true}
  - name: prom
    service: api
    objective: 99.9
    sli:
      prometheus:
        url: http://mimir:9009/prometheus/
        good: sum(rate(ok[{{.window}}]))
        total: sum(rate(all[{{.window}}]))
        headers: {X-Scope-OrgID: team-a}
    alerting: {disabled: true}
"""
    )
    latency, pushed, prom = load_slos(load(tmp_path, text))
    assert latency.window == CalendarWindow("month", "Europe/London")
    assert (latency.method, latency.slice_minutes, latency.slice_target) == (Method.TIMESLICES, 5, 0.95)
    assert latency.source == MonitorSource("api", 250.0)
    assert not latency.exclude_maintenance
    assert pushed.source == EventsSource()
    assert pushed.method == Method.RATIO_TIMESLICES
    (tier,) = pushed.tiers
    assert (tier.name, tier.severity, tier.long_minutes, tier.short_minutes) == ("page-2h", Severity.PAGE, 120, 10)
    assert float(tier.factor(7 * 1440)) == pytest.approx(10)
    assert tier.min_events == 100
    assert isinstance(prom.source, PrometheusSource)
    assert prom.source.url == "http://mimir:9009/prometheus"
    assert prom.source.headers == (("X-Scope-OrgID", "team-a"),)
    assert prom.tiers == ()


BAD = [
    # (yaml under slos:, expected error text)
    (
        "- {name: a, objective: 100, sli: {events: {}}}",
        "tocsin.yaml:3: slos[a].objective: must be less than 100.0, not 100",
    ),
    (
        "- {name: a, objective: 99, window: 30s, sli: {events: {}}}",
        "slos[a].window: must be a positive whole number of minutes, not 30s",
    ),
    ("- {name: a, objective: 99, window: 30m, sli: {events: {}}}", "slos[a].window: must be at least 1h, not 30m"),
    (
        "- {name: a, objective: 99, window: {calendar: fortnight}, sli: {events: {}}}",
        "must be one of week, month, quarter",
    ),
    (
        "- {name: a, objective: 99, window: {calendar: month, time_zone: Mars/Olympus}, sli: {events: {}}}",
        "unknown time zone 'Mars/Olympus'",
    ),
    (
        "- {name: a, objective: 99, budgeting: Timeslices, sli: {events: {}}}",
        "slos[a].timeslice: Timeslices budgeting needs timeslice",
    ),
    (
        "- {name: a, objective: 99, timeslice: {size: 5m}, sli: {events: {}}}",
        "timeslice applies to Timeslices and RatioTimeslices only",
    ),
    (
        "- {name: a, objective: 99, budgeting: Timeslices, timeslice: {size: 7m}, sli: {events: {}}}",
        "slos[a].timeslice.size: must divide an hour (1m, 2m, 3m, 4m, 5m, 6m, 10m, 12m, 15m, 20m, 30m, 60m), not 7m",
    ),
    (
        "- {name: a, objective: 99, sli: {monitor: api, latency_threshold: 300ms}}",
        "slos[a].sli.latency_threshold: must be a latency histogram bound (5ms, 10ms",
    ),
    ("- {name: a, objective: 99, sli: {monitor: nope}}", "slos[a].sli.monitor: no monitor is called 'nope'"),
    (
        "- {name: a, objective: 99, sli: {prometheus: {url: 'http://p', good: 'x[{{.window}}]', bad: 'y[{{.window}}]',"
        " total: 't[{{.window}}]'}}}",
        "slos[a].sli.prometheus.good: set exactly one of good and bad",
    ),
    (
        "- {name: a, objective: 99, sli: {prometheus: {url: 'http://p', bad: 'sum(y)', total: 't[{{.window}}]'}}}",
        "slos[a].sli.prometheus.bad: the query needs the {{.window}} placeholder",
    ),
    (
        "- {name: a, objective: 99, sli: {prometheus: {url: ftp://p, bad: b, total: t, counter: true}}}",
        "slos[a].sli.prometheus.url: must start with http:// or https://",
    ),
    (
        "- {name: a, objective: 99, sli: {events: {}},"
        " alerting: {page: {tiers: [{long_window: 1h, short_window: 2h, budget: 2}]}}}",
        "short_window: must be shorter than long_window",
    ),
    (
        "- {name: a, objective: 99, sli: {events: {}},"
        " alerting: {page: {tiers: [{long_window: 1h, short_window: 5m}]}}}",
        "budget: set exactly one of budget (percent) and burn_rate",
    ),
    ("- {name: a, objectiv: 99, sli: {events: {}}}", "unknown key 'objectiv'"),
    (
        "- {name: a, objective: 99, sli: {events: {}}}\n  - {name: a, objective: 98, sli: {events: {}}}",
        "SLO name 'a' is used twice",
    ),
    ("- {name: a, objective: 99, sli: {events: {}}, labels: {bad-name: x}}", "label name 'bad-name' must match"),
    # the report's paths share /slos/{name}, and a .json suffix is a page's twin
    ("- {name: report, objective: 99, sli: {events: {}}}", "slos[report].name: 'report' is taken by a console or API"),
    ("- {name: a.json, objective: 99, sli: {events: {}}}", "'a.json' is taken by a console or API path"),
]


@pytest.mark.parametrize(("section", "expected"), BAD)
def test_bad_slos_name_the_key(tmp_path: Path, section: str, expected: str) -> None:
    assert expected in errors(tmp_path, MONITOR + "slos:\n  " + section + "\n")


def test_references_to_openslo_and_sloth_files(tmp_path: Path) -> None:
    (tmp_path / "slo").symlink_to(FIXTURES)
    text = """slos:
  - {name: own, objective: 99, sli: {events: {}}}
  - {openslo: slo/openslo/web-shop.yaml}
  - {openslo: slo/openslo/ratio-*.yaml, url: "http://vm:8428"}
  - {sloth: "slo/sloth/home-*.yml", url: "http://prometheus:9090", window: 28d}
"""
    names = [s.name for s in load_slos(load(tmp_path, text))]
    assert names == [
        "own",
        "search-availability",
        "checkout-uptime-internal-objective",
        "checkout-uptime-sla",
        "main-page",
        "home-wifi-good-wifi-client-satisfaction",
        "home-wifi-risk-wifi-client-satisfaction",
    ]


def test_reference_errors_are_placed_at_the_reference(tmp_path: Path) -> None:
    (tmp_path / "slo").symlink_to(FIXTURES)
    text = """slos:
  - {name: search-availability, objective: 99, sli: {events: {}}}
  - {openslo: slo/openslo/web-shop.yaml}
  - {openslo: slo/openslo/ratio-timeslices.yaml}
  - {sloth: slo/nothing-*.yml}
"""
    with pytest.raises(ConfigErrors) as caught:
        load_slos(load(tmp_path, text))
    lines = caught.value.format().replace(str(tmp_path) + "/", "").splitlines()
    assert lines[0].startswith("tocsin.yaml:3: slos[1].openslo: SLO name 'search-availability' is already used")
    assert lines[1].startswith("tocsin.yaml:4: slos[2].openslo: slo/openslo/ratio-timeslices.yaml: document 1: ")
    assert "no Prometheus URL" in lines[1]
    assert lines[2] == "tocsin.yaml:5: slos[3].sloth: no file matches 'slo/nothing-*.yml'"


def test_every_config_key_is_documented() -> None:
    text = all_docs()
    missing = sorted(k for k in config_keys(Root) if f"`{k}`" not in text)
    assert not missing, f"SLO config keys not in docs/: {missing}"
