"""Status page subscriptions, the shell: signups, confirmations, and the loop that fans public updates out.

The loop is durable: it picks public `incident_updates` whose `fanned_out_at_ms` is NULL, so
an update posted while tocsin was down is sent after the restart, and an update is claimed
with a conditional write, so with several nodes it is fanned out once. Each subscriber gets
one outbox row (receiver `status:<slug>`), so the outbox's retries, backoff, dead letters
and idempotency keys apply; the rows and the claim commit together.
"""

from __future__ import annotations

import asyncio
import functools
import hmac
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any

from tocsin.clock import Clock, Signal, sleep_until_or
from tocsin.notify.outbox import Integration, PayloadChannel
from tocsin.statuspage.channels import SubscriberEmailChannel, SubscriberWebhookChannel
from tocsin.statuspage.config import StatusPageConfig
from tocsin.statuspage.registry import Registry
from tocsin.statuspage.subscribers import (
    CONFIRM_WITHIN,
    Kind,
    PageLinks,
    PublicUpdate,
    SignupLimiter,
    Subscriber,
    SubscriptionError,
    check_components,
    check_email,
    check_webhook_url,
    confirmation_mail,
    new_token,
    update_mail,
    wants,
    webhook_body,
)
from tocsin.statuspage.subscription_config import email_enabled, global_settings, smtp_for
from tocsin.store.alerting import Delivery
from tocsin.store.oncall import OncallStore
from tocsin.store.subscribers import Signup, SubscriberStore
from tocsin.store.times import to_ms

if TYPE_CHECKING:
    from tocsin.runtime import Runtime

log = logging.getLogger(__name__)
RECEIVER_PREFIX = "status:"
EMAIL, WEBHOOK = 0, 1  # integration index of each kind under receiver `status:<slug>`
POLL = 15.0  # seconds between looks for public updates nobody woke the loop for (a safety net: posting wakes it)
PURGE_EVERY = 3600.0  # seconds between purges of expired unconfirmed subscriptions


@dataclass(frozen=True, slots=True)
class Settings:
    """What subscriptions need from the current config, read on every use (so reloads apply at once)."""

    global_settings: Mapping[str, Any]
    external_url: str


