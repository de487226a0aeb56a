"""Dialect helpers shared by the store modules: the one place an upsert is spelled."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import Insert, Table
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.ext.asyncio import AsyncConnection


def insert_for(conn: AsyncConnection, table: Table) -> Any:
    """The dialect's INSERT (SQLite and PostgreSQL both support ON CONFLICT)."""
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(table)


def upsert(
    conn: AsyncConnection,
    table: Table,
    keys: Sequence[str],
    columns: Sequence[str] | None = None,
    set_: Mapping[str, Any] | None = None,
) -> Insert:
    """INSERT ... ON CONFLICT (keys) DO UPDATE with `set_`, or `columns` (default: all non-keys) from the new row."""
    stmt = insert_for(conn, table)
    if set_ is None:
        names = columns if columns is not None else [c.name for c in table.columns if c.name not in keys]
        set_ = {name: stmt.excluded[name] for name in names}
    result: Insert = stmt.on_conflict_do_update(index_elements=list(keys), set_=dict(set_))
    return result
