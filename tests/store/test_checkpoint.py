"""SQLite WAL checkpoints run on a thread of their own, not inside commits (store/checkpoint.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import sqlite3
import time
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import text

from tests.store.store_factories import T0, define, every
from tocsin.store.checkpoint import SAFETY_PAGES, Checkpointer
from tocsin.store.store import Store


async def test_the_checkpointer_copies_the_log_back_and_commits_only_keep_a_backstop(tmp_path: Path) -> None:
    store = await Store.open(f"sqlite:///{tmp_path / 'c.db'}")
    try:
        async with store.database.read() as conn:
            assert (await conn.execute(text("PRAGMA wal_autocheckpoint"))).scalar() == SAFETY_PAGES
        checkpointer = store.database._checkpointer
        assert isinstance(checkpointer, Checkpointer)
        await store.sync_monitors([define(f"m{i}") for i in range(20)])
        for i in range(20):
            await store.write(every(f"m{i}", T0, 50, timedelta(seconds=30)))
        runs = checkpointer.runs
        async with asyncio.timeout(10):
            while checkpointer.runs < runs + 2:  # one after the writes began, then one more: all caught up
                await asyncio.sleep(0.05)
        assert checkpointer.last is not None
        busy, pages, copied = checkpointer.last
        assert busy == 0
        assert pages == copied  # every page in the log is in the database file
        shutil.copyfile(tmp_path / "c.db", tmp_path / "alone.db")  # the database file without its log
        with contextlib.closing(sqlite3.connect(tmp_path / "alone.db")) as alone:
            assert alone.execute("SELECT count(*) FROM check_results").fetchone() == (1000,)
    finally:
        await store.close()
    assert checkpointer._thread is None  # stopped with the store


def test_a_checkpointer_on_a_missing_directory_logs_once_and_keeps_trying(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    checkpointer = Checkpointer(str(tmp_path / "nowhere" / "x.db"), every=0.01)
    with caplog.at_level(logging.INFO, logger="tocsin.store"):
        checkpointer.start()
        try:
            for _ in range(500):
                if checkpointer.failures >= 5:
                    break
                time.sleep(0.01)
            assert checkpointer.failures >= 5
            assert checkpointer.runs == 0  # it cannot open the file: no checkpoint, no crash
            assert checkpointer._thread is not None
            assert checkpointer._thread.is_alive()
            (tmp_path / "nowhere").mkdir()  # the file can be created now: checkpoints work again
            for _ in range(500):
                if checkpointer.runs:
                    break
                time.sleep(0.01)
            assert checkpointer.runs > 0
        finally:
            checkpointer.stop()
    messages = [r.getMessage() for r in caplog.records if r.name == "tocsin.store"]
    assert len([m for m in messages if "failed, retrying" in m]) == 1  # once, not once per attempt
    assert any("work again" in m for m in messages)
