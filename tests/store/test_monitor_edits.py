"""Monitors defined through the API: create, replace, delete, and the rules that protect config ones."""

from __future__ import annotations

import pytest

from tests.store.store_factories import define
from tests.store.test_access import entry
from tocsin.store.access_records import AuditQuery
from tocsin.store.monitor_edits import MonitorConflict, MonitorMissing
from tocsin.store.records import MonitorDefinition
from tocsin.store.store import Store


def api(name: str, kind: str = "http", **spec: object) -> MonitorDefinition:
    return MonitorDefinition(name, kind, {"name": name, "kind": kind, **spec}, "api")


async def test_create_replace_delete(store: Store) -> None:
    created = await store.create_monitor(api("web", url="http://a"), entry("monitor.create", "web"))
    assert (created.source, created.spec["url"], created.location) == ("api", "http://a", None)
    with pytest.raises(MonitorConflict, match="already exists"):
        await store.create_monitor(api("web"), entry("monitor.create", "web"))
    replaced = await store.replace_monitor(api("web", url="http://b"), entry("monitor.update", "web"))
    assert (replaced.id, replaced.spec["url"]) == (created.id, "http://b")
    removed = await store.delete_monitor("web", entry("monitor.delete", "web"))
    assert removed.removed
    with pytest.raises(MonitorMissing):
        await store.delete_monitor("web", None)
    again = await store.create_monitor(api("web", url="http://c"), None)
    assert (again.id, again.removed, again.state.status.value) == (created.id, False, "pending")  # history kept
    actions = [r.entry.action for r in await store.access.audit_log(AuditQuery(target="web"))]
    assert actions == ["monitor.delete", "monitor.update", "monitor.create"]


async def test_config_monitors_are_read_only_and_names_are_shared(store: Store) -> None:
    await store.sync_monitors([MonitorDefinition("cfg", "http", {"interval": 30}, "config", "t.yaml:4")])
    with pytest.raises(MonitorConflict, match=r"t\.yaml:4"):
        await store.create_monitor(api("cfg"), None)
    with pytest.raises(MonitorConflict, match="config file"):
        await store.replace_monitor(api("cfg"), None)
    with pytest.raises(MonitorConflict, match="config file"):
        await store.delete_monitor("cfg", None)
    await store.create_monitor(api("mine"), None)
    await store.sync_monitors([define("cfg")], source="config")  # a config sync leaves API monitors alone
    assert not (await store.get_monitor("mine")).removed  # type: ignore[union-attr]


async def test_heartbeat_tokens(store: Store) -> None:
    first = await store.create_monitor(api("job", "heartbeat"), None)
    assert first.heartbeat_token
    kept = await store.replace_monitor(api("job", "heartbeat", period="5m"), None)
    assert kept.heartbeat_token == first.heartbeat_token
    given = "a-token-of-sixteen-plus"
    await store.create_monitor(api("job2", "heartbeat", token=given), None)
    with pytest.raises(MonitorConflict, match="job2"):
        await store.create_monitor(api("job3", "heartbeat", token=given), None)
    await store.delete_monitor("job2", None)
    taken = await store.create_monitor(api("job3", "heartbeat", token=given), None)  # freed by removal
    assert taken.heartbeat_token == given
    assert await store.monitor_by_token(given) == taken


async def test_pause_is_audited(store: Store) -> None:
    await store.create_monitor(api("web"), None)
    assert await store.set_paused("web", True, entry("monitor.pause", "web"))
    assert not await store.set_paused("nope", True, entry("monitor.pause", "nope"))
    assert [r.entry.target for r in await store.access.audit_log(AuditQuery(action="monitor.pause"))] == ["web"]
