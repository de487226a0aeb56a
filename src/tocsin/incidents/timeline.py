"""An incident's timeline as Markdown, for postmortems and chat."""

from __future__ import annotations

from collections.abc import Sequence

from tocsin.incidents.model import MILESTONES, SEVERITIES
from tocsin.store.incidents import Incident, TimelineEntry


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown(i: Incident, entries: Sequence[TimelineEntry]) -> str:
    """The incident's summary, key times, roles and every timeline entry as a Markdown document."""
    lines = [f"# Incident {i.id}: {i.title}", ""]
    lines += [f"- **Severity:** {i.severity} ({SEVERITIES[i.severity]})", f"- **Status:** {i.status}"]
    lines += [f"- **{role.capitalize()}:** {user}" for role, user in sorted(i.roles.items())]
    lines += [f"- **Alert group:** `{key}`" for key in i.alert_groups]
    for name in MILESTONES:
        at = getattr(i.times, name)
        lines.append(f"- **{name.replace('_', ' ').capitalize()}:** {at.isoformat() if at else '—'}")
    if i.summary:
        lines += ["", i.summary]
    lines += ["", "## Timeline", "", "| time (UTC) | who | what |", "|---|---|---|"]
    lines += [f"| {e.at.isoformat()} | {_cell(e.actor)} | {_cell(e.text)} |" for e in entries]
    return "\n".join(lines) + "\n"
