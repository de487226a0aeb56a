"""A postmortem as Markdown, rendered from its facts: pure and deterministic (tests compare golden files).

The generated parts (impact, detection, response, timeline, action items) sit between marker
comments; "regenerate facts" replaces only what is between them, so the text people wrote
(summary, contributing factors, what went well or poorly, luck, lessons) is never touched.
The HTML view comes from `markdown-it-py` with raw HTML disabled and the markers removed.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime

from markdown_it import MarkdownIt

from tocsin.incidents.postmortem_model import Facts, human_duration

GENERATED = ("impact", "detection", "response", "timeline", "actions")
_MARKER = re.compile(r"^<!-- tocsin:(begin|end) (\w+) -->[ \t]*\n?", re.MULTILINE)

BLAMELESS = (
    "> This postmortem is blameless: it asks how our systems and processes let this happen and how to "
    "make them safer, not who made a mistake. People acted on what they knew at the time; write down "
    "what they knew and why their actions made sense."
)

IMPACT_LABELS = {
    "degraded_performance": "degraded performance",
    "partial_outage": "partial outage",
    "major_outage": "major outage",
    "under_maintenance": "under maintenance",
}


def _at(at: datetime | None) -> str:
    return at.strftime("%Y-%m-%d %H:%M:%S UTC") if at else "unknown"


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\r", "").replace("\n", " ").strip()


def _number(value: float) -> str:
    return f"{value:.0f}" if value == int(value) else f"{value:.2f}"


def _percent(value: float) -> str:
    return f"{value:.2f}%" if value < 100 else f"{value:.1f}%"


def _impact(f: Facts) -> list[str]:
    lines = [
        f"- **Impact window:** {_at(f.window_start)} → {_at(f.window_end)} ({human_duration(f.durations.impact)}), "
        "from impact start (or detection) to resolution (or mitigation)",
    ]
    services = [a for a in f.affected if a.kind == "service"]
    components = [a for a in f.affected if a.kind == "component"]
    named = ", ".join(f"{a.name} ({IMPACT_LABELS.get(a.impact, a.impact)})" for a in services)
    lines.append(f"- **Services:** {named or 'none recorded on the incident'}")
    if components:
        shown = ", ".join(f"{a.page}/{a.name} ({IMPACT_LABELS.get(a.impact, a.impact)})" for a in components)
        lines.append(f"- **Status page components:** {shown}")
    lines += ["", *_slo_table(f)]
    return lines


def _slo_table(f: Facts) -> list[str]:
    if not f.slos:
        return ["No SLO covers the affected services or alerted in the linked alert groups."]
    lines = [
        "Error budget consumed over the impact window, as a share of each SLO's budget for its window:",
        "",
        "| SLO | service | objective | window | budget consumed | bad / total events |",
        "|---|---|---|---|---|---|",
    ]
    for s in f.slos:
        spent = (
            f"**{_percent(s.consumed)}** (over {_number(f.threshold)}%)" if s.over_threshold else _percent(s.consumed)
        )
        lines.append(
            f"| {_cell(s.slo)} | {_cell(s.service) or '—'} | {s.objective:g}% | {s.window} | {spent} "
            f"| {_number(s.bad_events)} / {_number(s.total_events)} |"
        )
    lines.append("")
    over = [s.slo for s in f.slos if s.over_threshold]
    if over:
        lines.append(
            f"**A postmortem is required:** {', '.join(over)} lost more than {_number(f.threshold)}% of "
            "the error budget (the error budget policy)."
        )
    else:
        lines.append(f"No SLO lost more than {_number(f.threshold)}% of its error budget.")
    return lines


def _detection(f: Facts) -> list[str]:
    lines = [f"- **How:** {_source(f.source)}"]
    if f.first_alert is not None:
        a = f.first_alert
        about = f" ({_cell(a.summary)})" if a.summary else ""
        lines.append(f"- **First alert:** `{a.alertname}`{about}, firing since {_at(a.starts_at)}")
    elif f.alert_groups:
        lines.append("- **First alert:** the linked alert groups' alerts are no longer kept")
    else:
        lines.append("- **First alert:** none; no alert group is linked to the incident")
    lines.append(f"- **Detected:** {_at(f.times.get('detected'))}")
    lines.append(f"- **Time to detect:** {human_duration(f.durations.to_detect)} (impact start → detected)")
    return lines


SOURCES = {"console": "the console", "api": "the API", "cli": "the CLI"}
ALERT_GROUP_SOURCE = "alert_group"


def _source(source: str | None) -> str:
    if not source:
        return "declared by a person (how was not recorded)"
    if source.startswith("rule:"):
        return f"declared automatically by the declare rule `{source.removeprefix('rule:')}`"
    if source in SOURCES:
        return f"declared by a person from {SOURCES[source]}"
    if source == ALERT_GROUP_SOURCE:
        return "declared from an alert group"
    return f"declared from {source}"


def _response(f: Facts) -> list[str]:
    start = f.window_start
    since_what = "impact start" if f.times.get("impact_start") else "detection"
    lines = [f"| milestone | time | since {since_what} |", "|---|---|---|"]
    for name, at in f.times.items():
        since = human_duration((at - start).total_seconds()) if at and start else "—"
        lines.append(f"| {name.replace('_', ' ')} | {_at(at) if at else '—'} | {since} |")
    d = f.durations
    lines += [
        "",
        f"- **Time to acknowledge:** {human_duration(d.to_acknowledge)} (detected → acknowledged)",
        f"- **Time to mitigate:** {human_duration(d.to_mitigate)} (impact start → mitigated)",
        f"- **Time to resolve:** {human_duration(d.to_resolve)} (impact start → resolved)",
    ]
    roles = ", ".join(f"{role} {user}" for role, user in sorted(f.roles.items()))
    lines.append(f"- **Roles:** {roles or 'none assigned'}")
    lines += ["", *_pages(f), "", *_updates(f)]
    return lines


def _pages(f: Facts) -> list[str]:
    if not f.pages:
        return ["Nobody was paged through on-call for the linked alert groups."]
    lines = ["Who was paged:", "", "| time | who | how | delivery |", "|---|---|---|---|"]
    lines += [f"| {_at(p.at)} | {_cell(p.user)} | {_cell(p.method)} | {p.status} |" for p in f.pages]
    acked = "; ".join(f"{a.by} at {_at(a.at)}" for a in f.acks)
    lines += ["", f"Acknowledged by: {acked or 'nobody (the page was not acknowledged)'}."]
    return lines


def _updates(f: Facts) -> list[str]:
    if not f.updates:
        return ["No public status-page updates were posted."]
    lines = ["Public updates:", "", "| time | status | update |", "|---|---|---|"]
    lines += [f"| {_at(u.at)} | {u.status} | {_cell(u.body)} |" for u in f.updates]
    return lines


def _timeline(f: Facts) -> list[str]:
    if not f.timeline:
        return ["The timeline is empty."]
    lines: list[str] = []
    pinned = [m for m in f.timeline if m.pinned]
    if pinned:
        lines += ["Key moments:", ""]
        lines += [f"- {_at(m.at)}: {_cell(m.text)}" for m in pinned]
        lines.append("")
    lines += ["| time | who | what |", "|---|---|---|"]
    for m in f.timeline:
        what = f"**{_cell(m.text)}**" if m.pinned else _cell(m.text)
        lines.append(f"| {_at(m.at)} | {_cell(m.actor)} | {what} |")
    return lines


def _actions(f: Facts) -> list[str]:
    if not f.actions:
        return ["No follow-up actions yet: add them on the incident so they are tracked to done."]
    lines = ["| action | kind | owner | status | due |", "|---|---|---|---|---|"]
    for a in f.actions:
        due = a.due.strftime("%Y-%m-%d") if a.due else "—"
        owner = _cell(a.owner or "") or "unassigned"
        lines.append(f"| {_cell(a.title)} | {a.kind} | {owner} | {a.status.replace('_', ' ')} | {due} |")
    return lines


SECTIONS: dict[str, Callable[[Facts], list[str]]] = {
    "impact": _impact,
    "detection": _detection,
    "response": _response,
    "timeline": _timeline,
    "actions": _actions,
}


def generated(name: str, f: Facts) -> str:
    """One generated section's text between its markers (without a trailing newline)."""
    body = "\n".join(SECTIONS[name](f)).rstrip()
    return f"<!-- tocsin:begin {name} -->\n{body}\n<!-- tocsin:end {name} -->"


