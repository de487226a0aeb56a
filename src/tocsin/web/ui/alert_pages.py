"""Console pages of the alert pipeline: groups, a group's history, silences, maintenance, dead letters.

Each page has a `.json` twin rendered from the same view. Forms work without JavaScript;
the CSRF check is the access guard's.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from tocsin.alerting.silence import Silence
from tocsin.config.duration import parse_duration
from tocsin.labels import MatcherError, format_matchers, matches, parse_matchers
from tocsin.oncall.views import EscalationView, escalation_view
from tocsin.web import alert_views as v
from tocsin.web.api.alerts import STATES, alert_store, group_detail
from tocsin.web.api.incidents import open_incident_of
from tocsin.web.deps import access, audit, principal, runtime
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.render import error_page, render, twin

router = APIRouter(include_in_schema=False)


async def _groups(request: Request, state: str | None) -> v.GroupList:
    rt = runtime(request)
    return v.group_list(rt.alerts, rt.clock.now(), state)


@router.get("/alerts.json")
async def alerts_json(request: Request, state: Annotated[str | None, Query(pattern=STATES)] = None) -> JSONResponse:
    """JSON twin of the alerts page."""
    return twin(await _groups(request, state))


@router.get("/alerts")
async def alerts_page(request: Request, state: Annotated[str | None, Query(pattern=STATES)] = None) -> Response:
    """Alert groups, firing first, with what suppresses the others."""
    return render(request, "alerts.html", await _groups(request, state), active="alerts", state=state)


@router.get("/alerts/group.json")
async def group_json(request: Request, key: Annotated[str, Query(min_length=1)]) -> JSONResponse:
    """JSON twin of a group's page."""
    return twin(await group_detail(request, key))


def _escalation(request: Request, key: str) -> EscalationView | None:
    oncall = runtime(request).oncall
    esc = oncall.active.get(key)
    if esc is None:
        return None
    return escalation_view(esc, oncall.settings.directory.policies.get(esc.policy), runtime(request).clock.now())


@router.get("/alerts/group")
async def group_page(request: Request, key: Annotated[str, Query(min_length=1)]) -> Response:
    """One group: its alerts, its escalation, and every notification with every attempt."""
    detail = await group_detail(request, key)
    silence = format_matchers(parse_matchers(_group_matchers(detail.group.labels)))
    return render(
        request,
        "alert_group.html",
        detail,
        active="alerts",
        silence_matchers=silence,
        escalation=_escalation(request, key),
        incident=await open_incident_of(request, key),
    )


async def _page_action(request: Request, key: str, action: str) -> Response:
    oncall, actor = runtime(request).oncall, principal(request).actor
    outcome = await (oncall.acknowledge(key, actor) if action == "acknowledge" else oncall.resolve(key, actor))
    if outcome.status == "unknown":
        why = "this group is not being paged" if action == "acknowledge" else "no firing alert group with this key"
        return error_page(request, 404, f"Cannot {action}: {why}.")
    await access(request).store.record(audit(request, f"alert.{action}", key, outcome=outcome.status))
    return RedirectResponse(f"/alerts/group?key={quote(key, safe='')}", status_code=303)


@router.post("/alerts/group/ack")
async def acknowledge_form(request: Request, key: Annotated[str, Query(min_length=1)]) -> Response:
    """The Acknowledge button: stops the group's escalation (audited)."""
    return await _page_action(request, key, "acknowledge")


@router.post("/alerts/group/resolve")
async def resolve_form(request: Request, key: Annotated[str, Query(min_length=1)]) -> Response:
    """The Resolve button: ends the group's firing alerts and its escalation (audited)."""
    return await _page_action(request, key, "resolve")


def _group_matchers(labels: dict[str, str]) -> str:
    inner = ", ".join(f'{k}="{val}"' for k, val in sorted(labels.items()))
    return "{" + inner + "}"


# silences


class SilenceForm(BaseModel):
    """The new-silence form with its preview."""

    matchers: str = ""
    duration: str = "2h"
    comment: str = ""
    error: str | None = None
    preview: list[v.AlertView] = []


def _preview(request: Request, form: SilenceForm) -> SilenceForm:
    if not form.matchers.strip():
        return form
    try:
        parsed = parse_matchers(form.matchers)
    except MatcherError as exc:
        return form.model_copy(update={"error": f"matchers: {exc}"})
    rt = runtime(request)
    hits = [s.alert for s in rt.alerts.alerts.values() if matches(parsed, s.alert.labels)]
    return form.model_copy(update={"preview": v.alert_views(rt.alerts, hits, rt.clock.now())})


