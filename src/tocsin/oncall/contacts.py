"""Channels for people: each user's contact methods built as the same channels receivers use.

A page to a person goes through the outbox like any notification, addressed to the
receiver `oncall:<user>` and the contact method's position, so retries, backoff and dead
letters work the same. Email uses the SMTP settings of `alerting.global` (`smtp_*`),
Matrix the account in `oncall.matrix`, SMS and voice the HTTP gateway in `oncall.phone_gateway`.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlsplit

from tocsin.alerting.timeinterval import ConfigError
from tocsin.notify.config import build_channels
from tocsin.notify.gateway import GatewayChannel, PhoneTarget
from tocsin.notify.model import Channel
from tocsin.notify.outbox import Integration
from tocsin.oncall.config import ContactMethod, OncallConfig, PhoneMethod, UserConfig

log = logging.getLogger(__name__)

RECEIVER_PREFIX = "oncall:"


def receiver_of(user: str) -> str:
    """The outbox receiver name of pages to `user`."""
    return RECEIVER_PREFIX + user


def channel_settings(method: ContactMethod, cfg: OncallConfig) -> dict[str, Any]:
    """The receiver settings (`slack_configs: [...]`, ...) that reach one contact method."""
    if method.kind == "email":
        return {"email_configs": [{"to": method.address, "send_resolved": True}]}
    if method.kind == "slack":
        return {"slack_configs": [{"api_url": method.url, "send_resolved": True}]}
    if method.kind == "webhook":
        return {"webhook_configs": [{"url": method.url}]}
    if method.kind == "ntfy":
        parts = urlsplit(method.url)
        return {"ntfy_configs": [{"url": f"{parts.scheme}://{parts.netloc}", "topic": parts.path.strip("/")}]}
    if method.kind == "matrix":
        if cfg.matrix is None:
            raise ConfigError("oncall.matrix", "set oncall.matrix (homeserver, access_token) to page through Matrix")
        account = {"homeserver": cfg.matrix.homeserver, "access_token": cfg.matrix.access_token}
        return {"matrix_configs": [{**account, "room_id": method.address}]}
    raise ConfigError("contact_methods", f"{method.kind} is not built from receiver settings")


def method_channel(method: ContactMethod, cfg: OncallConfig, global_settings: Mapping[str, Any], path: str) -> Channel:
    """The channel for one contact method; ConfigError when its settings are missing or wrong."""
    if isinstance(method, PhoneMethod):
        gateway = cfg.phone_gateway
        if gateway is None:
            raise ConfigError(path, "set oncall.phone_gateway to page by SMS or voice")
        target = PhoneTarget(gateway.url, method.kind, method.number, gateway.headers, gateway.timeout.total_seconds())
        return GatewayChannel(target)
    [channel] = build_channels(channel_settings(method, cfg), path, global_settings)
    return channel


def user_integrations(
    user: UserConfig, index: int, cfg: OncallConfig, global_settings: Mapping[str, Any]
) -> list[Integration | None]:
    """The user's contact methods as outbox integrations, by position; None for one that cannot be built."""
    out: list[Integration | None] = []
    for position, method in enumerate(user.methods()):
        path = f"oncall.users[{index}].contact_methods[{position}]"
        try:
            channel = method_channel(method, cfg, global_settings, path)
        except ConfigError as exc:
            log.error("user %s cannot be paged through %s: %s: %s", user.name, method.name, exc.path, exc.message)
            out.append(None)
            continue
        out.append(Integration(receiver_of(user.name), position, method.kind, True, channel))
    return out


def people_integrations(cfg: OncallConfig, global_settings: Mapping[str, Any]) -> dict[str, list[Integration | None]]:
    """Every user's integrations, by outbox receiver name."""
    return {
        receiver_of(user.name): user_integrations(user, index, cfg, global_settings)
        for index, user in enumerate(cfg.users)
    }