def _prompts(*lines: str) -> list[str]:
    return [f"- _{line}_" for line in lines]


def markdown(f: Facts) -> str:
    """The first draft of the postmortem: generated facts plus prompts for what people write."""
    summary = f.summary.strip() or "_What happened, in two or three sentences, for someone who was not there._"
    lines = [
        f"# Postmortem: {f.title}",
        "",
        f"Incident #{f.incident_id} · {f.severity} · drafted by tocsin at {_at(f.generated_at)}",
        "",
        BLAMELESS,
        "",
        "## Summary",
        "",
        summary,
        "",
        "## Impact",
        "",
        generated("impact", f),
        "",
        "## Detection",
        "",
        generated("detection", f),
        "",
        "_Could we have noticed sooner? Which signal would have told us first?_",
        "",
        "## Response",
        "",
        generated("response", f),
        "",
        "## Timeline",
        "",
        generated("timeline", f),
        "",
        "## Contributing factors",
        "",
        "There is rarely a single root cause: list every condition that had to hold for this to happen",
        "(technical, process, organisational).",
        "",
        *_prompts("A contributing factor", "Add more: what made the failure possible, larger or harder to fix?"),
        "",
        "## What went well",
        "",
        *_prompts("What helped us detect, understand or fix it?"),
        "",
        "## What went poorly",
        "",
        *_prompts("Where did tools, alerts, runbooks or handoffs slow us down?"),
        "",
        "## Where we got lucky",
        "",
        *_prompts("What could easily have made this worse, and did not?"),
        "",
        "## Action items",
        "",
        generated("actions", f),
        "",
        "## Lessons",
        "",
        *_prompts("What do we know now that we did not know before?"),
    ]
    return "\n".join(lines) + "\n"


