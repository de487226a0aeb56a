"""Follow-up actions and timeline edits: overdue, edits, export bookkeeping, pin/hide/reword, Markdown export."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.incidents.actions import Action, edited_action, new_action
from tocsin.incidents.exporter import idempotency_key, payload
from tocsin.incidents.model import IncidentError, Milestones, Status
from tocsin.incidents.timeline import edited, markdown
from tocsin.store.incidents import Incident, TimelineEntry

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def action(status: str = "open", due: datetime | None = T0, **kw: object) -> Action:
    base = Action(1, "add replica lag alert", "bob", "detect", status, due, T0 - DAY, T0 - DAY)
    return Action(**{**{f: getattr(base, f) for f in base.__slots__}, "status": status, "due": due, **kw})  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("a", "now", "overdue"),
    [
        (action("open", T0), T0 + DAY, True),  # due yesterday, still open
        (action("in_progress", T0), T0 + DAY, True),  # being worked on still counts
        (action("done", T0), T0 + DAY, False),  # finished late is not overdue
        (action("wont_do", T0), T0 + DAY, False),  # dropped is not overdue
        (action("open", T0), T0, False),  # due right now is not yet overdue
        (action("open", None), T0 + 365 * DAY, False),  # no due date, never overdue
    ],
)
def test_overdue(a: Action, now: datetime, overdue: bool) -> None:
    assert a.overdue(now) is overdue


@pytest.mark.parametrize(
    ("exported_at", "updated_at", "pending"),
    [
        (None, T0, True),  # never exported
        (T0, T0, False),  # exported after its last change
        (T0, T0 + timedelta(milliseconds=1), True),  # changed after the export
    ],
)
def test_pending_export(exported_at: datetime | None, updated_at: datetime, pending: bool) -> None:
    assert action(exported_at=exported_at, updated_at=updated_at).pending_export is pending


def test_new_action_is_open_and_checked() -> None:
    a = new_action(3, "  write runbook ", "", "process", None, T0)
    assert (a.title, a.owner, a.status, a.kind, a.updated_at) == ("write runbook", None, "open", "process", T0)
    with pytest.raises(IncidentError, match="kind: 'fix' is not one of mitigate, prevent, detect, process"):
        new_action(3, "x", None, "fix", None, T0)
    with pytest.raises(IncidentError, match="title: say what should be done"):
        new_action(3, " ", None, "prevent", None, T0)


def test_edits_describe_changes_and_always_read_as_pending() -> None:
    exported = action(exported_at=T0, updated_at=T0)
    after, changes = edited_action(exported, {"status": "done", "owner": None}, T0)  # same instant as the export
    assert (after.status, after.owner) == ("done", None)
    assert changes == ["owner bob → none", "status open → done"]
    assert after.updated_at > T0  # strictly after the export: it goes out again
    assert after.pending_export
    same, none = edited_action(exported, {"status": "open"}, T0 + DAY)
    assert (same, none) == (exported, [])  # nothing changed: not bumped
    for values, error in [
        ({"status": "closed"}, "status: 'closed' is not one of open, in_progress, done, wont_do"),
        ({"priority": 1}, "unknown field 'priority'"),
    ]:
        with pytest.raises(IncidentError, match=error):
            edited_action(exported, values, T0)


def test_export_payload_and_key() -> None:
    a = action(id=7, exported_at=None)
    incident = Incident("DB down", "SEV2", Status.RESOLVED, "", "alice", T0, T0, id=4)
    body = payload(a, incident, "https://ops.example.com/", T0 + DAY)
    assert body["event"] == "created"
    assert body["incident"] == {
        "id": 4,
        "title": "DB down",
        "severity": "SEV2",
        "status": "resolved",
        "url": "https://ops.example.com/incidents/4",
    }
    assert (body["action"]["id"], body["action"]["overdue"]) == (7, True)
    assert payload(action(id=7, exported_at=T0), incident, "", T0)["event"] == "updated"
    assert idempotency_key(a) == idempotency_key(action(id=7))  # every retry of one change shares a key
    assert idempotency_key(a) != idempotency_key(action(id=7, updated_at=T0))  # the next change gets a new one


NOTE = TimelineEntry(T0, "alice", "note", "restarted db", id=5)


def test_entry_edits_keep_history() -> None:
    pinned = edited(NOTE, "bob", T0 + DAY, pinned=True)
    assert (pinned.pinned, pinned.hidden, pinned.history) == (True, False, ())
    reworded = edited(pinned, "bob", T0 + DAY, text="restarted db-1 (primary)")
    assert reworded.text == "restarted db-1 (primary)"
    assert reworded.edited_at == T0 + DAY
    assert reworded.history == ({"at": (T0 + DAY).isoformat(), "actor": "bob", "text": "restarted db"},)
    twice = edited(reworded, "carol", T0 + 2 * DAY, text="restarted db-1")
    assert [h["text"] for h in twice.history] == ["restarted db", "restarted db-1 (primary)"]
    assert edited(twice, "carol", T0, text=" restarted db-1 ") == twice  # same text: no new history
    with pytest.raises(IncidentError, match="text: an entry cannot be empty"):
        edited(NOTE, "bob", T0, text="  ")


def test_markdown_marks_pins_and_leaves_out_hidden() -> None:
    incident = Incident("DB down", "OLD", Status.INVESTIGATING, "", "alice", T0, T0, Milestones(detected=T0), id=4)
    entries = [
        TimelineEntry(T0, "alice", "note", "pinned one", pinned=True),
        TimelineEntry(T0, "alice", "note", "noise", hidden=True),
    ]
    text = markdown(incident, entries, {"SEV1": "critical"})
    assert "**Severity:** OLD (no longer configured)" in text  # a removed severity still shows
    assert "| 📌 pinned one |" in text
    assert "noise" not in text
    assert "| (hidden) noise |" in markdown(incident, entries, {}, everything=True)
