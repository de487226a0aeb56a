"""Incident updates and reminders, the pure part: templates, pages, audience, messages, when to remind.

An internal update reaches the incident's audience as a *notice* (a `Notification` with a
`subject`) through each receiver's channels; channels render notices with the built-in notice
templates and know nothing else about incidents. Nothing here does I/O or reads a clock.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection, Iterable, Mapping, Sequence
from dataclasses import replace
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Literal

from tocsin.alerting.alert import Alert
from tocsin.incidents.model import Impact, IncidentError
from tocsin.notify.model import Notification
from tocsin.notify.outbox import Integration, encode
from tocsin.notify.render import format_duration, format_time
from tocsin.store.alerting import Delivery
from tocsin.store.incident_updates import IncidentUpdate, QuietIncident
from tocsin.store.incidents import Incident

if TYPE_CHECKING:  # incidents.config and config.models import each other: only names are needed here
    from tocsin.incidents.config import UpdateTemplate

Audience = Literal["internal", "public"]
AUDIENCES: tuple[Audience, ...] = ("internal", "public")
TEMPLATE_FIELDS = ("title", "severity", "status", "components", "url", "id")
UPDATE_ALERT, REMINDER_ALERT = "IncidentUpdate", "IncidentUpdateReminder"
REASON = "incident"  # the outbox rows' reason, shown with each delivery in the console
# Channels an update is not sent through: a PagerDuty event would open a page, and the on-call
# cue only starts escalations. Updates inform; they never page anyone.
NOT_FOR_NOTICES = frozenset({"pagerduty", "oncall"})
_FIELD = re.compile(r"\{(" + "|".join(TEMPLATE_FIELDS) + r")\}")


def find_template(templates: Sequence[UpdateTemplate], name: str) -> UpdateTemplate:
    """The configured template called `name`, or an IncidentError listing the known ones."""
    for template in templates:
        if template.name == name:
            return template
    known = ", ".join(t.name for t in templates) or "none (configure incidents.templates)"
    raise IncidentError(f"template: no update template is called {name!r}; known: {known}")


def fill(body: str, values: Mapping[str, str]) -> str:
    """`body` with each known `{field}` replaced; other braces are left as written."""
    return _FIELD.sub(lambda m: values.get(m.group(1), m.group(0)), body)


def components_phrase(impacts: Sequence[Impact]) -> str:
    """The affected components (else services) as prose: `API, Web and Checkout`; `our services` if none."""
    names = [i.name for i in impacts if i.kind == "component"] or [i.name for i in impacts if i.kind == "service"]
    unique = list(dict.fromkeys(names))
    if not unique:
        return "our services"
    return unique[0] if len(unique) == 1 else f"{', '.join(unique[:-1])} and {unique[-1]}"


def template_values(i: Incident, status: str, impacts: Sequence[Impact], url: str) -> dict[str, str]:
    """What `{title}`, `{severity}`, `{status}`, `{components}`, `{url}` and `{id}` stand for."""
    return {
        "title": i.title,
        "severity": i.severity,
        "status": status,
        "components": components_phrase(impacts),
        "url": url,
        "id": str(i.id),
    }


def snapshot(impacts: Iterable[Impact]) -> dict[str, str]:
    """The affected status-page components as `{"page/component": impact}`."""
    return {f"{i.page}/{i.name}": i.impact for i in impacts if i.kind == "component"}


def publish_pages(
    audience: Audience, requested: Sequence[str] | None, impacts: Sequence[Impact], known: Collection[str]
) -> tuple[str, ...]:
    """The status pages an update is shown on: none for internal ones; named or affected pages for public ones."""
    if audience == "internal":
        if requested:
            raise IncidentError("pages: internal updates are not published; drop pages or post a public update")
        return ()
    if requested is not None:
        unknown = [p for p in requested if p not in known]
        if unknown:
            names = ", ".join(sorted(known)) or "none"
            raise IncidentError(f"pages: no status page is called {unknown[0]!r}; known: {names}")
        pages = tuple(dict.fromkeys(requested))
    else:
        pages = tuple(dict.fromkeys(i.page for i in impacts if i.kind == "component" and i.page in known))
    if not pages:
        raise IncidentError(
            "pages: a public update needs a status page to publish to; add an affected component of a "
            "status page to the incident, or name the pages (GET /api/v1/status-pages lists them)"
        )
    return pages


def routed_receivers(group_keys: Iterable[str], routes: Mapping[str, str]) -> list[str]:
    """The receivers of the routes that made these alert groups (`routes`: route key → receiver)."""
    found = [receiver for key in group_keys for prefix, receiver in routes.items() if key.startswith(prefix + ":{")]
    return list(dict.fromkeys(found))


def audience_receivers(configured: Iterable[str], linked: Iterable[str]) -> list[str]:
    """`incidents.audience` then the linked groups' receivers, each once; people (`oncall:`) are not an audience."""
    return [r for r in dict.fromkeys([*configured, *linked]) if not r.startswith("oncall:")]


