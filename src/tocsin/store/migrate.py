"""Run the packaged Alembic migrations programmatically, over a connection tocsin already holds."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection

MIGRATIONS = Path(__file__).parent / "migrations"
# Any fixed number: nodes starting together on one PostgreSQL migrate one after the other.
MIGRATION_LOCK_KEY = 0x746F6373


def alembic_config() -> Config:
    """An Alembic config pointing at the migrations shipped inside the package."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    return config


def head_revision() -> str | None:
    """The newest revision shipped with this version of tocsin."""
    return ScriptDirectory.from_config(alembic_config()).get_current_head()


async def upgrade(conn: AsyncConnection, revision: str = "head") -> None:
    """Migrate to `revision` inside the caller's transaction (serialised across PostgreSQL nodes)."""
    if conn.dialect.name == "postgresql":
        await conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
    await conn.run_sync(_run, "upgrade", revision)


async def downgrade(conn: AsyncConnection, revision: str) -> None:
    """Migrate down to `revision` (`base` drops everything); for tests and recovery."""
    await conn.run_sync(_run, "downgrade", revision)


async def current_revision(conn: AsyncConnection) -> str | None:
    """The revision the database is at, or None when it was never migrated."""
    return await conn.run_sync(lambda sync: MigrationContext.configure(sync).get_current_revision())


def _run(connection: Connection, action: str, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    getattr(command, action)(config, revision)
