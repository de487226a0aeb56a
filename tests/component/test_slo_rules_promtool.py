"""The exported rules against Debian's real promtool: `check rules`, then a conformance test.

Conformance: one synthetic traffic series (three and a half days, per minute, with a
fast outage, a medium and a slow burn) is fed both to tocsin's engine and, as counters,
to `promtool test rules` with the rules `tocsin slo rules` exports. Every minute, every
recorded window's error ratio and burn rate must agree within 1e-9 relative, and the
page and ticket alerts must fire in exactly the same minutes, from the same tier (the
alert's `sloth_window` label names the short window of the tier that fired).

promtool 2.42 compares samples exactly, so the expected values are tocsin's and the test
reads promtool's own values from its failure report to compare them with a tolerance.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import yaml

from tocsin.slo.config import SloConfig
from tocsin.slo.engine import SloEngine
from tocsin.slo.math import error_ratio
from tocsin.slo.model import Slo, compile_slo
from tocsin.slo.rules import ids, prom_duration, render, rule_groups, windows_of

PROMTOOL = shutil.which("promtool")
pytestmark = pytest.mark.skipif(PROMTOOL is None, reason="promtool is not installed (apt install prometheus)")

MINUTES = 84 * 60  # 3.5 days: every window up to 3d fills and slides
REL_TOL = 1e-9
BAD = 'sum(rate(http_requests_total{job="api",code=~"5.."}[{{.window}}]))'
TOTAL = 'sum(rate(http_requests_total{job="api"}[{{.window}}]))'


def slo(**extra: Any) -> Slo:
    """The SLO under test: 99.9% over 30 days, a Sloth-style Prometheus SLI."""
    spec = {
        "name": "api-availability",
        "service": "api",
        "objective": 99.9,
        "sli": {"prometheus": {"url": "http://prometheus:9090", "bad": BAD, "total": TOTAL}},
        **extra,
    }
    return compile_slo(SloConfig.model_validate(spec))


def traffic(minutes: int = MINUTES, seed: int = 5) -> tuple[np.ndarray, np.ndarray]:
    """Per-minute (bad, total) with a baseline and three incidents, integer counts."""
    rng = np.random.default_rng(seed)
    total = rng.integers(180, 420, size=minutes).astype(float)
    error = np.full(minutes, 0.0004)
    error[600:625] = 0.35  # a hard outage: page-1h (14.4x)
    error[1500:1980] = 0.009  # 8 hours at 9x: page-6h
    error[2600:4100] = 0.0042  # a day at 4.2x: ticket-1d
    error[4400:] = 0.0016  # slow: ticket-3d once the 6h and 3d windows see it
    bad = rng.binomial(total.astype(np.int64), error).astype(float)
    return bad, total


def write_rules(tmp_path: Path, target: Slo) -> Path:
    groups, skipped = rule_groups([target])
    assert not skipped
    path = tmp_path / "rules.yml"
    path.write_text(render(groups))
    return path


def test_promtool_accepts_exported_rules(tmp_path: Path) -> None:
    # Custom tiers, a 28-day window (a `4w` period) and a good query must still be valid rules.
    good = 'sum(rate(http_requests_total{job="api",code!~"5.."}[{{.window}}]))'
    tiers = {"tiers": [{"long_window": "2h", "short_window": "10m", "burn_rate": 10}]}
    custom = slo(
        window="28d",
        sli={"prometheus": {"url": "http://p:9090", "good": good, "total": TOTAL}},
        alerting={"page": tiers, "ticket": {"disabled": True}, "labels": {"team": "core"}},
    )
    for target in (slo(), custom):
        path = write_rules(tmp_path, target)
        done = subprocess.run([PROMTOOL, "check", "rules", str(path)], capture_output=True, text=True, check=False)
        assert done.returncode == 0, done.stdout + done.stderr
    assert "slo:sli_error:ratio_rate4w" in path.read_text()


def tocsin_timeline(target: Slo, bad: np.ndarray, total: np.ndarray) -> list[dict[str, Any]]:
    """What tocsin's engine says at every minute boundary k = 1 .. len: ratios per window and tiers firing."""
    engine = SloEngine([target], origin=0)
    windows = windows_of(target)
    out = []
    for k in range(len(total)):
        engine.append(np.array([total[k] - bad[k]]), np.array([total[k]]))
        snapshot = engine.evaluate()
        ratios = {m: float(error_ratio(*engine.series.window(m))[0]) for m in windows}
        out.append({"minute": k + 1, "ratios": ratios, "firing": snapshot.firing[0]})
    return out


def series_text(values: np.ndarray) -> str:
    """A counter starting at 0 at t=0, one sample a minute (promtool's expanding notation not needed)."""
    return " ".join(str(int(v)) for v in np.concatenate([[0], np.cumsum(values)]))


def labels_text(labels: dict[str, str]) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in sorted(labels.items())) + "}"


def expected_alerts(target: Slo, firing: tuple[str, ...]) -> list[dict[str, Any]]:
    """The alerts promtool should report: one per severity, labelled with the firing tier's short window."""
    alerts = []
    for severity in ("page", "ticket"):
        tiers = [t for t in target.tiers if t.severity == severity and t.name in firing]
        if not tiers:
            continue
        who = f"{ids(target)['sloth_service']} {ids(target)['sloth_slo']}"
        labels = {**ids(target), "severity": severity, "sloth_severity": severity}
        labels["sloth_window"] = prom_duration(tiers[0].short_minutes)
        notes = {
            "title": f"({severity}) {who} SLO error budget burn rate is too fast.",
            "summary": f"{who} SLO error budget burn rate is over expected.",
        }
        alerts.append({"exp_labels": labels, "exp_annotations": notes})
    return alerts


