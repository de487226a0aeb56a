"""`tocsin check FILE [--monitor NAME]`: run monitors once, for cron and CI."""

from __future__ import annotations

import asyncio
from pathlib import Path

import click

from tocsin.checks.judge import judge
from tocsin.checks.probes import ProbeContext, run_probe
from tocsin.checks.result import CheckResult, Outcome
from tocsin.checks.runner import Monitored
from tocsin.clock import SystemClock
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.runtime import monitored


async def check_command(path: Path, names: tuple[str, ...]) -> int:
    """Run the chosen monitors concurrently, print a table; 0 all up, 1 otherwise, 2 bad input."""
    try:
        compiled = monitored(load_config(path))
    except ConfigErrors as exc:
        click.echo(exc.format(), err=True)
        return 2
    unknown = [n for n in names if n not in compiled]
    if unknown:
        click.echo(
            f"unknown monitor(s): {', '.join(unknown)}; known: {', '.join(sorted(compiled))}",
            err=True,
        )
        return 2
    chosen = [compiled[n] for n in (names or tuple(compiled)) if compiled[n].kind != "heartbeat"]
    clock = SystemClock()
    async with ProbeContext() as ctx:

        async def one(m: Monitored) -> CheckResult:
            now = clock.now()
            return judge(m.spec, await run_probe(m.spec, ctx, now), m.conditions, now)

        results = await asyncio.gather(*(one(m) for m in chosen))
    _print_table(results)
    skipped = [n for n, m in compiled.items() if m.kind == "heartbeat" and (not names or n in names)]
    if skipped:
        click.echo(f"skipped heartbeat monitors (they wait for pings): {', '.join(skipped)}")
    return 0 if all(r.outcome is Outcome.UP for r in results) else 1


def _print_table(results: list[CheckResult]) -> None:
    rows = [("MONITOR", "OUTCOME", "LATENCY", "REASON", "MESSAGE")]
    for r in results:
        latency = f"{r.latency_ms:.0f} ms" if r.latency_ms is not None else "-"
        rows.append(
            (
                r.monitor,
                r.outcome.value,
                latency,
                r.reason.value if r.reason else "-",
                r.message[:80],
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(4)]
    for row in rows:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(row[:4], widths, strict=True)) + "  " + row[4])
