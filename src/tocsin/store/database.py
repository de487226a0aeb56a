"""Engines from storage URLs: SQLite (aiosqlite, WAL) or PostgreSQL (asyncpg), passwords hidden."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator, Mapping
from typing import Any, TypeVar

from sqlalchemy import event, text
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

from tocsin.store.checkpoint import SAFETY_PAGES, Checkpointer
from tocsin.store.direct import DbapiWork, DirectSQLite

ENV_URL = "TOCSIN_DATABASE_URL"
SQLITE_BUSY_TIMEOUT_MS = 5000
PG_CONNECT_TIMEOUT_S = 10.0
R = TypeVar("R")


class StoreUnavailable(Exception):
    """The database cannot be reached; the message names it with the password hidden."""


def resolve_url(configured: str, environ: Mapping[str, str]) -> str:
    """The URL to use: `TOCSIN_DATABASE_URL` when set and non-empty, else the configured one."""
    return environ.get(ENV_URL) or configured


def driver_url(url: str) -> URL:
    """Map a user-facing URL (`sqlite:///x.db`, `postgresql://…`) to its async driver URL."""
    parsed = make_url(url)
    backend, _, driver = parsed.drivername.partition("+")
    if backend == "sqlite" and driver in ("", "aiosqlite"):
        return parsed.set(drivername="sqlite+aiosqlite")
    if backend in ("postgresql", "postgres") and driver in ("", "asyncpg"):
        return parsed.set(drivername="postgresql+asyncpg")
    raise ValueError(f"unsupported database URL {redact_url(url)}: use sqlite:/// or postgresql://")


def redact_url(url: str) -> str:
    """The URL with its password replaced by `***`, safe for logs and error messages."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


def is_memory_sqlite(url: URL) -> bool:
    """True for an in-memory SQLite database, which lives in one shared connection."""
    return url.get_backend_name() == "sqlite" and url.database in (None, "", ":memory:")


class Database:
    """An async engine plus the rules for using it (pragmas, memory-database serialisation)."""

    def __init__(self, url: str) -> None:
        self.url = url
        self.redacted = redact_url(url)
        target = driver_url(url)
        self.dialect = target.get_backend_name()
        # Why: an in-memory SQLite database is one connection (StaticPool); two tasks using it
        # at once would interleave their transactions, so every use is serialised instead.
        self._gate: asyncio.Lock | None = asyncio.Lock() if is_memory_sqlite(target) else None
        self.engine = _create_engine(target)
        path = target.database if self.dialect == "sqlite" and not is_memory_sqlite(target) else None
        self._direct = DirectSQLite(path, _sqlite_pragmas) if path else None
        self._checkpointer = Checkpointer(path) if path else None

    @property
    def is_sqlite(self) -> bool:
        """True when the backend is SQLite."""
        return self.dialect == "sqlite"

    async def check(self) -> None:
        """Connect once and run `SELECT 1`; raise StoreUnavailable with a one-line reason."""
        try:
            async with self.read() as conn:
                await conn.execute(text("SELECT 1"))
        except Exception as exc:  # every driver has its own exception zoo; all mean the same
            raise StoreUnavailable(f"cannot connect to database {self.redacted}: {_reason(exc)}") from exc
        if self._checkpointer is not None:  # the file exists now, in WAL mode
            self._checkpointer.start()

    @contextlib.asynccontextmanager
    async def read(self) -> AsyncIterator[AsyncConnection]:
        """A connection for reads; concurrent with the writer except on in-memory SQLite."""
        async with self._gated(), self.engine.connect() as conn:
            yield conn

    @contextlib.asynccontextmanager
    async def transaction(self) -> AsyncIterator[AsyncConnection]:
        """A connection inside one transaction, committed on success and rolled back on error."""
        async with self._gated(), self.engine.begin() as conn:
            yield conn

    async def run_dbapi(self, work: DbapiWork[R], *, inline: bool = False) -> R:
        """Run `work(dbapi_connection)` in one transaction: one trip to a thread on a SQLite file, or with
        `inline` (small work) none (direct.py)."""
        if self._direct is not None:
            return await self._direct.run(work, inline=inline)
        async with self.transaction() as conn:
            return await conn.run_sync(lambda sync: work(sync.connection.dbapi_connection))

    @contextlib.asynccontextmanager
    async def _gated(self) -> AsyncIterator[None]:
        if self._gate is None:
            yield
        else:
            async with self._gate:
                yield

    async def dispose(self) -> None:
        """Close every pooled connection (and the direct one)."""
        if self._direct is not None:
            await self._direct.close()
        if self._checkpointer is not None:
            await asyncio.get_running_loop().run_in_executor(None, self._checkpointer.stop)
        await self.engine.dispose()


def _create_engine(url: URL) -> AsyncEngine:
    if url.get_backend_name() == "postgresql":
        return create_async_engine(url, connect_args={"timeout": PG_CONNECT_TIMEOUT_S})
    engine = create_async_engine(url)
    event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
    return engine


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    """WAL so readers never block the writer; NORMAL sync is durable in WAL except on power loss; checkpoints
    left to a thread of their own (checkpoint.py), with a commit's own only as a backstop."""
    cursor = dbapi_connection.cursor()
    for pragma in (
        "journal_mode=WAL",
        "synchronous=NORMAL",
        f"wal_autocheckpoint={SAFETY_PAGES}",
        f"busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
        "foreign_keys=ON",
    ):
        cursor.execute(f"PRAGMA {pragma}")
    cursor.close()


def _reason(exc: BaseException) -> str:
    """The innermost driver message of an exception, on one line."""
    inner: BaseException = getattr(exc, "orig", None) or exc
    message = str(inner) or type(inner).__name__
    return " ".join(message.split())
