"""Every status page, from the config file and from the console, in one place; and when they last changed.

The console pages and a change token (cheap aggregates over pages, overrides, incidents,
impacts and updates) are re-read at most every `REFRESH` seconds, or at once after a change
made through this process (explicit invalidation). So a page served by several processes on
one PostgreSQL follows changes made on any of them within a few seconds. When the store
cannot be read, the last known pages and token are kept: public pages keep being served.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from pydantic import ValidationError

from tocsin.statuspage.config import StatusPageConfig
from tocsin.store.incidents import Incident
from tocsin.store.status_pages import StatusPageStore, StoredPage

if TYPE_CHECKING:  # the runtime creates the registry (statuspage/fanout.py): no import cycle at run time
    from tocsin.incidents.service import IncidentService
    from tocsin.runtime import Runtime

log = logging.getLogger(__name__)
REFRESH = 5.0  # seconds between reads of the console pages and the change token
READ_TIMEOUT = 1.0  # seconds a refresh may take before the known pages are kept

Source = Literal["config", "console"]


@dataclass(frozen=True, slots=True)
class PageEntry:
    """A page and where it comes from: `config` (with its file:line, read-only here) or `console` (with a version)."""

    spec: StatusPageConfig
    source: Source
    location: str | None = None
    version: int = 0


def host_of(value: str) -> str:
    """A Host header or domain without its port, lowercased (IPv6 literals keep their brackets)."""
    host = value.strip().lower()
    if host.startswith("["):
        return host.split("]", 1)[0] + "]"
    return host.rsplit(":", 1)[0] if host.count(":") == 1 else host


class Registry:
    """Config and console pages merged (config wins a slug clash), refreshed lazily."""

    def __init__(self, rt: Runtime, refresh: float = REFRESH) -> None:
        self._rt = rt
        self._store = StatusPageStore(rt.store)
        self._refresh_every = refresh
        self._console: list[PageEntry] = []
        self._token: tuple[object, ...] = ()
        self._next = 0.0
        self._tried = False  # whether a read was attempted yet
        self._generation = 0  # bumped by local changes, so the token moves even before the next read
        self.invalidation_listeners: list[Callable[[], None]] = []  # told of every local change (the fast lane)
        self._lock = asyncio.Lock()

    @property
    def store(self) -> StatusPageStore:
        """Where console pages and overrides are kept."""
        return self._store

    def listen(self, service: IncidentService) -> None:
        """Invalidate on every incident change made through this process."""

        async def changed(_before: Incident, _after: Incident) -> None:
            self.invalidate()

        service.listeners.append(changed)

    def invalidate(self) -> None:
        """Something changed here: re-read on the next lookup."""
        self._generation += 1
        self._next = 0.0
        for listener in self.invalidation_listeners:
            listener()

    async def refresh(self) -> None:
        """Re-read console pages and the change token when due; keep the old ones if the store fails."""
        if self._tried and time.monotonic() < self._next:
            return
        async with self._lock:  # the first read is waited for: a page built before it would be rebuilt after it
            if self._tried and time.monotonic() < self._next:
                return
            self._next = time.monotonic() + self._refresh_every
            try:
                async with asyncio.timeout(READ_TIMEOUT):  # requests wait on this: never for a dead database
                    stored = await self._store.pages()
                    self._token = await self._store.change_token()
            except Exception as exc:  # the store is unreachable: keep serving what we know
                log.warning("status pages: cannot read the store (%s); keeping the pages known so far", exc)
                return
            finally:
                self._tried = True  # set after the read: callers arriving during it wait for its result
            self._console = [e for s in stored if (e := _entry(s))]

    @property
    def token(self) -> tuple[object, ...]:
        """Changes whenever anything a page shows from the store may have changed."""
        return (self._generation, self._token)

    def config_pages(self) -> list[PageEntry]:
        """The config file's pages with their file:line."""
        loaded = self._rt.loaded
        out = []
        for index, spec in enumerate(loaded.config.status_pages):
            where = loaded.location_of(("status_pages", index))
            out.append(PageEntry(spec, "config", str(where) if where else None))
        return out

    def pages(self) -> list[PageEntry]:
        """Every page: the config file's, then the console's (except one shadowed by a config page's slug)."""
        config = self.config_pages()
        taken = {e.spec.slug for e in config}
        return config + [e for e in self._console if e.spec.slug not in taken]

    def find(self, slug: str) -> PageEntry | None:
        """The page with this slug, if any."""
        return next((e for e in self.pages() if e.spec.slug == slug), None)

    def by_host(self, host: str) -> PageEntry | None:
        """The page whose custom domain is this Host (port ignored, case-insensitive), if any."""
        wanted = host_of(host)
        return next((e for e in self.pages() if e.spec.custom_domain and e.spec.custom_domain.lower() == wanted), None)


def _entry(stored: StoredPage) -> PageEntry | None:
    try:
        spec = StatusPageConfig.model_validate(stored.spec)
    except ValidationError as exc:  # written by an older or newer tocsin: skip it rather than break every page
        log.warning("console status page %s is not valid any more and is not served: %s", stored.slug, exc)
        return None
    return PageEntry(spec, "console", None, stored.version)


def registry(state: object, rt: Runtime) -> Registry:
    """The runtime's registry (the one subscriber fan-out reads), else the app's (created on first use)."""
    shared = getattr(getattr(rt, "subscriptions", None), "registry", None)
    if isinstance(shared, Registry):
        return shared
    found = getattr(state, "status_registry", None)
    if isinstance(found, Registry):
        return found
    created = Registry(rt)
    created.listen(rt.incidents)
    setattr(state, "status_registry", created)  # noqa: B010 - app.state is a plain attribute bag
    return created
