"""Monitors from two places: the config file and the database (created in the console or API).

Both are validated by the same pydantic models and compiled by the same condition compiler.
On a name clash the config wins: the API refuses to create a name that exists, and a config
sync takes over a database monitor that the file starts defining.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Mapping
from typing import Any

import yaml
from pydantic import TypeAdapter

from tocsin.checks.conditions import compile_conditions
from tocsin.checks.runner import Monitored
from tocsin.config.models import Monitor, MonitorBase
from tocsin.store.records import MonitorDefinition, MonitorRecord

log = logging.getLogger(__name__)

_MONITOR: TypeAdapter[MonitorBase] = TypeAdapter(Monitor)
API = "api"


def parse_monitor(data: Any) -> MonitorBase:
    """Validate a monitor written as JSON or YAML data (pydantic ValidationError on a problem)."""
    return _MONITOR.validate_python(data)


def compile_monitor(spec: MonitorBase) -> Monitored:
    """Compile a monitor's conditions once (ValueError naming the monitor on failure)."""
    try:
        return Monitored(spec, spec.kind, compile_conditions(spec.conditions, spec.kind))  # type: ignore[attr-defined]
    except ValueError as exc:
        raise ValueError(f"monitors[{spec.name}].conditions: {exc}") from exc


def api_definition(spec: MonitorBase) -> MonitorDefinition:
    """How a monitor from the API is stored."""
    return MonitorDefinition(spec.name, spec.kind, spec.model_dump(mode="json"), API)  # type: ignore[attr-defined]


def from_records(records: Collection[MonitorRecord], taken: Collection[str]) -> dict[str, Monitored]:
    """Compile the live database monitors whose names the config does not use (bad ones are skipped)."""
    out: dict[str, Monitored] = {}
    for record in records:
        if record.source != API or record.removed or record.name in taken:
            continue
        try:
            out[record.name] = compile_monitor(parse_monitor(record.spec))
        except ValueError as exc:  # a spec an older tocsin accepted: keep serving the others
            log.error("database monitor %s is invalid and is not checked: %s", record.name, exc)
    return out


def export_document(records: Collection[MonitorRecord]) -> dict[str, Any]:
    """The database monitors as a config document (`monitors:`), defaults left out, tokens kept."""
    monitors = []
    for record in sorted(records, key=lambda r: r.name):
        if record.source != API or record.removed:
            continue
        spec = parse_monitor(record.spec)
        item = {"name": spec.name, "kind": record.kind, **spec.model_dump(mode="json", exclude_defaults=True)}
        if record.heartbeat_token:
            item["token"] = record.heartbeat_token  # keep the ping URL working after the move
        monitors.append(item)
    return {"monitors": monitors}


def export_yaml(records: Collection[MonitorRecord]) -> str:
    """`export_document` as YAML that `tocsin validate` accepts."""
    header = "# Monitors defined in the tocsin database, exported by `tocsin config export`.\n"
    return header + yaml.safe_dump(export_document(records), sort_keys=False, allow_unicode=True)


def schedule(monitors: Mapping[str, Monitored]) -> dict[str, float]:
    """Each monitor's interval in seconds, as the scheduler takes it."""
    return {name: m.spec.interval.total_seconds() for name, m in monitors.items()}
