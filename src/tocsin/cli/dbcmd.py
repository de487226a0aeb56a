"""`tocsin db migrate`."""

from __future__ import annotations

from pathlib import Path

import click

from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import load_config
from tocsin.runtime import database_url
from tocsin.store.store import Store, StoreUnavailable


async def migrate_command(path: Path, override: str | None) -> int:
    """Bring the database schema to the latest version."""
    try:
        url = database_url(load_config(path), override)
    except ConfigErrors as exc:
        click.echo(exc.format(), err=True)
        return 2
    try:
        store = await Store.open(url, migrate=True)
    except StoreUnavailable as exc:
        click.echo(f"error: {exc}", err=True)
        return 1
    await store.close()
    click.echo("database schema is up to date")
    return 0
