"""Every store test runs on SQLite and on PostgreSQL, each in a database of its own."""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from pathlib import Path

import asyncpg
import pytest

from tocsin.store.store import Store

PG_SERVER = os.environ.get("TOCSIN_TEST_POSTGRES", "postgresql://postgres@127.0.0.1:5432")


async def _admin() -> asyncpg.Connection:
    """A connection to the maintenance database; skip (or fail on CI) when there is none."""
    try:
        return await asyncpg.connect(f"{PG_SERVER}/postgres", timeout=5)
    except (OSError, TimeoutError, asyncpg.PostgresError) as exc:
        message = f"PostgreSQL is not reachable at {PG_SERVER}: {exc}"
        if os.environ.get("CI") == "true":
            pytest.fail(message)
        pytest.skip(message)


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
async def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A URL to an empty database: a SQLite file in tmp_path or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'tocsin.db'}"
        return
    admin = await _admin()
    name = f"tocsin_test_{uuid.uuid4().hex[:12]}"
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield f"{PG_SERVER}/{name}"
    finally:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.close()


@pytest.fixture
async def store(db_url: str) -> AsyncIterator[Store]:
    """An open, migrated store on each backend."""
    opened = await Store.open(db_url)
    try:
        yield opened
    finally:
        await opened.close()
