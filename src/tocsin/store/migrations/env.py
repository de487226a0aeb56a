"""Alembic environment: migrate over the connection tocsin hands in, or over `sqlalchemy.url`."""

from __future__ import annotations

import asyncio

from alembic import context
from sqlalchemy.engine import Connection

from tocsin.store.database import Database
from tocsin.store.schema import metadata

config = context.config


def run_on(connection: Connection) -> None:
    """Run the pending migrations on one synchronous connection."""
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
    )
    with context.begin_transaction():
        context.run_migrations()


async def run_standalone(url: str) -> None:
    """Open the database named in the Alembic config (plain `alembic` command-line use)."""
    database = Database(url)
    try:
        async with database.transaction() as conn:
            await conn.run_sync(run_on)
    finally:
        await database.dispose()


connection = config.attributes.get("connection")
if context.is_offline_mode():
    raise SystemExit("offline (--sql) migrations are not supported; run `tocsin db migrate`")
if connection is None:
    asyncio.run(run_standalone(config.get_main_option("sqlalchemy.url") or ""))
else:
    run_on(connection)
