"""Login rate limits per account and per client address, with time as an input.

Failures are counted in a sliding window; once a key has `limit` failures inside the
window, further attempts are refused until the oldest failure leaves it. A success clears
the account's count (not the address's: one good password must not unlock guessing others).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta

ACCOUNT_LIMIT = 5
ADDRESS_LIMIT = 20
WINDOW = timedelta(minutes=15)
MAX_KEYS = 100_000  # bound memory under a spray of made-up account names


@dataclass(frozen=True, slots=True)
class Verdict:
    """Whether a login attempt may proceed, and if not, for how long it is blocked."""

    allowed: bool
    retry_after: timedelta = timedelta(0)

    def message(self) -> str:
        """The sentence the login page shows when blocked."""
        minutes = max(1, -(-int(self.retry_after.total_seconds()) // 60))
        return (
            "Too many failed sign-ins for this account or from this address. "
            f"Try again in {minutes} minute{'s' if minutes != 1 else ''}."
        )


@dataclass
class LoginLimiter:
    """Sliding-window failure counts keyed by account name and by client address."""

    account_limit: int = ACCOUNT_LIMIT
    address_limit: int = ADDRESS_LIMIT
    window: timedelta = WINDOW
    _failures: dict[str, deque[datetime]] = field(default_factory=dict)

    def check(self, account: str, address: str, now: datetime) -> Verdict:
        """May this attempt go ahead? (It does not count as a failure by itself.)"""
        waits = [
            self._wait(f"a:{account.lower()}", self.account_limit, now),
            self._wait(f"ip:{address}", self.address_limit, now),
        ]
        longest = max(waits)
        return Verdict(longest <= timedelta(0), max(longest, timedelta(0)))

    def failed(self, account: str, address: str, now: datetime) -> None:
        """Count a failed attempt against both the account and the address."""
        if len(self._failures) >= MAX_KEYS:
            self._evict(now)
        for key in (f"a:{account.lower()}", f"ip:{address}"):
            self._failures.setdefault(key, deque()).append(now)

    def succeeded(self, account: str) -> None:
        """Forget the account's failures after a good password."""
        self._failures.pop(f"a:{account.lower()}", None)

    def _wait(self, key: str, limit: int, now: datetime) -> timedelta:
        times = self._failures.get(key)
        if not times:
            return timedelta(0)
        while times and times[0] <= now - self.window:
            times.popleft()
        if len(times) < limit:
            return timedelta(0)
        return times[-limit] + self.window - now

    def _evict(self, now: datetime) -> None:
        stale = [k for k, t in self._failures.items() if not t or t[-1] <= now - self.window]
        for key in stale:
            del self._failures[key]
        if len(self._failures) >= MAX_KEYS:  # still full: drop the oldest half rather than grow
            for key in sorted(self._failures, key=lambda k: self._failures[k][-1])[: MAX_KEYS // 2]:
                del self._failures[key]
