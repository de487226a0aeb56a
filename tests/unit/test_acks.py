"""Acknowledge/resolve links: genuine tokens verify; forged, altered, expired, replayed or misdirected ones do not."""

from __future__ import annotations

import base64
import hashlib
import hmac
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.oncall.acks import Action, Claim, TokenError, derive, new_claim, sign, verify
from tocsin.store.oncall import OncallStore
from tocsin.store.store import Store

NOW = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)
SECRET = b"s" * 32
KEY = derive(SECRET, "ack")
GROUP = '{}/{severity="critical"}:{alertname="Disk", instance="db-1"}'


def claim(**changes: object) -> Claim:
    base = new_claim(GROUP, 3, "alice", Action.ACKNOWLEDGE, NOW, timedelta(hours=1))
    return replace(base, **changes)  # type: ignore[arg-type]


def test_a_genuine_token_verifies_to_its_claim() -> None:
    original = claim()
    assert verify(sign(original, KEY), KEY, NOW) == original
    assert verify(sign(original, KEY), KEY, NOW, group_key=GROUP, user="alice", action=Action.ACKNOWLEDGE) == original


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _resigned(token: str, key: bytes, **payload: object) -> str:
    """The token with payload fields changed and signed again with `key`."""
    version, body, _ = token.split(".")
    data = orjson.loads(base64.urlsafe_b64decode(body + "=" * (-len(body) % 4)))
    new_body = _b64(orjson.dumps({**data, **payload}))
    mac = hmac.new(key, f"{version}.{new_body}".encode(), hashlib.sha256).digest()
    return f"{version}.{new_body}.{_b64(mac)}"


FORGERIES = [
    # the payload changed to another group, signature kept: altered
    ("another group", lambda t: _resigned(t, b"not the key", g='{}:{alertname="Other"}'), "altered"),
    # someone else's user, signed with a guessed secret
    ("other user", lambda t: _resigned(t, derive(b"guess" * 8, "ack"), u="mallory"), "altered"),
    # a later expiry, signed with the raw secret instead of the derived key
    ("raw secret", lambda t: _resigned(t, SECRET, e=2_000_000_000), "altered"),
    # the signature of one token on another's payload
    ("swapped mac", lambda t: ".".join([*t.split(".")[:2], sign(claim(user="bob"), KEY).split(".")[2]]), "altered"),
    # truncated signature, empty signature, garbage
    ("short mac", lambda t: t[:-4], "altered"),
    ("no mac", lambda t: t.rsplit(".", 1)[0] + ".", "altered"),
    ("not base64", lambda t: t.rsplit(".", 1)[0] + ".!!!!", "altered"),
    ("other version", lambda t: "v2" + t[2:], "not a tocsin"),
    ("two parts", lambda t: t.rsplit(".", 1)[0], "not a tocsin"),
    ("huge", lambda t: t + "A" * 5000, "not a tocsin"),
]


@pytest.mark.parametrize(("why", "forge", "message"), FORGERIES, ids=[f[0] for f in FORGERIES])
def test_forged_or_altered_tokens_are_refused(why: str, forge: object, message: str) -> None:
    token = sign(claim(), KEY)
    with pytest.raises(TokenError, match=message):
        verify(forge(token), KEY, NOW)  # type: ignore[operator]


def test_a_token_signed_under_another_secret_is_refused() -> None:
    with pytest.raises(TokenError, match="altered or was signed with another secret"):
        verify(sign(claim(), derive(b"x" * 32, "ack")), KEY, NOW)


def test_a_calendar_key_cannot_sign_ack_tokens() -> None:
    with pytest.raises(TokenError):
        verify(sign(claim(), derive(SECRET, "calendar")), KEY, NOW)


@pytest.mark.parametrize(
    ("at", "ok"),
    [
        (NOW, True),  # just issued
        (NOW + timedelta(minutes=59, seconds=59), True),  # one second before expiry
        (NOW + timedelta(hours=1), False),  # at expiry: expired
        (NOW + timedelta(days=3), False),  # long after
    ],
)
def test_tokens_expire(at: datetime, ok: bool) -> None:
    token = sign(claim(), KEY)
    if ok:
        verify(token, KEY, at)
    else:
        with pytest.raises(TokenError, match="expired"):
            verify(token, KEY, at)


@pytest.mark.parametrize(
    ("expect", "message"),
    [
        ({"group_key": '{}:{alertname="Other"}'}, "another alert group"),
        ({"user": "bob"}, "another user"),
        ({"action": Action.RESOLVE}, "does not resolve"),
    ],
)
def test_a_token_for_another_group_user_or_action_is_refused(expect: dict[str, object], message: str) -> None:
    with pytest.raises(TokenError, match=message):
        verify(sign(claim(), KEY), KEY, NOW, **expect)  # type: ignore[arg-type]


def test_every_token_has_its_own_nonce() -> None:
    nonces = {claim().nonce for _ in range(200)}
    assert len(nonces) == 200


@given(st.text(max_size=300))
def test_arbitrary_strings_never_verify(text: str) -> None:
    with pytest.raises(TokenError):
        verify(text, KEY, NOW)


@given(st.integers(min_value=0, max_value=200), st.integers(min_value=0, max_value=63))
def test_flipping_any_bit_of_a_token_breaks_it(position: int, bit: int) -> None:
    token = sign(claim(), KEY)
    index = position % len(token)
    flipped = token[:index] + chr(ord(token[index]) ^ (1 << (bit % 7))) + token[index + 1 :]
    if flipped == token:
        return
    with pytest.raises(TokenError):
        verify(flipped, KEY, NOW)


@pytest.fixture
async def oncall_store(tmp_path: Path) -> AsyncIterator[OncallStore]:
    store = await Store.open(f"sqlite:///{tmp_path / 'acks.db'}")
    try:
        yield OncallStore(store)
    finally:
        await store.close()


async def test_a_token_is_used_once_then_replays_are_refused(oncall_store: OncallStore) -> None:
    first = claim()
    assert await oncall_store.use_token(first.nonce, first.expires_at, NOW)
    assert not await oncall_store.use_token(first.nonce, first.expires_at, NOW + timedelta(seconds=1))  # replay
    other = claim()
    assert await oncall_store.use_token(other.nonce, other.expires_at, NOW)  # another token is unaffected


async def test_used_nonces_are_kept_until_their_token_expires(oncall_store: OncallStore) -> None:
    used = claim()
    await oncall_store.use_token(used.nonce, used.expires_at, NOW)
    await oncall_store.purge(NOW + timedelta(minutes=30))  # still valid: the record must stay
    assert not await oncall_store.use_token(used.nonce, used.expires_at, NOW + timedelta(minutes=31))
    await oncall_store.purge(used.expires_at + timedelta(seconds=1))  # expired: verify refuses it anyway
    with pytest.raises(TokenError, match="expired"):
        verify(sign(used, KEY), KEY, used.expires_at + timedelta(seconds=1))


async def test_the_generated_secret_is_kept(oncall_store: OncallStore) -> None:
    first = await oncall_store.secret("ack")
    assert len(first) == 32
    assert await oncall_store.secret("ack") == first
    assert await oncall_store.secret("other") != first
