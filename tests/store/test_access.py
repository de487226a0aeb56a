"""Users, sessions, tokens, setup and the audit log on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import timedelta

import pytest

from tests.store.store_factories import T0
from tocsin.store.access import SetupUsed
from tocsin.store.access_records import AuditEntry, AuditQuery, NewToken, NewUser, UserChange
from tocsin.store.store import Store
from tocsin.store.users import UserExists


def entry(action: str, target: str = "t", actor: str = "root", at_minutes: int = 0) -> AuditEntry:
    return AuditEntry(T0 + timedelta(minutes=at_minutes), actor, "cli", action, target, "cli", {"n": 1})


async def test_users_create_change_delete_with_audit(store: Store) -> None:
    access = store.access
    alice = await access.create_user(NewUser("alice", "admin", "hash"), T0, entry("user.create", "alice"))
    assert (alice.name, alice.role, alice.source, alice.has_password) == ("alice", "admin", "local", True)
    with pytest.raises(UserExists):
        await access.create_user(NewUser("alice", "viewer", None), T0, entry("user.create", "alice"))
    assert await access.admin_count() == 1

    await access.create_session("d1", alice.id, T0, "10.0.0.1", "curl", None)
    changed = await access.change_user("alice", UserChange(role="viewer"), T0, entry("user.update", "alice"))
    assert changed is not None
    assert changed.role == "viewer"
    assert await access.session("d1") is not None  # a role change keeps the session (checked per request)
    await access.change_user("alice", UserChange(disabled=True), T0, None)
    assert await access.session("d1") is None  # disabling ends every session
    assert await access.admin_count() == 0
    assert await access.change_user("nobody", UserChange(role="viewer"), T0, None) is None

    assert await access.delete_user("alice", entry("user.delete", "alice")) is not None
    assert await access.user("alice") is None
    log = await access.audit_log(AuditQuery(target="alice"))
    assert [r.entry.action for r in log] == ["user.delete", "user.update", "user.create"]  # the failed create left none


async def test_sessions_lookup_touch_purge(store: Store) -> None:
    access = store.access
    bob = await access.create_user(NewUser("bob", "responder", "h"), T0, None)
    await access.create_session("s1", bob.id, T0, "1.2.3.4", "firefox", entry("session.login", "bob"))
    found = await access.session("s1")
    assert found is not None
    session, user = found
    assert (session.ip, session.user_agent, user.name, user.role) == ("1.2.3.4", "firefox", "bob", "responder")
    await access.touch_session("s1", T0 + timedelta(hours=1))
    found = await access.session("s1")
    assert found is not None
    assert found[0].last_seen_at == T0 + timedelta(hours=1)
    await access.create_session("s2", bob.id, T0, "1.2.3.4", "firefox", None)
    purged = await access.purge_sessions(T0 + timedelta(minutes=30), T0 - timedelta(days=1))
    assert purged == 1  # s2 idle since T0; s1 was seen at T0+1h
    assert await access.end_session("s1", None)
    assert not await access.end_session("s1", None)


async def test_tokens_are_digests_and_revocable(store: Store) -> None:
    access = store.access
    new = NewToken("ci", "tocsin_abc", "f" * 64, ("read", "ingest"), "alice", T0 + timedelta(days=1))
    token = await access.create_token(new, T0, entry("token.create", "ci"))
    assert token.scopes == ("ingest", "read")
    assert token.active(T0)
    assert not token.active(T0 + timedelta(days=1))
    assert await access.token_by_digest("f" * 64) == token
    assert await access.token_by_digest("e" * 64) is None
    await access.touch_token(token.id, T0 + timedelta(minutes=5))
    revoked = await access.revoke_token(token.id, T0 + timedelta(minutes=6), entry("token.revoke", "ci"))
    assert revoked is not None
    assert revoked.last_used_at == T0 + timedelta(minutes=5)
    assert not revoked.active(T0)
    assert await access.revoke_token(9999, T0, None) is None
    assert [t.name for t in await access.tokens(name="ci")] == ["ci"]


async def test_setup_creates_the_first_admin_once(store: Store) -> None:
    access = store.access
    await access.add_setup_token("a" * 64, T0)
    assert await access.setup_pending("a" * 64)
    assert not await access.setup_pending("b" * 64)
    with pytest.raises(SetupUsed):
        await access.complete_setup("b" * 64, NewUser("x", "admin", "h"), T0, entry("user.create", "x"))
    admin = await access.complete_setup("a" * 64, NewUser("root", "admin", "h"), T0, entry("user.create", "root"))
    assert admin.role == "admin"
    assert not await access.setup_pending("a" * 64)
    with pytest.raises(SetupUsed):
        await access.complete_setup("a" * 64, NewUser("y", "admin", "h"), T0, entry("user.create", "y"))
    assert [u.name for u in await access.list_users()] == ["root"]


async def test_config_users_sync(store: Store) -> None:
    access = store.access
    await access.create_user(NewUser("carol", "admin", "h"), T0, None)
    declared = [NewUser("dave", "responder", None, "config", "t.yaml:3"), NewUser("carol", "viewer", None, "config")]
    assert await access.sync_config_users(declared, T0) == ["carol"]  # a local user is left alone
    carol, dave = await access.list_users()
    assert (carol.role, carol.source) == ("admin", "local")
    assert (dave.role, dave.source, dave.location, dave.has_password) == ("responder", "config", "t.yaml:3", False)
    await access.sync_config_users([NewUser("dave", "admin", None, "config")], T0)
    assert (await access.user("dave")).role == "admin"  # type: ignore[union-attr]
    await access.sync_config_users([], T0)
    assert (await access.user("dave")).disabled  # type: ignore[union-attr]


async def test_audit_filters_and_paging(store: Store) -> None:
    access = store.access
    for i, action in enumerate(["monitor.create", "monitor.delete", "token.create", "monitor.pause"]):
        await access.record(entry(action, f"m{i}", actor="alice" if i % 2 else "bob", at_minutes=i))
    everything = await access.audit_log(AuditQuery())
    assert [r.entry.action for r in everything] == ["monitor.pause", "token.create", "monitor.delete", "monitor.create"]
    assert everything[0].entry.detail == {"n": 1}
    assert len(await access.audit_log(AuditQuery(action="monitor."))) == 3
    assert len(await access.audit_log(AuditQuery(action="monitor"))) == 0  # exact unless it ends in "."
    assert [r.entry.target for r in await access.audit_log(AuditQuery(actor="alice"))] == ["m3", "m1"]
    window = AuditQuery(since=T0 + timedelta(minutes=1), until=T0 + timedelta(minutes=3))
    assert [r.entry.target for r in await access.audit_log(window)] == ["m2", "m1"]
    page = await access.audit_log(AuditQuery(limit=2))
    rest = await access.audit_log(AuditQuery(before=page[-1].id))
    assert [r.entry.target for r in rest] == ["m1", "m0"]
