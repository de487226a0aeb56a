"""The daily counts a status page reads: with a memo of past days, always equal to a full read."""

from __future__ import annotations

import asyncio
from datetime import datetime, timedelta

import pytest
from sqlalchemy import delete
from sqlalchemy.ext.asyncio import AsyncConnection

from tests.store.store_factories import T0, define, every, result
from tocsin.checks.result import Outcome
from tocsin.store import status_rollups
from tocsin.store.status_rollups import REVERIFY, DayCounts, DayMemo, daily_counts, digest
from tocsin.store.store import Store
from tocsin.store.tables import rollup_day

DAY = timedelta(days=1)
SINCE, SPLIT, UNTIL = T0, T0 + 3 * DAY, T0 + 4 * DAY  # three past days, then "today"
NAMES = ["api", "db", "quiet"]


async def read_both(store: Store, memo: DayMemo) -> dict[str, list[DayCounts]]:
    """The memo read, checked against a full read of the same days."""
    memoized = await daily_counts(store.database, NAMES, SINCE, UNTIL, memo, SPLIT)
    assert memoized == await daily_counts(store.database, NAMES, SINCE, UNTIL)
    return memoized


async def test_past_days_come_from_the_memo_until_they_change(store: Store) -> None:
    await store.sync_monitors([define(n) for n in NAMES])
    await store.write(every("api", T0, 4, DAY) + every("db", T0 + DAY, 2, DAY))
    await store.flush()
    memo = DayMemo()
    first = await read_both(store, memo)
    assert [row[0] for row in first["api"]] == [int((T0 + k * DAY).timestamp()) for k in range(4)]
    assert "quiet" not in first  # no rows, no entry, as without a memo
    past, db_past = memo.rows["api"][1], memo.rows["db"][1]
    assert memo.rows["api"][0] == digest(past) == (3, 3)

    await store.write([result("api", SPLIT + timedelta(hours=1), Outcome.DOWN)])  # today changes
    await store.flush()
    second = await read_both(store, memo)
    assert second["api"][-1][1:] == (2, 1, 0, 1)
    assert memo.rows["api"][1] is past  # past days were not read again

    await store.write([result("api", T0 + timedelta(hours=23), Outcome.DOWN)])  # a late result on a past day
    await store.write([result("quiet", T0 + DAY, Outcome.UP)])  # a first row on a past day
    await store.flush()
    third = await read_both(store, memo)
    assert third["api"][0][1:] == (2, 1, 0, 1)
    assert [row[1] for row in third["quiet"]] == [1]
    assert memo.rows["db"][1] is db_past  # unchanged: still not read again


async def test_deleted_rows_and_a_new_day_are_noticed(store: Store) -> None:
    await store.sync_monitors([define(n) for n in NAMES])
    await store.write(every("api", T0, 4, DAY))
    await store.flush()
    memo = DayMemo()
    await read_both(store, memo)

    async def drop_first_day(conn: AsyncConnection) -> None:
        await conn.execute(delete(rollup_day).where(rollup_day.c.bucket == int(T0.timestamp())))

    await store.writer.run(drop_first_day)
    assert len((await read_both(store, memo))["api"]) == 3

    later: datetime = SPLIT + DAY  # the next day: the span moves and the memo starts over
    moved = await daily_counts(store.database, NAMES, SINCE + DAY, later + DAY, memo, later)
    assert moved == await daily_counts(store.database, NAMES, SINCE + DAY, later + DAY)
    assert memo.span == (int((SINCE + DAY).timestamp()), int(later.timestamp()))


async def test_digests_are_checked_only_when_a_past_day_was_written(db_url: str) -> None:
    clock = [SPLIT + timedelta(hours=2)]  # "today" is the day from SPLIT
    store = await Store.open(db_url, now=lambda: clock[0])
    try:
        await store.sync_monitors([define(n) for n in NAMES])
        await store.write(every("api", T0, 4, DAY))
        await store.flush()
        memo = DayMemo()

        async def read(at: datetime) -> dict[str, list[DayCounts]]:
            memoized = await daily_counts(store.database, NAMES, SINCE, UNTIL, memo, SPLIT, at)
            assert memoized == await daily_counts(store.database, NAMES, SINCE, UNTIL)
            return memoized

        start = clock[0]
        await read(start)
        checked = memo.checked
        assert checked == int(start.timestamp())

        clock[0] = start + timedelta(minutes=1)
        await store.write([result("api", clock[0], Outcome.DOWN)])  # today: the mark stays
        await store.flush()
        assert (await read(clock[0]))["api"][-1][1:] == (2, 1, 0, 1)
        assert memo.checked == checked  # no digest

        await store.write([result("api", T0 + timedelta(hours=5), Outcome.DOWN)])  # a late result on a past day
        await store.flush()
        assert (await read(clock[0]))["api"][0][1:] == (2, 1, 0, 1)
        assert memo.checked == int(clock[0].timestamp())  # the mark moved: checked again

        clock[0] = SPLIT + DAY - timedelta(minutes=2)  # the last minutes of today: past already for late clocks
        await store.write([result("api", clock[0], Outcome.UP)])
        await store.flush()
        await read(clock[0])
        assert memo.checked == int(clock[0].timestamp())

        async def drop_first_day(conn: AsyncConnection) -> None:  # not through tocsin: no mark
            await conn.execute(delete(rollup_day).where(rollup_day.c.bucket == int(T0.timestamp())))

        await store.writer.run(drop_first_day)
        stale = await daily_counts(store.database, NAMES, SINCE, UNTIL, memo, SPLIT, clock[0])
        assert stale["api"][0][0] == int(T0.timestamp())  # kept until the next check...
        later = clock[0] + timedelta(seconds=REVERIFY)
        assert (await read(later))["api"][0][0] == int((T0 + DAY).timestamp())  # ...at most REVERIFY later
    finally:
        await store.close()


async def test_concurrent_reads_of_one_memo_take_turns(store: Store, monkeypatch: pytest.MonkeyPatch) -> None:
    """One read at a time refreshes a memo: otherwise a read could store older rows after another stored the
    newer mark that vouches for them. Each read pauses inside; none may be inside while another is."""
    await store.sync_monitors([define(n) for n in NAMES])
    await store.write(every("api", T0, 4, DAY) + every("db", T0 + DAY, 2, DAY))
    await store.flush()
    inside, most = 0, 0
    meta = status_rollups._meta

    async def slow_meta(conn: AsyncConnection) -> tuple[int, int | None]:
        nonlocal inside, most
        inside += 1
        most = max(most, inside)
        await asyncio.sleep(0.01)  # another read would get in here without the memo's lock
        try:
            return await meta(conn)
        finally:
            inside -= 1

    monkeypatch.setattr(status_rollups, "_meta", slow_meta)
    memo, at = DayMemo(), SPLIT + timedelta(hours=1)
    full = await daily_counts(store.database, NAMES, SINCE, UNTIL)
    reads = [daily_counts(store.database, NAMES, SINCE, UNTIL, memo, SPLIT, at) for _ in range(4)]
    assert await asyncio.gather(*reads) == [full] * 4
    assert most == 1
