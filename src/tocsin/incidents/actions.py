"""Follow-up actions of an incident: the rules (pure) and the service that stores and timelines them.

An action has an owner (a known user, or nobody yet), a kind (mitigate, prevent, detect,
process), a status (open, in_progress, done, wont_do) and maybe a due date. It is overdue
when the due date has passed while it is still open or in progress. Every change bumps
`updated_at`, which is what the actions webhook exporter looks for.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any

from tocsin.clock import Signal
from tocsin.incidents.model import IncidentError
from tocsin.store.access_records import AuditEntry
from tocsin.store.incidents import TimelineEntry

if TYPE_CHECKING:
    from tocsin.incidents.service import IncidentService
    from tocsin.store.incident_actions import ActionStore

KINDS: tuple[str, ...] = ("mitigate", "prevent", "detect", "process")
STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "wont_do")
UNFINISHED = frozenset({"open", "in_progress"})
EDITABLE = ("title", "owner", "kind", "status", "due")
TICK = timedelta(milliseconds=1)  # the store's time precision


class ActionNotFound(LookupError):
    """No action with this id on this incident."""


@dataclass(frozen=True, slots=True)
class Action:
    """A follow-up action; `id` is 0 before it is first saved, `exported_at` None until the webhook took it."""

    incident_id: int
    title: str
    owner: str | None
    kind: str
    status: str
    due: datetime | None
    created_at: datetime
    updated_at: datetime
    exported_at: datetime | None = None
    id: int = 0

    def overdue(self, now: datetime) -> bool:
        """Due in the past and still open or in progress."""
        return self.due is not None and self.due < now and self.status in UNFINISHED

    @property
    def pending_export(self) -> bool:
        """Created or changed since the actions webhook last accepted it."""
        return self.exported_at is None or self.exported_at < self.updated_at


def check_kind(kind: str) -> str:
    """`kind` if it is one of KINDS, else an IncidentError listing them."""
    if kind not in KINDS:
        raise IncidentError(f"kind: {kind!r} is not one of {', '.join(KINDS)}")
    return kind


def check_status(status: str) -> str:
    """`status` if it is one of STATUSES, else an IncidentError listing them."""
    if status not in STATUSES:
        raise IncidentError(f"status: {status!r} is not one of {', '.join(STATUSES)}")
    return status


def _title(title: str) -> str:
    if not title.strip():
        raise IncidentError("title: say what should be done")
    return title.strip()


def new_action(
    incident_id: int, title: str, owner: str | None, kind: str, due: datetime | None, now: datetime
) -> Action:
    """A new open action, validated."""
    return Action(incident_id, _title(title), owner or None, check_kind(kind), "open", due, now, now)


def edited_action(a: Action, values: Mapping[str, Any], now: datetime) -> tuple[Action, list[str]]:
    """The action after `values` (any of EDITABLE; owner and due may be None) and what changed, in words."""
    unknown = sorted(set(values) - set(EDITABLE))
    if unknown:
        raise IncidentError(f"unknown field {unknown[0]!r}; change any of {', '.join(EDITABLE)}")
    after = replace(
        a,
        title=_title(values["title"]) if "title" in values else a.title,
        owner=values["owner"] or None if "owner" in values else a.owner,
        kind=check_kind(values["kind"]) if "kind" in values else a.kind,
        status=check_status(values["status"]) if "status" in values else a.status,
        due=values.get("due", a.due),
    )
    changes = [f"{name} {_word(getattr(a, name))} → {_word(getattr(after, name))}" for name in _changed(a, after)]
    return (replace(after, updated_at=_stamp(a, now)) if changes else a), changes


def _stamp(a: Action, now: datetime) -> datetime:
    """`now`, but strictly after the last change and the last export, so the change always reads as pending."""
    return max(now, a.updated_at + TICK, (a.exported_at or a.updated_at) + TICK)


def _changed(a: Action, b: Action) -> list[str]:
    return [name for name in EDITABLE if getattr(a, name) != getattr(b, name)]


def _word(value: object) -> str:
    if value is None:
        return "none"
    return value.isoformat() if isinstance(value, datetime) else str(value)


class ActionService:
    """Actions against the store: owners must exist, each change is timelined and audited, the exporter woken."""

    def __init__(self, store: ActionStore, incidents: IncidentService) -> None:
        self.store = store
        self._incidents = incidents
        self.changed = Signal()  # set after every stored change; the webhook exporter waits on it

    async def create(self, incident_id: int, a: Action, actor: str, now: datetime, entry: AuditEntry | None) -> Action:
        """Store a new action on an existing incident; the action as stored."""
        await self._incidents.get(incident_id)
        await self._check_owner(a.owner)
        text = f"action: {a.title} ({a.kind}{', owner ' + a.owner if a.owner else ''})"
        note = TimelineEntry(now, actor, "action", text, {"event": "created", "title": a.title})
        action_id = await self.store.create(a, note, entry)
        self.changed.set()
        return await self.get(incident_id, action_id)

    async def change(
        self,
        incident_id: int,
        action_id: int,
        values: Mapping[str, Any],
        actor: str,
        now: datetime,
        entry: AuditEntry | None,
    ) -> Action:
        """Apply `values` to the action; the action after it."""
        current = await self.get(incident_id, action_id)
        if values.get("owner"):
            await self._check_owner(values["owner"])
        after, changes = edited_action(current, values, now)
        if not changes:
            return current
        text = f"action {after.title!r}: " + "; ".join(changes)
        note = TimelineEntry(now, actor, "action", text, {"event": "updated", "action": action_id})
        await self.store.save(after, note, entry)
        self.changed.set()
        return await self.get(incident_id, action_id)

    async def get(self, incident_id: int, action_id: int) -> Action:
        """The action, or ActionNotFound."""
        found = await self.store.get(action_id)
        if found is None or found.incident_id != incident_id:
            raise ActionNotFound(f"incident {incident_id} has no action {action_id}; GET its /actions lists them")
        return found

    async def _check_owner(self, owner: str | None) -> None:
        if owner and not await self._incidents.store.user_exists(owner):
            raise IncidentError(f"owner: unknown user {owner!r}; GET /api/v1/users lists them")