@router.get("/silences.json")
async def silences_json(request: Request) -> JSONResponse:
    """JSON twin of the silences page."""
    rt = runtime(request)
    return twin(v.silence_list(rt.alerts, rt.clock.now()))


@router.get("/silences")
async def silences_page(request: Request) -> Response:
    """Silences: active and pending first, with how many current alerts each mutes."""
    rt = runtime(request)
    return render(request, "silences.html", v.silence_list(rt.alerts, rt.clock.now()), active="silences")


@router.get("/silences/new")
async def new_silence(request: Request, matchers: str = "", duration: str = "2h") -> Response:
    """The new-silence form, prefilled (e.g. from an alert group) and with a preview of what it mutes."""
    form = _preview(request, SilenceForm(matchers=matchers, duration=duration))
    return render(request, "silence_form.html", form, active="silences")


@router.post("/silences")
async def create_silence(request: Request) -> Response:
    """Create a silence from the form (audited); on a problem, show the form again with the reason."""
    data = await form_values(request)
    form = SilenceForm(
        matchers=form_text(data, "matchers"), duration=form_text(data, "duration"), comment=form_text(data, "comment")
    )
    if form_text(data, "preview"):
        return render(request, "silence_form.html", _preview(request, form), active="silences")
    rt = runtime(request)
    now = rt.clock.now()
    try:
        parsed = tuple(parse_matchers(form.matchers))
        length = parse_duration(form.duration)
        if length <= timedelta(0):
            raise ValueError("duration must be positive, like 2h")
        silence = Silence(str(uuid.uuid4()), parsed, now, now + length, principal(request).actor, form.comment.strip())
    except (MatcherError, ValueError) as exc:
        error = form.model_copy(update={"error": str(exc)})
        return render(request, "silence_form.html", _preview(request, error), status=400, active="silences")
    entry = audit(
        request, "silence.create", silence.id, matchers=format_matchers(parsed), ends_at=silence.ends_at.isoformat()
    )
    await rt.alerts.put_silence(silence, entry)
    return RedirectResponse("/silences", status_code=303)


@router.post("/silences/{silence_id}/expire")
async def expire_silence(request: Request, silence_id: str) -> RedirectResponse:
    """Expire a silence now (audited)."""
    rt = runtime(request)
    if silence_id not in rt.alerts.silences:
        raise HTTPException(404, "no silence with this id")
    await rt.alerts.expire_silence(silence_id, audit(request, "silence.expire", silence_id))
    return RedirectResponse("/silences", status_code=303)


# maintenance and notifications


@router.get("/maintenance.json")
async def maintenance_json(request: Request) -> JSONResponse:
    """JSON twin of the maintenance page."""
    rt = runtime(request)
    return twin(v.maintenance_list(rt.alerts, rt.clock.now()))


@router.get("/maintenance")
async def maintenance_page(request: Request) -> Response:
    """Maintenance windows with their next occurrences."""
    rt = runtime(request)
    return render(request, "maintenance.html", v.maintenance_list(rt.alerts, rt.clock.now()), active="alerts")


async def _deliveries(request: Request, status: str | None) -> v.DeliveryList:
    store = alert_store(request)
    return v.DeliveryList(deliveries=await v.deliveries(store, status=status, limit=200), counts=await store.counts())


@router.get("/notifications.json")
async def notifications_json(
    request: Request, status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None
) -> JSONResponse:
    """JSON twin of the notifications page."""
    return twin(await _deliveries(request, status))


@router.get("/notifications")
async def notifications_page(
    request: Request, status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None
) -> Response:
    """Notifications and every delivery attempt; dead letters can be retried."""
    view = await _deliveries(request, status)
    return render(request, "notifications.html", view, active="alerts", shown_status=status)


@router.post("/notifications/{delivery_id}/retry")
async def retry_form(request: Request, delivery_id: int) -> RedirectResponse:
    """The retry button of a dead notification (audited)."""
    rt = runtime(request)
    entry = audit(request, "notification.retry", str(delivery_id))
    if not await alert_store(request).retry(delivery_id, rt.clock.now(), entry):
        raise HTTPException(409, f"notification {delivery_id} is not dead; only dead ones can be retried")
    rt.outbox.wake()
    return RedirectResponse("/notifications?status=dead", status_code=303)
