"""Export Prometheus recording and alerting rules for SLOs with a Prometheus SLI, with Sloth's rule names.

Per SLO three groups, as Sloth writes them: SLI error ratios per window
(`slo:sli_error:ratio_rate5m` ... `ratio_rate3d` and the whole window), metadata
(`slo:objective:ratio`, `slo:error_budget:ratio`, `slo:current_burn_rate:ratio`,
`slo:period_burn_rate:ratio`, `slo:period_error_budget_remaining:ratio`) and one page
and one ticket alert whose expression ORs their tiers. One deliberate difference: the
whole-window ratio is a ratio of rates over the window, as tocsin computes it, instead of
Sloth's average of 5-minute ratios (which weighs a quiet minute like a busy one).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import yaml

import tocsin
from tocsin.slo.config import WINDOW_PLACEHOLDER
from tocsin.slo.engine import window_span
from tocsin.slo.math import BurnTier, Severity
from tocsin.slo.model import PrometheusSource, Slo
from tocsin.slo.series import Method
from tocsin.slo.windows import BURN_WINDOWS, RollingWindow

_UNITS = (("y", 365 * 1440, True), ("w", 7 * 1440, True), ("d", 1440, False), ("h", 60, False), ("m", 1, False))


def prom_duration(minutes: int) -> str:
    """Prometheus's duration text (model.Duration.String): years and weeks only when exact."""
    out, left = "", minutes
    for unit, size, exact in _UNITS:
        if exact and left % size:
            continue
        if left >= size:
            out += f"{left // size}{unit}"
            left %= size
    return out or "0s"


def number(value: float) -> str:
    """A float as PromQL reads it back exactly (shortest repr, `6` not `6.0`)."""
    text = repr(float(value))
    return text[:-2] if text.endswith(".0") else text


def unsupported(slo: Slo) -> str | None:
    """Why no rules can be written for an SLO, or None when they can."""
    if not isinstance(slo.source, PrometheusSource):
        return "its SLI is not a Prometheus query"
    if slo.source.counter:
        return f"its queries are counters without the {WINDOW_PLACEHOLDER} placeholder"
    if slo.method != Method.OCCURRENCES:
        return f"{slo.method.value} budgeting cannot be written as Prometheus rules"
    if not isinstance(slo.window, RollingWindow):
        return "Prometheus rules need a rolling window"
    return None


def ids(slo: Slo) -> dict[str, str]:
    """Sloth's identifying labels: sloth_service, sloth_slo and sloth_id (`{service}-{slo}`)."""
    service = slo.service or slo.name
    short = slo.name.removeprefix(f"{slo.service}-") if slo.service else slo.name
    return {"sloth_id": f"{service}-{short}" if slo.service else slo.name, "sloth_service": service, "sloth_slo": short}


def _selector(slo: Slo) -> str:
    return "{" + ", ".join(f'{k}="{v}"' for k, v in ids(slo).items()) + "}"


def ratio_expr(source: PrometheusSource, window: str) -> str:
    """The error ratio over one window: bad / total, or 1 - good / total."""
    total = source.total.replace(WINDOW_PLACEHOLDER, window)
    if source.bad is not None:
        return f"({source.bad.replace(WINDOW_PLACEHOLDER, window)})\n/\n({total})\n"
    good = (source.good or "").replace(WINDOW_PLACEHOLDER, window)
    return f"1 - (\n({good})\n/\n({total})\n)\n"


def windows_of(slo: Slo) -> list[int]:
    """Minutes of every recorded window: the burn windows, the tiers' windows, the whole window."""
    tiers = {m for t in slo.tiers if t.enabled for m in (t.long_minutes, t.short_minutes)}
    return sorted(set(BURN_WINDOWS) | tiers | {window_span(slo.window)})


def sli_group(slo: Slo) -> dict[str, Any]:
    """The SLI recordings: one error ratio per window."""
    assert isinstance(slo.source, PrometheusSource)
    labels = {**slo.labels, **ids(slo)}
    rules = [
        {
            "record": f"slo:sli_error:ratio_rate{prom_duration(m)}",
            "expr": ratio_expr(slo.source, prom_duration(m)),
            "labels": {**labels, "sloth_window": prom_duration(m)},
        }
        for m in windows_of(slo)
    ]
    return {"name": f"sloth-slo-sli-recordings-{ids(slo)['sloth_id']}", "rules": rules}


