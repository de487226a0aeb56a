"""`/api/v1` views of the alert pipeline: groups, notification history, dead letters, silences, maintenance."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel, ConfigDict

from tocsin.labels import MatcherError, format_matchers, matches, parse_matchers
from tocsin.store.alerting import AlertStore
from tocsin.web import alert_views as v
from tocsin.web.deps import audit, runtime

router = APIRouter(prefix="/api/v1", tags=["alerts"])
STATES = "^(firing|silenced|inhibited|maintenance|resolved)$"


def alert_store(request: Request) -> AlertStore:
    """The pipeline's store."""
    return AlertStore(runtime(request).store)


@router.get("/alerts/groups", response_model=v.GroupList)
async def groups(request: Request, state: Annotated[str | None, Query(pattern=STATES)] = None) -> v.GroupList:
    """Alert groups, firing first: what is notified, silenced, inhibited or in maintenance."""
    rt = runtime(request)
    return v.group_list(rt.alerts, rt.clock.now(), state)


async def group_detail(request: Request, key: str) -> v.GroupDetail:
    """One group with its alerts and every notification attempt; 404 when unknown."""
    rt = runtime(request)
    group = rt.alerts.dispatcher.groups.get(key)
    if group is None:
        raise HTTPException(404, "no alert group with this key; GET /api/v1/alerts/groups lists them")
    history = await v.deliveries(alert_store(request), group_key=key, limit=200)
    return v.GroupDetail(group=v.group_view(rt.alerts, group, rt.clock.now()), deliveries=history)


@router.get("/alerts/group", response_model=v.GroupDetail)
async def group(request: Request, key: Annotated[str, Query(min_length=1)]) -> v.GroupDetail:
    """One group by its key (passed as a query parameter: keys contain slashes and braces)."""
    return await group_detail(request, key)


@router.get("/notifications", response_model=v.DeliveryList)
async def notifications(
    request: Request,
    status: Annotated[str | None, Query(pattern="^(pending|delivered|dead)$")] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> v.DeliveryList:
    """Notifications with every delivery attempt, newest first; `status=dead` lists dead letters."""
    store = alert_store(request)
    return v.DeliveryList(deliveries=await v.deliveries(store, status=status, limit=limit), counts=await store.counts())


@router.post("/notifications/{delivery_id}/retry", response_model=v.DeliveryView)
async def retry(request: Request, delivery_id: int) -> v.DeliveryView:
    """Queue a dead notification again (409 unless it is dead)."""
    rt, store = runtime(request), alert_store(request)
    if not await store.retry(delivery_id, rt.clock.now(), audit(request, "notification.retry", str(delivery_id))):
        raise HTTPException(409, f"notification {delivery_id} is not dead (or does not exist); only dead ones retry")
    rt.outbox.wake()
    [view] = [d for d in await v.deliveries(store, limit=1000) if d.id == delivery_id]
    return view


@router.get("/silences", response_model=v.SilenceList)
async def silences(request: Request) -> v.SilenceList:
    """Silences: active and pending first, with how many current alerts each matches."""
    rt = runtime(request)
    return v.silence_list(rt.alerts, rt.clock.now())


class PreviewRequest(BaseModel):
    """Matchers to preview, in Alertmanager syntax (`{alertname="Disk", env=~"prod.*"}`)."""

    model_config = ConfigDict(extra="forbid")
    matchers: str


@router.post("/silences/preview", response_model=v.SilencePreview)
async def preview(request: Request, body: PreviewRequest) -> v.SilencePreview:
    """The current alerts a silence with these matchers would mute."""
    try:
        parsed = parse_matchers(body.matchers)
    except MatcherError as exc:
        raise HTTPException(400, f"matchers: {exc}") from exc
    if not parsed:
        raise HTTPException(400, 'matchers: give at least one matcher, like alertname="Disk"')
    rt = runtime(request)
    now = rt.clock.now()
    hits = v.alert_views(
        rt.alerts, [s.alert for s in rt.alerts.alerts.values() if matches(parsed, s.alert.labels)], now
    )
    return v.SilencePreview(matchers=format_matchers(parsed), alerts=hits)


@router.get("/maintenance", response_model=v.MaintenanceList)
async def maintenance(request: Request) -> v.MaintenanceList:
    """Maintenance windows, whether each is active, and the next occurrences."""
    rt = runtime(request)
    return v.maintenance_list(rt.alerts, rt.clock.now())
