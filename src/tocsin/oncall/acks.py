"""Signed, expiring, single-use acknowledge and resolve links; pure apart from the nonce.

A token is `v1.<payload>.<signature>`: the payload is compact JSON (group key, incident,
user, action, expiry, nonce) in unpadded base64url, the signature HMAC-SHA256 of the
version and payload under a server secret. Verifying checks the signature in constant
time, then the expiry and what the caller expects; single use is the store's job (it
records each nonce once). See docs/oncall/acknowledge.md.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from typing import Any

import orjson

VERSION = "v1"
_MAX_TOKEN = 4096  # a group key is bounded by its labels; anything longer is not ours


class Action(StrEnum):
    """What a link does."""

    ACKNOWLEDGE = "ack"
    RESOLVE = "resolve"


class TokenError(ValueError):
    """A token that must not be honoured; the message says why, in words safe to show."""


@dataclass(frozen=True, slots=True)
class Claim:
    """What a token allows: `user` may `action` incident `incident` of `group_key` until `expires_at`."""

    group_key: str
    incident: int
    user: str
    action: Action
    expires_at: datetime
    nonce: str

    def payload(self) -> dict[str, Any]:
        """The compact JSON object that is signed."""
        expiry = int(self.expires_at.timestamp())
        return {
            "g": self.group_key,
            "i": self.incident,
            "u": self.user,
            "a": str(self.action),
            "e": expiry,
            "n": self.nonce,
        }


def new_claim(group_key: str, incident: int, user: str, action: Action, now: datetime, ttl: timedelta) -> Claim:
    """A claim with a fresh random nonce, expiring `ttl` after `now` (whole seconds)."""
    expires = datetime.fromtimestamp(int((now + ttl).timestamp()), UTC)
    return Claim(group_key, incident, user, action, expires, secrets.token_urlsafe(12))


def derive(secret: bytes, purpose: str) -> bytes:
    """A key for one purpose (`ack`, `calendar`), so no two uses share a key."""
    return hmac.new(secret, f"tocsin:{purpose}".encode(), hashlib.sha256).digest()


def calendar_secret(key: bytes, kind: str, name: str) -> str:
    """The secret in the URL of a calendar feed, for a `schedule` or a `user` called `name`."""
    return _b64(hmac.new(key, f"{kind}\x00{name}".encode(), hashlib.sha256).digest())[:32]


def sign(claim: Claim, key: bytes) -> str:
    """The token for `claim` under `key`."""
    body = _b64(orjson.dumps(claim.payload(), option=orjson.OPT_SORT_KEYS))
    return f"{VERSION}.{body}.{_b64(_mac(key, body))}"


def verify(
    token: str,
    key: bytes,
    now: datetime,
    *,
    group_key: str | None = None,
    user: str | None = None,
    action: Action | None = None,
) -> Claim:
    """The claim of a genuine, unexpired token matching what is expected; TokenError otherwise."""
    claim = _authentic(token, key)
    if claim.expires_at <= now:
        raise TokenError("this link has expired; acknowledge from the console or ask for a new page")
    for field, expected, found in (("alert group", group_key, claim.group_key), ("user", user, claim.user)):
        if expected is not None and not hmac.compare_digest(expected.encode(), found.encode()):
            raise TokenError(f"this link is for another {field}")
    if action is not None and claim.action is not action:
        raise TokenError(f"this link does not {action.value} (it is a {claim.action.value} link)")
    return claim


def _authentic(token: str, key: bytes) -> Claim:
    """The claim of a token whose signature is right; TokenError for anything else."""
    parts = token.split(".") if len(token) <= _MAX_TOKEN else []
    if len(parts) != 3 or parts[0] != VERSION:
        raise TokenError("this is not a tocsin acknowledgement link")
    try:
        given = _unb64(parts[2])
    except (binascii.Error, ValueError):
        raise TokenError("this link has been altered") from None
    if not hmac.compare_digest(given, _mac(key, parts[1])):
        raise TokenError("this link has been altered or was signed with another secret")
    return _claim(orjson.loads(_unb64(parts[1])))


def _claim(data: Any) -> Claim:
    """The claim in a signed payload (signed by us, so its shape is trusted but still checked)."""
    try:
        expires = datetime.fromtimestamp(int(data["e"]), UTC)
        return Claim(str(data["g"]), int(data["i"]), str(data["u"]), Action(data["a"]), expires, str(data["n"]))
    except (KeyError, TypeError, ValueError):
        raise TokenError("this link's contents are not understood") from None


def _mac(key: bytes, body: str) -> bytes:
    return hmac.digest(key, f"{VERSION}.{body}".encode(), "sha256")  # one-shot C HMAC: pages sign two links each


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    if not text or any(c not in _ALPHABET for c in text):
        raise ValueError("not base64url")
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


_ALPHABET = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_")
