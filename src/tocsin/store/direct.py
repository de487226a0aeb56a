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

Small work runs inline, on the event loop's own thread, on a second connection: no thread hop.
Why: a hop to the thread and back cost ~0.2 ms of latency at the median and up to a few ms at
p99 (the thread waits for the GIL while the loop runs Python), which an alert paid twice on its
way to a webhook (save, then log + outbox row), against ~50-150 µs for the transaction itself.
Why only small work: inline work blocks the loop for as long as it runs, so big batches (check
results dirty a page per monitor in three B-trees) stay on the thread, where SQLite runs without
the GIL. Why a second connection with no busy timeout: if another process holds the write lock,
the inline attempt fails at once instead of stalling the loop, and the work goes to the thread,
which waits for the lock as before.
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
# The most rows a transaction may write and still run inline. An estimate, not a measured
# threshold: at a few µs per alert-path row it keeps the loop blocked for a millisecond or two at
# most; an ingest batch of 100 alerts runs inline, one of 1000 on the thread.
INLINE_ROWS = 200


class DirectSQLite:
    """One connection to a SQLite file, used from one thread, one transaction per `run`."""

    def __init__(self, path: str, pragmas: Pragmas) -> None:
        self._path, self._pragmas = path, pragmas
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="tocsin-sqlite-direct")
        self._conn: sqlite3.Connection | None = None  # opened on the thread by the first run
        self._inline: sqlite3.Connection | None = None  # opened on the loop's thread by the first inline run
        self.inline_fallbacks = 0  # inline attempts that found the write lock taken and went to the thread

    async def run(self, work: DbapiWork[R], *, inline: bool = False) -> R:
        """Run `work(connection)` in one IMMEDIATE transaction, committed (or rolled back) before returning.

        With `inline`, on the calling thread unless another process holds the write lock (see the module
        docstring); `work` may then run twice, the first time rolled back, so it must not change anything
        but the connection.
        """
        if inline:
            try:
                return _transaction(self._inline or self._open_inline(), work)
            except sqlite3.OperationalError as exc:
                if not _locked(exc):
                    raise
                self.inline_fallbacks += 1
        return await asyncio.get_running_loop().run_in_executor(self._executor, self._transaction, work)

    async def close(self) -> None:
        """Close the connections and stop the thread."""
        if self._inline is not None:
            self._inline.close()
            self._inline = None
        await asyncio.get_running_loop().run_in_executor(self._executor, self._close)
        self._executor.shutdown(wait=True)

    def _transaction(self, work: DbapiWork[R]) -> R:
        return _transaction(self._conn or self._open(), work)

    def _open(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None)  # transactions are explicit (_transaction)
        self._pragmas(conn, None)
        self._conn = conn
        return conn

    def _open_inline(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self._path, isolation_level=None)
        self._pragmas(conn, None)
        conn.execute("PRAGMA busy_timeout=0")  # a taken write lock fails at once: the thread waits instead
        self._inline = conn
        return conn

    def _close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None


def _transaction(conn: sqlite3.Connection, work: DbapiWork[R]) -> R:
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


def _locked(exc: sqlite3.OperationalError) -> bool:
    """Whether SQLite refused for a lock another connection holds (SQLITE_BUSY, SQLITE_LOCKED)."""
    return exc.sqlite_errorcode & 0xFF in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)  # primary code
