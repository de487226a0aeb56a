"""Receiver channel settings: build_channels, errors that name the key, globals, secrets, and the docs."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.component.channel_kit import notification
from tocsin.alerting.timeinterval import ConfigError
from tocsin.notify import CHANNEL_KEYS, build_channels
from tocsin.notify import config as notify_config
from tocsin.notify.email import EmailChannel
from tocsin.notify.render import template_context
from tocsin.notify.slack import SlackChannel
from tocsin.notify.telegram import TelegramChannel

DOCS = Path(__file__).resolve().parents[2] / "docs" / "alerting" / "channels.md"

VALID: dict[str, dict[str, Any]] = {
    "webhook_configs": {"url": "https://hooks.example.com/x"},
    "slack_configs": {"api_url": "https://hooks.slack.com/services/T/B/X"},
    "email_configs": {"to": "a@example.com", "from": "t@example.com", "smarthost": "smtp.example.com:587"},
    "pagerduty_configs": {"routing_key": "abc"},
    "matrix_configs": {"homeserver": "https://m.example.org", "room_id": "!r:example.org", "access_token": "t"},
    "ntfy_configs": {"topic": "ops"},
    "msteams_configs": {"webhook_url": "https://example.webhook.office.com/x"},
    "msteamsv2_configs": {"webhook_url": "https://example.webhook.office.com/x"},
    "discord_configs": {"webhook_url": "https://discord.com/api/webhooks/1/t"},
    "telegram_configs": {"bot_token": "1:x", "chat_id": -100},
}


def test_every_channel_type_builds_in_config_order() -> None:
    receiver = {"name": "core", "escalation_policy": "core"} | {k: [v, v] for k, v in VALID.items()}
    channels = build_channels(receiver)
    assert [getattr(c, "key", None) for c in channels] == [f"{k}[{i}]" for k in VALID for i in (0, 1)]
    assert set(VALID) == set(CHANNEL_KEYS)


@pytest.mark.parametrize(
    ("receiver", "path", "message"),
    [
        ({"opsgenie_configs": [{}]}, "r.opsgenie_configs", "not a channel type tocsin supports"),
        ({"slack_config": [{}]}, "r.slack_config", "unknown receiver key 'slack_config'"),
        ({"slack_configs": {"api_url": "x"}}, "r.slack_configs", "must be a list"),
        ({"slack_configs": ["x"]}, "r.slack_configs[0]", "must be a mapping"),
        ({"slack_configs": [{}]}, "r.slack_configs[0].api_url", "missing required key"),
        ({"slack_configs": [{"api_url": "hooks.slack.com"}]}, "r.slack_configs[0].api_url", "absolute http"),
        (
            {"slack_configs": [VALID["slack_configs"] | {"color": "danger"}]},
            "r.slack_configs[0].color",
            "unknown key",
        ),
        (
            {"slack_configs": [VALID["slack_configs"] | {"title": "{{ .CommonLabels.alertname }}"}]},
            "r.slack_configs[0].title",
            "Alertmanager Go template",
        ),
        (
            {"webhook_configs": [VALID["webhook_configs"], VALID["webhook_configs"] | {"max_alerts": -1}]},
            "r.webhook_configs[1].max_alerts",
            "greater than or equal to 0",
        ),
        (
            {"webhook_configs": [VALID["webhook_configs"] | {"timeout": "soon"}]},
            "r.webhook_configs[0].timeout",
            "not a duration",
        ),
        (
            {"webhook_configs": [VALID["webhook_configs"] | {"http_config": {"basic_auth": {"user": "x"}}}]},
            "r.webhook_configs[0].http_config.basic_auth.username",
            "missing required key",
        ),
        (
            {"matrix_configs": [VALID["matrix_configs"] | {"room_id": "#ops:example.org"}]},
            "r.matrix_configs[0].room_id",
            "a #alias cannot be sent to",
        ),
        ({"ntfy_configs": [{"topic": "ops alerts"}]}, "r.ntfy_configs[0].topic", "letters, digits"),
        ({"ntfy_configs": [{"topic": "ops", "priority": "loud"}]}, "r.ntfy_configs[0].priority", "integer"),
        (
            {"email_configs": [VALID["email_configs"] | {"smarthost": "smtp.example.com"}]},
            "r.email_configs[0].smarthost",
            "host:port",
        ),
        (
            {"email_configs": [VALID["email_configs"] | {"headers": {"Subject": "{{ oops"}}]},
            "r.email_configs[0].headers.Subject",
            "invalid template",
        ),
        (
            {"email_configs": [VALID["email_configs"] | {"html": "", "text": ""}]},
            "r.email_configs[0]",
            "html and text are both empty",
        ),
        ({"telegram_configs": [{"bot_token": "x"}]}, "r.telegram_configs[0].chat_id", "missing required key"),
        (
            {"telegram_configs": [VALID["telegram_configs"] | {"parse_mode": "MarkdownV2"}]},
            "r.telegram_configs[0].parse_mode",
            "'HTML'",
        ),
        (
            {"pagerduty_configs": [{"service_key": "v1"}]},
            "r.pagerduty_configs[0].routing_key",
            "missing required key",
        ),
    ],
)
def test_errors_name_the_key(receiver: dict[str, Any], path: str, message: str) -> None:
    with pytest.raises(ConfigError) as info:
        build_channels({"name": "core"} | receiver, path="r")
    assert info.value.path == path
    assert message in info.value.message


def test_default_path_uses_the_receiver_name() -> None:
    with pytest.raises(ConfigError, match=r"^receivers\[core\]\.ntfy_configs\[0\]\.topic: missing"):
        build_channels({"name": "core", "ntfy_configs": [{}]})


def test_alertmanager_globals_fill_missing_keys() -> None:
    settings = {"smtp_from": "am@example.com", "smtp_smarthost": "mail:25", "smtp_require_tls": False}
    [channel] = build_channels({"email_configs": [{"to": "a@example.com"}]}, global_settings=settings)
    assert isinstance(channel, EmailChannel)
    assert (channel.config.from_, channel.config.smarthost, channel.config.require_tls) == (
        "am@example.com",
        "mail:25",
        False,
    )
    [own] = build_channels({"email_configs": [VALID["email_configs"]]}, global_settings=settings)
    assert isinstance(own, EmailChannel)
    assert own.config.from_ == "t@example.com"


def test_secrets_do_not_show_in_repr() -> None:
    [channel] = build_channels({"telegram_configs": [{"bot_token": "123:SECRET", "chat_id": 1}]})
    assert isinstance(channel, TelegramChannel)
    assert "SECRET" not in repr(channel.config)


def test_alertmanager_default_templates_mean_ours() -> None:
    settings = VALID["slack_configs"] | {"title": '{{ template "slack.default.title" . }}'}
    [channel] = build_channels({"slack_configs": [settings]})
    assert isinstance(channel, SlackChannel)
    assert channel.title.render(notification()) == "[FIRING:1] HighLatency (api)"


def _config_models() -> list[type[BaseModel]]:
    return [m for m in vars(notify_config).values() if isinstance(m, type) and issubclass(m, BaseModel)]


def test_every_config_key_and_template_name_is_documented() -> None:
    text = DOCS.read_text()
    keys = {f.alias or name for model in _config_models() for name, f in model.model_fields.items()}
    keys |= set(CHANNEL_KEYS) | set(template_context(notification())) | {"title"}
    missing = sorted(k for k in keys if f"`{k}`" not in text)
    assert not missing, f"not in docs/alerting/channels.md: {missing}"
