"""Automatic timeline entries for incidents linked to alert groups, kept in memory until written.

The recorder holds an index `group key → open incident ids`, so each alert event costs one
dict lookup and nothing at all for a group no open incident is linked to (alert ingest runs
at more than 10k alerts/s). It remembers, per incident and group, whether each alert was last
recorded firing or resolved, so an entry is written only when that changes (also across a
restart: the state is seeded from the entries already stored). Entries wait in `pending`
until the automation's loop writes them in one batch; nothing here does I/O.
"""

from __future__ import annotations

import contextlib
import logging
import math
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import datetime
from typing import Any

from tocsin.alerting.alert import Alert
from tocsin.clock import Signal
from tocsin.incidents.postmortem_model import Page
from tocsin.labels import Matcher, format_matchers
from tocsin.store.alerting import Delivery
from tocsin.store.incident_events import AlertStates
from tocsin.store.incidents import TimelineEntry

log = logging.getLogger(__name__)

ACTOR = "tocsin"
THRESHOLDS = (25, 50, 75, 100)  # % of an SLO's error budget consumed that is worth a timeline entry
ONCALL_PREFIX = "oncall:"  # the receiver of a page to one person (tocsin.oncall.contacts)


# pure entry builders


def alert_entry(group_key: str, alert: Alert, firing: bool, now: datetime) -> TimelineEntry:
    """`alert_fired` at the alert's start or `alert_resolved` at its end (never later than now)."""
    name = alert.labels.get("alertname", "alert")
    labels = format_matchers([Matcher(k, "=", v) for k, v in sorted(alert.labels.items())])
    note = alert.annotations.get("summary", "")
    at = min(alert.starts_at if firing else (alert.ends_at or now), now)
    detail: dict[str, Any] = {
        "group_key": group_key,
        "fingerprint": alert.fingerprint,
        "labels": dict(alert.labels),
        "starts_at": alert.starts_at.isoformat(),
        "ends_at": alert.ends_at.isoformat() if alert.ends_at and not firing else None,
        "generator_url": alert.generator_url,
    }
    verb = "fired" if firing else "resolved"
    text = f"alert {name} {verb}: {labels}" + (f" ({note})" if note and firing else "")
    return TimelineEntry(at, ACTOR, f"alert_{verb}", text, detail)


def notification_entry(d: Delivery, outcome: str, error: str, now: datetime) -> TimelineEntry:
    """`notification`: a delivery to one channel of a receiver succeeded or finally failed."""
    person = d.receiver.removeprefix(ONCALL_PREFIX) if d.receiver.startswith(ONCALL_PREFIX) else None
    who = f"paged {person}" if person else f"notified {d.receiver}"
    text = (
        f"{who} via {d.channel} ({d.reason})" if outcome == "delivered" else f"{who} via {d.channel}: failed: {error}"
    )
    detail = {
        "group_key": d.group_key,
        "receiver": d.receiver,
        "channel": d.channel,
        "reason": d.reason,
        "outcome": outcome,
        "error": error or None,
    }
    return TimelineEntry(now, ACTOR, "notification", text, detail)


def page_entry(page: Page) -> TimelineEntry:
    """`notification` for an on-call page read back from the outbox (sent before its group was linked)."""
    outcome = "delivered" if page.status == "delivered" else "failed"
    receiver = ONCALL_PREFIX + page.user
    text = f"paged {page.user} via {page.method} (escalation)" + ("" if outcome == "delivered" else ": failed")
    detail = {
        "group_key": page.group_key,
        "receiver": receiver,
        "channel": page.method,
        "reason": "escalation",
        "outcome": outcome,
        "error": None,
    }
    return TimelineEntry(page.at, ACTOR, "notification", text, detail)


def ack_entry(group_key: str, by: str, page: int | None, now: datetime) -> TimelineEntry:
    """`acknowledged`: someone acknowledged the page for a linked group."""
    return TimelineEntry(
        now, by, "acknowledged", f"page acknowledged by {by}", {"group_key": group_key, "by": by, "page": page}
    )


def delivery_event(group_key: str, receiver: str, channel: str, at: datetime) -> tuple[Any, ...]:
    """What identifies one settled delivery for `Recorder.once` (a page's outbox row settles once, at `at`)."""
    return ("notification", group_key, receiver, channel, round(at.timestamp() * 1000))


def ack_event(group_key: str, by: str, at: datetime) -> tuple[Any, ...]:
    """What identifies one acknowledgement for `Recorder.once`."""
    return ("acknowledged", group_key, by, round(at.timestamp() * 1000))


def budget_level(consumed: float) -> int:
    """How many of THRESHOLDS the consumed share (1.0 = the whole budget) has reached; 0 without data."""
    if math.isnan(consumed):
        return 0
    return sum(1 for t in THRESHOLDS if consumed * 100 >= t)


def budget_entries(slo: str, before: int, after: int, consumed: float, now: datetime) -> list[TimelineEntry]:
    """One `slo_budget` entry per threshold crossed upwards between two levels."""
    return [
        TimelineEntry(
            now,
            ACTOR,
            "slo_budget",
            f"SLO {slo} has consumed {THRESHOLDS[level - 1]}% of its error budget ({consumed:.1%} now)",
            {"slo": slo, "threshold": THRESHOLDS[level - 1], "consumed": round(consumed, 6)},
        )
        for level in range(before + 1, after + 1)
    ]


