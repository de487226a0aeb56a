"""Secrets: API tokens, session tokens, setup tokens, CSRF tokens and password hashes.

High-entropy tokens (32 random bytes) are stored as SHA-256 digests: a digest cannot be
reversed and needs no salt or slow hash. Passwords are low-entropy and get argon2id.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError

TOKEN_PREFIX = "tocsin_"
MIN_PASSWORD = 10
_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters


def new_api_token() -> str:
    """A fresh API token: `tocsin_` and 43 URL-safe characters (256 random bits)."""
    return TOKEN_PREFIX + secrets.token_urlsafe(32)


def new_secret() -> str:
    """A fresh session or setup token (256 random bits, URL-safe)."""
    return secrets.token_urlsafe(32)


def digest(secret: str) -> str:
    """The SHA-256 hex digest stored in place of a high-entropy token."""
    return hashlib.sha256(secret.encode()).hexdigest()


def display_prefix(token: str) -> str:
    """The first characters of a token, safe to show so people can tell tokens apart."""
    return token[: len(TOKEN_PREFIX) + 6]


def same(a: str, b: str) -> bool:
    """Constant-time string comparison."""
    return hmac.compare_digest(a.encode(), b.encode())


def csrf_for(session_token: str) -> str:
    """The CSRF token of a session: derived from the (HttpOnly) session token, never stored."""
    return hmac.new(session_token.encode(), b"tocsin-csrf", hashlib.sha256).hexdigest()


def hash_password(password: str) -> str:
    """An argon2id hash of `password` (about 50 ms of CPU: call it off the event loop)."""
    return _hasher.hash(password)


def verify_password(stored: str | None, password: str) -> bool:
    """True when `password` matches `stored`; with no stored hash, spend the same time and fail."""
    try:
        return _hasher.verify(stored or _DUMMY, password) and stored is not None
    except (VerificationError, InvalidHashError):
        return False


def password_problem(password: str, name: str = "") -> str | None:
    """Why a new password is refused (too short, or the user name), or None."""
    if len(password) < MIN_PASSWORD:
        return f"a password needs at least {MIN_PASSWORD} characters"
    if name and password.lower() == name.lower():
        return "a password must not be the user name"
    return None


# Verified against when a user does not exist, so a login takes as long either way.
_DUMMY = "$argon2id$v=19$m=65536,t=3,p=4$c29tZXNhbHRzb21lc2FsdA$bYOIcDSjJm0HIQtKUbaKMAY4vumdfgyGfsrGiAI44pk"
