"""Import Sloth `prometheus/v1` specs: one tocsin SLO per entry of `slos`, named `{service}-{name}`.

Sloth specs name no Prometheus and no window: both come from the config reference
(`{sloth: file, url: ..., window: 30d}`) or the `tocsin slo import` options. Only event
SLIs (`error_query` and `total_query`) can be imported: tocsin needs counts, not a
precomputed ratio. See docs/slo/import-export.md.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from tocsin.config.duration import format_duration
from tocsin.slo.config import SloConfig
from tocsin.slo.importing import SpecError, build, labels_of
from tocsin.slo.importing import field as get

VERSION = "prometheus/v1"


def import_sloth(doc: Any, *, url: str = "http://localhost:9090", window: Any = "30d") -> list[SloConfig]:
    """Tocsin SLOs from one parsed Sloth spec; SpecError names the field."""
    if not isinstance(doc, dict):
        raise SpecError("", "a Sloth spec is a mapping with version, service and slos")
    version = get(doc, "", "version", str)
    if version != VERSION:
        raise SpecError("version", f"must be {VERSION!r}, not {version!r}")
    service = get(doc, "", "service", str)
    labels = labels_of(doc.get("labels"), "labels")
    slos = get(doc, "", "slos", list)
    if not slos:
        raise SpecError("slos", "needs at least one SLO")
    if isinstance(window, timedelta):
        window = format_duration(window)
    return [_slo(item, f"slos[{i}]", service, labels, url, window) for i, item in enumerate(slos)]


def _slo(item: Any, where: str, service: str, labels: dict[str, str], url: str, window: Any) -> SloConfig:
    if not isinstance(item, dict):
        raise SpecError(where, "must be a mapping")
    name = get(item, where, "name", str)
    data: dict[str, Any] = {
        "name": f"{service}-{name}",
        "service": service,
        "description": get(item, where, "description", str, required=False) or "",
        "objective": get(item, where, "objective", (int, float)),
        "window": window,
        "labels": {**labels, **labels_of(item.get("labels"), f"{where}.labels")},
        "sli": {"prometheus": _events(get(item, where, "sli", dict), f"{where}.sli", url)},
        "alerting": _alerting(item.get("alerting"), f"{where}.alerting"),
    }
    origins = {k: f"{where}.{k}" for k in ("name", "description", "objective", "labels", "sli", "alerting")}
    return build(data, {**origins, "service": "service", "window": "window"})


def _events(sli: dict[str, Any], where: str, url: str) -> dict[str, Any]:
    for unsupported, why in (("raw", "a precomputed error ratio"), ("plugin", "an SLI plugin")):
        if unsupported in sli:
            raise SpecError(f"{where}.{unsupported}", f"tocsin needs event counts (sli.events), not {why}")
    events = get(sli, where, "events", dict)
    bad = get(events, f"{where}.events", "error_query", str)
    total = get(events, f"{where}.events", "total_query", str)
    return {"url": url, "bad": bad.strip(), "total": total.strip()}


def _alerting(raw: Any, where: str) -> dict[str, Any]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(where, "must be a mapping")
    out: dict[str, Any] = {
        "labels": labels_of(raw.get("labels"), f"{where}.labels"),
        "annotations": _strings(raw.get("annotations"), f"{where}.annotations"),
    }
    if raw.get("name") is not None:
        out["name"] = get(raw, where, "name", str)
    for sloth_key, severity in (("page_alert", "page"), ("ticket_alert", "ticket")):
        alert = get(raw, where, sloth_key, dict, required=False) or {}
        at = f"{where}.{sloth_key}"
        out[severity] = {
            "disabled": bool(get(alert, at, "disable", bool, required=False)),
            "labels": labels_of(alert.get("labels"), f"{at}.labels"),
            "annotations": _strings(alert.get("annotations"), f"{at}.annotations"),
        }
    return out


def _strings(raw: Any, where: str) -> dict[str, str]:
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(where, "must be a mapping")
    return {str(k): str(v) for k, v in raw.items()}