def unit_test_file(
    target: Slo, rules: Path, bad: np.ndarray, total: np.ndarray, timeline: list[dict[str, Any]]
) -> dict:
    """A promtool unit test: the counters, tocsin's ratios and burn rates as expectations, tocsin's alerts."""
    base = ids(target)
    budget = 1 - target.objective
    ratios = '{__name__=~"slo:sli_error:ratio_rate.+"}'
    burns = f"{ratios} / on(sloth_id, sloth_slo, sloth_service) group_left slo:error_budget:ratio"
    exprs, alerts = [], []
    for point in timeline:
        at = f"{point['minute']}m"
        samples = [(m, r) for m, r in point["ratios"].items()]
        exprs.append(
            {
                "expr": ratios,
                "eval_time": at,
                "exp_samples": [
                    {
                        "labels": f"slo:sli_error:ratio_rate{prom_duration(m)}"
                        + labels_text({**base, "sloth_window": prom_duration(m)}),
                        "value": r,
                    }
                    for m, r in samples
                ],
            }
        )
        exprs.append(
            {
                "expr": burns,
                "eval_time": at,
                "exp_samples": [
                    {"labels": labels_text({**base, "sloth_window": prom_duration(m)}), "value": r / budget}
                    for m, r in samples
                ],
            }
        )
        alerts.append(
            {"eval_time": at, "alertname": target.alert_name, "exp_alerts": expected_alerts(target, point["firing"])}
        )
    sli_group, meta_group, alert_group = (g["name"] for g in yaml.safe_load(rules.read_text())["groups"])
    return {
        "rule_files": [str(rules)],
        "evaluation_interval": "1m",
        "group_eval_order": [sli_group, meta_group, alert_group],
        "tests": [
            {
                "interval": "1m",
                "input_series": [
                    {"series": 'http_requests_total{job="api", code="200"}', "values": series_text(total - bad)},
                    {"series": 'http_requests_total{job="api", code="500"}', "values": series_text(bad)},
                ],
                "promql_expr_test": exprs,
                "alert_rule_test": alerts,
            }
        ],
    }


_EXPR = re.compile(r'^\s*expr: "(?P<expr>.*)", time: (?P<time>\S+),$')
_SAMPLE = re.compile(r"(\S*\{[^}]*\}) (\S+?)(?:, |$)")


def failures(report: str) -> tuple[list[tuple[str, str, str, str]], list[str]]:
    """Expression failures as (expr, time, exp line, got line), and every other failure line."""
    lines = report.splitlines()
    exprs, others = [], []
    i = 0
    while i < len(lines):
        match = _EXPR.match(lines[i])
        if match and i + 2 < len(lines):
            exprs.append(
                (match["expr"], match["time"], lines[i + 1].split("exp:", 1)[1], lines[i + 2].split("got:", 1)[1])
            )
            i += 3
            continue
        if "alertname:" in lines[i]:
            others.append(lines[i].strip())
        i += 1
    return exprs, others


def samples(text: str) -> dict[str, float]:
    return {labels: float(value) for labels, value in _SAMPLE.findall(text.strip())}


def close(a: float, b: float) -> bool:
    return a == b or abs(a - b) <= REL_TOL * max(abs(a), abs(b))


def test_tocsin_and_promtool_agree_every_minute(tmp_path: Path) -> None:
    target = slo()
    rules = write_rules(tmp_path, target)
    bad, total = traffic()
    timeline = tocsin_timeline(target, bad, total)
    # The series must exercise both alerts, each on and off, and more than one tier of each.
    fired = {t for point in timeline for t in point["firing"]}
    assert fired == {"page-1h", "page-6h", "ticket-1d", "ticket-3d"}
    assert 0 < sum("page-1h" in p["firing"] for p in timeline) < len(timeline) // 4
    case = tmp_path / "conformance.yml"  # written as JSON (a subset of YAML): PyYAML needs 20 s for it
    case.write_text(json.dumps(unit_test_file(target, rules, bad, total, timeline)))
    done = subprocess.run([PROMTOOL, "test", "rules", str(case)], capture_output=True, text=True, check=False)
    exprs, others = failures(done.stdout + done.stderr)
    assert not others, "alerts differ:\n" + "\n".join(others[:20])
    worst = 0.0
    for expr, at, exp, got in exprs:
        want, have = samples(exp), samples(got)
        assert want.keys() == have.keys(), f"{expr} at {at}: series differ\n{exp}\n{got}"
        for labels, value in want.items():
            assert close(value, have[labels]), f"{expr} at {at}: {labels} tocsin {value!r} promtool {have[labels]!r}"
            worst = max(worst, abs(value - have[labels]) / max(abs(value), 1e-300))
    assert done.returncode == 0 or exprs, done.stdout[-2000:] + done.stderr[-2000:]
    print(f"{len(timeline)} minutes x {len(windows_of(target))} windows, {len(exprs)} inexact, worst rel {worst:.2e}")
