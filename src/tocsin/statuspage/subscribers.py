"""Status page subscribers, the pure rules: tokens, input checks, who hears an update, and what they are sent.

No I/O here. The fan-out loop (fanout.py) reads updates and subscribers from the store and
queues what these functions build; the web layer checks input with them.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from email.utils import parseaddr
from html import escape
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from tocsin.statuspage.status import DESCRIPTIONS, ComponentStatus, Indicator, indicator

Kind = Literal["email", "webhook"]
CONFIRM_WITHIN = timedelta(days=7)  # an unconfirmed email subscription is forgotten after this
FORM_TOKEN_TTL = timedelta(hours=2)  # how long a subscribe form may be left open before it is posted
STATUSPAGE_WEBHOOK_DOCS = "https://support.atlassian.com/statuspage/docs/enable-webhook-notifications/"
_EMAIL = re.compile(r"^[^@\s\"<>(),;:\\\[\]]+@[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?(?:\.[A-Za-z0-9\-]+)+$")
_IMPACT_WORDS = {s.value: s.value.replace("_", " ") for s in ComponentStatus}


class SubscriptionError(ValueError):
    """Input a visitor can fix: the message says what is wrong and how to fix it."""


@dataclass(frozen=True, slots=True)
class Subscriber:
    """One subscription to one page; `components` empty means every component."""

    id: int
    page: str
    kind: Kind
    address: str
    components: tuple[str, ...]
    token: str
    created_at: datetime
    confirmed_at: datetime | None = None

    @property
    def confirmed(self) -> bool:
        """Whether the subscriber hears updates (email after the link is followed, webhooks at once)."""
        return self.confirmed_at is not None


@dataclass(frozen=True, slots=True)
class PublicUpdate:
    """A public incident update waiting to be fanned out, with what subscribers are told of its incident."""

    id: int
    incident_id: int
    incident_title: str
    incident_created_at: datetime
    at: datetime
    status: str
    body: str
    pages: tuple[str, ...]
    components: Mapping[str, str] = field(default_factory=dict)  # {"page/component": impact}


@dataclass(frozen=True, slots=True)
class PageLinks:
    """The absolute addresses a subscriber is sent, from the page's public URL."""

    page_url: str  # where readers see the page (its custom domain's root when it has one)
    actions: str = ""  # where its subscription routes answer, when not under `page_url`

    def confirm(self, token: str) -> str:
        """Where the double opt-in link points."""
        return f"{self.actions or self.page_url}/subscriptions/confirm?token={quote(token)}"

    def unsubscribe(self, token: str) -> str:
        """The one-click unsubscribe link (GET shows a button; POST, RFC 8058's one click, unsubscribes)."""
        return f"{self.actions or self.page_url}/unsubscribe?token={quote(token)}"


@dataclass(frozen=True, slots=True)
class Mail:
    """One email to one subscriber: what the SMTP channel sends as is."""

    to: str
    subject: str
    text: str
    html: str
    headers: Mapping[str, str] = field(default_factory=dict)

    def payload(self) -> dict[str, Any]:
        """The outbox payload of this email."""
        return {"kind": "email", "to": self.to, "subject": self.subject, "text": self.text, "html": self.html,
                "headers": dict(self.headers)}  # fmt: skip


def new_token() -> str:
    """A fresh subscriber token: 32 random bytes, URL-safe (the key of the confirm and unsubscribe links)."""
    return secrets.token_urlsafe(32)


def expired(sub: Subscriber, now: datetime) -> bool:
    """An email subscription never confirmed within CONFIRM_WITHIN of signing up."""
    return not sub.confirmed and now - sub.created_at > CONFIRM_WITHIN


def check_email(address: str) -> str:
    """The address, trimmed with its domain lower-cased; SubscriptionError when it is not one plain address."""
    address = address.strip()
    if len(address) > 254 or parseaddr(address)[1] != address or not _EMAIL.match(address):
        raise SubscriptionError("email: enter one plain address like name@example.com")
    local, _, domain = address.rpartition("@")
    return f"{local}@{domain.lower()}"


