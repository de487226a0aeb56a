"""URLs, connection errors, SQLite settings and migrations."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

import pytest
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import inspect, text
from sqlalchemy.engine import Connection

from tests.store.store_factories import T0, define, every
from tocsin.store.database import StoreUnavailable, driver_url, redact_url, resolve_url
from tocsin.store.migrate import current_revision, downgrade, head_revision
from tocsin.store.schema import metadata
from tocsin.store.store import Store


@pytest.mark.parametrize(
    ("url", "driver"),
    [
        ("sqlite:///tocsin.db", "sqlite+aiosqlite:///tocsin.db"),
        ("sqlite:////var/lib/tocsin.db", "sqlite+aiosqlite:////var/lib/tocsin.db"),
        ("postgresql://u@db/tocsin", "postgresql+asyncpg://u@db/tocsin"),
        ("postgres://u:pw@db:5433/tocsin", "postgresql+asyncpg://u:***@db:5433/tocsin"),
        ("postgresql+asyncpg://u@db/tocsin", "postgresql+asyncpg://u@db/tocsin"),
    ],
)
def test_driver_urls(url: str, driver: str) -> None:
    assert driver_url(url).render_as_string(hide_password=True) == driver


def test_memory_url() -> None:
    url = driver_url("sqlite:///:memory:")
    assert (url.drivername, url.database) == ("sqlite+aiosqlite", ":memory:")


def test_unsupported_driver() -> None:
    with pytest.raises(ValueError, match=r"postgresql\+psycopg://u:\*\*\*@db/x"):
        driver_url("postgresql+psycopg://u:secret@db/x")


def test_redaction_and_environment() -> None:
    assert redact_url("postgresql://a:b@h/d") == "postgresql://a:***@h/d"
    assert redact_url("sqlite:///x.db") == "sqlite:///x.db"
    assert resolve_url("sqlite:///x.db", {"TOCSIN_DATABASE_URL": "postgresql://h/d"}) == "postgresql://h/d"
    assert resolve_url("sqlite:///x.db", {"TOCSIN_DATABASE_URL": ""}) == "sqlite:///x.db"


async def test_unreachable_postgres_names_the_database_without_its_password() -> None:
    with pytest.raises(StoreUnavailable) as caught:
        await Store.open("postgresql://postgres:s3cret@127.0.0.1:1/x")
    message = str(caught.value)
    assert message.startswith("cannot connect to database postgresql://postgres:***@127.0.0.1:1/x: ")
    assert "s3cret" not in message
    assert "\n" not in message


async def test_sqlite_settings_and_relative_path(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    store = await Store.open("sqlite:///relative.db")
    try:
        async with store._db.read() as conn:
            pragmas = [
                (await conn.execute(text(f"PRAGMA {name}"))).scalar()
                for name in ("journal_mode", "synchronous", "busy_timeout", "foreign_keys")
            ]
    finally:
        await store.close()
    assert pragmas == ["wal", 1, 5000, 1]  # synchronous 1 = NORMAL
    assert (tmp_path / "relative.db").exists()


async def test_in_memory_sqlite_serialises_readers_and_the_writer() -> None:
    store = await Store.open("sqlite:///:memory:")
    try:
        await store.sync_monitors([define("api")])
        store.enqueue(every("api", T0, 500, timedelta(seconds=1)))
        reads = [store.recent_results("api", limit=5) for _ in range(20)]
        await asyncio.gather(*reads, store.flush())
        assert len(await store.recent_results("api", limit=1000)) == 500
    finally:
        await store.close()


def _schema_drift(connection: Connection) -> list[object]:
    context = MigrationContext.configure(connection, opts={"compare_type": True})
    return list(compare_metadata(context, metadata))


async def test_migrations_from_empty_to_head(db_url: str) -> None:
    store = await Store.open(db_url, migrate=False)
    try:
        async with store._db.read() as conn:
            assert await current_revision(conn) is None
        await store.migrate()
        await store.migrate()  # idempotent
        async with store._db.transaction() as conn:
            assert await current_revision(conn) == head_revision() is not None
            assert await conn.run_sync(_schema_drift) == []  # tables.py matches the migrations
            await downgrade(conn, "base")
        async with store._db.read() as conn:
            tables = await conn.run_sync(lambda c: inspect(c).get_table_names())
            assert tables == ["alembic_version"]
        await store.migrate()
        await store.sync_monitors([define("api")])
    finally:
        await store.close()
