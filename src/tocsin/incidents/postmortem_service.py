"""Postmortems: drafted when an incident resolves (or on demand), edited with a version check,
reviewed through draft → in review → published, each change versioned, timelined and audited.

Reopening and resolving an incident again keeps the existing postmortem and everything people
wrote in it; "regenerate facts" (in draft) refreshes only the generated sections.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import replace
from datetime import datetime

from tocsin.incidents.model import Status
from tocsin.incidents.postmortem import markdown, regenerate
from tocsin.incidents.postmortem_facts import FactSources, gather
from tocsin.incidents.postmortem_model import (
    Facts,
    PostmortemError,
    PostmortemState,
    check_editable,
    check_transition,
    facts_json,
)
from tocsin.incidents.service import IncidentService
from tocsin.pipeline.engine import AlertEngine
from tocsin.slo.evaluator import SloEvaluator
from tocsin.store.access_records import AuditEntry
from tocsin.store.incident_facts import IncidentFacts
from tocsin.store.incidents import Incident, TimelineEntry, VersionConflict
from tocsin.store.postmortems import Postmortem, PostmortemExists, PostmortemNotFound, PostmortemStore
from tocsin.store.store import Store

log = logging.getLogger(__name__)

SYSTEM = "tocsin"  # the actor of drafts written when an incident resolves
MAX_BODY = 200_000  # characters of Markdown

Gather = Callable[[Incident, datetime], Awaitable[Facts]]


def _note(at: datetime, actor: str, text: str, **detail: object) -> TimelineEntry:
    return TimelineEntry(at, actor, "postmortem", text, dict(detail))


def system_audit(action: str, incident_id: int, at: datetime, **detail: object) -> AuditEntry:
    """The audit entry of a change tocsin makes by itself (drafting on resolve)."""
    return AuditEntry(at, SYSTEM, "system", action, str(incident_id), "tocsin", dict(detail))


def check_body(body: str) -> str:
    """The body to store, or PostmortemError when it is empty or too long."""
    if not body.strip():
        raise PostmortemError("body: the postmortem cannot be empty")
    if len(body) > MAX_BODY:
        raise PostmortemError(f"body: {len(body)} characters is more than the {MAX_BODY} a postmortem may have")
    return body.replace("\r\n", "\n")


class PostmortemService:
    """Postmortem changes against the store; the incident service is used to find incidents."""

    def __init__(self, store: PostmortemStore, incidents: IncidentService, gather: Gather) -> None:
        self.store, self._incidents, self._gather = store, incidents, gather

    async def get(self, incident_id: int) -> Postmortem:
        """The incident's postmortem; IncidentNotFound or PostmortemNotFound saying how to get one."""
        await self._incidents.get(incident_id)
        found = await self.store.get(incident_id)
        if found is None:
            raise PostmortemNotFound(
                f"incident {incident_id} has no postmortem yet: one is drafted when the incident resolves, "
                f"or POST /api/v1/incidents/{incident_id}/postmortem drafts it for a resolved incident"
            )
        return found

    async def create(self, incident_id: int, actor: str, now: datetime, entry: AuditEntry | None) -> Postmortem:
        """Draft the postmortem of a resolved incident (PostmortemExists if it has one)."""
        incident = await self._incidents.get(incident_id)
        if incident.status is not Status.RESOLVED:
            raise PostmortemError(
                f"incident {incident_id} is {incident.status}: a postmortem is drafted once the incident is resolved"
            )
        facts = await self._gather(incident, now)
        body = markdown(facts)
        draft = Postmortem(incident_id, "draft", 1, body, facts_json(facts), facts.required, now, now, actor)
        note = _note(now, actor, "postmortem drafted", state="draft", required=facts.required)
        await self.store.create(draft, note, entry)
        return await self.get(incident_id)

    async def on_incident_change(self, before: Incident, after: Incident) -> None:
        """Incident listener: draft the postmortem when an incident resolves and has none yet."""
        if after.status is not Status.RESOLVED or before.status is Status.RESOLVED:
            return
        try:
            if await self.store.get(after.id) is None:
                entry = system_audit("postmortem.create", after.id, after.updated_at, trigger="resolved")
                await self.create(after.id, SYSTEM, after.updated_at, entry)
        except PostmortemExists:
            return  # drafted meanwhile (by a person or another node)
        except Exception:  # the incident change is stored already; drafting can be done on demand
            log.exception("drafting the postmortem of incident %d failed", after.id)

    async def _current(self, incident_id: int, version: int) -> Postmortem:
        current = await self.get(incident_id)
        if current.version != version:
            raise VersionConflict(
                f"the postmortem of incident {incident_id} is at version {current.version}, not {version}: "
                "someone saved it after you opened it; reload, merge your text and save again"
            )
        return current

    async def edit(
        self, incident_id: int, version: int, body: str, actor: str, now: datetime, entry: AuditEntry | None
    ) -> Postmortem:
        """Save a new text over `version` (VersionConflict when stale; published ones are read-only)."""
        text = check_body(body)
        current = await self._current(incident_id, version)
        check_editable(PostmortemState(current.state))
        if text == current.body:
            return current
        return await self.store.save(replace(current, body=text, updated_at=now, updated_by=actor), None, entry)

    async def move(
        self,
        incident_id: int,
        version: int,
        state: PostmortemState,
        actor: str,
        now: datetime,
        entry: AuditEntry | None,
    ) -> Postmortem:
        """Move the postmortem to `state` (an allowed move only), timelined on the incident."""
        current = await self._current(incident_id, version)
        check_transition(PostmortemState(current.state), state)
        published = now if state is PostmortemState.PUBLISHED else current.published_at
        moved = replace(current, state=state.value, updated_at=now, updated_by=actor, published_at=published)
        text = f"postmortem {current.state.replace('_', ' ')} → {state.value.replace('_', ' ')}"
        note = _note(now, actor, text, old=current.state, new=state.value, version=current.version + 1)
        return await self.store.save(moved, note, entry)

    async def regenerate(
        self, incident_id: int, version: int, actor: str, now: datetime, entry: AuditEntry | None
    ) -> tuple[Postmortem, list[str]]:
        """Refresh the generated sections and facts of a draft; the sections skipped (markers removed)."""
        current = await self._current(incident_id, version)
        if current.state != PostmortemState.DRAFT.value:
            raise PostmortemError("facts can be regenerated in draft only; move the postmortem back to draft first")
        facts = await self._gather(await self._incidents.get(incident_id), now)
        body, skipped = regenerate(current.body, facts)
        changed = replace(
            current,
            body=body,
            facts=facts_json(facts),
            required=facts.required,
            generated_at=now,
            updated_at=now,
            updated_by=actor,
        )
        return await self.store.save(changed, None, entry), skipped


def wire(
    store: Store,
    incidents: IncidentService,
    slo: SloEvaluator | None,
    alerts: AlertEngine | None,
    threshold: Callable[[], float],
) -> PostmortemService:
    """The runtime's postmortem service, listening to incident changes to draft on resolve."""
    sources = FactSources(IncidentFacts(store.database), slo, alerts, threshold)

    async def facts_of(incident: Incident, now: datetime) -> Facts:
        return await gather(sources, incident, now)

    service = PostmortemService(PostmortemStore(store), incidents, facts_of)
    incidents.listeners.append(service.on_incident_change)
    return service
