"""`tocsin` commands: serve, validate, check, db migrate."""

from __future__ import annotations

import asyncio
import logging
import sys
from pathlib import Path

import click

import tocsin

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
    sys.exit(asyncio.run(run_server(Path(config_path), host, port, database_url, test_clock)))


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

    sys.exit(asyncio.run(check_command(Path(config_path), names)))


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
    sys.exit(asyncio.run(migrate_command(Path(config_path), database_url)))


def _register_access_commands() -> None:
    from tocsin.cli.access_commands import config, token, user

    for group in (user, token, config):
        main.add_command(group)


_register_access_commands()
