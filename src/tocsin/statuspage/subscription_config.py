"""`status_pages[].subscriptions`: who may subscribe to a page, and the SMTP account its emails go out through.

SMTP settings default to Alertmanager's `alerting.global.smtp_*`, so a config that already
mails alerts mails subscribers with no extra keys. Email subscriptions are on by default
when SMTP settings exist; webhook subscriptions are off unless enabled (anyone could make
tocsin POST to a URL of their choosing).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from pydantic import Field, SecretStr

from tocsin.config.errors import KeyPath, located_error
from tocsin.config.models import Strict

_GLOBAL_KEYS = ("from", "smarthost", "hello", "auth_username", "auth_password", "require_tls")


class SmtpSettings(Strict):
    """The SMTP account subscriber emails are sent through."""

    from_: str | None = Field(default=None, alias="from")
    smarthost: str | None = Field(default=None, pattern=r"^.+:\d+$")
    hello: str | None = None
    auth_username: str | None = None
    auth_password: SecretStr | None = None
    require_tls: bool | None = None


class SubscriptionsConfig(Strict):
    """What visitors may subscribe with; `email: null` means "yes if SMTP settings exist"."""

    email: bool | None = None
    webhooks: bool = False
    smtp: SmtpSettings = Field(default_factory=SmtpSettings)
    max_signups_per_hour: int = Field(default=10, ge=1, le=10_000)  # per client address


def smtp_for(sub: SubscriptionsConfig, global_settings: Mapping[str, Any]) -> dict[str, Any] | None:
    """The page's SMTP settings with `alerting.global.smtp_*` filling gaps; None without a smarthost and a sender."""
    merged: dict[str, Any] = {k: global_settings[f"smtp_{k}"] for k in _GLOBAL_KEYS if f"smtp_{k}" in global_settings}
    own = sub.smtp.model_dump(by_alias=True, exclude_none=True)
    if sub.smtp.auth_password is not None:
        own["auth_password"] = sub.smtp.auth_password.get_secret_value()
    merged.update(own)
    if not merged.get("smarthost") or not merged.get("from"):
        return None
    return merged


def email_enabled(sub: SubscriptionsConfig, global_settings: Mapping[str, Any]) -> bool:
    """Whether the page takes email subscriptions (explicitly, or by default when SMTP settings exist)."""
    if sub.email is None:
        return smtp_for(sub, global_settings) is not None
    return sub.email


def global_settings(alerting: Any) -> Mapping[str, Any]:
    """`alerting.global` of the raw alerting section (empty when absent or malformed: check_alerting reports that)."""
    found = alerting.get("global") if isinstance(alerting, Mapping) else None
    return found if isinstance(found, Mapping) else {}


def check_subscriptions(pages: Sequence[Any], alerting: Any, path: KeyPath = ("status_pages",)) -> None:
    """Raise a located error for a page that takes email subscriptions with no SMTP account to send them."""
    settings = global_settings(alerting)
    problems: list[tuple[KeyPath, str]] = []
    for index, page in enumerate(pages):
        sub: SubscriptionsConfig = page.subscriptions
        if sub.email and smtp_for(sub, settings) is None:
            message = (
                "email subscriptions need an SMTP server: set smarthost and from under "
                f"status_pages[{index}].subscriptions.smtp, or smtp_smarthost and smtp_from under alerting.global"
            )
            problems.append(((*path, index, "subscriptions", "email"), message))
    if problems:
        raise located_error(problems)
