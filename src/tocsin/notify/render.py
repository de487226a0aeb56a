"""Message templates: Jinja2 files in `templates/`, overridable per receiver (`title`, `text`, ...).

Each template has an output format that decides how values are escaped: `text` and
`markdown` are left alone, `html` is HTML-escaped (email, Matrix, Telegram), `slack`
escapes the three characters Slack's mrkdwn reserves (`&`, `<`, `>`). Templates see the
context built by `template_context()`; docs/alerting/channels.md lists every name.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

import jinja2
from jinja2.sandbox import ImmutableSandboxedEnvironment

from tocsin.alerting.alert import Alert
from tocsin.notify.model import Notification, PermanentError

__all__ = [
    "AlertView",
    "Format",
    "MessageTemplate",
    "check_template",
    "fit",
    "format_duration",
    "format_time",
    "template_context",
]

Format = Literal["text", "html", "slack", "markdown"]
_SUFFIX_FORMATS: dict[str, Format] = {".txt": "text", ".html": "html", ".mrkdwn": "slack", ".md": "markdown"}
_GO_TEMPLATE = re.compile(r"\{\{-?\s*(\.|template\s|define\s|range\s)")
_AM_DEFAULT = re.compile(r'^\s*\{\{\s*template\s+"[\w.]+\.default\.\w+"\s+\.\s*\}\}\s*$')


@dataclass(frozen=True, slots=True)
class AlertView:
    """One alert as templates see it, with the derived values every message wants."""

    status: str
    labels: Mapping[str, str]
    annotations: Mapping[str, str]
    starts_at: datetime
    ends_at: datetime | None
    generator_url: str
    fingerprint: str
    summary: str
    description: str
    runbook_url: str
    extra_labels: Mapping[str, str]
    duration: str


def template_context(n: Notification) -> dict[str, Any]:
    """The names a template can use, built from the notification alone (no clock)."""
    views = [_view(n, a) for a in n.alerts]
    firing = [v for v in views if v.status == "firing"]
    starts = [v.starts_at for v in firing] or [v.starts_at for v in views]
    return {
        "status": n.status,
        "reason": n.reason,
        "receiver": n.receiver,
        "group_key": n.group_key,
        "group_labels": n.group_labels,
        "common_labels": n.common_labels,
        "common_annotations": n.common_annotations,
        "external_url": n.external_url,
        "console_url": n.console_url if n.external_url else "",
        "runbook_url": n.common_annotations.get("runbook_url", ""),
        "alerts": views,
        "firing": firing,
        "resolved": [v for v in views if v.status == "resolved"],
        "truncated_alerts": n.truncated_alerts,
        "created_at": n.created_at,
        "since": min(starts) if starts else None,
        "headline": _headline(n),
        "links": list(n.links),
        "subject": n.subject,
    }


def _view(n: Notification, alert: Alert) -> AlertView:
    """Derive what templates show for one alert; durations run to `ends_at` or to the notification's instant."""
    status = n.alert_status(alert)
    end = alert.ends_at if status == "resolved" and alert.ends_at else n.created_at
    ann = alert.annotations
    return AlertView(
        status=status,
        labels=alert.labels,
        annotations=ann,
        starts_at=alert.starts_at,
        ends_at=alert.ends_at if status == "resolved" else None,
        generator_url=alert.generator_url,
        fingerprint=alert.fingerprint,
        summary=ann.get("summary") or ann.get("title") or alert.labels.get("alertname", "alert"),
        description=ann.get("description") or ann.get("message", ""),
        runbook_url=ann.get("runbook_url", ""),
        extra_labels={k: v for k, v in sorted(alert.labels.items()) if n.common_labels.get(k) != v},
        duration=format_duration(end - alert.starts_at),
    )


def _headline(n: Notification) -> str:
    """`alertname (other group values)`, the short name of what is broken."""
    name = n.common_labels.get("alertname") or n.group_labels.get("alertname", "")
    others = [v for k, v in sorted(n.group_labels.items()) if k != "alertname"]
    if not name:
        return " ".join(others) or "alerts"
    return f"{name} ({' '.join(others)})" if others else name


