"""The on-call engine: the pipeline's escalation hook, and the clock-driven loop that pages people.

The hook starts an escalation when a receiver that names a policy (or a service) first
flushes a firing group, and holds back reminders to channels while the group is
acknowledged. The loop reads the clock once per turn, sends every page that fell due
(through the outbox, committed with the escalation's progress in one transaction), stops
escalations whose group stopped firing, and sends handoff notices. Acknowledge and resolve
come from the API, the CLI, one-click links and PagerDuty events. See docs/oncall/escalation.md.
"""

from __future__ import annotations

import asyncio
import heapq
import logging
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import Any, Literal

from tocsin.alerting.alert import Alert
from tocsin.clock import Clock, Signal, sleep_until_or
from tocsin.notify.outbox import Integration
from tocsin.oncall import acks, messages
from tocsin.oncall.directory import urgency_of
from tocsin.oncall.escalation import EscalationPolicy
from tocsin.oncall.groups import Groups
from tocsin.oncall.handoff import Handoff, due_handoffs, next_notice, notice_text
from tocsin.oncall.keys import IntegrationKeys
from tocsin.oncall.overrides import StoredOverride, with_overrides
from tocsin.oncall.plan import Send, next_send_at, sends
from tocsin.oncall.settings import Paging, Settings
from tocsin.oncall.state import Escalation, progress
from tocsin.pipeline.enqueue import common
from tocsin.pipeline.escalate import PAGING_CHANNEL
from tocsin.pipeline.stage import Flush
from tocsin.store.alerting import Delivery
from tocsin.store.oncall import OncallStore

log = logging.getLogger(__name__)

