"""`tocsin routes test|show`: the routing tree of the config, answered like `amtool config routes`."""

from __future__ import annotations

from pathlib import Path

import click

from tocsin.alerting.amconfig import parse_alerting_config
from tocsin.alerting.route import Route
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.labels import MatcherError, format_matchers, parse_matcher
from tocsin.pipeline.setup import DEFAULT_ALERTING


def _tree(path: Path) -> Route | None:
    try:
        config = load_config(path).config
    except ConfigErrors as exc:
        click.echo(exc.format(), err=True)
        return None
    return parse_alerting_config(config.alerting or DEFAULT_ALERTING, path="alerting").route


def routes_test(path: Path, labels: tuple[str, ...]) -> int:
    """Print the receivers an alert with `labels` reaches, comma-separated, as amtool does."""
    tree = _tree(path)
    if tree is None:
        return 2
    parsed: dict[str, str] = {}
    for text in labels:
        try:
            matcher = parse_matcher(text)
        except MatcherError as exc:
            click.echo(f"label {text!r}: {exc}; write labels as name=value", err=True)
            return 2
        if matcher.op != "=":
            click.echo(f"label {text!r}: use name=value (labels, not matchers)", err=True)
            return 2
        parsed[matcher.name] = matcher.value
    click.echo(",".join(tree.receivers(parsed)))
    return 0


def routes_show(path: Path) -> int:
    """Print the routing tree, one route per line, indented by depth."""
    tree = _tree(path)
    if tree is None:
        return 2
    _print(tree, 0)
    return 0


def _print(route: Route, depth: int) -> None:
    opts = route.opts
    group_by = "..." if opts.group_by_all else ",".join(sorted(opts.group_by))
    flags = " continue" if route.continue_ else ""
    if opts.declare_incident:
        flags += f"  declare_incident: {opts.declare_incident}"
    matchers = format_matchers(route.matchers) if route.matchers else "{}"
    click.echo(f"{'  ' * depth}{matchers}  receiver: {opts.receiver}  group_by: [{group_by}]{flags}")
    for child in route.routes:
        _print(child, depth + 1)
