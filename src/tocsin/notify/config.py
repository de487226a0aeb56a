"""Receiver channel settings: one pydantic model per `*_configs` list, and `build_channels()`.

Field names are Alertmanager's wherever Alertmanager has the channel (`webhook_configs`,
`slack_configs`, `email_configs`, `pagerduty_configs`, `msteams_configs`/`msteamsv2_configs`,
`discord_configs`, `telegram_configs`); `matrix_configs` and `ntfy_configs` are tocsin's.
Unknown keys are errors, and every error names the key that holds it.
"""

from __future__ import annotations

import base64
import ssl
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Annotated, Any, Literal

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, SecretStr, ValidationError

from tocsin.alerting.timeinterval import ConfigError
from tocsin.config.duration import parse_duration
from tocsin.notify.classify import RequestOptions
from tocsin.notify.model import Channel
from tocsin.notify.render import check_template

__all__ = [
    "CHANNEL_KEYS",
    "DiscordConfig",
    "EmailConfig",
    "HttpConfig",
    "MSTeamsConfig",
    "MatrixConfig",
    "NtfyConfig",
    "PagerdutyConfig",
    "SlackConfig",
    "TelegramConfig",
    "TlsConfig",
    "WebhookConfig",
    "build_channels",
]


def _check_url(value: str) -> str:
    if not value.startswith(("http://", "https://")) or len(value) <= len("https://"):
        raise ValueError("must be an absolute http:// or https:// URL")
    return value


def _check_secret_url(value: SecretStr) -> SecretStr:
    try:
        _check_url(value.get_secret_value())
    except ValueError:
        raise ValueError("must be an absolute http:// or https:// URL") from None
    return value


def _seconds(value: Any) -> float:
    seconds = parse_duration(value).total_seconds()
    if seconds <= 0:
        raise ValueError("must be longer than 0s")
    return seconds


def _check_hostport(value: str) -> str:
    host, _, port = value.rpartition(":")
    if not host or not port.isdigit():
        raise ValueError("must be host:port, like smtp.example.com:587")
    return value


def _check_room_id(value: str) -> str:
    if not value.startswith("!") or ":" not in value:
        raise ValueError("must be a room ID like !abc123:example.org (a #alias cannot be sent to)")
    return value


def _check_topic(value: str) -> str:
    if not value or len(value) > 64 or not all(c.isascii() and (c.isalnum() or c in "-_") for c in value):
        raise ValueError("a topic is 1-64 letters, digits, - or _")
    return value


Url = Annotated[str, AfterValidator(_check_url)]
SecretUrl = Annotated[SecretStr, AfterValidator(_check_secret_url)]
Template = Annotated[str | None, AfterValidator(check_template)]
Seconds = Annotated[float, BeforeValidator(_seconds)]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)


class TlsConfig(_Model):
    """Trust and client certificates for outgoing TLS (Alertmanager's `tls_config`)."""

    ca_file: str | None = None
    cert_file: str | None = None
    key_file: str | None = None
    insecure_skip_verify: bool = False

    def context(self) -> ssl.SSLContext:
        """An SSL context for these settings (reads the files now: call while building config)."""
        ctx = ssl.create_default_context(cafile=self.ca_file)
        if self.cert_file:
            ctx.load_cert_chain(self.cert_file, self.key_file)
        if self.insecure_skip_verify:
            ctx.check_hostname = False
            ctx.verify_mode = ssl.CERT_NONE
        return ctx


class BasicAuth(_Model):
    """HTTP basic authentication."""

    username: str
    password: SecretStr = SecretStr("")


class Authorization(_Model):
    """An `Authorization: <type> <credentials>` header."""

    type: str = "Bearer"
    credentials: SecretStr


class HttpConfig(_Model):
    """The subset of Alertmanager's `http_config` tocsin's channels honour."""

    basic_auth: BasicAuth | None = None
    authorization: Authorization | None = None
    bearer_token: SecretStr | None = None
    proxy_url: Url | None = None
    follow_redirects: bool = True
    tls_config: TlsConfig | None = None

    def options(self, timeout: float) -> RequestOptions:
        """The request options these settings mean."""
        return RequestOptions(
            timeout=timeout,
            headers=self._auth_headers(),
            ssl=self.tls_config.context() if self.tls_config else True,
            proxy=self.proxy_url,
            follow_redirects=self.follow_redirects,
        )

    def _auth_headers(self) -> dict[str, str]:
        if self.basic_auth:
            raw = f"{self.basic_auth.username}:{self.basic_auth.password.get_secret_value()}"
            return {"Authorization": "Basic " + base64.b64encode(raw.encode()).decode()}
        if self.authorization:
            return {"Authorization": f"{self.authorization.type} {self.authorization.credentials.get_secret_value()}"}
        if self.bearer_token:
            return {"Authorization": f"Bearer {self.bearer_token.get_secret_value()}"}
        return {}


