"""Per-page cache of status page views and renders, with a last-good fallback when the store cannot be read.

An entry is keyed by a cheap fingerprint (page and maintenance config, the page's monitor
states, the registry's change token for overrides and incidents, the minute), so it is
rebuilt as soon as anything the page shows may have changed.
"""

from __future__ import annotations

import asyncio
import gzip
import hashlib
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Generic, TypeVar

from tocsin.runtime import Runtime
from tocsin.statuspage.config import StatusPageConfig
from tocsin.statuspage.maintenance import covers

log = logging.getLogger(__name__)
BUILD_TIMEOUT = 5.0  # seconds a rebuild may take before the last good view is served
RETRY_AFTER = 10.0  # seconds to serve the last good view after a failed rebuild before trying again

Fingerprint = tuple[object, ...]
V = TypeVar("V")


class PageUnavailable(Exception):
    """The page cannot be built now and no earlier render exists."""


@dataclass(slots=True)
class Rendered:
    """One render of a view: its bytes, their ETag, and a gzip variant made on first demand."""

    body: bytes
    etag: str = ""
    gzipped: bytes = b""

    def __post_init__(self) -> None:
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:32] + '"'

    def gzip(self) -> bytes:
        """The body gzipped once (level 6, like nginx's `gzip_comp_level` advice), then reused."""
        if not self.gzipped:
            self.gzipped = gzip.compress(self.body, 6, mtime=0)
        return self.gzipped


@dataclass
class Entry(Generic[V]):
    """The last good view of one page, what it was built from, and its renders by kind."""

    fingerprint: Fingerprint
    view: V
    renders: dict[str, Rendered] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Served(Generic[V]):
    """A view to answer with, whether it is a stale fallback, and its cache entry."""

    view: V
    stale: bool
    entry: Entry[V]


def fingerprint(rt: Runtime, page: StatusPageConfig, now: datetime, token: object = None) -> Fingerprint:
    """What the page depends on, cheaply: config, monitor states, active maintenance, the store's token, the minute."""
    windows = rt.alerts.setup.maintenance
    monitors = sorted({m for c in page.components for m in c.monitors})
    states = tuple((m, _status(rt, m)) for m in monitors)
    active = tuple(w.name for w in windows if w.occurrence_at(now) and any(covers(w, m) for m in monitors))
    return (page, id(windows), now.replace(second=0, microsecond=0), states, active, token)


def _status(rt: Runtime, name: str) -> object:
    state = rt.runner.states.get(name) if name in rt.runner.monitors else None
    return (state.status, state.since) if state else None


class PageCache(Generic[V]):
    """Views and renders per key (a slug); one rebuild at a time per key; last good view on store errors."""

    def __init__(self, retry_after: float = RETRY_AFTER) -> None:
        self.retry_after = retry_after
        self._entries: dict[str, Entry[V]] = {}
        self._locks: dict[str, asyncio.Lock] = {}
        self._retry_at: dict[str, float] = {}

    async def get(self, slug: str, key: Fingerprint, build: Callable[[], Awaitable[V]]) -> Served[V]:
        """The cached view when `key` matches, else a fresh one, else the last good one marked stale."""
        async with self._locks.setdefault(slug, asyncio.Lock()):
            entry = self._entries.get(slug)
            if entry and entry.fingerprint == key:
                return Served(entry.view, False, entry)
            if entry and time.monotonic() < self._retry_at.get(slug, 0.0):
                return Served(entry.view, True, entry)
            try:
                async with asyncio.timeout(BUILD_TIMEOUT):
                    view = await build()
            except Exception as exc:  # the store is unreachable or failing: never answer 500 for it
                self._retry_at[slug] = time.monotonic() + self.retry_after
                return self._fallback(slug, entry, exc)
            self._entries[slug] = Entry(key, view)
            return Served(view, False, self._entries[slug])

    @staticmethod
    def _fallback(slug: str, entry: Entry[V] | None, exc: Exception) -> Served[V]:
        log.warning("status page %s: cannot read the store (%s); serving the last good render if any", slug, exc)
        if entry is None:
            raise PageUnavailable(slug) from exc
        return Served(entry.view, True, entry)