def check_webhook_url(url: str) -> str:
    """The URL if it is an absolute http(s) address of at most 500 characters; SubscriptionError otherwise."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname or len(url) > 500:
        raise SubscriptionError("webhook: enter an absolute http:// or https:// URL of at most 500 characters")
    return url


def check_components(requested: Iterable[str], known: Sequence[str]) -> tuple[str, ...]:
    """The requested component names in page order (none: every component); SubscriptionError naming an unknown one."""
    wanted = set(requested)
    unknown = sorted(wanted - set(known))
    if unknown:
        raise SubscriptionError(f"components: this page has no component called {unknown[0]!r}")
    return tuple(name for name in known if name in wanted)


def sign_form(key: bytes, slug: str, now: datetime) -> str:
    """A token for the subscribe form of `slug`, issued at `now` (the public form's CSRF defence)."""
    issued = int(now.timestamp())
    return f"{issued}.{_form_mac(key, slug, issued)}"


def check_form(key: bytes, slug: str, token: str, now: datetime) -> bool:
    """Whether `token` was signed for this page's form and is at most FORM_TOKEN_TTL old."""
    issued_text, _, mac = token.partition(".")
    if not issued_text.isdigit() or not hmac.compare_digest(mac, _form_mac(key, slug, int(issued_text))):
        return False
    age = now.timestamp() - int(issued_text)
    return -60 <= age <= FORM_TOKEN_TTL.total_seconds()


def _form_mac(key: bytes, slug: str, issued: int) -> str:
    return hmac.new(key, f"subscribe:{slug}:{issued}".encode(), hashlib.sha256).hexdigest()[:32]


def affected(update: PublicUpdate, page: str) -> dict[str, str]:
    """The update's components on `page` with their impact."""
    prefix = page + "/"
    return {key[len(prefix) :]: impact for key, impact in update.components.items() if key.startswith(prefix)}


def wants(sub: Subscriber, update: PublicUpdate) -> bool:
    """Whether a confirmed subscriber hears the update: all-component subscribers always; others when
    one of their components is affected, or when the update names no component of their page."""
    if not sub.confirmed or sub.page not in update.pages:
        return False
    hit = affected(update, sub.page)
    return not sub.components or not hit or any(c in hit for c in sub.components)


def page_indicator(impacts: Mapping[str, str]) -> Indicator:
    """The page banner level the update's impacts amount to."""
    return indicator(ComponentStatus(v) for v in impacts.values() if v in _IMPACT_WORDS)


def _when(at: datetime) -> str:
    return at.astimezone(UTC).strftime("%Y-%m-%d %H:%M UTC")


def _impact_lines(impacts: Mapping[str, str]) -> list[str]:
    return [f"{name}: {_IMPACT_WORDS.get(impact, impact)}" for name, impact in impacts.items()]


def update_mail(title: str, update: PublicUpdate, sub: Subscriber, links: PageLinks) -> Mail:
    """The email telling `sub` about `update`, with RFC 8058 one-click unsubscribe headers."""
    status = update.status.capitalize()
    impacts = _impact_lines(affected(update, sub.page))
    unsubscribe = links.unsubscribe(sub.token)
    lines = [f"{status}: {update.body}", "", *(["Affected:", *impacts, ""] if impacts else [])]
    lines += [f"Posted {_when(update.at)}.", f"Status page: {links.page_url}", "", f"Unsubscribe: {unsubscribe}"]
    html = (
        f"<p><strong>{escape(status)}</strong>: {escape(update.body)}</p>"
        + (f"<ul>{''.join(f'<li>{escape(i)}</li>' for i in impacts)}</ul>" if impacts else "")
        + f'<p>Posted {_when(update.at)}. <a href="{escape(links.page_url)}">Status page</a></p>'
        + f'<p style="color:#656d76;font-size:12px"><a href="{escape(unsubscribe)}">Unsubscribe</a></p>'
    )
    headers = {"List-Unsubscribe": f"<{unsubscribe}>", "List-Unsubscribe-Post": "List-Unsubscribe=One-Click"}
    return Mail(sub.address, f"[{title}] {update.incident_title}: {status}", "\n".join(lines), html, headers)


def confirmation_mail(title: str, sub: Subscriber, links: PageLinks) -> Mail:
    """The double opt-in email: nothing is sent to the address until its link is followed."""
    confirm = links.confirm(sub.token)
    scope = ", ".join(sub.components) if sub.components else "every component"
    text = (
        f"Someone (hopefully you) asked to receive {title} updates ({scope}) at this address.\n\n"
        f"Confirm the subscription: {confirm}\n\n"
        f"If it was not you, ignore this email: without confirmation nothing more is sent, "
        f"and the request is forgotten after {CONFIRM_WITHIN.days} days."
    )
    html = "".join(f"<p>{escape(p)}</p>" for p in text.split("\n\n")).replace(
        escape(confirm), f'<a href="{escape(confirm)}">{escape(confirm)}</a>'
    )
    return Mail(sub.address, f"Confirm your subscription to {title}", text, html)


def page_id(slug: str) -> str:
    """The page's Statuspage-style id (the same as the status page API's)."""
    return hashlib.sha256(slug.encode()).hexdigest()[:12]


def webhook_body(update: PublicUpdate, sub: Subscriber, page_url: str, links: PageLinks) -> dict[str, Any]:
    """Atlassian Statuspage's incident webhook shape: `meta`, `page`, `incident` with its `incident_updates`."""
    impacts = affected(update, sub.page)
    level = page_indicator(impacts)
    at, incident_id = update.at.isoformat(), str(update.incident_id)
    return {
        "meta": {"unsubscribe": links.unsubscribe(sub.token), "documentation": STATUSPAGE_WEBHOOK_DOCS},
        "page": {"id": page_id(sub.page), "status_indicator": level.value, "status_description": DESCRIPTIONS[level]},
        "incident": {
            "id": incident_id,
            "name": update.incident_title,
            "status": update.status,
            "impact": level.value,
            "created_at": update.incident_created_at.isoformat(),
            "updated_at": at,
            "resolved_at": at if update.status == "resolved" else None,
            "shortlink": page_url,
            "components": [{"name": name, "status": impact} for name, impact in impacts.items()],
            "incident_updates": [
                {
                    "id": str(update.id),
                    "incident_id": incident_id,
                    "status": update.status,
                    "body": update.body,
                    "created_at": at,
                    "updated_at": at,
                    "display_at": at,
                }
            ],
        },
    }


class SignupLimiter:
    """At most `per_hour` signups per client address and page in any hour; time is passed in (POSIX seconds)."""

    def __init__(self, max_clients: int = 10_000) -> None:
        self._seen: dict[tuple[str, str], list[float]] = {}
        self._max_clients = max_clients

    def allow(self, page: str, client: str, per_hour: int, now: float) -> float:
        """0 when the signup may go ahead (and counts it), else the seconds until one would be allowed."""
        key = (page, client)
        recent = [t for t in self._seen.get(key, ()) if now - t < 3600]
        if len(recent) >= per_hour:
            self._seen[key] = recent
            return 3600 - (now - recent[0])
        if key not in self._seen and len(self._seen) >= self._max_clients:
            self._seen.pop(next(iter(self._seen)))  # bound memory: forget the oldest client
        self._seen[key] = [*recent, now]
        return 0.0