class _HttpChannel(_Model):
    send_resolved: bool = True
    timeout: Seconds = 10.0
    http_config: HttpConfig = Field(default_factory=HttpConfig)

    def options(self) -> RequestOptions:
        """Request options for this channel."""
        return self.http_config.options(self.timeout)


class WebhookConfig(_HttpChannel):
    """`webhook_configs`: the Alertmanager webhook payload v4, signed when `hmac_secret` is set."""

    url: SecretUrl
    max_alerts: int = Field(0, ge=0)
    hmac_secret: SecretStr | None = None


class SlackConfig(_HttpChannel):
    """`slack_configs`: an incoming webhook message in Block Kit."""

    send_resolved: bool = False
    api_url: SecretUrl
    channel: str | None = None
    username: str | None = None
    icon_emoji: str | None = None
    icon_url: Url | None = None
    title: Template = None
    text: Template = None


class EmailConfig(_Model):
    """`email_configs`: a multipart text + HTML email over SMTP (STARTTLS, AUTH)."""

    send_resolved: bool = False
    timeout: Seconds = 30.0
    to: str
    from_: str = Field(alias="from")
    smarthost: Annotated[str, AfterValidator(_check_hostport)]
    hello: str = "localhost"
    auth_username: str | None = None
    auth_password: SecretStr | None = None
    require_tls: bool = True
    tls_config: TlsConfig | None = None
    headers: dict[str, Template] = Field(default_factory=dict)
    html: Template = None
    text: Template = None

    def host_port(self) -> tuple[str, int]:
        """The smarthost split into host and port."""
        host, _, port = self.smarthost.rpartition(":")
        return host.strip("[]"), int(port)


class PagerdutyConfig(_HttpChannel):
    """`pagerduty_configs`: PagerDuty Events API v2 trigger / resolve."""

    routing_key: SecretStr
    url: Url = "https://events.pagerduty.com/v2/enqueue"
    severity: Template = None
    description: Template = None
    source: Template = None
    component: str | None = None
    group: str | None = None
    class_: str | None = Field(None, alias="class")
    client: str = "tocsin"
    client_url: Url | None = None
    details: dict[str, Template] = Field(default_factory=dict)


class MatrixConfig(_HttpChannel):
    """`matrix_configs`: an `m.room.message` event with an HTML body."""

    homeserver: Url
    room_id: Annotated[str, AfterValidator(_check_room_id)]
    access_token: SecretStr
    msgtype: Literal["m.text", "m.notice"] = "m.text"
    title: Template = None
    text: Template = None
    html: Template = None


_PRIORITIES = {"min": 1, "low": 2, "default": 3, "high": 4, "max": 5, "urgent": 5}


def _priority(value: Any) -> Any:
    return _PRIORITIES.get(value, value) if isinstance(value, str) else value


class NtfyConfig(_HttpChannel):
    """`ntfy_configs`: a message published to an ntfy topic."""

    url: Url = "https://ntfy.sh"
    topic: Annotated[str, AfterValidator(_check_topic)]
    token: SecretStr | None = None
    priority: Annotated[int, BeforeValidator(_priority), Field(ge=1, le=5)] = 4
    title: Template = None
    text: Template = None


class MSTeamsConfig(_HttpChannel):
    """`msteams_configs` / `msteamsv2_configs`: an Adaptive Card to a Teams workflow webhook."""

    webhook_url: SecretUrl
    title: Template = None
    text: Template = None


class DiscordConfig(_HttpChannel):
    """`discord_configs`: a Discord webhook message with one embed."""

    webhook_url: SecretUrl
    title: Template = None
    message: Template = None
    content: Template = None
    username: str | None = None
    avatar_url: Url | None = None


class TelegramConfig(_HttpChannel):
    """`telegram_configs`: a Bot API `sendMessage` in HTML parse mode."""

    api_url: Url = "https://api.telegram.org"
    bot_token: SecretStr
    chat_id: int
    message_thread_id: int | None = None
    message: Template = None
    disable_notifications: bool = False
    parse_mode: Literal["HTML"] = "HTML"


