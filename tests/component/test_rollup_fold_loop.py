"""The runtime folds minute rollups into hour and day rows every few minutes (store/fold.py)."""

from __future__ import annotations

import asyncio
from datetime import timedelta
from pathlib import Path

from sqlalchemy import select

from tests.store.store_factories import define, result
from tocsin.clock import FakeClock
from tocsin.runtime import Runtime
from tocsin.store import fold
from tocsin.store.tables import rollup_hour, store_meta
from tocsin.store.times import to_ms


async def watermark(runtime: Runtime) -> int | None:
    async with runtime.store.database.read() as conn:
        found = await conn.scalar(select(store_meta.c.value).where(store_meta.c.key == fold.FOLDED_UNTIL))
    return None if found is None else int(found)


async def settled_at(runtime: Runtime, wanted: int) -> None:
    async with asyncio.timeout(10):
        while await watermark(runtime) != wanted:
            await asyncio.sleep(0.02)


async def test_the_runtime_folds_every_few_minutes(tmp_path: Path) -> None:
    (tmp_path / "c.yaml").write_text(f"storage: {{url: 'sqlite:///{tmp_path}/f.db'}}\nmonitors: []\n")
    clock = FakeClock()
    runtime = Runtime(tmp_path / "c.yaml", clock)
    await runtime.start()
    try:
        start_s = int(clock.timestamp())
        first = fold.first_watermark(start_s)
        await settled_at(runtime, first)  # the first run only sets the watermark
        await runtime.store.sync_monitors([define("api")], source="test")
        at = clock.now() + timedelta(minutes=6)
        await runtime.store.write([result("api", at)])  # after the watermark: a minute row only
        async with runtime.store.database.read() as conn:
            assert (await conn.execute(select(rollup_hour))).all() == []
        assert [b.total for b in await runtime.store.buckets("api", at, at + timedelta(minutes=1), "hour")] == [1]

        wanted = first
        while wanted <= to_ms(at) // 1000:  # a run every STEP, each folding the minutes over since the last
            await clock.advance(fold.next_run(clock.timestamp()) - clock.timestamp())
            wanted = fold.target(int(clock.timestamp()), wanted)
            await settled_at(runtime, wanted)
        async with runtime.store.database.read() as conn:
            rows = (await conn.execute(select(rollup_hour.c.bucket, rollup_hour.c.total))).all()
        assert [tuple(r) for r in rows] == [(to_ms(at) // 1000 // 3600 * 3600, 1)]
        assert [b.total for b in await runtime.store.buckets("api", at, at + timedelta(minutes=1), "hour")] == [1]
    finally:
        await runtime.stop()
