"""`tocsin` commands: serve, validate, check, db migrate."""

from __future__ import annotations

import logging
import sys
from pathlib import Path

import click

import tocsin
from tocsin import eventloop

DEFAULT_CONFIG = "tocsin.yaml"


def _logging(level: str) -> None:
    logging.basicConfig(
        level=getattr(logging, level.upper()),
        stream=sys.stderr,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )


@click.group()
@click.version_option(tocsin.__version__, prog_name="tocsin")
def main() -> None:
    """tocsin: synthetic checks, SLOs, alerting, on-call, incidents and status pages."""


@main.command()
@click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
)
@click.option("--host", default=None, help="Override the host of server.listen.")
@click.option("--port", default=None, type=int, help="Override the port of server.listen; 0 picks a free one.")
@click.option("--database-url", default=None, help="Override storage.url and TOCSIN_DATABASE_URL.")
@click.option(
    "--test-clock",
    is_flag=True,
    help="Run on a fake clock moved only by POST /-/clock (for tests).",
)
@click.option("--log-level", default="info", type=click.Choice(["debug", "info", "warning", "error"]))
def serve(
    config_path: str,
    host: str | None,
    port: int | None,
    database_url: str | None,
    test_clock: bool,
    log_level: str,
) -> None:
    """Start the server: checks, API and console."""
    from tocsin.cli.serve import run_server

    _logging(log_level)
    sys.exit(eventloop.run(run_server(Path(config_path), host, port, database_url, test_clock)))


@main.command()
@click.argument("config_path", type=click.Path(dir_okay=False))
def validate(config_path: str) -> None:
    """Check a config file; print every error with file, line and key; exit 1 on errors."""
    from tocsin.cli.validate import validate_command

    sys.exit(validate_command(Path(config_path)))


@main.command()
@click.argument("config_path", type=click.Path(dir_okay=False))
@click.option("--monitor", "names", multiple=True, help="Only this monitor (repeatable).")
def check(config_path: str, names: tuple[str, ...]) -> None:
    """Run each monitor once and print a table; exit 0 only when all are up."""
    from tocsin.cli.check import check_command

    sys.exit(eventloop.run(check_command(Path(config_path), names)))


@main.group()
def routes() -> None:
    """Inspect the alert routing tree (like `amtool config routes`)."""


@routes.command("test")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
@click.argument("labels", nargs=-1)
def routes_test(config_path: str, labels: tuple[str, ...]) -> None:
    """Print the receivers an alert with LABELS (name=value ...) is routed to."""
    from tocsin.cli.routes import routes_test as run

    sys.exit(run(Path(config_path), labels))


@routes.command("show")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
def routes_show(config_path: str) -> None:
    """Print the routing tree."""
    from tocsin.cli.routes import routes_show as run

    sys.exit(run(Path(config_path)))


@main.group()
def slo() -> None:
    """SLOs: status, Prometheus rules, OpenSLO and Sloth import, monthly report."""


@slo.command("status")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
@click.option("--database-url", default=None, help="Override storage.url and TOCSIN_DATABASE_URL.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def slo_status(config_path: str, database_url: str | None, as_json: bool) -> None:
    """Print every SLO's SLI, budget left, burn rate and status; exit 2 when a budget is exhausted."""
    from tocsin.slo.cli import status_command

    _logging("warning")
    sys.exit(eventloop.run(status_command(Path(config_path), database_url=database_url, as_json=as_json)))


@slo.command("rules")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
@click.option("--slo", "name", default=None, help="Only this SLO.")
def slo_rules(config_path: str, name: str | None) -> None:
    """Print Prometheus recording and alert rules (Sloth's names) for SLOs with a Prometheus SLI."""
    from tocsin.slo.cli import rules_command

    sys.exit(rules_command(Path(config_path), name))


@slo.command("import")
@click.argument("file", type=click.Path(dir_okay=False, exists=True))
@click.option("--url", default=None, help="Prometheus URL for the imported SLIs.")
@click.option("--window", default="30d", show_default=True, help="Window of Sloth SLOs (Sloth files name none).")
@click.option("--format", "kind", type=click.Choice(["openslo", "sloth"]), default=None, help="Default: detected.")
def slo_import(file: str, url: str | None, window: str, kind: str | None) -> None:
    """Print an OpenSLO or Sloth file as a tocsin `slos:` section."""
    from tocsin.slo.cli import import_command

    sys.exit(import_command(Path(file), url=url, window=window, kind=kind))


@slo.command("report")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
@click.option("--database-url", default=None, help="Override storage.url and TOCSIN_DATABASE_URL.")
@click.option("--months", default=12, show_default=True, type=click.IntRange(1, 120))
@click.option("--format", "fmt", type=click.Choice(["json", "csv"]), default="json", show_default=True)
def slo_report(config_path: str, database_url: str | None, months: int, fmt: str) -> None:
    """Print the SLI of every SLO in each calendar month, met or missed (JSON or CSV)."""
    from tocsin.slo.cli import report_command

    _logging("warning")
    sys.exit(eventloop.run(report_command(Path(config_path), months=months, fmt=fmt, database_url=database_url)))


@main.group()
def db() -> None:
    """Database maintenance."""


@db.command("migrate")
@click.option(
    "--config",
    "config_path",
    default=DEFAULT_CONFIG,
    show_default=True,
    type=click.Path(dir_okay=False),
)
@click.option("--database-url", default=None, help="Override storage.url and TOCSIN_DATABASE_URL.")
def migrate(config_path: str, database_url: str | None) -> None:
    """Create or upgrade the database schema to the latest version."""
    from tocsin.cli.dbcmd import migrate_command

    _logging("warning")
    sys.exit(eventloop.run(migrate_command(Path(config_path), database_url)))


def _register_access_commands() -> None:
    from tocsin.cli.access_commands import config, token, user

    for group in (user, token, config):
        main.add_command(group)


_register_access_commands()


def _register_oncall_commands() -> None:
    from tocsin.cli.oncall_commands import oncall

    main.add_command(oncall)


_register_oncall_commands()


def _register_incident_commands() -> None:
    from tocsin.cli.incident_commands import incident

    main.add_command(incident)


_register_incident_commands()
