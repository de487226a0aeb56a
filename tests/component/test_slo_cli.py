"""`tocsin slo` command functions: rules (checked by promtool), import, status and report on a real SQLite file."""

from __future__ import annotations

import io
import json
import os
import shutil
import subprocess
from datetime import timedelta
from pathlib import Path

import pytest
import yaml
from pydantic import Field

from tests.store.store_factories import T0, define, result
from tocsin.checks.result import Outcome
from tocsin.config import loader
from tocsin.config.models import TocsinConfig
from tocsin.slo.catalog import import_file
from tocsin.slo.cli import import_command, report_command, rules_command, status_command
from tocsin.slo.config import SloConfig, SloEntry
from tocsin.store.store import Store

FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "slo"
CONFIG = """
storage: {{url: "sqlite:///{db}"}}
monitors:
  - {{name: api, kind: http, url: "http://127.0.0.1:1/"}}
slos:
  - {{name: api-availability, service: api, objective: 99.9, sli: {{monitor: api}}}}
  - name: api-requests
    service: api
    objective: 99.5
    window: 28d
    sli:
      prometheus:
        url: http://127.0.0.1:1
        bad: sum(rate(http_requests_total{{code=~"5.."}}[{{{{.window}}}}]))
        total: sum(rate(http_requests_total[{{{{.window}}}}]))
  - {{sloth: "slo/sloth/getting-started.yml", url: "http://127.0.0.1:1"}}
"""


class WithSlos(TocsinConfig):
    """TocsinConfig plus the `slos:` field, until the lead wires it into config/models.py."""

    slos: list[SloEntry] = Field(default_factory=list)


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    if "slos" not in TocsinConfig.model_fields:
        monkeypatch.setattr(loader, "TocsinConfig", WithSlos)
    (tmp_path / "slo").symlink_to(FIXTURES)
    path = tmp_path / "tocsin.yaml"
    path.write_text(CONFIG.format(db=tmp_path / "tocsin.db"))
    return path


def run(command: object, *args: object, **kw: object) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    code = command(*args, out=out, err=err, **kw)  # type: ignore[operator]
    return code, out.getvalue(), err.getvalue()


@pytest.mark.skipif(
    shutil.which("promtool") is None and os.environ.get("CI") != "true",  # in CI a missing promtool must fail
    reason="promtool is not installed",
)
def test_rules_for_every_prometheus_slo(config: Path, tmp_path: Path) -> None:
    code, out, err = run(rules_command, config)
    assert code == 0
    assert err == "api-availability: skipped, its SLI is not a Prometheus query\n"
    groups = yaml.safe_load(out)["groups"]
    assert [g["name"] for g in groups][::3] == [
        "sloth-slo-sli-recordings-api-requests",
        "sloth-slo-sli-recordings-myservice-requests-availability",
    ]
    (tmp_path / "rules.yml").write_text(out)
    check = subprocess.run(
        ["promtool", "check", "rules", str(tmp_path / "rules.yml")], capture_output=True, text=True, check=False
    )
    assert check.returncode == 0, check.stdout + check.stderr
    code, out, _ = run(rules_command, config, "api-requests")
    assert code == 0
    assert "ratio_rate4w" in out
    assert "myservice" not in out
    assert run(rules_command, config, "nope")[0] == 1


def test_import_prints_a_section_that_loads_back() -> None:
    code, out, err = run(import_command, FIXTURES / "sloth" / "getting-started.yml", url="http://prom:9090")
    assert (code, err) == (0, "")
    section = yaml.safe_load(out)["slos"]
    assert [SloConfig.model_validate(item) for item in section] == import_file(
        FIXTURES / "sloth" / "getting-started.yml", url="http://prom:9090"
    )


def test_import_errors_name_the_field(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yml"
    bad.write_text("version: prometheus/v1\nservice: s\nslos: [{name: x, objective: 99, sli: {raw: {}}}]\n")
    code, out, err = run(import_command, bad)
    assert (code, out) == (1, "")
    assert err == f"{bad}: slos[0].sli.raw: tocsin needs event counts (sli.events), not a precomputed error ratio\n"


async def write_results(config: Path) -> None:
    store = await Store.open(f"sqlite:///{config.parent / 'tocsin.db'}")
    await store.sync_monitors([define("api")])
    now = T0 + timedelta(hours=2)
    writes = [result("api", now - timedelta(minutes=m), Outcome.DOWN if m <= 5 else Outcome.UP) for m in range(1, 120)]
    await store.write(writes)
    await store.close()


async def test_status_reads_the_database(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await write_results(config)
    monkeypatch.setattr("tocsin.clock.SystemClock.now", lambda self: T0 + timedelta(hours=2, seconds=45))
    out, err = io.StringIO(), io.StringIO()
    code = await status_command(config, as_json=True, out=out, err=err)
    rows = {r["name"]: r for r in json.loads(out.getvalue())}
    assert code == 2  # five minutes down at 99.9% over 119 results: the budget is gone
    assert rows["api-availability"]["sli"] == pytest.approx(114 / 119)
    assert rows["api-availability"]["alert"] == "page-1h"
    assert rows["api-availability"]["status"] == "exhausted"
    assert set(rows) == {"api-availability", "api-requests", "myservice-requests-availability"}
    table = io.StringIO()
    await status_command(config, out=table, err=err)
    assert "api-availability" in table.getvalue().splitlines()[1]


async def test_monthly_report_as_csv(config: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    await write_results(config)
    monkeypatch.setattr("tocsin.clock.SystemClock.now", lambda self: T0 + timedelta(hours=2, seconds=45))
    out = io.StringIO()
    assert await report_command(config, months=2, fmt="csv", out=out, err=io.StringIO()) == 0
    lines = out.getvalue().splitlines()
    assert lines[0] == "slo,month,objective,sli,met,good,total"
    assert "api-availability,2025-12,99.9,,,0.0,0.0" in lines
    # recent months come from the engine's history, older ones from the hours the server stored
    assert "api-availability,2026-01,99.9,95.7983,missed,114.0,119.0" in lines