def format_time(value: datetime | None) -> str:
    """`2026-01-01 10:00:00 UTC` (naive datetimes are taken as UTC)."""
    if value is None:
        return ""
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return aware.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")


def format_duration(value: timedelta) -> str:
    """A short human duration: `45s`, `12m`, `2h 5m`, `3d 4h`."""
    seconds = max(0, int(value.total_seconds()))
    days, rest = divmod(seconds, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [(days, "d"), (hours, "h"), (minutes, "m")] if seconds >= 60 else [(secs, "s")]
    shown = [f"{count}{unit}" for count, unit in parts if count][:2]
    return " ".join(shown) or "0s"


def _pairs(mapping: Mapping[str, str], sep: str = " ") -> str:
    return sep.join(f"{k}={v}" for k, v in mapping.items())


def _slack_escape(value: Any) -> str:
    return str(value).replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


@functools.cache
def _env(fmt: Format) -> ImmutableSandboxedEnvironment:
    """One sandboxed environment per output format, built on first use (nothing happens at import)."""
    env = ImmutableSandboxedEnvironment(
        loader=jinja2.PackageLoader("tocsin.notify", "templates"),
        autoescape=fmt == "html",
        finalize=_slack_escape if fmt == "slack" else None,
        undefined=jinja2.ChainableUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters.update(time=format_time, duration=format_duration, pairs=_pairs)
    return env


def check_template(source: str | None) -> str | None:
    """Validate a template from config: None for "use the default", ValueError naming the problem."""
    if source is None or _AM_DEFAULT.match(source):
        return None  # Alertmanager's `{{ template "slack.default.title" . }}` means "the default": so does ours
    if _GO_TEMPLATE.search(source):
        raise ValueError(
            "this looks like an Alertmanager Go template; tocsin templates are Jinja2: "
            "write {{ common_labels.alertname }}, not {{ .CommonLabels.alertname }}"
        )
    try:
        _env("text").parse(source)
    except jinja2.TemplateSyntaxError as exc:
        raise ValueError(f"invalid template (line {exc.lineno}): {exc.message}") from None
    return source


class MessageTemplate:
    """A compiled template: a receiver's override when it has one, else the named default file.

    A notice (`n.subject` set) is always shown with the built-in `notice-` variant of the default
    file: receivers' overrides are written for alert groups and would render a notice as one.
    """

    def __init__(self, default: str, source: str | None = None, fmt: Format | None = None) -> None:
        self.format: Format = fmt or _format_of(default)
        env = _env(self.format)
        self.overridden = source is not None
        self._template = env.get_template(default) if source is None else env.from_string(source)
        self._default = default

    def render(self, n: Notification, **extra: Any) -> str:
        """Render for `n`; a template that fails at run time is a `PermanentError` (config, not transport)."""
        try:
            template = _env(self.format).get_template(f"notice-{self._default}") if n.subject else self._template
            return template.render({**template_context(n), **extra}).strip()
        except Exception as exc:
            raise PermanentError(f"template error: {type(exc).__name__}: {exc}") from exc


def _format_of(name: str) -> Format:
    """The output format a default template's file name declares: `text.txt.j2` is text."""
    stem = name.removesuffix(".j2")
    return _SUFFIX_FORMATS[stem[stem.rfind(".") :]]


def fit(n: Notification, render: Callable[[Notification], str], limit: int) -> str:
    """Render `n` within `limit` characters: drop alerts (counted as truncated) first, then cut at a line end."""
    text, shown = render(n), len(n.alerts)
    while len(text) > limit and shown > 1:
        shown //= 2
        text = render(n.truncated(shown))
    if len(text) <= limit:
        return text
    cut = text[: limit - 1]
    return (cut[: cut.rfind("\n")] if "\n" in cut else cut) + "…"
