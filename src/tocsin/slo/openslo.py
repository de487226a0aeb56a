"""Import OpenSLO v1 files: SLO, SLI, Service, DataSource, AlertPolicy, AlertCondition, AlertNotificationTarget.

Objects may be spread over several documents (`---`) and refer to each other by name
(`indicatorRef`, `metricSourceRef`, `alertPolicyRef`, `conditionRef`, `targetRef`).
An SLO with several objectives becomes one tocsin SLO per objective. Indicators must be
ratio metrics on a Prometheus-compatible data source. See docs/slo/import-export.md.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from tocsin.slo.config import WINDOW_PLACEHOLDER, SloConfig
from tocsin.slo.importing import SpecError, build, labels_of, percent
from tocsin.slo.importing import field as get

API_VERSION = "openslo/v1"
KINDS = ("SLO", "SLI", "Service", "DataSource", "AlertPolicy", "AlertCondition", "AlertNotificationTarget")
PROMETHEUS_TYPES = {"prometheus", "thanos", "mimir", "cortex", "victoriametrics", "victoria-metrics"}
_DURATION = re.compile(r"^(\d+)([mhdwMQY])$")
_CALENDAR = {"w": "week", "M": "month", "Q": "quarter"}
_SEVERITY = {"page": "page", "critical": "page", "ticket": "ticket", "warning": "ticket"}


@dataclass
class Catalog:
    """OpenSLO objects by kind and name, and where each was found."""

    objects: dict[str, dict[str, dict[str, Any]]] = field(default_factory=lambda: {k: {} for k in KINDS})
    order: list[tuple[int, dict[str, Any]]] = field(default_factory=list)  # SLOs with their document index

    def ref(self, kind: str, name: str, where: str) -> dict[str, Any]:
        """The named object of a kind, or a SpecError at `where`."""
        found = self.objects[kind].get(name)
        if found is None:
            raise SpecError(where, f"no {kind} called {name!r} in the imported files")
        return found


def catalog(documents: list[Any]) -> Catalog:
    """Index documents by kind and name, checking apiVersion, kind and metadata.name."""
    out = Catalog()
    for index, doc in enumerate(documents):
        try:
            kind, name = _header(doc)
        except SpecError as exc:
            raise SpecError(exc.field, exc.message, document=index) from exc
        out.objects[kind][name] = doc
        if kind == "SLO":
            out.order.append((index, doc))
    return out


def _header(doc: Any) -> tuple[str, str]:
    if not isinstance(doc, dict):
        raise SpecError("", "an OpenSLO document is a mapping with apiVersion, kind, metadata and spec")
    version = get(doc, "", "apiVersion", str)
    if version != API_VERSION:
        raise SpecError("apiVersion", f"must be {API_VERSION}, not {version!r}")
    kind = get(doc, "", "kind", str)
    if kind not in KINDS:
        raise SpecError("kind", f"must be one of {', '.join(KINDS)}, not {kind!r}")
    metadata = get(doc, "", "metadata", dict)
    get(doc, "", "spec", dict, required=kind != "Service")
    return kind, get(metadata, "metadata", "name", str)


def import_openslo(documents: list[Any], *, url: str | None = None) -> list[SloConfig]:
    """Tocsin SLOs from parsed OpenSLO documents; SpecError names the document and field."""
    objects = catalog(documents)
    out: list[SloConfig] = []
    for index, doc in objects.order:
        try:
            out.extend(_slos(objects, doc, url))
        except SpecError as exc:
            raise SpecError(exc.field, exc.message, document=index) from exc
    return out


def _slos(objects: Catalog, doc: dict[str, Any], url: str | None) -> list[SloConfig]:
    name, spec = doc["metadata"]["name"], doc["spec"]
    base: dict[str, Any] = {
        "service": get(spec, "spec", "service", str, required=False) or "",
        "description": get(spec, "spec", "description", str, required=False) or "",
        "labels": labels_of(doc["metadata"].get("labels"), "metadata.labels"),
        "window": _window(spec),
        "budgeting": get(spec, "spec", "budgetingMethod", str),
        "sli": _indicator(objects, spec, url),
    }
    origins = {"name": "metadata.name", "service": "spec.service", "window": "spec.timeWindow[0]"}
    origins |= {"budgeting": "spec.budgetingMethod", "sli": "spec.indicator", "labels": "metadata.labels"}
    alerting = _alerting(objects, spec)
    if alerting is not None:
        base["alerting"] = alerting
    objectives = get(spec, "spec", "objectives", list)
    if not objectives:
        raise SpecError("spec.objectives", "needs at least one objective")
    return [
        _objective(name, base, origins, item, i, len(objectives) > 1, spec["budgetingMethod"])
        for i, item in enumerate(objectives)
    ]


def _objective(
    name: str, base: dict[str, Any], origins: dict[str, str], item: Any, i: int, many: bool, method: str
) -> SloConfig:
    where = f"spec.objectives[{i}]"
    if not isinstance(item, dict):
        raise SpecError(where, "must be a mapping")
    target, target_percent = item.get("target"), item.get("targetPercent")
    if (target is None) == (target_percent is None):
        raise SpecError(f"{where}.target", "set exactly one of target and targetPercent")
    value = target if target is not None else target_percent
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise SpecError(f"{where}.{'target' if target is not None else 'targetPercent'}", "must be a number")
    objective = percent(value) if target is not None else float(value)
    label = str(item.get("displayName") or i)
    data = {**base, "name": f"{name}-{_slug(label)}" if many else name, "objective": objective}
    if method in ("Timeslices", "RatioTimeslices"):
        data["timeslice"] = _timeslice(item, where, method)
    keys = {**origins, "objective": f"{where}.target", "timeslice": f"{where}.timeSliceWindow"}
    return build(data, keys)


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.\-]+", "-", text).strip("-").lower() or "objective"


def _timeslice(item: dict[str, Any], where: str, method: str) -> dict[str, Any]:
    window = item.get("timeSliceWindow")
    if window is None:
        raise SpecError(f"{where}.timeSliceWindow", f"is required for {method}")
    size = f"{window}m" if isinstance(window, int | float) else str(window)
    if not _DURATION.match(size) or size[-1] in "MQY":
        raise SpecError(f"{where}.timeSliceWindow", f"must be a duration like 1m or 5m, not {window!r}")
    out: dict[str, Any] = {"size": size}
    slice_target = item.get("timeSliceTarget")
    if method == "Timeslices":
        if not isinstance(slice_target, int | float) or not 0 < slice_target <= 1:
            raise SpecError(f"{where}.timeSliceTarget", "is required for Timeslices: a ratio in (0, 1]")
        out["target"] = percent(slice_target)
    return out


def _window(spec: dict[str, Any]) -> Any:
    windows = get(spec, "spec", "timeWindow", list, required=False)
    if not windows:
        return "30d"
    if len(windows) != 1 or not isinstance(windows[0], dict):
        raise SpecError("spec.timeWindow", "must hold exactly one window")
    window = windows[0]
    duration = get(window, "spec.timeWindow[0]", "duration", str)
    match = _DURATION.match(duration)
    if match is None:
        raise SpecError("spec.timeWindow[0].duration", f"must be like 28d, 4w or 1M, not {duration!r}")
    count, unit = int(match.group(1)), match.group(2)
    calendar = window.get("calendar")
    rolling = window.get("isRolling", calendar is None)
    if rolling:
        if unit in "MQY":
            raise SpecError("spec.timeWindow[0].duration", f"a rolling window is in m, h, d or w, not {duration!r}")
        return duration
    if count != 1 or unit not in _CALENDAR:
        raise SpecError("spec.timeWindow[0].duration", f"a calendar window is 1w, 1M or 1Q, not {duration!r}")
    zone = calendar.get("timeZone", "UTC") if isinstance(calendar, dict) else "UTC"
    return {"calendar": _CALENDAR[unit], "time_zone": zone}


def _indicator(objects: Catalog, spec: dict[str, Any], url: str | None) -> dict[str, Any]:
    if "indicator" in spec:
        sli, where = get(spec, "spec", "indicator", dict), "spec.indicator"
    else:
        name = get(spec, "spec", "indicatorRef", str)
        sli, where = objects.ref("SLI", name, "spec.indicatorRef"), f"SLI {name}"
    body = get(sli, where, "spec", dict)
    if "ratioMetric" not in body:
        raise SpecError(f"{where}.spec", "tocsin reads ratioMetric indicators (good or bad, and total)")
    ratio = get(body, f"{where}.spec", "ratioMetric", dict)
    base = f"{where}.spec.ratioMetric"
    if "raw" in ratio:
        raise SpecError(f"{base}.raw", "tocsin needs good or bad and total counts, not a precomputed ratio")
    if ("good" in ratio) == ("bad" in ratio):
        raise SpecError(f"{base}.good", "set exactly one of good and bad")
    numerator = "good" if "good" in ratio else "bad"
    found_url, top = url, get(ratio, base, "total", dict)
    queries: dict[str, str] = {}
    for key, metric in ((numerator, get(ratio, base, numerator, dict)), ("total", top)):
        query, source_url = _metric(objects, metric, f"{base}.{key}")
        queries[key] = query
        found_url = found_url or source_url
    if not found_url:
        raise SpecError(
            f"{base}.total.metricSource",
            "no Prometheus URL: give a DataSource with connectionDetails.url, or url: on the reference (--url)",
        )
    counter = bool(ratio.get("counter")) and not any(WINDOW_PLACEHOLDER in q for q in queries.values())
    return {"prometheus": {"url": found_url, **queries, "counter": counter}}


def _metric(objects: Catalog, metric: dict[str, Any], where: str) -> tuple[str, str | None]:
    source = get(metric, where, "metricSource", dict)
    where = f"{where}.metricSource"
    kind, connection = source.get("type"), dict[str, Any]()
    if "metricSourceRef" in source:
        ref = get(source, where, "metricSourceRef", str)
        data_source = objects.ref("DataSource", ref, f"{where}.metricSourceRef")["spec"]
        kind = kind or data_source.get("type")
        connection = data_source.get("connectionDetails") or {}
    if str(kind).lower() not in PROMETHEUS_TYPES:
        raise SpecError(f"{where}.type", f"tocsin reads Prometheus-compatible sources only, not {kind!r}")
    spec = get(source, where, "spec", dict)
    query = spec.get("query") or spec.get("promql")
    if not isinstance(query, str) or not query.strip():
        raise SpecError(f"{where}.spec.query", "is required: a PromQL query")
    url = connection.get("url") or connection.get("address") if isinstance(connection, Mapping) else None
    return query.strip(), str(url) if url else None


def _alerting(objects: Catalog, spec: dict[str, Any]) -> dict[str, Any] | None:
    policies = get(spec, "spec", "alertPolicies", list, required=False)
    if not policies:
        return None
    tiers: dict[str, list[dict[str, Any]]] = {"page": [], "ticket": []}
    targets: list[str] = []
    for i, item in enumerate(policies):
        where = f"spec.alertPolicies[{i}]"
        policy = _resolve(objects, item, "AlertPolicy", "alertPolicyRef", where)
        for severity, tier in _conditions(objects, policy, where):
            tiers[severity].append(tier)
        targets.extend(_targets(objects, policy, where))
    alerting: dict[str, Any] = {s: {"tiers": t} if t else {"disabled": True} for s, t in tiers.items()}
    if targets:
        alerting["labels"] = {"notification_target": ",".join(dict.fromkeys(targets))}
    return alerting


def _resolve(objects: Catalog, item: Any, kind: str, ref_key: str, where: str) -> dict[str, Any]:
    if not isinstance(item, dict):
        raise SpecError(where, "must be a mapping")
    if ref_key in item:
        return objects.ref(kind, get(item, where, ref_key, str), f"{where}.{ref_key}")
    if item.get("kind") != kind:
        raise SpecError(f"{where}.kind", f"an inline object must be kind {kind}, or use {ref_key}")
    get(item, where, "metadata", dict)
    return item


def _conditions(objects: Catalog, policy: dict[str, Any], where: str) -> list[tuple[str, dict[str, Any]]]:
    spec = get(policy, where, "spec", dict)
    out = []
    for i, item in enumerate(get(spec, f"{where}.spec", "conditions", list)):
        at = f"{where}.spec.conditions[{i}]"
        condition = _resolve(objects, item, "AlertCondition", "conditionRef", at)
        out.append(_condition(get(condition, at, "spec", dict), f"{at}.spec"))
    return out


def _condition(spec: dict[str, Any], where: str) -> tuple[str, dict[str, Any]]:
    severity = str(get(spec, where, "severity", str)).lower()
    if severity not in _SEVERITY:
        raise SpecError(
            f"{where}.severity", f"tocsin alerts are page or ticket (or critical, warning), not {severity!r}"
        )
    body = get(spec, where, "condition", dict)
    if body.get("kind", "burnrate") != "burnrate":
        raise SpecError(f"{where}.condition.kind", "tocsin supports burnrate conditions")
    threshold = get(body, f"{where}.condition", "threshold", (int, float))
    lookback = get(body, f"{where}.condition", "lookbackWindow", str)
    match = _DURATION.match(lookback)
    if match is None or match.group(2) in "MQY":
        raise SpecError(f"{where}.condition.lookbackWindow", f"must be a duration like 1h, not {lookback!r}")
    minutes = int(match.group(1)) * {"m": 1, "h": 60, "d": 1440, "w": 10080}[match.group(2)]
    short = max(minutes // 12, 1)  # the workbook's short window: 1/12 of the long one
    return _SEVERITY[severity], {"long_window": lookback, "short_window": f"{short}m", "burn_rate": threshold}


def _targets(objects: Catalog, policy: dict[str, Any], where: str) -> list[str]:
    names = []
    for i, item in enumerate(policy["spec"].get("notificationTargets") or []):
        at = f"{where}.spec.notificationTargets[{i}]"
        target = _resolve(objects, item, "AlertNotificationTarget", "targetRef", at)
        names.append(str(target["metadata"]["name"]))
    return names