TICK = timedelta(milliseconds=1)  # sends are due in [sent_until, now + TICK): "now" included, at store precision
SWEEP = timedelta(minutes=1)  # how often every active escalation is checked for a group that stopped firing
LINGER = 0.05  # real seconds between two ticks of the loop, to batch writes
RETRY = 1.0  # real seconds before a failed tick is tried again
PURGE = timedelta(hours=1)  # spent ack tokens past their expiry, long-resolved escalations
HANDOFF_CURSOR = "handoffs"
RESOLVED_BY_ALERTS = "tocsin: alerts resolved"
Queued = tuple[Delivery, datetime]
# Called after a group's page was acknowledged: (group key, by whom, which page of the group, when).
AckListener = Callable[[str, str, int, datetime], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Outcome:
    """What an acknowledge or resolve did: `done`, or why not, and the escalation as it now stands."""

    status: Literal["done", "unknown", "already_resolved", "stale"]
    escalation: Escalation | None = None


class OncallEngine:
    """Owns the active escalations of this process (the dispatching node)."""

    def __init__(self, clock: Clock, store: OncallStore, wake_outbox: Callable[[], None]) -> None:
        self._clock, self._store, self._wake_outbox = clock, store, wake_outbox
        self.settings = Settings()
        self._configured = Settings()  # as compiled from the config, before stored overrides
        self.overrides: tuple[StoredOverride, ...] = ()
        self.keys = IntegrationKeys(store)
        self.groups: Groups | None = None
        self.active: dict[str, Escalation] = {}
        self.incidents: dict[str, int] = {}  # last incident number per group, resolved ones included
        self._due: dict[str, datetime] = {}
        self._fresh: set[str] = set()  # triggered, not yet written
        self._heap: list[tuple[datetime, str]] = []
        self._secret = b""
        self._wake = Signal()
        self._next_sweep: datetime | None = None
        self._next_notice: datetime | None = None
        self._next_purge: datetime | None = None
        self.sent = 0
        self.ack_listeners: list[AckListener] = []  # e.g. incident timelines; a listener's failure is its own

    async def start(self, settings: Settings, groups: Groups) -> None:
        """Load the secret and every escalation; schedule the active ones."""
        self.groups = groups
        configured = settings.config.ack_secret
        self._secret = configured.encode() if configured else await self._store.secret("ack")
        await self.keys.load()
        self.overrides = tuple(await self._store.overrides.overrides())
        for esc in await self._store.load_escalations():
            self.incidents[esc.group_key] = esc.incident
            if esc.active:
                self.active[esc.group_key] = esc
        self.configure(settings)

    def configure(self, settings: Settings) -> None:
        """Adopt new settings (with the stored overrides on top): every active escalation is rescheduled."""
        self._configured = settings
        self.settings = replace(settings, directory=with_overrides(settings.directory, self.overrides))
        self.keys.configure(settings.config)
        self._due, self._heap, self._next_notice = {}, [], None
        now = self._clock.now()
        for esc in self.active.values():
            self._schedule(esc, now)
        self._wake.set()

    async def reload_overrides(self) -> None:
        """Re-read the stored overrides after one was made or removed, and adopt them."""
        self.overrides = tuple(await self._store.overrides.overrides())
        self.configure(self._configured)

    def integration(self, receiver: str, index: int) -> Integration | None:
        """The channel of contact method `index` of the person behind `receiver` (`oncall:<user>`)."""
        found = self.settings.people.get(receiver, [])
        return found[index] if 0 <= index < len(found) else None

    # the escalation hook

    async def __call__(self, flush: Flush) -> Flush | None:
        """Start paging on a receiver's paging cue; hold back reminders to an acknowledged group's channels."""
        paging = self.settings.paging.get(flush.receiver)
        if self.settings.in_maintenance(paging):
            return None
        if flush.channel == PAGING_CHANNEL:
            if paging is not None and flush.firing():
                await self._trigger(flush, paging)
            return None
        esc = self.active.get(flush.group_key)
        if flush.reason == "repeat" and esc is not None and esc.ack_in_force(self._policy(esc), flush.now):
            return None
        return flush

    async def _trigger(self, flush: Flush, paging: Paging) -> None:
        if flush.group_key in self.active:
            return
        labels = common([a.labels for a in flush.firing()])
        esc = Escalation(
            group_key=flush.group_key,
            incident=self.incidents.get(flush.group_key, 0) + 1,
            policy=paging.policy,
            receiver=flush.receiver,
            service=paging.service,
            urgency=urgency_of(labels),
            triggered_at=flush.now,
            sent_until=flush.now,
            group_labels=dict(flush.group_labels),
        )
        self.active[esc.group_key] = esc
        self.incidents[esc.group_key] = esc.incident
        self._fresh.add(esc.group_key)  # planned and committed by the next tick, with its first pages
        self._wake.set()
        log.info("paging for %s through policy %s (incident %d)", esc.group_key, esc.policy, esc.incident)

    # acknowledge and resolve

    async def acknowledge(self, key: str, by: str, incident: int | None = None) -> Outcome:
        """Acknowledge the group's escalation now: its pages stop (until `ack_timeout`, if set)."""
        found = self._current(key, incident)
        if isinstance(found, Outcome):
            return found
        now = self._clock.now()
        esc = found.acknowledged(now, by)
        await self._store.save([esc], [], now)
        self._adopt(esc, now)
        for listener in self.ack_listeners:
            await listener(key, by, esc.incident, now)
        return Outcome("done", esc)

    async def resolve(self, key: str, by: str, incident: int | None = None) -> Outcome:
        """Resolve the group now: its escalation stops and its firing alerts end."""
        now = self._clock.now()
        found = self._current(key, incident)
        if isinstance(found, Outcome) and found.status != "unknown":
            return found
        esc = None if isinstance(found, Outcome) else found.resolved(now, by)
        if esc is not None:
            await self._store.save([esc], [], now)
            self._adopt(esc, now)
        if self.groups is not None and any(not a.resolved_at(now) for a in self.groups.alerts(key)):
            await self.groups.end(key, now)
            return Outcome("done", esc)
        return Outcome("done", esc) if esc is not None else Outcome("unknown")

    async def settle(self, keys: Sequence[str], by: str) -> None:
        """Resolve, now, the escalations of these groups that no longer fire (their source resolved them)."""
        now = self._clock.now()
        quiet = [esc.resolved(now, by) for key in keys if (esc := self.active.get(key)) and not self._firing(key, now)]
        if quiet:
            await self._store.save(quiet, [], now)
            for esc in quiet:
                self._adopt(esc, now)

    async def record_change(self, service: str, key_name: str, summary: str, event: Mapping[str, Any]) -> None:
        """Keep a change event (PagerDuty's `/v2/change/enqueue`) for the service's timeline."""
        await self._store.record_change(service, key_name, self._clock.now(), summary, dict(event))

    async def changes(self, limit: int) -> list[dict[str, Any]]:
        """The most recent change events, newest first."""
        return await self._store.changes(limit)

    def _current(self, key: str, incident: int | None) -> Escalation | Outcome:
        """The active escalation an action applies to, or why there is none."""
        esc = self.active.get(key)
        if esc is None:
            return Outcome("already_resolved") if key in self.incidents else Outcome("unknown")
        if incident is not None and incident != esc.incident:
            return Outcome("stale", esc)
        return esc

    # one-click links

    def link(self, esc: Escalation, user: str, action: acks.Action, now: datetime) -> str:
        """A signed single-use link for `user` to act on this occurrence of the group."""
        claim = acks.new_claim(esc.group_key, esc.incident, user, action, now, self.settings.ack_ttl)
        return messages.ack_url(self.settings.external_url, acks.sign(claim, self.ack_key))

    @property
    def ack_key(self) -> bytes:
        """The key ack tokens are signed with."""
        return acks.derive(self._secret, "ack")

    @property
    def calendar_key(self) -> bytes:
        """The key calendar URLs are derived with."""
        return acks.derive(self._secret, "calendar")

    async def check_link(self, token: str) -> tuple[acks.Claim, bool]:
        """A link's claim and whether it was used, without using it; TokenError for a bad or expired one."""
        claim = acks.verify(token, self.ack_key, self._clock.now())
        return claim, await self._store.token_used(claim.nonce)

    async def use_link(self, token: str) -> tuple[acks.Claim, Outcome]:
        """Verify a link's token, spend it (once only), and act; TokenError when it must not be honoured."""
        now = self._clock.now()
        claim = acks.verify(token, self.ack_key, now)
        if not await self._store.use_token(claim.nonce, claim.expires_at, now):
            raise acks.TokenError("this link was already used")
        act = self.acknowledge if claim.action is acks.Action.ACKNOWLEDGE else self.resolve
        return claim, await act(claim.group_key, claim.user, claim.incident)

    # the loop

    async def run(self, idle: float = 30.0) -> None:
        """Page until cancelled."""
        while True:
            self._wake.clear()
            try:
                await self.tick()
            except Exception:  # a database hiccup must not stop paging for good
                log.exception("on-call tick failed; retrying in %gs", RETRY)
                await asyncio.sleep(RETRY)
                continue
            # Why linger: triggers and due pages arrive one by one; a short real-time pause lets the
            # next tick write them in one transaction instead of one each (pages stay well within 1 s).
            await asyncio.sleep(LINGER)
            await sleep_until_or(self._clock, self._next_wake(idle), self._wake)

    async def tick(self) -> int:
        """Send every page due now, stop escalations whose group stopped firing, send handoff notices."""
        now = self._clock.now()
        changes = self._sweep(now)
        queued: list[Queued] = []
        swept = {esc.group_key for esc in changes}
        due = dict.fromkeys([*self._pop_due(now), *self._fresh])
        self._fresh.clear()
        for key in due:
            if key not in swept and (esc := self.active.get(key)) is not None:
                changes.append(self._advance(esc, now, queued))
        if changes:
            try:
                await self._store.save(changes, queued, now)
            except Exception:
                self._fresh.update(esc.group_key for esc in changes)  # nothing was recorded: redo them next turn
                raise
            for esc in changes:
                self._adopt(esc, now, wake=False)
        queued_notices = await self._handoffs(now)
        if self._next_purge is None or now >= self._next_purge:
            await self._store.purge(now)
            self._next_purge = now + PURGE
        if queued or queued_notices:
            self._wake_outbox()
        self.sent += len(queued)
        return len(queued) + queued_notices

    def _sweep(self, now: datetime) -> list[Escalation]:
        """Once a `SWEEP`, every escalation whose group stopped firing, resolved (pages check on their own)."""
        if self._next_sweep is not None and now < self._next_sweep:
            return []
        self._next_sweep = now + SWEEP
        quiet = [esc for esc in self.active.values() if not self._firing(esc.group_key, now)]
        return [esc.resolved(now, RESOLVED_BY_ALERTS) for esc in quiet]

    def _firing(self, key: str, now: datetime) -> bool:
        return any(not a.resolved_at(now) for a in self._alerts(key))

    def _advance(self, esc: Escalation, now: datetime, queued: list[Queued]) -> Escalation:
        """The escalation after sending what is due now (or resolved, when its group stopped firing)."""
        firing = [a for a in self._alerts(esc.group_key) if not a.resolved_at(now)]
        policy = self._policy(esc)
        if not firing or policy is None:
            return esc.resolved(now, RESOLVED_BY_ALERTS if not firing else "tocsin: policy removed")
        until = now + TICK
        planned = sends(policy, esc.core(), self.settings.directory, esc.urgency, esc.sent_until, until)
        queued.extend(self._queue(esc, firing, send, now) for send in planned)
        last = planned[-1] if planned else None
        return progress(esc, last.step if last else esc.step, last.repetition if last else esc.repetition, until)

    def _queue(self, esc: Escalation, alerts: Sequence[Alert], send: Send, now: datetime) -> Queued:
        links = [
            ("Acknowledge", self.link(esc, send.user, acks.Action.ACKNOWLEDGE, now)),
            ("Resolve", self.link(esc, send.user, acks.Action.RESOLVE, now)),
        ]
        n = messages.page(esc, alerts, send, now, self.settings.external_url, links)
        return messages.delivery(n, send.index, send.kind), send.at

    async def _handoffs(self, now: datetime) -> int:
        """Queue the handoff notices that fell due since the last turn."""
        lead = self.settings.config.handoff_notice
        schedules = self.settings.directory.schedules
        if lead is None or not schedules or (self._next_notice is not None and now < self._next_notice):
            return 0
        since = await self._store.cursor(HANDOFF_CURSOR) or now
        until = now + TICK
        queued = [item for h in due_handoffs(schedules, since, until, lead) for item in self._notice(h)]
        await self._store.advance_cursor(HANDOFF_CURSOR, until, queued, now)
        self._next_notice = next_notice(schedules, until, lead) or until + timedelta(hours=1)
        return len(queued)

    def _notice(self, handoff: Handoff) -> list[Queued]:
        directory = self.settings.directory
        rules = directory.rules(handoff.user, "low") or directory.rules(handoff.user, "high")
        text = notice_text(handoff, directory.time_zone(handoff.user))
        n = messages.handoff_notice(handoff, text, self.settings.external_url)
        methods = {rule.index: rule.kind for rule in rules}  # each method once, delays ignored
        return [(messages.delivery(n, index, kind), handoff.notify_at) for index, kind in methods.items()]

    # bookkeeping

    def _adopt(self, esc: Escalation, now: datetime, *, wake: bool = True) -> None:
        """Remember an escalation's new state and when it next needs the loop."""
        self.incidents[esc.group_key] = esc.incident
        if not esc.active:
            self.active.pop(esc.group_key, None)
            self._due.pop(esc.group_key, None)
            return
        self.active[esc.group_key] = esc
        self._schedule(esc, now)
        if wake:
            self._wake.set()

    def _schedule(self, esc: Escalation, now: datetime) -> None:
        policy = self._policy(esc)
        directory = self.settings.directory
        at = None if policy is None else next_send_at(policy, esc.core(), directory, esc.urgency, esc.sent_until)
        if at is None:
            self._due.pop(esc.group_key, None)
            return
        self._due[esc.group_key] = at
        heapq.heappush(self._heap, (at, esc.group_key))

    def _pop_due(self, now: datetime) -> list[str]:
        keys: list[str] = []
        while self._heap and self._heap[0][0] <= now:
            at, key = heapq.heappop(self._heap)
            if self._due.get(key) == at:  # else a stale entry: the escalation was rescheduled
                del self._due[key]
                keys.append(key)
        return keys

    def _next_wake(self, idle: float) -> float:
        candidates = [self._clock.timestamp() + idle]
        candidates += [
            at.timestamp()
            for at in (self._heap[0][0] if self._heap else None, self._next_sweep, self._next_notice)
            if at
        ]
        return min(candidates)

    def _policy(self, esc: Escalation) -> EscalationPolicy | None:
        return self.settings.directory.policies.get(esc.policy)

    def _alerts(self, key: str) -> tuple[Alert, ...]:
        return () if self.groups is None else self.groups.alerts(key)

    def next_due(self) -> datetime | None:
        """When the loop next has a page or a handoff notice to send (None: nothing scheduled)."""
        while self._heap and self._due.get(self._heap[0][1]) != self._heap[0][0]:
            heapq.heappop(self._heap)  # stale: rescheduled or done
        found = [at for at in (self._heap[0][0] if self._heap else None, self._next_notice) if at is not None]
        return min(found) if found else None

    def escalation(self, key: str) -> Escalation | None:
        """The active escalation of a group, if any."""
        return self.active.get(key)
