"""Gathering a postmortem's facts: the incident and its records, the alert pipeline's alerts of its
linked groups, on-call pages, and the error budget each affected SLO spent (from the SLO engine).

This is the one place that reads across domains for a postmortem; the decisions (which SLOs,
the first alert, the budget policy) are small pure helpers, the rest is reads.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.alerting.alert import Alert
from tocsin.alerting.dispatch import group_key
from tocsin.alerting.route import Route
from tocsin.incidents.model import MILESTONES
from tocsin.incidents.postmortem_model import (
    Affected,
    Facts,
    FirstAlert,
    SloSpend,
    durations,
    impact_window,
    over,
    spend_percent,
)
from tocsin.pipeline.engine import AlertEngine
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.model import Slo
from tocsin.slo.views import consumed, window_text
from tocsin.store.incident_facts import IncidentFacts
from tocsin.store.incidents import Incident

POSTMORTEM_KIND = "postmortem"  # timeline entries about the postmortem itself are not part of its timeline


def group_alerts(route: Route, alerts: Iterable[Alert], key: str) -> list[Alert]:
    """The alerts (firing or resolved, still kept) that route into the group `key`."""
    return [a for a in alerts if any(group_key(r, r.opts.group_labels(a.labels)) == key for r in route.match(a.labels))]


def first_alert(by_group: Mapping[str, Sequence[Alert]]) -> FirstAlert | None:
    """The earliest alert of the linked groups (ties broken by fingerprint), or None."""
    found = [(a.starts_at, a.fingerprint, key, a) for key, alerts in by_group.items() for a in alerts]
    if not found:
        return None
    at, _, key, alert = min(found, key=lambda f: (f[0], f[1]))
    summary = alert.annotations.get("summary", "")
    return FirstAlert(key, alert.labels.get("alertname", ""), at, summary)


def affected_slos(
    slos: Iterable[Slo], affected: Sequence[Affected], by_group: Mapping[str, Sequence[Alert]]
) -> list[tuple[Slo, str]]:
    """SLOs of an affected service or alerting in a linked group, by name, with why each is included."""
    services = {a.name for a in affected if a.kind == "service"}
    alerted = {a.labels.get("slo", "") for alerts in by_group.values() for a in alerts}
    out: list[tuple[Slo, str]] = []
    for slo in sorted(slos, key=lambda s: s.name):
        if slo.service and slo.service in services:
            out.append((slo, f"service {slo.service}"))
        elif slo.name in alerted:
            out.append((slo, "alert in a linked group"))
    return out


@dataclass(frozen=True, slots=True)
class FactSources:
    """Where facts come from; `threshold` is read at each use so a config reload applies."""

    records: IncidentFacts
    slo: SloEvaluator | None
    alerts: AlertEngine | None
    threshold: Callable[[], float]

    def alerts_by_group(self, keys: Sequence[str]) -> dict[str, list[Alert]]:
        """The kept alerts of each linked alert group."""
        if self.alerts is None:
            return {k: [] for k in keys}
        route = self.alerts.setup.config.route
        kept = [s.alert for s in self.alerts.alerts.values()]
        return {k: group_alerts(route, kept, k) for k in keys}


async def slo_spend(
    evaluator: SloEvaluator | None,
    chosen: Sequence[tuple[Slo, str]],
    window: tuple[datetime | None, datetime | None],
    threshold: float,
) -> list[SloSpend]:
    """Budget each chosen SLO spent over the impact window (none when the window is unknown or empty)."""
    start, end = window
    if evaluator is None or start is None or end is None or end <= start:
        return []
    out: list[SloSpend] = []
    for slo, why in chosen:
        spent = await consumed(evaluator, slo.name, start, end)
        percent = spend_percent(spent.consumed)
        out.append(
            SloSpend(
                slo=slo.name,
                service=slo.service,
                objective=slo.objective_percent,
                window=window_text(slo),
                consumed=percent,
                bad_events=spent.bad_events,
                total_events=spent.total_events,
                over_threshold=over(percent, threshold),
                why=why,
            )
        )
    return out


async def gather(sources: FactSources, incident: Incident, now: datetime) -> Facts:
    """The facts of `incident` as of `now`."""
    records, iid = sources.records, incident.id
    times = {name: getattr(incident.times, name) for name in MILESTONES}
    start, end = impact_window(times)
    affected = await records.affected(iid)
    by_group = sources.alerts_by_group(incident.alert_groups)
    first = first_alert(by_group)
    threshold = sources.threshold()
    chosen = affected_slos(sources.slo.slos.values() if sources.slo else (), affected, by_group)
    spend = await slo_spend(sources.slo, chosen, (start, end), threshold)
    since = min(at for at in (start, first.starts_at if first else None, incident.created_at) if at is not None)
    return Facts(
        incident_id=iid,
        title=incident.title,
        severity=str(incident.severity),
        summary=incident.summary,
        generated_at=now,
        source=await records.source(iid),
        roles=dict(sorted(incident.roles.items())),
        times=times,
        window_start=start,
        window_end=end,
        durations=durations(times),
        affected=affected,
        slos=spend,
        threshold=threshold,
        required=any(s.over_threshold for s in spend),
        alert_groups=list(incident.alert_groups),
        first_alert=first,
        pages=await records.pages(incident.alert_groups, since, end),
        acks=await records.acks(incident.alert_groups, since, end),
        timeline=[m for m in await records.timeline(iid) if m.kind != POSTMORTEM_KIND],
        actions=await records.actions(iid),
        updates=await records.public_updates(iid),
    )