def notice_integrations(
    receivers: Iterable[str], integrations: Mapping[str, Sequence[Integration]]
) -> list[Integration]:
    """The channels of `receivers` that a notice goes through (not PagerDuty, not the on-call cue)."""
    return [i for r in receivers for i in integrations.get(r, ()) if i.kind not in NOT_FOR_NOTICES]


def idempotency_key(*parts: object) -> str:
    """A stable key for one delivery, the same on every retry."""
    return hashlib.sha256("|".join(map(str, parts)).encode()).hexdigest()[:40]


def notice(
    alertname: str, i: Incident | QuietIncident, subject: str, text: str, url: str, now: datetime, external_url: str
) -> Notification:
    """A notice about incident `i`: one informational alert whose description is `text`, linking to `url`."""
    labels = {
        "alertname": alertname,
        "incident_id": str(i.id),
        "incident_severity": str(i.severity),
        "incident_status": str(i.status),
    }
    annotations = {"summary": subject, "description": text}
    key = f"incident:{i.id}:{alertname}:{now.isoformat()}"
    return Notification(
        receiver="",
        group_key=key,
        group_labels={"incident_id": str(i.id)},
        common_labels=labels,
        common_annotations=annotations,
        alerts=(Alert(labels, now, annotations, None, url),),
        status="firing",
        reason="update",
        external_url=external_url,
        idempotency_key=idempotency_key(key),
        created_at=now,
        links=((f"Open incident {i.id}", url),) if url else (),
        subject=subject,
    )


def update_notice(i: Incident, u: IncidentUpdate, url: str, external_url: str) -> Notification:
    """The notice of an internal update: `[SEV2] Incident 12 update: <title>`, the text, status and author."""
    subject = f"[{i.severity}] Incident {i.id} update: {i.title}"
    text = f"{u.body}\n\nStatus: {u.status} · posted by {u.actor}"
    return notice(UPDATE_ALERT, i, subject, text, url, u.at, external_url)


def deliveries(n: Notification, through: Sequence[Integration], salt: object) -> list[Delivery]:
    """One outbox row per channel; `salt` (e.g. the update id) makes the keys unique per message."""
    out = []
    for integration in through:
        key = idempotency_key(n.idempotency_key, salt, integration.receiver, integration.index)
        addressed = replace(n, receiver=integration.receiver, idempotency_key=key)
        payload = encode(addressed)
        out.append(
            Delivery(key, n.group_key, integration.receiver, integration.index, integration.kind, REASON, payload)
        )
    return out


# reminders


def quiet_since(q: QuietIncident) -> datetime:
    """Since when nobody posted an update: the last update, else the declaration."""
    return max(q.declared_at, q.last_update_at) if q.last_update_at else q.declared_at


def reminder_due_at(q: QuietIncident, period: timedelta) -> datetime:
    """When `q`'s next reminder is due: `period` after the last update, or after the last reminder since then."""
    since = quiet_since(q)
    if q.reminded_at is not None and q.reminded_at >= since:
        return q.reminded_at + period
    return since + period


def reminder_due(q: QuietIncident, period: timedelta | None, now: datetime) -> bool:
    """Whether to remind about `q` now (never without a period, never for a resolved incident)."""
    return period is not None and q.status != "resolved" and now >= reminder_due_at(q, period)


def reminder_message(q: QuietIncident, now: datetime, url: str) -> tuple[str, str]:
    """The reminder's subject and text."""
    quiet = format_duration(now - quiet_since(q))
    subject = f"[{q.severity}] Incident {q.id}: no update for {quiet}"
    last = f"since {format_time(q.last_update_at)}" if q.last_update_at else "since it was declared"
    text = (
        f"Incident {q.id} ({q.title}) is {q.status} and nobody has posted an update {last}. "
        f"Please post an internal or public update: {url}"
    )
    if not q.commander:
        text += "\n\nNo commander is assigned, so this reminder goes to the incident's audience."
    return subject, text