def regenerate(body: str, f: Facts) -> tuple[str, list[str]]:
    """`body` with every generated section whose markers are intact replaced from `f`; and the sections skipped."""
    skipped: list[str] = []
    for name in GENERATED:
        pattern = re.compile(
            rf"^<!-- tocsin:begin {name} -->[ \t]*\n.*?^<!-- tocsin:end {name} -->[ \t]*$", re.MULTILINE | re.DOTALL
        )
        if len(pattern.findall(body)) != 1:
            skipped.append(name)
            continue
        body = pattern.sub(generated(name, f).replace("\\", "\\\\"), body)
    return body, skipped


_MD = MarkdownIt("commonmark", {"html": False, "typographer": False}).enable(["table", "strikethrough"])


def html(body: str) -> str:
    """The postmortem as HTML: raw HTML in the Markdown is shown as text, unsafe link schemes are dropped.

    Headings move one level down (`#` becomes `<h2>`) so the document sits under the title of
    the page that shows it.
    """
    env: dict[str, object] = {}
    tokens = _MD.parse(_MARKER.sub("", body), env)
    for token in tokens:
        if token.type in ("heading_open", "heading_close"):
            token.tag = f"h{min(int(token.tag[1]) + 1, 6)}"
    rendered: str = _MD.renderer.render(tokens, _MD.options, env)
    return rendered
