"""Docs are tested: every config key, CLI command, API route and metric is documented."""

from __future__ import annotations

from pathlib import Path
from typing import Any, get_args, get_origin

import click
from pydantic import BaseModel

from tocsin.cli.main import main
from tocsin.config.models import TocsinConfig
from tocsin.metrics import Metrics

DOCS = Path(__file__).resolve().parents[2] / "docs"


def all_docs() -> str:
    return "\n".join(p.read_text() for p in DOCS.rglob("*.md"))


def _models(annotation: Any) -> list[type[BaseModel]]:
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return [annotation]
    return (
        [m for arg in get_args(annotation) for m in _models(arg)]
        if get_origin(annotation) or get_args(annotation)
        else []
    )


def config_keys(model: type[BaseModel], seen: set[type[BaseModel]] | None = None) -> set[str]:
    seen = seen if seen is not None else set()
    if model in seen:
        return set()
    seen.add(model)
    keys: set[str] = set()
    for name, field in model.model_fields.items():
        keys.add(field.alias or name)
        for sub in _models(field.annotation):
            keys |= config_keys(sub, seen)
    return keys


def test_every_config_key_is_documented() -> None:
    text = all_docs()
    missing = sorted(k for k in config_keys(TocsinConfig) if f"`{k}`" not in text)
    assert not missing, f"config keys not in docs/: {missing}"


def _commands(group: click.Group, prefix: str = "tocsin") -> list[str]:
    names = []
    for name, command in group.commands.items():
        names.append(f"{prefix} {name}")
        if isinstance(command, click.Group):
            names.extend(_commands(command, f"{prefix} {name}"))
    return names


def test_every_cli_command_is_documented() -> None:
    text = (DOCS / "cli.md").read_text()
    missing = [c for c in _commands(main) if f"`{c}" not in text]
    assert not missing, f"commands not in docs/cli.md: {missing}"


def test_every_metric_is_documented() -> None:
    text = (DOCS / "metrics.md").read_text()
    names = set()
    for family in Metrics().registry.collect():
        suffix = "_total" if family.type == "counter" else ""
        names.add(family.name + suffix)
    missing = sorted(n for n in names if f"`{n}`" not in text)
    assert not missing, f"metrics not in docs/metrics.md: {missing}"


def test_every_api_route_is_documented() -> None:
    from fastapi.routing import APIRoute

    from tocsin.web.access import route_contexts
    from tocsin.web.app import create_app

    app = create_app(object(), manage_lifecycle=False, test_clock=True)  # type: ignore[arg-type]
    text = "".join((DOCS / p).read_text() for p in ("api.md", "monitors/heartbeat.md", "alerting/api.md"))
    # included routers are not flattened into app.routes: walk them like the router does
    paths = {r.path for r in route_contexts(app.routes) if isinstance(r.original_route, APIRoute)}
    assert len(paths) > 20
    missing = sorted(p for p in paths if p not in text)
    assert not missing, f"routes not in docs/api.md: {missing}"
