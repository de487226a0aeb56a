"""Declaring and changing incidents: each change is validated, timelined and audited in one write."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime
from typing import Any

from tocsin.incidents.actions import ActionService
from tocsin.incidents.model import (
    MILESTONES,
    Impact,
    IncidentError,
    Milestones,
    Status,
    check_order,
    check_resolved,
    impact_changes,
    move,
)
from tocsin.incidents.timeline import edited
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_actions import ActionStore
from tocsin.store.incidents import Incident, IncidentStore, TimelineEntry, VersionConflict

log = logging.getLogger(__name__)


class IncidentNotFound(LookupError):
    """No incident has this id."""


class EntryNotFound(LookupError):
    """The incident has no timeline entry with this id."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """What declaring an incident needs; `group_key` links the alert group it started from.

    `severity` is one of the configured levels (checked by the caller); `source` says how it was
    declared: console, api, cli, alert_group or rule:<name>.
    """

    title: str
    severity: str
    summary: str = ""
    group_key: str | None = None
    source: str = "api"
    times: Milestones | None = None  # known times (see `group_milestones`); default: detected now


def group_milestones(starts: Sequence[datetime], acks: Sequence[datetime], now: datetime) -> Milestones:
    """The times an incident declared from an alert group already knows.

    Detected when the group's earliest alert started (the monitoring noticed then, not when a
    person declared), acknowledged when its page was first acknowledged; impact start is left
    for people to fill in. Times in the future are ignored.
    """
    started = [at for at in starts if at <= now]
    detected = min(started) if started else now
    acked = [at for at in acks if detected <= at <= now]
    return Milestones(detected=detected, acknowledged=min(acked) if acked else None)


@dataclass(frozen=True, slots=True)
class Changes:
    """An edit of an incident seen at `version`; roles and times map to None to clear them.

    Severity and role names are checked against the configured ones by the caller; `impacts`
    (when not None) replaces the whole set.
    """

    version: int
    status: Status | None = None
    severity: str | None = None
    roles: dict[str, str | None] = field(default_factory=dict)
    times: dict[str, datetime | None] = field(default_factory=dict)
    title: str | None = None
    summary: str | None = None
    impacts: tuple[Impact, ...] | None = None


def declared(d: Declaration, actor: str, now: datetime) -> tuple[Incident, list[TimelineEntry]]:
    """A new incident (investigating; detected now unless `d.times` says) and its first timeline entries."""
    if not d.title.strip():
        raise IncidentError("title: give the incident a title")
    groups = (d.group_key,) if d.group_key else ()
    times = d.times or Milestones(detected=now)
    check_order(times, now)
    incident = Incident(d.title.strip(), d.severity, Status.INVESTIGATING, d.summary, actor, now, now, times)
    incident = replace(incident, source=d.source)
    entries = [TimelineEntry(now, actor, "declared", f"declared {d.severity}: {incident.title}", {"source": d.source})]
    entries += [TimelineEntry(now, actor, "alert_group", f"linked alert group {k}", {"group_key": k}) for k in groups]
    return replace(incident, alert_groups=groups), entries


def changed(i: Incident, c: Changes, actor: str, now: datetime) -> tuple[Incident, list[TimelineEntry]]:
    """The incident after `c` (validated) and a timeline entry for each thing that changed."""
    entries: list[TimelineEntry] = []

    def note(kind: str, text: str, **detail: object) -> None:
        entries.append(TimelineEntry(now, actor, kind, text, dict(detail)))

    times, status = _edited_times(i.times, c.times), i.status
    for name in [n for n in c.times if getattr(times, n) != getattr(i.times, n)]:
        note("time", f"{name} set to {_iso(getattr(times, name))}", milestone=name, at=_iso(getattr(times, name)))
    if c.status is not None and c.status != i.status:
        times, status = move(i.status, c.status, times, now), c.status
        note("status", f"status {i.status} → {status}", old=i.status.value, new=status.value)
    check_order(times, now)
    check_resolved(status, times)
    severity = c.severity or i.severity
    if severity != i.severity:
        note("severity", f"severity {i.severity} → {severity}", old=i.severity, new=severity)
    roles = _edited_roles(i.roles, c.roles)
    for role in c.roles:
        if roles.get(role) != i.roles.get(role):
            note("role", f"{role}: {roles.get(role, 'nobody')}", role=role, user=roles.get(role))
    title, summary = _texts(i, c, note)
    impacts = i.impacts if c.impacts is None else tuple(sorted(c.impacts))
    for old, new in impact_changes(i.impacts, impacts):
        what = (new or old).label  # type: ignore[union-attr]  # one of the pair is always set
        text = f"{what}: {new.impact.replace('_', ' ')}" if new else f"{what}: no longer affected"
        note("impact", text, old=old.impact if old else None, new=new.impact if new else None, target=what)
    updated = replace(
        i, title=title, summary=summary, status=status, severity=severity, times=times, roles=roles, impacts=impacts
    )
    return replace(updated, updated_at=now), entries


def _texts(i: Incident, c: Changes, note: Callable[..., None]) -> tuple[str, str]:
    title = i.title if c.title is None else c.title.strip()
    if not title:
        raise IncidentError("title: give the incident a title")
    if title != i.title:
        note("title", f"title: {title}", old=i.title, new=title)
    summary = i.summary if c.summary is None else c.summary.strip()
    if summary != i.summary:
        note("summary", "summary edited", old=i.summary, new=summary)
    return title, summary


def _edited_times(times: Milestones, edits: dict[str, datetime | None]) -> Milestones:
    unknown = sorted(set(edits) - set(MILESTONES))
    if unknown:
        raise IncidentError(f"unknown time {unknown[0]!r}; use one of {', '.join(MILESTONES)}")
    return replace(times, **edits)  # names checked against MILESTONES above


def _edited_roles(roles: dict[str, str], edits: dict[str, str | None]) -> dict[str, str]:
    out = dict(roles)
    for role, user in edits.items():
        if user:
            out[role] = user
        else:
            out.pop(role, None)
    return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


# Called after a change (or a declaration: `before` then has no links or roles) is stored, with
# the incident before and after it, e.g. to draft the postmortem on resolve, notify a newly
# assigned role or follow newly linked alert groups; a listener's failure is its own.
Listener = Callable[[Incident, Incident], Awaitable[None]]


class IncidentService:
    """Incident changes against the store: checks people exist, writes timeline and audit entries."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        self.listeners: list[Listener] = []
        self.actions = ActionService(ActionStore(store.root), self)

    async def declare(self, d: Declaration, actor: str, now: datetime, entry: AuditEntry | None) -> Incident:
        """Declare an incident; the new incident as stored."""
        incident, entries = declared(d, actor, now)
        after = await self.get(await self.store.create(incident, entries, entry))
        before = replace(after, alert_groups=(), roles={})  # listeners see the links and roles as new
        await self._tell(before, after)
        return after

    async def change(
        self, incident_id: int, c: Changes, actor: str, now: datetime, entry: AuditEntry | None
    ) -> Incident:
        """Apply `c` if the incident is still at `c.version` (else VersionConflict); the incident after it."""
        current = await self.get(incident_id)
        if current.version != c.version:
            raise VersionConflict(f"incident {incident_id} is at version {current.version}, not {c.version}; reload")
        await self._check_users(c.roles)
        updated, entries = changed(current, c, actor, now)
        if not entries:
            return current
        await self.store.save(updated, entries, entry)
        after = await self.get(incident_id)
        await self._tell(current, after)
        return after

    async def note(self, incident_id: int, text: str, actor: str, now: datetime, entry: AuditEntry | None) -> None:
        """Add a human note to the incident's timeline."""
        if not text.strip():
            raise IncidentError("text: write something")
        await self.get(incident_id)
        await self.store.note(incident_id, TimelineEntry(now, actor, "note", text.strip()), entry)

    async def edit_entry(
        self,
        incident_id: int,
        entry_id: int,
        edits: dict[str, Any],
        actor: str,
        now: datetime,
        entry: AuditEntry | None,
    ) -> TimelineEntry:
        """Pin, hide or reword a timeline entry (`edits`: pinned, hidden, text); the entry after it."""
        await self.get(incident_id)
        current = await self.store.entry(incident_id, entry_id)
        if current is None:
            raise EntryNotFound(f"incident {incident_id} has no timeline entry {entry_id}; GET its timeline.json")
        after = edited(current, actor, now, **edits)
        if after != current:
            await self.store.edit_entry(incident_id, after, entry)
        return after

    async def _tell(self, before: Incident, after: Incident) -> None:
        """Run every listener; the change is stored already, so a failing listener is logged, not raised."""
        for listener in self.listeners:
            try:
                await listener(before, after)
            except Exception:
                log.exception("incident %d: listener %r failed", after.id, listener)

    async def get(self, incident_id: int) -> Incident:
        """The incident, or IncidentNotFound."""
        found = await self.store.get(incident_id)
        if found is None:
            raise IncidentNotFound(f"no incident {incident_id}; GET /api/v1/incidents lists them")
        return found

    async def _check_users(self, roles: dict[str, str | None]) -> None:
        for role, user in roles.items():
            if user and not await self.store.user_exists(user):
                raise IncidentError(f"{role}: unknown user {user!r}; GET /api/v1/users lists them")
