"""Monitor registry: sync keeps state and history, tokens, pause, pings."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.store_factories import T0, define, result
from tocsin.checks.result import MonitorStatus, Outcome
from tocsin.store.records import MonitorDefinition
from tocsin.store.store import Store


async def test_sync_inserts_updates_and_keeps_state(store: Store) -> None:
    first = await store.sync_monitors([define("api"), define("db", kind="tcp")])
    assert set(first) == {"api", "db"}
    assert first["api"].state.status is MonitorStatus.PENDING
    await store.write([result("api", T0, Outcome.DOWN)])

    again = await store.sync_monitors(
        [MonitorDefinition("api", "http", {"interval": 60}, location="tocsin.yaml:3"), define("db")]
    )
    api = again["api"]
    assert api.id == first["api"].id  # same row, so its history stays attached
    assert api.spec == {"interval": 60}
    assert api.location == "tocsin.yaml:3"
    assert again["db"].kind == "http"
    assert api.state.status is MonitorStatus.DOWN  # state survives a config change
    assert api.state.last_result_at == T0


async def test_sync_removes_and_unremoves(store: Store) -> None:
    await store.sync_monitors([define("api"), define("db")])
    await store.write([result("db", T0)])

    kept = await store.sync_monitors([define("api")])
    assert set(kept) == {"api"}
    assert [m.name for m in await store.list_monitors()] == ["api"]
    gone = await store.get_monitor("db")
    assert gone is not None
    assert gone.removed
    assert [m.name for m in await store.list_monitors(include_removed=True)] == ["api", "db"]
    assert await store.recent_results("db") != []  # history is kept

    back = await store.sync_monitors([define("api"), define("db")])
    assert not back["db"].removed
    assert back["db"].id == gone.id
    assert back["db"].state.last_result_at == T0


async def test_sync_only_removes_monitors_of_its_source(store: Store) -> None:
    await store.sync_monitors([define("from-api")], source="api")
    await store.sync_monitors([define("from-config")], source="config")
    await store.sync_monitors([], source="config")
    names = {m.name: m.removed for m in await store.list_monitors(include_removed=True)}
    assert names == {"from-api": False, "from-config": True}


async def test_sync_rejects_duplicate_names_and_tokens(store: Store) -> None:
    with pytest.raises(ValueError, match="defined twice"):
        await store.sync_monitors([define("a"), define("a")])
    with pytest.raises(ValueError, match="share a heartbeat token"):
        await store.sync_monitors([define("a", kind="heartbeat", token="t"), define("b", kind="heartbeat", token="t")])


async def test_heartbeat_tokens(store: Store) -> None:
    records = await store.sync_monitors(
        [define("cron", kind="heartbeat"), define("fixed", kind="heartbeat", token="abc"), define("web")]
    )
    token = records["cron"].heartbeat_token
    assert token is not None
    assert len(token) == 32
    assert records["fixed"].heartbeat_token == "abc"
    assert records["web"].heartbeat_token is None

    again = await store.sync_monitors(
        [define("cron", kind="heartbeat"), define("fixed", kind="heartbeat", token="abc")]
    )
    assert again["cron"].heartbeat_token == token  # stable across reloads
    found = await store.monitor_by_token(token)
    assert found is not None
    assert found.name == "cron"
    assert await store.monitor_by_token("nope") is None


async def test_tokens_can_move_between_monitors(store: Store) -> None:
    await store.sync_monitors([define("a", kind="heartbeat", token="x"), define("b", kind="heartbeat", token="y")])
    swapped = await store.sync_monitors(
        [define("a", kind="heartbeat", token="y"), define("b", kind="heartbeat", token="x")]
    )
    assert (swapped["a"].heartbeat_token, swapped["b"].heartbeat_token) == ("y", "x")
    taken = await store.sync_monitors([define("c", kind="heartbeat", token="x")])
    assert taken["c"].heartbeat_token == "x"  # b was removed, so its token is free
    assert await store.monitor_by_token("y") is None  # a removed monitor takes no pings


async def test_pause(store: Store) -> None:
    await store.sync_monitors([define("api")])
    assert await store.set_paused("api", True)
    paused = await store.get_monitor("api")
    assert paused is not None
    assert paused.paused
    assert await store.set_paused("api", False)
    assert not await store.set_paused("nope", True)


async def test_pings_are_committed(db_url: str) -> None:
    store = await Store.open(db_url)
    await store.sync_monitors([define("cron", kind="heartbeat")])
    await store.record_ping("cron", "start", T0)
    await store.record_ping("cron", "ping", T0 + timedelta(seconds=5))
    await store.record_ping("cron", "fail", T0 + timedelta(seconds=9))
    with pytest.raises(KeyError):
        await store.record_ping("nope", "ping", T0)
    await store.close()

    reopened = await Store.open(db_url)
    cron = await reopened.get_monitor("cron")
    await reopened.close()
    assert cron is not None
    assert cron.last_start_at == T0
    assert cron.last_ping_at == T0 + timedelta(seconds=5)  # a fail is a result, not a ping