def meta_group(slo: Slo) -> dict[str, Any]:
    """Objective, budget, period and the current and whole-window burn rates."""
    labels, selector = {**slo.labels, **ids(slo)}, _selector(slo)
    period = prom_duration(window_span(slo.window))
    join = "/ on(sloth_id, sloth_slo, sloth_service) group_left\n"
    info = {"sloth_mode": "tocsin", "sloth_spec": "prometheus/v1", "sloth_version": tocsin.__version__}
    info["sloth_objective"] = number(slo.objective_percent)
    rules = [
        ("slo:objective:ratio", f"vector({number(slo.objective)})"),
        ("slo:error_budget:ratio", f"vector(1-{number(slo.objective)})"),
        ("slo:time_period:days", f"vector({number(window_span(slo.window) / 1440)})"),
        (
            "slo:current_burn_rate:ratio",
            f"slo:sli_error:ratio_rate5m{selector}\n{join}slo:error_budget:ratio{selector}\n",
        ),
        (
            "slo:period_burn_rate:ratio",
            f"slo:sli_error:ratio_rate{period}{selector}\n{join}slo:error_budget:ratio{selector}\n",
        ),
        ("slo:period_error_budget_remaining:ratio", f"1 - slo:period_burn_rate:ratio{selector}"),
    ]
    out = [{"record": name, "expr": expr, "labels": labels} for name, expr in rules]
    out.append({"record": "sloth_slo_info", "expr": "vector(1)", "labels": {**labels, **info}})
    return {"name": f"sloth-slo-meta-recordings-{ids(slo)['sloth_id']}", "rules": out}


def _condition(slo: Slo, tier: BurnTier) -> str:
    selector = _selector(slo)
    threshold = f"({number(float(tier.factor(window_span(slo.window))))} * {number(1 - slo.objective)})"
    long, short = prom_duration(tier.long_minutes), prom_duration(tier.short_minutes)
    return (
        "(\n"
        f"    (slo:sli_error:ratio_rate{short}{selector} > {threshold})\n"
        "    and ignoring (sloth_window)\n"
        f"    (slo:sli_error:ratio_rate{long}{selector} > {threshold})\n"
        ")"
    )


def alert_rule(slo: Slo, severity: Severity) -> dict[str, Any] | None:
    """The page or ticket alert: any of its tiers firing (None when it has none)."""
    tiers = [t for t in slo.tiers if t.enabled and t.severity == severity]
    if not tiers:
        return None
    who = "{{$labels.sloth_service}} {{$labels.sloth_slo}}"
    annotations = {
        "title": f"({severity.value}) {who} SLO error budget burn rate is too fast.",
        "summary": f"{who} SLO error budget burn rate is over expected.",
    }
    return {
        "alert": slo.alert_name,
        "expr": "\nor ignoring (sloth_window)\n".join(_condition(slo, t) for t in tiers) + "\n",
        "labels": {
            "severity": severity.value,
            **slo.alert_labels,
            **slo.severity_labels.get(severity.value, {}),
            "sloth_severity": severity.value,
        },
        "annotations": {**annotations, **slo.annotations, **slo.severity_annotations.get(severity.value, {})},
    }


def alert_group(slo: Slo) -> dict[str, Any] | None:
    """The SLO's alert rules, or None when alerting is disabled."""
    rules = [r for s in (Severity.PAGE, Severity.TICKET) if (r := alert_rule(slo, s)) is not None]
    return {"name": f"sloth-slo-alerts-{ids(slo)['sloth_id']}", "rules": rules} if rules else None


def rule_groups(slos: Sequence[Slo]) -> tuple[list[dict[str, Any]], list[str]]:
    """Rule groups of every SLO that can have rules, and one note per SLO skipped (with why)."""
    groups: list[dict[str, Any]] = []
    skipped: list[str] = []
    for slo in slos:
        reason = unsupported(slo)
        if reason is not None:
            skipped.append(f"{slo.name}: skipped, {reason}")
            continue
        groups.extend(g for g in (sli_group(slo), meta_group(slo), alert_group(slo)) if g is not None)
    return groups, skipped


class _Dumper(yaml.SafeDumper):
    """Writes multi-line strings (PromQL expressions) as literal blocks, like Sloth."""


def _str(dumper: yaml.SafeDumper, value: str) -> yaml.Node:
    style = "|" if "\n" in value else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", value, style=style)


_Dumper.add_representer(str, _str)


def render(groups: list[dict[str, Any]]) -> str:
    """The rule file text (`groups:` at the top), accepted by `promtool check rules`."""
    header = "# Generated by tocsin slo rules; Sloth-compatible rule names.\n"
    return header + yaml.dump({"groups": groups}, Dumper=_Dumper, sort_keys=False, width=1000)
