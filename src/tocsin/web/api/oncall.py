"""`/api/v1/oncall/*`: who is on call, schedules, shifts, the simulator, escalations, keys; ack and resolve.

Calendar feeds are served at secret URLs (`/calendars/{secret}.ics`) that calendar apps
fetch without credentials. See docs/api.md#on-call and docs/oncall/acknowledge.md.
"""

from __future__ import annotations

import hmac
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, HTTPException, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.oncall import views
from tocsin.oncall.acks import calendar_secret
from tocsin.oncall.engine import OncallEngine, Outcome
from tocsin.oncall.ical import schedule_calendar, user_calendar
from tocsin.oncall.keys import KeyProblem, Kind
from tocsin.oncall.simulate import Simulation, simulate
from tocsin.web.deps import access, audit, now, principal, runtime

router = APIRouter(tags=["oncall"])
FEED_BACK, FEED_AHEAD = timedelta(days=14), timedelta(weeks=8)


def engine(request: Request) -> OncallEngine:
    """The on-call engine of this process (503 until on-call is wired into the runtime)."""
    found = getattr(runtime(request), "oncall", None)
    if not isinstance(found, OncallEngine):
        raise HTTPException(503, "on-call is not running in this process")
    return found


@router.get("/api/v1/oncall/now", response_model=views.OnCallNow)
async def on_call_now(request: Request) -> views.OnCallNow:
    """Who is on call now for every schedule, and whom every service's first step pages."""
    return views.on_call_now(engine(request).settings.directory, now(request))


class CalendarLink(BaseModel):
    """A calendar feed's secret URL."""

    kind: Literal["schedule", "user"]
    name: str
    url: str


class Calendars(BaseModel):
    """`GET /api/v1/oncall/calendars`: every feed's URL (anyone holding one can read that calendar)."""

    calendars: list[CalendarLink]


def _feeds(oncall: OncallEngine) -> dict[str, tuple[Literal["schedule", "user"], str]]:
    """Every feed by its secret."""
    directory, key = oncall.settings.directory, oncall.calendar_key
    feeds: dict[str, tuple[Literal["schedule", "user"], str]] = {}
    for name in directory.schedules:
        feeds[calendar_secret(key, "schedule", name)] = ("schedule", name)
    for name in directory.users:
        feeds[calendar_secret(key, "user", name)] = ("user", name)
    return feeds


def _feed_url(oncall: OncallEngine, secret: str) -> str:
    return f"{oncall.settings.external_url.rstrip('/')}/calendars/{secret}.ics"


@router.get("/api/v1/oncall/calendars", response_model=Calendars)
async def calendars(request: Request) -> Calendars:
    """The secret URLs of every schedule's and every person's calendar feed."""
    oncall = engine(request)
    links = [CalendarLink(kind=k, name=n, url=_feed_url(oncall, s)) for s, (k, n) in _feeds(oncall).items()]
    return Calendars(calendars=links)


@router.get("/calendars/{secret}.ics")
async def calendar_feed(request: Request, secret: str) -> Response:
    """An iCalendar feed; the secret in the path is the credential."""
    oncall = engine(request)
    found = None
    for candidate, feed in _feeds(oncall).items():  # constant time per candidate: timing says nothing
        if hmac.compare_digest(candidate.encode(), secret.encode()):
            found = feed
    if found is None:
        raise HTTPException(404, "no calendar at this address")
    at, directory, url = now(request), oncall.settings.directory, _feed_url(oncall, secret)
    kind, name = found
    if kind == "schedule":
        body = schedule_calendar(
            directory.schedules[name], at - FEED_BACK, at + FEED_AHEAD, name=name, url=url, stamp=at
        )
    else:
        zone = directory.time_zone(name)
        schedules = list(directory.schedules.values())
        body = user_calendar(schedules, name, at - FEED_BACK, at + FEED_AHEAD, url=url, stamp=at, time_zone=zone)
    return Response(body, media_type="text/calendar; charset=utf-8")


@router.get("/api/v1/oncall/schedules/{name}", response_model=views.ScheduleTimeline)
async def schedule(
    request: Request,
    name: str,
    start: datetime | None = None,
    days: Annotated[int, Query(ge=1, le=92)] = 14,
) -> views.ScheduleTimeline:
    """A schedule's layers, overrides, final shifts and gaps from `start` (default now) for `days`."""
    directory = engine(request).settings.directory
    if name not in directory.schedules:
        raise HTTPException(404, f"no schedule {name!r}; GET /api/v1/oncall/now lists them")
    first = _aware(start) or now(request)
    return views.schedule_timeline(directory, name, first, first + timedelta(days=days))


@router.get("/api/v1/oncall/shifts", response_model=views.UserShifts)
async def shifts(
    request: Request,
    user: str | None = None,
    start: datetime | None = None,
    days: Annotated[int, Query(ge=1, le=92)] = 14,
) -> views.UserShifts:
    """A person's shifts (yours, by default) across every schedule, from `start` (default now) for `days`."""
    directory = engine(request).settings.directory
    who = user or principal(request).name
    if who not in directory.users:
        raise HTTPException(404, f"{who!r} is not under oncall.users; pass ?user=NAME")
    first = _aware(start) or now(request)
    return views.user_shifts(directory, who, first, first + timedelta(days=days))


