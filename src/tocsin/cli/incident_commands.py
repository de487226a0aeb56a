"""Click definitions of `tocsin incident` (implementations in tocsin/incidents/cli.py)."""

from __future__ import annotations

import sys

import click


@click.group()
def incident() -> None:
    """Incident response: declare incidents on a running server."""


@incident.command("declare")
@click.option("--url", envvar="TOCSIN_URL", default="http://127.0.0.1:8080", show_default=True)
@click.option("--token", envvar="TOCSIN_TOKEN", default=None, help="An API token with scope write.")
@click.option("--title", required=True, help="What is happening, in a few words.")
@click.option(
    "--severity",
    default="SEV3",
    show_default=True,
    help="One of incidents.severities (by default SEV1, critical, to SEV4, low).",
)
@click.option("--summary", default="", help="More detail for responders.")
@click.option("--group-key", default=None, help="Link the alert group with this key (GET /api/v1/alerts/groups).")
def declare(url: str, token: str | None, title: str, severity: str, summary: str, group_key: str | None) -> None:
    """Declare an incident on a running server and print its id and console link."""
    from tocsin.incidents.cli import declare_command

    body = {"title": title, "severity": severity, "summary": summary, "group_key": group_key, "source": "cli"}
    sys.exit(declare_command(url, token, body))