@dataclass(frozen=True, slots=True)
class _Kind:
    model: type[_Model]
    build: Callable[[Any, str], Channel]
    globals: Mapping[str, str]  # Alertmanager `global:` key -> field it defaults


def _kinds() -> dict[str, _Kind]:
    """The channel types, by receiver key (imported here: channel modules import this one)."""
    from tocsin.notify import discord, email, matrix, msteams, ntfy, pagerduty, slack, telegram, webhook

    teams = _Kind(MSTeamsConfig, msteams.MSTeamsChannel, {})
    smtp = {"smtp_" + k: k for k in ("from", "smarthost", "hello", "auth_username", "auth_password", "require_tls")}
    return {
        "webhook_configs": _Kind(WebhookConfig, webhook.WebhookChannel, {}),
        "slack_configs": _Kind(SlackConfig, slack.SlackChannel, {"slack_api_url": "api_url"}),
        "email_configs": _Kind(EmailConfig, email.EmailChannel, smtp),
        "pagerduty_configs": _Kind(PagerdutyConfig, pagerduty.PagerdutyChannel, {"pagerduty_url": "url"}),
        "matrix_configs": _Kind(MatrixConfig, matrix.MatrixChannel, {}),
        "ntfy_configs": _Kind(NtfyConfig, ntfy.NtfyChannel, {}),
        "msteams_configs": teams,
        "msteamsv2_configs": teams,
        "discord_configs": _Kind(DiscordConfig, discord.DiscordChannel, {}),
        "telegram_configs": _Kind(TelegramConfig, telegram.TelegramChannel, {"telegram_api_url": "api_url"}),
    }


CHANNEL_KEYS = (
    "webhook_configs",
    "slack_configs",
    "email_configs",
    "pagerduty_configs",
    "matrix_configs",
    "ntfy_configs",
    "msteams_configs",
    "msteamsv2_configs",
    "discord_configs",
    "telegram_configs",
)
RECEIVER_KEYS = frozenset({"name", "escalation_policy", "service"})  # receiver-level keys that are not channels


def build_channels(
    receiver: Mapping[str, Any], path: str | None = None, global_settings: Mapping[str, Any] | None = None
) -> list[Channel]:
    """Validate a receiver's raw settings and build its channels, in config order; `ConfigError` names the key.

    `global_settings` is alertmanager.yml's `global:` block: `smtp_*`, `slack_api_url`,
    `pagerduty_url` and `telegram_api_url` fill the matching fields a channel leaves out.
    """
    path = path or f"receivers[{receiver.get('name', '')}]"
    kinds = _kinds()
    channels: list[Channel] = []
    for key, items in receiver.items():
        if key in RECEIVER_KEYS:
            continue
        kind = _kind(kinds, key, f"{path}.{key}")
        for i, item in enumerate(_as_list(items, f"{path}.{key}")):
            channels.append(_build(kind, item, f"{path}.{key}[{i}]", global_settings or {}))
    return channels


def _kind(kinds: Mapping[str, _Kind], key: str, path: str) -> _Kind:
    if key in kinds:
        return kinds[key]
    supported = ", ".join(CHANNEL_KEYS)
    if key.endswith("_configs"):
        raise ConfigError(path, f"{key} is not a channel type tocsin supports (supported: {supported})")
    raise ConfigError(path, f"unknown receiver key {key!r} (expected name, escalation_policy, service or {supported})")


def _as_list(items: Any, path: str) -> list[Any]:
    if items is None:
        return []
    if not isinstance(items, list):
        raise ConfigError(path, "must be a list of channel settings")
    return items


def _build(kind: _Kind, item: Any, path: str, global_settings: Mapping[str, Any]) -> Channel:
    if not isinstance(item, Mapping):
        raise ConfigError(path, "must be a mapping of channel settings")
    data = {field: global_settings[g] for g, field in kind.globals.items() if g in global_settings}
    data.update(item)
    try:
        config = kind.model.model_validate(data)
        return kind.build(config, path.rsplit(".", 1)[-1])
    except ValidationError as exc:
        raise _config_error(exc, path) from None
    except (ValueError, OSError) as exc:
        raise ConfigError(path, str(exc)) from None


def _config_error(exc: ValidationError, path: str) -> ConfigError:
    """The first pydantic error as a `ConfigError` whose path ends at the offending key."""
    error = exc.errors(include_url=False, include_input=False)[0]
    where = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error["loc"])
    message = error["msg"].removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown key"
    elif error["type"] == "missing":
        message = "missing required key"
    return ConfigError(path + where, message)