@router.get("/api/v1/oncall/policies/{name}/simulate", response_model=Simulation)
async def simulate_policy(
    request: Request, name: str, at: datetime | None = None, urgency: Literal["high", "low"] = "high"
) -> Simulation:
    """Who the policy would tell, when and how, for an alert at `at` (default now) that nobody acknowledges."""
    directory = engine(request).settings.directory
    if name not in directory.policies:
        raise HTTPException(404, f"no escalation policy {name!r}")
    return simulate(directory, name, _aware(at) or now(request), urgency)


class EscalationList(BaseModel):
    """`GET /api/v1/oncall/escalations`: the groups being paged now."""

    escalations: list[views.EscalationView]


@router.get("/api/v1/oncall/escalations", response_model=EscalationList)
async def escalations(request: Request) -> EscalationList:
    """Every active escalation, newest first."""
    oncall, at = engine(request), now(request)
    policies = oncall.settings.directory.policies
    active = sorted(oncall.active.values(), key=lambda e: e.triggered_at, reverse=True)
    return EscalationList(escalations=[views.escalation_view(e, policies.get(e.policy), at) for e in active])


class ChangeView(BaseModel):
    """A change event received through PagerDuty's `/v2/change/enqueue`."""

    service: str
    key: str
    at: datetime
    summary: str
    event: dict[str, Any]


class ChangeList(BaseModel):
    """`GET /api/v1/oncall/changes`."""

    changes: list[ChangeView]


@router.get("/api/v1/oncall/changes", response_model=ChangeList)
async def changes(request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> ChangeList:
    """Change events (deploys, config changes), newest first."""
    found = await engine(request).changes(limit)
    return ChangeList(changes=[ChangeView.model_validate(c) for c in found])


class ActionResult(BaseModel):
    """What an acknowledge or resolve did."""

    status: str  # done, unknown, already_resolved, stale
    escalation: views.EscalationView | None


def _result(oncall: OncallEngine, outcome: Outcome, at: datetime) -> ActionResult:
    esc = outcome.escalation
    view = None if esc is None else views.escalation_view(esc, oncall.settings.directory.policies.get(esc.policy), at)
    return ActionResult(status=outcome.status, escalation=view)


@router.post("/api/v1/alerts/group/ack", response_model=ActionResult)
async def acknowledge(request: Request, key: Annotated[str, Query(min_length=1)]) -> ActionResult:
    """Acknowledge a paged group: its escalation stops (until its policy's `ack_timeout`)."""
    oncall = engine(request)
    outcome = await oncall.acknowledge(key, principal(request).actor)
    if outcome.status == "unknown":
        raise HTTPException(404, "this group is not being paged; GET /api/v1/oncall/escalations lists those that are")
    await access(request).store.record(audit(request, "alert.acknowledge", key, outcome=outcome.status))
    return _result(oncall, outcome, now(request))


@router.post("/api/v1/alerts/group/resolve", response_model=ActionResult)
async def resolve(request: Request, key: Annotated[str, Query(min_length=1)]) -> ActionResult:
    """Resolve a group now: its escalation stops and its firing alerts end."""
    oncall = engine(request)
    outcome = await oncall.resolve(key, principal(request).actor)
    if outcome.status == "unknown":
        raise HTTPException(404, "no firing alert group with this key; GET /api/v1/alerts/groups lists them")
    await access(request).store.record(audit(request, "alert.resolve", key, outcome=outcome.status))
    return _result(oncall, outcome, now(request))


class KeyView(BaseModel):
    """An integration key, without its secret."""

    service: str
    name: str
    kind: str
    source: str
    created_at: datetime | None
    created_by: str | None


class KeyList(BaseModel):
    """`GET /api/v1/oncall/integration-keys`."""

    keys: list[KeyView]


@router.get("/api/v1/oncall/integration-keys", response_model=KeyList)
async def integration_keys(request: Request) -> KeyList:
    """Every integration key (config and API-created), never the secrets."""
    owners = engine(request).keys.listed()
    return KeyList(keys=[KeyView.model_validate(o, from_attributes=True) for o in owners])


class NewKey(BaseModel):
    """A key to create."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=128)
    kind: Kind = "pagerduty"


class CreatedKey(KeyView):
    """A created key, with the secret shown this once."""

    key: str


@router.post("/api/v1/oncall/services/{name}/integration-keys", response_model=CreatedKey, status_code=201)
async def create_key(request: Request, name: str, body: NewKey) -> CreatedKey:
    """Create a random 32-character key for a service; the answer is the only time it is shown."""
    oncall, by, at = engine(request), principal(request).actor, now(request)
    try:
        key = await oncall.keys.create(name, body.name, body.kind, by, at)
    except KeyProblem as exc:
        raise HTTPException(409 if "already" in str(exc) else 404, str(exc)) from None
    await access(request).store.record(audit(request, "integration_key.create", f"{name}/{body.name}", kind=body.kind))
    return CreatedKey(service=name, name=body.name, kind=body.kind, source="api", created_at=at, created_by=by, key=key)


@router.delete("/api/v1/oncall/services/{name}/integration-keys/{key_name}", status_code=204)
async def delete_key(request: Request, name: str, key_name: str) -> Response:
    """Delete an API-created key: events sent with it are refused from now on."""
    if not await engine(request).keys.delete(name, key_name):
        raise HTTPException(
            404, f"service {name!r} has no API-created key {key_name!r} (config keys live in the config)"
        )
    await access(request).store.record(audit(request, "integration_key.delete", f"{name}/{key_name}"))
    return Response(status_code=204)


def _aware(at: datetime | None) -> datetime | None:
    """A query time without an offset is read as UTC."""
    return at if at is None or at.tzinfo is not None else at.replace(tzinfo=UTC)
