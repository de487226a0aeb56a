"""Write transactions in one trip: a function of a DB-API connection runs whole on the driver's side.

Why: through SQLAlchemy's async engine on SQLite every step of a transaction (pool checkout,
each statement, COMMIT) is a round trip to aiosqlite's thread; an empty transaction costs
~250 µs and a one-row upsert ~500 µs, where the same work done on the thread in one go costs
~60 µs. On a SQLite file `DirectSQLite` keeps one connection of its own on a thread of its own
and runs the whole transaction there. Elsewhere (PostgreSQL, in-memory SQLite) `Database`
runs the same function inside an ordinary transaction through SQLAlchemy's DB-API adapter,
so callers write their statements once (see `Database.run_dbapi`).

Callers go through the store's single writer (`Writer.run_dbapi`), so this connection never
competes with the writer's own for SQLite's write lock.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

R = TypeVar("R")
DbapiWork = Callable[[Any], R]  # given a DB-API 2.0 connection inside a transaction
Pragmas = Callable[[sqlite3.Connection, Any], None]


class DirectSQLite:
    """One connection to a SQLite file, used from one thread, one transaction per `run`."""

    def __init__(self, path: str, pragmas: Pragmas) -> None:
        self._path, self._pragmas = path, pragmas
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sqlite-direct")
        self._conn: sqlite3.Connection | None = None  # opened on the thread by the first run

    async def run(self, work: DbapiWork[R]) -> R:
        """Run `work(connection)` in one IMMEDIATE transaction, committed (or rolled back) before returning."""
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transaction, work)

    async def close(self) -> None:
        """Close the connection and stop the thread."""
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _transaction(self, work: DbapiWork[R]) -> R:
        conn = self._conn or self._open()
        # IMMEDIATE: take the write lock now (waiting up to busy_timeout) rather than fail on upgrade.
        conn.execute("BEGIN IMMEDIATE")
        try:
            result = work(conn)
            conn.execute("COMMIT")
        except BaseException:
            if conn.in_transaction:  # also when COMMIT itself failed: never leave one open
                conn.execute("ROLLBACK")
            raise
        return result

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None)  # transactions are explicit (above)
        self._pragmas(conn, None)
        self._conn = conn
        return conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
