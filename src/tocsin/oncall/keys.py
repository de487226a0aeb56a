"""Integration keys: secrets that say which service an event is for, from the config or created through the API.

Keys are looked up by their SHA-256 digest, so the database never holds a usable key and
a lookup takes the same time whatever the key. Keys created through the API are 32 random
hexadecimal characters, the shape PagerDuty's own integration keys have.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tocsin.oncall.config import NAME_PATTERN, OncallConfig
from tocsin.store.oncall import OncallStore, StoredKey

Kind = Literal["pagerduty", "generic", "alertmanager"]
KINDS: tuple[Kind, ...] = ("pagerduty", "generic", "alertmanager")


@dataclass(frozen=True, slots=True)
class KeyOwner:
    """Whose a key is: the service, the key's name, the API it is for, and where it was defined."""

    service: str
    name: str
    kind: str
    source: Literal["config", "api"]
    created_at: datetime | None = None
    created_by: str | None = None


def digest(key: str) -> str:
    """The hex SHA-256 of a key, as keys are stored and looked up."""
    return hashlib.sha256(key.encode()).hexdigest()


def new_key() -> str:
    """A fresh 32-character key."""
    return secrets.token_hex(16)


def config_keys(cfg: OncallConfig) -> dict[str, KeyOwner]:
    """The keys declared under `oncall.services[].integration_keys`, by digest."""
    return {
        digest(key.key): KeyOwner(service.name, key.name, key.kind, "config")
        for service in cfg.services
        for key in service.integration_keys
    }


class KeyProblem(LookupError):
    """A key that cannot be created or deleted; the message says why."""


class IntegrationKeys:
    """Every valid key: the config's, swapped on reload, and the API's, kept in the database."""

    def __init__(self, store: OncallStore) -> None:
        self._store = store
        self._config: Mapping[str, KeyOwner] = {}
        self._stored: dict[str, KeyOwner] = {}
        self._services: frozenset[str] = frozenset()

    async def load(self) -> None:
        """Read the API-created keys."""
        self._stored = {k.digest: _owner(k) for k in await self._store.keys()}

    def configure(self, cfg: OncallConfig) -> None:
        """Adopt the config's keys and services."""
        self._config = config_keys(cfg)
        self._services = frozenset(s.name for s in cfg.services)

    def find(self, offered: str, kind: str | None = None) -> KeyOwner | None:
        """The owner of `offered` (of `kind`, if given), or None."""
        found = self._config.get(digest(offered)) or self._stored.get(digest(offered))
        return found if found is not None and (kind is None or found.kind == kind) else None

    def listed(self) -> list[KeyOwner]:
        """Every key's owner (never the key), config keys first."""
        return sorted([*self._config.values(), *self._stored.values()], key=lambda o: (o.source, o.service, o.name))

    async def create(self, service: str, name: str, kind: Kind, by: str, now: datetime) -> str:
        """Create a key for `service`; returns the key, which is shown this once."""
        if service not in self._services:
            raise KeyProblem(f"no service {service!r} under oncall.services")
        if not re.match(NAME_PATTERN, name):
            raise KeyProblem("a key name uses letters, digits, '_', '.' and '-', starting with a letter or digit")
        if any(o.service == service and o.name == name for o in self.listed()):
            raise KeyProblem(f"service {service!r} already has a key named {name!r}")
        key = new_key()
        stored = StoredKey(digest(key), service, name, kind, now, by)
        await self._store.add_key(stored)
        self._stored[stored.digest] = _owner(stored)
        return key

    async def delete(self, service: str, name: str) -> bool:
        """Delete an API-created key (config keys are changed in the config); False when there is none."""
        if not await self._store.delete_key(service, name):
            return False
        self._stored = {d: o for d, o in self._stored.items() if (o.service, o.name) != (service, name)}
        return True


def _owner(key: StoredKey) -> KeyOwner:
    return KeyOwner(key.service, key.name, key.kind, "api", key.created_at, key.created_by)
