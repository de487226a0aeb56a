"""CPU per stored check result through `Store.enqueue` → writer batch → commit.

Usage: python bench/store.py [sqlite|postgres] [results] [monitors]
Each result is a distinct (monitor, time) in round-robin order, so every batch touches as
many rollup rows as it can: the worst case for the upserts.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
import uuid
from datetime import UTC, datetime, timedelta

import asyncpg

from tocsin.checks.result import CheckResult, MonitorStatus, Outcome
from tocsin.store.records import MonitorDefinition, MonitorState, ResultWrite
from tocsin.store.store import Store

PG = "postgresql://postgres@127.0.0.1:5432/"


def make_writes(count: int, monitors: int) -> list[ResultWrite]:
    """`count` results over `monitors` monitors, one check each per 30 s."""
    start = datetime(2026, 1, 1, tzinfo=UTC)
    writes = []
    for i in range(count):
        at = start + timedelta(seconds=30 * (i // monitors), milliseconds=i % monitors)
        outcome = Outcome.DOWN if i % 17 == 0 else Outcome.UP
        state = MonitorState(MonitorStatus.UP, 3, 0, start, outcome, at)
        writes.append(ResultWrite(CheckResult(f"m{i % monitors}", at, outcome, 20.0 + i % 300), state))
    return writes


async def run(url: str, count: int, monitors: int) -> None:
    """Time enqueue + flush of `count` results; print CPU and wall per result."""
    batches: list[int] = []
    store = await Store.open(url, on_batch=lambda size, _s: batches.append(size))
    await store.sync_monitors([MonitorDefinition(f"m{i}", "http", {}) for i in range(monitors)])
    writes = make_writes(count, monitors)
    cpu, wall = time.process_time(), time.perf_counter()
    for i in range(0, count, 10):  # the scheduler enqueues a few at a time
        store.enqueue(writes[i : i + 10])
        if i % 1000 == 0:
            await asyncio.sleep(0)  # let the writer run as it would between checks
    await store.flush()
    cpu, wall = time.process_time() - cpu, time.perf_counter() - wall
    await store.close()
    print(
        f"{store.dialect:10} {count} results, {monitors} monitors, {len(batches)} batches: "
        f"{cpu / count * 1e6:.1f} µs CPU/result (this process), {wall / count * 1e6:.1f} µs wall/result"
    )


async def main() -> None:
    """Run against a temporary SQLite file or a throw-away PostgreSQL database."""
    backend = sys.argv[1] if len(sys.argv) > 1 else "sqlite"
    count = int(sys.argv[2]) if len(sys.argv) > 2 else 100_000
    monitors = int(sys.argv[3]) if len(sys.argv) > 3 else 1000
    if backend == "sqlite":
        with tempfile.TemporaryDirectory() as tmp:
            await run(f"sqlite:///{os.path.join(tmp, 'bench.db')}", count, monitors)
        return
    name = f"tocsin_bench_{uuid.uuid4().hex[:8]}"
    admin = await asyncpg.connect(PG + "postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    try:
        await run(PG + name, count, monitors)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()


if __name__ == "__main__":
    asyncio.run(main())
