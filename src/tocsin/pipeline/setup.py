"""Build the alert engine's inputs from a loaded config: routing tree, channels, maintenance windows."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from tocsin.alerting.amconfig import AlertingConfig, parse_alerting_config
from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.config.alerting import MaintenanceConfig
from tocsin.config.duration import parse_duration
from tocsin.config.models import TocsinConfig
from tocsin.labels import parse_matchers
from tocsin.notify.config import build_channels
from tocsin.notify.outbox import Integration
from tocsin.pipeline.engine import AlertingSetup
from tocsin.pipeline.escalate import PAGING_CHANNEL, PAGING_KEYS, PagingOnly

DEFAULT_ALERTING: dict[str, Any] = {"route": {"receiver": "default"}, "receivers": [{"name": "default"}]}


def integrations(config: AlertingConfig) -> dict[str, list[Integration]]:
    """Every receiver's channels, built and numbered in config order."""
    out: dict[str, list[Integration]] = {}
    for position, receiver in enumerate(config.receivers):
        channels = build_channels(receiver.raw, f"alerting.receivers[{position}]", config.global_settings)
        out[receiver.name] = [
            Integration(receiver.name, i, _kind(channel), _send_resolved(channel), channel)
            for i, channel in enumerate(channels)
        ]
        if any(receiver.raw.get(key) is not None for key in PAGING_KEYS):  # the escalation hook's cue
            out[receiver.name].append(Integration(receiver.name, len(channels), PAGING_CHANNEL, False, PagingOnly()))
    return out


def _send_resolved(channel: Any) -> bool:
    return bool(getattr(getattr(channel, "config", None), "send_resolved", True))


def _kind(channel: Any) -> str:
    key: str = getattr(channel, "key", "channel")
    return key.split("_configs", maxsplit=1)[0]


def maintenance_window(cfg: MaintenanceConfig) -> MaintenanceWindow:
    """A configured maintenance window as the pure model."""
    matchers = tuple(m for text in cfg.matchers for m in parse_matchers(text))
    return MaintenanceWindow(
        name=cfg.name,
        matchers=matchers,
        monitors=tuple(cfg.monitors),
        start=cfg.start,
        end=cfg.end,
        rrule=cfg.rrule,
        duration=cfg.duration,
        time_zone=cfg.time_zone,
        description=cfg.description,
    )


def resolve_timeout(global_settings: Mapping[str, Any]) -> Any:
    """`global.resolve_timeout` as in alertmanager.yml (default 5m)."""
    return parse_duration(global_settings.get("resolve_timeout", "5m"))


def alerting_setup(config: TocsinConfig) -> AlertingSetup:
    """The engine's setup from a validated config (raises ConfigError on channel problems)."""
    parsed = parse_alerting_config(config.alerting or DEFAULT_ALERTING, path="alerting")
    return AlertingSetup(
        config=parsed,
        integrations=integrations(parsed),
        maintenance=[maintenance_window(m) for m in config.maintenance],
        resolve_timeout=resolve_timeout(parsed.global_settings),
        external_url=config.server.external_url or "",
    )