class Subscriptions:
    """Signups, confirmation, unsubscription, the subscriber channels, and the fan-out loop."""

    def __init__(
        self,
        clock: Clock,
        store: SubscriberStore,
        settings: Callable[[], Settings],
        wake_outbox: Callable[[], None],
        secret: Callable[[], Awaitable[bytes]],
        registry: Registry,
    ) -> None:
        self._clock, self.store, self._settings, self._wake_outbox = clock, store, settings, wake_outbox
        self.registry = registry  # config and console pages: both take subscribers
        self._secret, self._form_key = secret, b""
        self.limiter = SignupLimiter()
        self._wake = Signal()
        self._emails: dict[str, SubscriberEmailChannel] = {}
        self._webhook = SubscriberWebhookChannel()
        self.seen_base = ""  # the address visitors used, for links when server.external_url is unset
        self.queued = 0  # subscriber deliveries queued so far

    async def form_key(self) -> bytes:
        """The key that signs subscribe forms (a stored secret, so every node and restart accepts the same forms)."""
        if not self._form_key:
            self._form_key = hmac.digest(await self._secret(), b"tocsin:status-subscribe", "sha256")
        return self._form_key

    # pages and links

    def page(self, slug: str) -> StatusPageConfig | None:
        """The page with this slug, from the config file or the console."""
        found = self.registry.find(slug)
        return found.spec if found else None

    def links(self, page: StatusPageConfig) -> PageLinks:
        """Absolute links: the page at its custom domain or under `server.external_url` (else the address visitors
        used); confirm and unsubscribe under `server.external_url` when set, else next to the page."""
        external = self._settings().external_url.rstrip("/")
        main = f"{external or self.seen_base.rstrip('/')}/status/{page.slug}"
        if page.custom_domain:
            return PageLinks(f"https://{page.custom_domain}", main if external else "")
        return PageLinks(main)

    def kinds(self, page: StatusPageConfig) -> tuple[Kind, ...]:
        """The kinds of subscription the page takes now."""
        email = email_enabled(page.subscriptions, self._settings().global_settings)
        return (*(("email",) if email else ()), *(("webhook",) if page.subscriptions.webhooks else ()))

    # signups

    async def subscribe(self, page: StatusPageConfig, kind: str, address: str, components: Sequence[str]) -> Signup:
        """Validate and store a signup; email ones get a confirmation email. SubscriptionError for bad input."""
        if kind not in self.kinds(page):
            raise SubscriptionError(f"kind: this page does not take {kind or 'these'} subscriptions")
        clean = check_email(address) if kind == "email" else check_webhook_url(address)
        chosen = check_components(components, [c.name for c in page.components])
        now = self._clock.now()
        confirmed = now if kind == "webhook" else None  # webhooks are confirmed at once (docs/statuspages.md)
        sub = Subscriber(
            0, page.slug, "email" if kind == "email" else "webhook", clean, chosen, new_token(), now, confirmed
        )
        signup = await self.store.subscribe(sub, lambda s: self._confirmation(page, s, now), now)
        self._wake_outbox()
        return signup

    def _confirmation(self, page: StatusPageConfig, sub: Subscriber, now: datetime) -> Delivery | None:
        if sub.kind != "email":
            return None
        key = f"status-confirm:{sub.id}:{to_ms(now)}"
        payload = {**confirmation_mail(page.title, sub, self.links(page)).payload(), "id": key, "date": _date(now)}
        return Delivery(key, f"status:{page.slug}:subscribe", RECEIVER_PREFIX + page.slug, EMAIL,
                        "subscriber-email", "confirm", payload)  # fmt: skip

    async def confirm(self, page: StatusPageConfig, token: str) -> Subscriber | None:
        """Confirm the email subscription with this token; None for an unknown or expired token."""
        return await self.store.confirm(page.slug, token, self._clock.now())

    async def unsubscribe(self, page: StatusPageConfig, token: str) -> Subscriber | None:
        """End the subscription with this token; None when it is unknown or already ended."""
        return await self.store.unsubscribe(page.slug, token)

    # the outbox side

    def integration(self, receiver: str, index: int) -> Integration | None:
        """The channel of `status:<slug>` deliveries: #0 email through the page's SMTP pool, #1 webhooks."""
        page = self.page(receiver.removeprefix(RECEIVER_PREFIX))
        if page is None:
            return None
        if index == WEBHOOK:
            return Integration(receiver, index, "subscriber-webhook", True, self._webhook)
        channel = self._email_channel(page) if index == EMAIL else None
        return Integration(receiver, index, "subscriber-email", True, channel) if channel else None

    def _email_channel(self, page: StatusPageConfig) -> PayloadChannel | None:
        settings = smtp_for(page.subscriptions, self._settings().global_settings)
        current = self._emails.get(page.slug)
        if current is not None and current.settings == settings:
            return current
        if current is not None:
            current.close()  # the SMTP settings changed with a reload
            del self._emails[page.slug]
        if settings is None:
            return None
        self._emails[page.slug] = SubscriberEmailChannel(settings)
        return self._emails[page.slug]

    def close(self) -> None:
        """Close pooled SMTP connections."""
        for channel in self._emails.values():
            channel.close()
        self._emails.clear()

    # the fan-out loop

    async def wake(self, *_: object) -> None:
        """Look for updates now (an incident listener: called with the incident before and after a change)."""
        self._wake.set()

    async def run(self, poll: float = POLL) -> None:
        """Fan out until cancelled; purge expired signups every hour."""
        purge_at = self._clock.timestamp()
        try:
            await self._loop(poll, purge_at)
        finally:
            self.close()

    async def _loop(self, poll: float, purge_at: float) -> None:
        while True:
            self._wake.clear()
            try:
                await self.fan_out_due()
                if self._clock.timestamp() >= purge_at:
                    await self.store.purge_unconfirmed(self._clock.now() - CONFIRM_WITHIN)
                    purge_at = self._clock.timestamp() + PURGE_EVERY
            except Exception:  # the store may be briefly unreachable: try again at the next turn
                log.exception("status page subscriber fan-out failed; retrying")
            await sleep_until_or(self._clock, self._clock.timestamp() + poll, self._wake)

    async def fan_out_due(self) -> int:
        """Queue deliveries for every pending public update; how many were queued."""
        total = 0
        await self.registry.refresh()  # console pages made on another node are known within `REFRESH` seconds
        for update in await self.store.pending_updates():
            now = self._clock.now()
            build = functools.partial(self.deliveries, update, now=now)
            queued = await self.store.fan_out(update.id, update.pages, build, now)
            total += queued or 0
        if total:
            self.queued += total
            self._wake_outbox()
            log.info("queued %d status page subscriber notifications", total)
        return total

    def deliveries(self, update: PublicUpdate, subscribers: Sequence[Subscriber], now: datetime) -> list[Delivery]:
        """One delivery per subscriber who hears `update`, through a kind their page still takes."""
        specs = [e.spec for e in self.registry.pages()]
        pages = {p.slug: (p, self.links(p), self.kinds(p)) for p in specs if p.slug in update.pages}
        out = []
        for sub in subscribers:
            found = pages.get(sub.page)
            if found is not None and sub.kind in found[2] and wants(sub, update):
                out.append(_delivery(update, sub, found[0], found[1], now))
        return out


def _delivery(
    update: PublicUpdate, sub: Subscriber, page: StatusPageConfig, links: PageLinks, now: datetime
) -> Delivery:
    key = f"status:{update.id}:{sub.id}"
    if sub.kind == "email":
        payload = {**update_mail(page.title, update, sub, links).payload(), "id": key, "date": _date(now)}
        index, channel = EMAIL, "subscriber-email"
    else:
        payload = {"kind": "webhook", "id": key, "url": sub.address,
                   "body": webhook_body(update, sub, links.page_url, links)}  # fmt: skip
        index, channel = WEBHOOK, "subscriber-webhook"
    group = f"status:{page.slug}:incident:{update.incident_id}"
    return Delivery(key, group, RECEIVER_PREFIX + page.slug, index, channel, "update", payload)


def _date(now: datetime) -> str:
    return format_datetime(now)


def start_subscriptions(rt: Runtime) -> list[asyncio.Task[None]]:
    """Create `rt.subscriptions`, wake it on incident changes, and start its fan-out loop."""

    def settings() -> Settings:
        config = rt.loaded.config
        return Settings(global_settings(config.alerting), config.server.external_url or "")

    secret = functools.partial(OncallStore(rt.store).secret, "status-subscribe")
    pages = Registry(rt)
    pages.listen(rt.incidents)
    rt.subscriptions = Subscriptions(rt.clock, SubscriberStore(rt.store), settings, rt.outbox.wake, secret, pages)
    rt.incidents.listeners.append(rt.subscriptions.wake)
    return [asyncio.create_task(rt.subscriptions.run(), name="status-subscribers")]
