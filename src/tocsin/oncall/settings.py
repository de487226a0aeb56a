"""On-call settings compiled from the config, swapped whole on reload: directory, paging receivers, channels."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from tocsin.alerting.amconfig import AlertingConfig
from tocsin.notify.outbox import Integration
from tocsin.oncall.config import OncallConfig
from tocsin.oncall.contacts import people_integrations
from tocsin.oncall.directory import Directory, compile_directory


@dataclass(frozen=True, slots=True)
class Paging:
    """How a receiver pages: through `policy`, for `service` when it names one."""

    policy: str
    service: str | None = None


@dataclass(frozen=True)
class Settings:
    """Everything the on-call engine reads from the config."""

    config: OncallConfig = field(default_factory=OncallConfig)
    directory: Directory = field(default_factory=Directory)
    paging: Mapping[str, Paging] = field(default_factory=dict)
    people: Mapping[str, list[Integration | None]] = field(default_factory=dict)
    external_url: str = ""

    @property
    def ack_ttl(self) -> timedelta:
        """How long acknowledge and resolve links work."""
        return self.config.ack_link_ttl

    def in_maintenance(self, paging: Paging | None) -> bool:
        """True when the receiver pages for a service that is in maintenance mode."""
        if paging is None or paging.service is None:
            return False
        service = self.directory.services.get(paging.service)
        return service is not None and service.maintenance


def receiver_paging(receiver: Mapping[str, Any], cfg: OncallConfig) -> Paging | None:
    """What one receiver's `escalation_policy` or `service` key means (None: it pages nobody)."""
    service = receiver.get("service")
    if isinstance(service, str):
        found = next((s for s in cfg.services if s.name == service), None)
        return None if found is None else Paging(found.escalation_policy, service)
    policy = receiver.get("escalation_policy")
    return Paging(policy) if isinstance(policy, str) else None


def compile_settings(cfg: OncallConfig, alerting: AlertingConfig, external_url: str) -> Settings:
    """The settings for a validated `oncall:` section and alerting config."""
    paging = {r.name: found for r in alerting.receivers if (found := receiver_paging(r.raw, cfg)) is not None}
    return Settings(
        config=cfg,
        directory=compile_directory(cfg),
        paging=paging,
        people=people_integrations(cfg, alerting.global_settings),
        external_url=external_url,
    )
