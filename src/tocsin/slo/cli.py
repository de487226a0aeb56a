"""`tocsin slo` commands as plain functions returning exit codes; cli/main.py registers them with click.

- `status`: evaluate every SLO from the database (read-only) and print a table or JSON.
- `rules`: print Prometheus recording and alert rules (Sloth names) for SLOs with a Prometheus SLI.
- `import`: print an OpenSLO or Sloth file as a tocsin `slos:` section.
- `report`: the monthly report (SLI per SLO per calendar month, met or missed) as JSON or CSV.
"""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

import yaml

from tocsin.config.errors import ConfigErrors
from tocsin.slo.importing import SpecError

if TYPE_CHECKING:
    from tocsin.alerting.alert import Alert
    from tocsin.config.loader import LoadedConfig
    from tocsin.slo.evaluator import SloEvaluator
    from tocsin.slo.model import Slo
    from tocsin.slo.views import SloSummary
    from tocsin.store.store import Store


def _load(config_path: Path, err: TextIO) -> tuple[LoadedConfig, list[Slo]] | None:
    """The loaded config and its compiled SLOs, or None after printing the errors."""
    from tocsin.config.loader import load_config
    from tocsin.slo.catalog import load_slos

    try:
        loaded = load_config(config_path)
        return loaded, load_slos(loaded)
    except ConfigErrors as exc:
        print(exc.format(), file=err)
        return None


def rules_command(config_path: Path, slo: str | None = None, out: TextIO = sys.stdout, err: TextIO = sys.stderr) -> int:
    """Print rules for every SLO (or the one named); 1 on config errors or when nothing can be written."""
    from tocsin.slo.rules import render, rule_groups

    found = _load(config_path, err)
    if found is None:
        return 1
    slos = [s for s in found[1] if slo is None or s.name == slo]
    if slo is not None and not slos:
        print(f"no SLO called {slo!r}", file=err)
        return 1
    groups, skipped = rule_groups(slos)
    for note in skipped:
        print(note, file=err)
    if not groups:
        print("no SLO with a Prometheus SLI to write rules for", file=err)
        return 1
    out.write(render(groups))
    return 0


def import_command(
    path: Path,
    *,
    url: str | None = None,
    window: str = "30d",
    kind: str | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print the SLOs of an OpenSLO or Sloth file as a tocsin `slos:` section; 1 with the field on errors."""
    from tocsin.slo.catalog import import_file

    try:
        configs = import_file(path, url=url, window=window, kind=kind)
    except SpecError as exc:
        print(exc.format(), file=err)
        return 1
    section = {"slos": [c.model_dump(mode="json", exclude_defaults=True) for c in configs]}
    out.write(yaml.safe_dump(section, sort_keys=False, allow_unicode=True, width=1000))
    return 0


async def _evaluator(config_path: Path, database_url: str | None, err: TextIO) -> tuple[SloEvaluator, Store] | None:
    """A read-only evaluator built from the database, and the store to close; None after errors."""
    import aiohttp

    from tocsin.clock import SystemClock
    from tocsin.pipeline.setup import maintenance_window
    from tocsin.slo.evaluator import SloEvaluator
    from tocsin.store.store import Store, StoreUnavailable

    found = _load(config_path, err)
    if found is None:
        return None
    loaded, slos = found
    url = database_url or os.environ.get("TOCSIN_DATABASE_URL") or loaded.config.storage.url
    try:
        store = await Store.open(url)
    except StoreUnavailable as exc:
        print(exc, file=err)
        return None
    session = aiohttp.ClientSession()
    evaluator = SloEvaluator(SystemClock(), store, _ignore, session=session, read_only=True)
    labels = {m.name: dict(m.labels) for m in loaded.config.monitors}
    await evaluator.configure(slos, [maintenance_window(m) for m in loaded.config.maintenance], labels)
    await session.close()
    return evaluator, store


async def _ignore(alerts: Sequence[Alert]) -> None:
    """The CLI evaluates but never raises alerts."""


async def status_command(
    config_path: Path,
    *,
    database_url: str | None = None,
    as_json: bool = False,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print every SLO's SLI, budget, burn rate and status; 1 on errors, 2 when a budget is exhausted."""
    from tocsin.slo.views import list_slos

    built = await _evaluator(config_path, database_url, err)
    if built is None:
        return 1
    evaluator, store = built
    rows = list_slos(evaluator)
    await store.close()
    if as_json:
        out.write(json.dumps([r.model_dump(mode="json") for r in rows], indent=2) + "\n")
    else:
        out.write(_table(rows))
    return 2 if any(r.status == "exhausted" for r in rows) else 0


def _table(rows: Sequence[SloSummary]) -> str:
    lines = [f"{'SLO':<32} {'objective':>9} {'window':<10} {'SLI':>9} {'budget':>8} {'burn 1h':>8} {'status':<9} alert"]
    for r in rows:
        sli = "-" if r.sli is None else f"{r.sli * 100:.3f}%"
        lines.append(
            f"{r.name:<32} {r.objective:>8}% {r.window:<10} {sli:>9} {r.budget_remaining:>8.1%} "
            f"{r.burn_rate_1h:>8.2f} {r.status:<9} {r.alert or '-'}"
        )
    return "\n".join(lines) + "\n"


async def report_command(
    config_path: Path,
    *,
    months: int = 12,
    fmt: str = "json",
    database_url: str | None = None,
    now: datetime | None = None,
    out: TextIO = sys.stdout,
    err: TextIO = sys.stderr,
) -> int:
    """Print the monthly report (JSON or CSV); 1 on errors."""
    from tocsin.clock import SystemClock
    from tocsin.slo.views import monthly_report, report_csv

    built = await _evaluator(config_path, database_url, err)
    if built is None:
        return 1
    evaluator, store = built
    rows = await monthly_report(evaluator, now or SystemClock().now(), months)
    await store.close()
    if fmt == "csv":
        out.write(report_csv(rows))
    else:
        out.write(json.dumps([r.model_dump(mode="json") for r in rows], indent=2) + "\n")
    return 0