def slo_alert_entry(
    slo: str, tier: str, severity: str, firing: bool, figures: Mapping[str, Any], now: datetime
) -> TimelineEntry:
    """`slo_alert`: an SLO's burn-rate alert fired or resolved."""
    verb = "fired" if firing else "resolved"
    text = f"SLO {slo} burn-rate alert {verb} ({severity}, {tier})"
    return TimelineEntry(
        now, ACTOR, "slo_alert", text, {"slo": slo, "tier": tier, "severity": severity, "firing": firing, **figures}
    )


class Recorder:
    """The index of linked groups and the entries waiting to be written; see the module docstring."""

    def __init__(self, on_error: Callable[[str], None]) -> None:
        self.open: dict[str, set[int]] = {}  # group key → open incidents linked to it
        self.last_linked: dict[str, datetime] = {}  # group key → latest link to any incident
        self.states: AlertStates = {}
        self.levels: dict[tuple[int, str], int] = {}  # (incident, SLO) → budget level last seen
        self.pending: list[tuple[int, TimelineEntry]] = []
        self.noted: set[tuple[Any, ...]] = set()  # (incident, event...) of pages and acks timelined already
        self.wake = Signal()
        self._on_error = on_error

    @contextlib.contextmanager
    def guard(self, what: str) -> Iterator[None]:
        """Log and count any failure instead of passing it to the caller (the pipeline must go on)."""
        try:
            yield
        except Exception:
            log.exception("incident automation failed (%s)", what)
            self._on_error(what)

    def add(self, incident_id: int, entry: TimelineEntry) -> None:
        """Queue one entry for the next batch."""
        self.pending.append((incident_id, entry))
        self.wake.set()

    def once(self, incident_id: int, event: tuple[Any, ...]) -> bool:
        """True the first time `event` is offered for the incident.

        Why: a group's pages and acknowledgements are read back from the store when it is linked,
        while the live hooks already report new ones, so one settling during that read reaches both.
        """
        marker = (incident_id, *event)
        if marker in self.noted:
            return False
        self.noted.add(marker)
        return True

    def take(self) -> list[tuple[int, TimelineEntry]]:
        """The queued entries, leaving none."""
        taken, self.pending = self.pending, []
        return taken

    # the index

    def link(self, incident_id: int, key: str, at: datetime) -> bool:
        """Index an open incident's group; False when it was indexed already."""
        ids = self.open.setdefault(key, set())
        if incident_id in ids:
            return False
        ids.add(incident_id)
        self.note_link(key, at)
        return True

    def note_link(self, key: str, at: datetime) -> None:
        """Remember that group `key` was linked at `at` (keeping the latest link)."""
        last = self.last_linked.get(key)
        if last is None or at > last:
            self.last_linked[key] = at

    def unlink(self, incident_id: int, key: str) -> None:
        """Forget one link (the incident was resolved or the group unlinked)."""
        ids = self.open.get(key)
        if ids is not None:
            ids.discard(incident_id)
            if not ids:
                del self.open[key]
        self.states.pop((incident_id, key), None)

    def forget(self, incident_id: int) -> None:
        """Forget a resolved incident everywhere."""
        for key in [k for k, ids in self.open.items() if incident_id in ids]:
            self.unlink(incident_id, key)
        for pair in [p for p in self.levels if p[0] == incident_id]:
            del self.levels[pair]
        self.noted = {m for m in self.noted if m[0] != incident_id}

    def linked(self) -> set[tuple[int, str]]:
        """Every (incident, group key) pair indexed."""
        return {(i, key) for key, ids in self.open.items() for i in ids}

    # events

    def observe(self, key: str, alerts: Iterable[Alert], now: datetime) -> None:
        """Alerts of group `key` as they stand at `now`: an entry for each one whose state changed."""
        ids = self.open.get(key)
        if not ids:
            return  # the common case: one lookup, nothing else
        with self.guard("alerts"):
            for alert in alerts:
                self._observe(key, ids, alert, now)

    def _observe(self, key: str, ids: set[int], alert: Alert, now: datetime) -> None:
        firing = not alert.resolved_at(now)
        for incident_id in ids:
            seen = self.states.setdefault((incident_id, key), {})
            before = seen.get(alert.fingerprint)
            if before == firing or (before is None and not firing):
                continue  # unchanged, or resolved before it was ever seen firing
            seen[alert.fingerprint] = firing
            self.add(incident_id, alert_entry(key, alert, firing, now))

    def delivered(self, d: Delivery, outcome: str, error: str, now: datetime) -> None:
        """A delivery settled for good (`delivered` or `failed`): an entry if its group is linked."""
        ids = self.open.get(d.group_key)
        if not ids or outcome == "skipped":
            return
        with self.guard("notification"):
            for incident_id in ids:
                if self.once(incident_id, delivery_event(d.group_key, d.receiver, d.channel, now)):
                    self.add(incident_id, notification_entry(d, outcome, error, now))

    def budget(self, incident_id: int, slo: str, consumed: float, now: datetime) -> None:
        """The budget an SLO of this incident has consumed now: entries for thresholds crossed since last seen."""
        level, before = budget_level(consumed), self.levels.get((incident_id, slo))
        self.levels[(incident_id, slo)] = level
        if before is not None and level > before:
            for entry in budget_entries(slo, before, level, consumed, now):
                self.add(incident_id, entry)

    def watch_only(self, pairs: set[tuple[int, str]]) -> None:
        """Stop following the budgets of (incident, SLO) pairs not in `pairs`."""
        for pair in [p for p in self.levels if p not in pairs]:
            del self.levels[pair]
