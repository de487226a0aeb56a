"""What incident automation reads and writes (SQLite and PostgreSQL): links, alert states, services, appends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from tocsin.incidents.model import Impact, Status
from tocsin.incidents.service import Changes, Declaration, IncidentService
from tocsin.store.incident_events import IncidentEvents
from tocsin.store.incidents import IncidentStore, TimelineEntry
from tocsin.store.store import Store

T0 = datetime(2026, 6, 1, 12, 0, tzinfo=UTC)


async def test_links_states_services_and_appends(store: Store) -> None:
    service, events = IncidentService(IncidentStore(store)), IncidentEvents(store)
    assert await events.links() == type(await events.links())()  # empty store: nothing linked
    first = await service.declare(Declaration("A", "SEV1", group_key="g1"), "tocsin", T0, None)
    later = T0 + timedelta(minutes=5)
    second = await service.declare(Declaration("B", "SEV2", group_key="g1"), "tocsin", later, None)
    other = await service.declare(Declaration("C", "SEV3", group_key="g2"), "tocsin", T0, None)
    impacts = (Impact("service", "", "api", "major_outage"), Impact("component", "public", "API", "partial_outage"))
    await service.change(first.id, Changes(first.version, impacts=impacts), "alice", later, None)
    await service.change(other.id, Changes(other.version, status=Status.RESOLVED), "alice", later, None)

    links = await events.links()
    assert links.open == {"g1": {first.id, second.id}}  # g2's only incident is resolved
    assert links.last_linked == {"g1": later, "g2": T0}
    assert await events.affected_services() == [(first.id, "api")]

    fired = {"group_key": "g1", "fingerprint": "f1"}
    await events.append(
        [
            (first.id, TimelineEntry(T0, "tocsin", "alert_fired", "fired", fired)),
            (
                first.id,
                TimelineEntry(T0 + timedelta(seconds=1), "tocsin", "alert_fired", "f2", {**fired, "fingerprint": "f2"}),
            ),
            (first.id, TimelineEntry(T0 + timedelta(seconds=2), "tocsin", "alert_resolved", "resolved", fired)),
            (second.id, TimelineEntry(later, "tocsin", "notification", "sent", {"group_key": "g1"})),
        ]
    )
    await events.append([])  # nothing to write is not an error
    states = await events.alert_states([first.id, second.id])
    assert states == {(first.id, "g1"): {"f1": False, "f2": True}}
    kinds = [e.kind for e in await service.store.timeline(second.id)]
    assert kinds == ["declared", "alert_group", "notification"]
    assert await events.alert_states([]) == {}
