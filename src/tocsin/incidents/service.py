"""Declaring and changing incidents: each change is validated, timelined and audited in one write."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field, replace
from datetime import datetime

from tocsin.incidents.model import (
    MILESTONES,
    IncidentError,
    Milestones,
    Role,
    Severity,
    Status,
    check_order,
    check_resolved,
    move,
)
from tocsin.store.access_records import AuditEntry
from tocsin.store.incidents import Incident, IncidentStore, TimelineEntry, VersionConflict


class IncidentNotFound(LookupError):
    """No incident has this id."""


@dataclass(frozen=True, slots=True)
class Declaration:
    """What declaring an incident needs; `group_key` links the alert group it started from."""

    title: str
    severity: Severity
    summary: str = ""
    group_key: str | None = None


@dataclass(frozen=True, slots=True)
class Changes:
    """An edit of an incident seen at `version`; roles and times map to None to clear them."""

    version: int
    status: Status | None = None
    severity: Severity | None = None
    roles: dict[Role, str | None] = field(default_factory=dict)
    times: dict[str, datetime | None] = field(default_factory=dict)


def declared(d: Declaration, actor: str, now: datetime) -> tuple[Incident, list[TimelineEntry]]:
    """A new incident (investigating, detected now) and its first timeline entries."""
    if not d.title.strip():
        raise IncidentError("title: give the incident a title")
    groups = (d.group_key,) if d.group_key else ()
    incident = Incident(
        d.title.strip(), d.severity, Status.INVESTIGATING, d.summary, actor, now, now, Milestones(detected=now)
    )
    entries = [TimelineEntry(now, actor, "declared", f"declared {d.severity}: {incident.title}")]
    entries += [TimelineEntry(now, actor, "alert_group", f"linked alert group {k}", {"group_key": k}) for k in groups]
    return replace(incident, alert_groups=groups), entries


def changed(i: Incident, c: Changes, actor: str, now: datetime) -> tuple[Incident, list[TimelineEntry]]:
    """The incident after `c` (validated) and a timeline entry for each thing that changed."""
    entries: list[TimelineEntry] = []

    def note(kind: str, text: str, **detail: object) -> None:
        entries.append(TimelineEntry(now, actor, kind, text, dict(detail)))

    times, status = _edited_times(i.times, c.times), i.status
    for name in c.times:
        note("time", f"{name} set to {_iso(getattr(times, name))}", milestone=name, at=_iso(getattr(times, name)))
    if c.status is not None and c.status != i.status:
        times, status = move(i.status, c.status, times, now), c.status
        note("status", f"status {i.status} → {status}", old=i.status.value, new=status.value)
    check_order(times, now)
    check_resolved(status, times)
    severity = c.severity or i.severity
    if severity != i.severity:
        note("severity", f"severity {i.severity} → {severity}", old=i.severity.value, new=severity.value)
    roles = _edited_roles(i.roles, c.roles)
    for role in c.roles:
        note("role", f"{role.value}: {roles.get(role.value, 'nobody')}", role=role.value, user=roles.get(role.value))
    updated = replace(i, status=status, severity=severity, times=times, roles=roles, updated_at=now)
    return updated, entries


def _edited_times(times: Milestones, edits: dict[str, datetime | None]) -> Milestones:
    unknown = sorted(set(edits) - set(MILESTONES))
    if unknown:
        raise IncidentError(f"unknown time {unknown[0]!r}; use one of {', '.join(MILESTONES)}")
    return replace(times, **edits)  # names checked against MILESTONES above


def _edited_roles(roles: dict[str, str], edits: dict[Role, str | None]) -> dict[str, str]:
    out = dict(roles)
    for role, user in edits.items():
        if user:
            out[role.value] = user
        else:
            out.pop(role.value, None)
    return out


def _iso(at: datetime | None) -> str | None:
    return at.isoformat() if at else None


# Called after a change is stored with the incident before and after it (e.g. to draft the
# postmortem on resolve or notify a newly assigned role); a listener's failure is its own.
Listener = Callable[[Incident, Incident], Awaitable[None]]


class IncidentService:
    """Incident changes against the store: checks people exist, writes timeline and audit entries."""

    def __init__(self, store: IncidentStore) -> None:
        self.store = store
        self.listeners: list[Listener] = []

    async def declare(self, d: Declaration, actor: str, now: datetime, entry: AuditEntry | None) -> Incident:
        """Declare an incident; the new incident as stored."""
        incident, entries = declared(d, actor, now)
        return await self.get(await self.store.create(incident, entries, entry))

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
        for listener in self.listeners:
            await listener(current, after)
        return after

    async def note(self, incident_id: int, text: str, actor: str, now: datetime, entry: AuditEntry | None) -> None:
        """Add a human note to the incident's timeline."""
        if not text.strip():
            raise IncidentError("text: write something")
        await self.get(incident_id)
        await self.store.note(incident_id, TimelineEntry(now, actor, "note", text.strip()), entry)

    async def get(self, incident_id: int) -> Incident:
        """The incident, or IncidentNotFound."""
        found = await self.store.get(incident_id)
        if found is None:
            raise IncidentNotFound(f"no incident {incident_id}; GET /api/v1/incidents lists them")
        return found

    async def _check_users(self, roles: dict[Role, str | None]) -> None:
        for role, user in roles.items():
            if user and not await self.store.user_exists(user):
                raise IncidentError(f"{role.value}: unknown user {user!r}; GET /api/v1/users lists them")
