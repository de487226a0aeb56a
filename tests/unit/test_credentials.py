"""Tokens, digests, CSRF tokens, passwords, session lifetimes and login rate limits."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.auth import credentials
from tocsin.auth.ratelimit import LoginLimiter
from tocsin.store.access_records import SessionRecord
from tocsin.web.auth import SessionPolicy

T0 = datetime(2026, 1, 1, tzinfo=UTC)


def test_tokens_are_random_and_stored_as_digests() -> None:
    token = credentials.new_api_token()
    assert re.fullmatch(r"tocsin_[A-Za-z0-9_\-]{43}", token)
    assert token != credentials.new_api_token()
    assert credentials.digest(token) == credentials.digest(token)
    assert len(credentials.digest(token)) == 64
    assert token not in credentials.digest(token)
    assert credentials.display_prefix(token) == token[:13]


def test_csrf_token_is_bound_to_the_session() -> None:
    one, two = credentials.new_secret(), credentials.new_secret()
    assert credentials.csrf_for(one) == credentials.csrf_for(one)
    assert credentials.csrf_for(one) != credentials.csrf_for(two)
    assert credentials.same("abc", "abc")
    assert not credentials.same("abc", "abd")


def test_passwords() -> None:
    hashed = credentials.hash_password("correct horse battery")
    assert hashed.startswith("$argon2id$")
    assert credentials.verify_password(hashed, "correct horse battery")
    assert not credentials.verify_password(hashed, "wrong horse battery")
    assert not credentials.verify_password(None, "anything at all")  # no user: same work, no match
    assert not credentials.verify_password("not a hash", "anything at all")


@pytest.mark.parametrize(
    ("password", "name", "problem"),
    [
        ("short", "", "at least 10 characters"),
        ("administrator", "Administrator", "must not be the user name"),
        ("a long enough one", "alice", None),
    ],
)
def test_password_rules(password: str, name: str, problem: str | None) -> None:
    found = credentials.password_problem(password, name)
    assert (found is None) if problem is None else (problem in (found or ""))


@pytest.mark.parametrize(
    ("created", "seen", "now", "expired"),
    [
        (0, 0, 60, False),  # fresh
        (0, 0, 119, False),  # idle just under 2h
        (0, 0, 120, True),  # idle 2h: gone
        (0, 600, 700, False),  # used recently, 11h40 old
        (0, 715, 720, True),  # 12h after sign-in even though active
    ],
)
def test_session_policy(created: int, seen: int, now: int, expired: bool) -> None:
    minutes = lambda m: T0 + timedelta(minutes=m)  # noqa: E731
    session = SessionRecord("d", 1, minutes(created), minutes(seen), "ip", "ua")
    assert SessionPolicy(timedelta(hours=12), timedelta(hours=2)).expired(session, minutes(now)) is expired


def test_login_limiter_per_account_and_per_address() -> None:
    limiter = LoginLimiter(account_limit=3, address_limit=5, window=timedelta(minutes=15))
    for i in range(3):
        assert limiter.check("alice", "1.1.1.1", T0 + timedelta(minutes=i)).allowed
        limiter.failed("alice", "1.1.1.1", T0 + timedelta(minutes=i))
    blocked = limiter.check("ALICE", "2.2.2.2", T0 + timedelta(minutes=3))  # per account, any address, any case
    assert not blocked.allowed
    assert blocked.retry_after == timedelta(minutes=12)  # until the first failure leaves the window
    assert "Try again in 12 minutes" in blocked.message()
    assert limiter.check("bob", "1.1.1.1", T0 + timedelta(minutes=3)).allowed  # the address has 3 of 5
    limiter.failed("bob", "1.1.1.1", T0 + timedelta(minutes=4))
    limiter.failed("carol", "1.1.1.1", T0 + timedelta(minutes=4))
    assert not limiter.check("dave", "1.1.1.1", T0 + timedelta(minutes=5)).allowed  # the address is spent
    limiter.succeeded("bob")
    assert limiter.check("bob", "3.3.3.3", T0 + timedelta(minutes=5)).allowed
    assert limiter.check("alice", "4.4.4.4", T0 + timedelta(minutes=15)).allowed  # the first failure expired


def test_config_users_come_from_oncall_users() -> None:
    from types import SimpleNamespace

    from tocsin.web.auth import config_users

    users = [
        SimpleNamespace(name="alice"),
        SimpleNamespace(name="bob", role="admin"),
        SimpleNamespace(name="c", role="x"),
    ]
    loaded = SimpleNamespace(
        config=SimpleNamespace(oncall=SimpleNamespace(users=users)),
        location_of=lambda path: f"tocsin.yaml:{10 + path[-1]}",
    )
    found = config_users(loaded)  # type: ignore[arg-type]
    assert [(u.name, u.role, u.source, u.location, u.password_hash) for u in found] == [
        ("alice", "responder", "config", "tocsin.yaml:10", None),  # on call, so they can acknowledge
        ("bob", "admin", "config", "tocsin.yaml:11", None),
        ("c", "viewer", "config", "tocsin.yaml:12", None),  # an unknown role gets the least
    ]
    assert config_users(SimpleNamespace(config=SimpleNamespace())) == []  # type: ignore[arg-type]
