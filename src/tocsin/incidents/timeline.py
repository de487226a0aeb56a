"""An incident's timeline as Markdown, for postmortems and chat, and the rules for editing an entry."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

from tocsin.incidents.model import MILESTONES, IncidentError, Levels
from tocsin.store.incidents import Incident, TimelineEntry

PIN = "📌"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def shown(entries: Sequence[TimelineEntry], everything: bool = False) -> list[TimelineEntry]:
    """The entries an export shows: all of them with `everything`, else those not hidden from the postmortem."""
    return [e for e in entries if everything or not e.hidden]


def markdown(i: Incident, entries: Sequence[TimelineEntry], levels: Levels, everything: bool = False) -> str:
    """The incident's summary, key times, roles, impacts and timeline as Markdown; pinned entries are marked."""
    about = levels.get(i.severity, "no longer configured")
    lines = [f"# Incident {i.id}: {i.title}", ""]
    lines += [f"- **Severity:** {i.severity} ({about})", f"- **Status:** {i.status}"]
    lines += [f"- **{role.capitalize()}:** {user}" for role, user in sorted(i.roles.items())]
    lines += [f"- **Alert group:** `{key}`" for key in i.alert_groups]
    lines += [f"- **Affected {x.label}:** {x.impact.replace('_', ' ')}" for x in i.impacts]
    for name in MILESTONES:
        at = getattr(i.times, name)
        lines.append(f"- **{name.replace('_', ' ').capitalize()}:** {at.isoformat() if at else '—'}")
    if i.summary:
        lines += ["", i.summary]
    lines += ["", "## Timeline", "", "| time (UTC) | who | what |", "|---|---|---|"]
    for e in shown(entries, everything):
        marks = (f"{PIN} " if e.pinned else "") + ("(hidden) " if e.hidden else "")
        lines.append(f"| {e.at.isoformat()} | {_cell(e.actor)} | {marks}{_cell(e.text)} |")
    return "\n".join(lines) + "\n"


def edited(
    e: TimelineEntry,
    actor: str,
    now: datetime,
    *,
    pinned: bool | None = None,
    hidden: bool | None = None,
    text: str | None = None,
) -> TimelineEntry:
    """The entry after pinning, hiding or rewording it; a new text keeps the replaced one in `history`."""
    out = replace(e, pinned=e.pinned if pinned is None else pinned, hidden=e.hidden if hidden is None else hidden)
    if text is None or text.strip() == e.text:
        return out
    if not text.strip():
        raise IncidentError("text: an entry cannot be empty; hide it from the postmortem instead")
    replaced = {"at": now.isoformat(), "actor": actor, "text": e.text}  # who replaced which text, when
    return replace(out, text=text.strip(), edited_at=now, history=(*e.history, replaced))
