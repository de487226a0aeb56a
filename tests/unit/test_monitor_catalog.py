"""Monitor forms to specs and back, database monitors merged with config ones, and the export."""

from __future__ import annotations

from pathlib import Path

import pytest
from pydantic import ValidationError

from tocsin.checks.catalog import api_definition, export_yaml, from_records, parse_monitor
from tocsin.checks.result import MonitorStatus
from tocsin.config.loader import load_config
from tocsin.store.records import MonitorRecord, MonitorState
from tocsin.web.ui.monitor_forms import form_from_spec, spec_from_form


def record(name: str, spec: dict[str, object], source: str = "api", token: str | None = None) -> MonitorRecord:
    return MonitorRecord(
        1, name, str(spec["kind"]), spec, source, None, False, MonitorState(MonitorStatus.PENDING), token
    )


def test_form_to_spec_keeps_settings_the_form_does_not_show() -> None:
    base = {"name": "web", "kind": "http", "url": "http://a", "headers": {"X": "1"}, "interval": "30s"}
    form = {
        "name": "web",
        "kind": "http",
        "url": "http://b",
        "interval": "",
        "expected_status": "200, 3xx",
        "failure_threshold": "3",
        "conditions": "[STATUS] == 200\n\n[RESPONSE_TIME] < 500\n",
        "labels": "service=api\nteam = core",
        "host": "ignored for http",
    }
    spec = spec_from_form(form, base)
    assert spec == {
        "name": "web",
        "kind": "http",
        "url": "http://b",
        "headers": {"X": "1"},  # kept
        "expected_status": [200, "3xx"],
        "failure_threshold": 3,
        "conditions": ["[STATUS] == 200", "[RESPONSE_TIME] < 500"],
        "labels": {"service": "api", "team": "core"},
    }  # interval emptied: back to its default; host is not an http field
    assert parse_monitor(spec).name == "web"
    assert spec_from_form({**form, "kind": "tcp", "port": "80"}, base)["port"] == 80  # a new kind starts afresh
    values = form_from_spec(spec)
    assert (values["conditions"], values["labels"], values["expected_status"]) == (
        "[STATUS] == 200\n[RESPONSE_TIME] < 500",
        "service=api\nteam=core",
        "200, 3xx",
    )


def test_api_monitors_are_validated_like_config_ones() -> None:
    with pytest.raises(ValidationError) as caught:
        parse_monitor({"name": "x", "kind": "http", "url": "ftp://x", "colour": "red"})
    fields = {tuple(e["loc"]) for e in caught.value.errors()}
    assert fields == {("http", "url"), ("http", "colour")}
    with pytest.raises(ValidationError):
        parse_monitor({"name": "x", "kind": "http", "url": "http://x", "conditions": ["[STATUS] =="]})


def test_config_wins_a_name_clash_and_bad_rows_are_skipped() -> None:
    good = record("db1", {"name": "db1", "kind": "tcp", "host": "h", "port": 5432})
    clash = record("cfg", {"name": "cfg", "kind": "tcp", "host": "h", "port": 1})
    broken = record("bad", {"name": "bad", "kind": "http", "url": "nope"})
    config_owned = record("other", {"name": "other", "kind": "tcp", "host": "h", "port": 1}, source="config")
    merged = from_records([good, clash, broken, config_owned], taken={"cfg"})
    assert list(merged) == ["db1"]
    assert api_definition(parse_monitor(good.spec)).source == "api"


def test_export_is_accepted_by_validate(tmp_path: Path) -> None:
    web = parse_monitor({"name": "web", "kind": "http", "url": "https://x.test/", "interval": "30s"})
    job = parse_monitor({"name": "job", "kind": "heartbeat", "period": "1h"})
    records = [
        record("web", web.model_dump(mode="json")),
        record("job", job.model_dump(mode="json"), token="a-generated-token-0001"),
        record("cfg", {"name": "cfg", "kind": "tcp", "host": "h", "port": 1}, source="config"),
    ]
    text = export_yaml(records)
    assert "cfg" not in text
    assert "timeout" not in text  # defaults are left out
    path = tmp_path / "exported.yaml"
    path.write_text(text)
    loaded = load_config(path).config
    assert [m.name for m in loaded.monitors] == ["job", "web"]
    assert loaded.monitors[0].token == "a-generated-token-0001"  # type: ignore[union-attr]
