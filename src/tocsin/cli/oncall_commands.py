"""Click definitions of `tocsin oncall` (implementations in tocsin/oncall/cli.py)."""

from __future__ import annotations

import sys
from pathlib import Path

import click

DEFAULT_CONFIG = "tocsin.yaml"


@click.group()
def oncall() -> None:
    """On-call: simulate escalation policies; acknowledge and resolve alert groups."""


@oncall.command("simulate")
@click.option("--config", "config_path", default=DEFAULT_CONFIG, show_default=True, type=click.Path(dir_okay=False))
@click.option("--policy", required=True, help="The escalation policy to run.")
@click.option(
    "--at", "at", default="now", show_default=True, help="When the alert fires (ISO 8601; UTC without offset)."
)
@click.option("--urgency", type=click.Choice(["high", "low"]), default="high", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def simulate(config_path: str, policy: str, at: str, urgency: str, as_json: bool) -> None:
    """Print who POLICY would notify, when and how, for an alert at --at that nobody acknowledges."""
    from tocsin.oncall.cli import simulate_command

    sys.exit(simulate_command(Path(config_path), policy, at, urgency, as_json))


_server = [
    click.option("--url", envvar="TOCSIN_URL", default="http://127.0.0.1:8080", show_default=True),
    click.option("--token", envvar="TOCSIN_TOKEN", default=None, help="An API token with scope write."),
    click.option("--key", required=True, help="The alert group's key (GET /api/v1/alerts/groups lists them)."),
]


def _server_options(command: click.decorators.FC) -> click.decorators.FC:
    for option in reversed(_server):
        command = option(command)
    return command


@oncall.command("ack")
@_server_options
def ack(url: str, token: str | None, key: str) -> None:
    """Acknowledge an alert group on a running server: its escalation stops."""
    from tocsin.oncall.cli import group_command

    sys.exit(group_command(url, token, key, "ack"))


@oncall.command("resolve")
@_server_options
def resolve(url: str, token: str | None, key: str) -> None:
    """Resolve an alert group on a running server: its escalation stops and its alerts end."""
    from tocsin.oncall.cli import group_command

    sys.exit(group_command(url, token, key, "resolve"))
