"""`tocsin validate FILE`."""

from __future__ import annotations

from pathlib import Path

import click

from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.runtime import monitored
from tocsin.slo.setup import slo_inputs


def validate_command(path: Path) -> int:
    """Print every error (file:line: key: message) and return 1, or a summary and 0."""
    try:
        loaded = load_config(path)
        monitored(loaded)
        slo_inputs(loaded)
    except ConfigErrors as exc:
        click.echo(exc.format(), err=True)
        click.echo(f"{len(exc.errors)} error(s) in {path}", err=True)
        return 1
    except ValueError as exc:
        click.echo(f"{path}: {exc}", err=True)
        return 1
    kinds: dict[str, int] = {}
    for m in loaded.config.monitors:
        kinds[m.kind] = kinds.get(m.kind, 0) + 1
    detail = ", ".join(f"{n} {k}" for k, n in sorted(kinds.items()))
    click.echo(f"ok: {path} has {len(loaded.config.monitors)} monitors" + (f" ({detail})" if detail else ""))
    return 0
