"""Console pages of on-call: who is on call now, a schedule's timeline with override and swap forms, a policy.

Each page has a `.json` twin rendered from the same view. Forms work without JavaScript and
call the same actions as the JSON API (web/api/oncall_overrides.py); the CSRF check is the
access guard's. See docs/oncall/console.md.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import JSONResponse, RedirectResponse, Response
from pydantic import BaseModel

from tocsin.oncall import views
from tocsin.oncall.escalation import EscalationPolicy
from tocsin.oncall.simulate import Simulation, simulate
from tocsin.runtime import Runtime
from tocsin.web.api import oncall_overrides as actions
from tocsin.web.api.oncall import engine
from tocsin.web.deps import now, principal
from tocsin.web.overview import SECTIONS, OverviewItem, OverviewSection, events_section
from tocsin.web.ui.forms import form_text, form_values
from tocsin.web.ui.oncall_charts import timeline_svg
from tocsin.web.ui.render import render, twin

router = APIRouter(include_in_schema=False)
AHEAD = views.TIMELINE  # two weeks


class OncallHome(BaseModel):
    """`/oncall`: who is on call now, my shifts in the next two weeks, swaps waiting for me."""

    me: str
    now: views.OnCallNow
    policies: list[str]
    my_shifts: list[views.UserShift]
    swaps_for_me: list[actions.SwapOut]
    my_requests: list[actions.SwapOut]


class SchedulePage(BaseModel):
    """`/oncall/schedules/{name}`: the next two weeks, stored overrides, and what the forms offer."""

    me: str
    now: views.ScheduleNow
    timeline: views.ScheduleTimeline
    overrides: list[actions.OverrideOut]
    swaps: list[actions.SwapOut]
    users: list[str]
    my_shifts: list[views.ShiftView]
    other_shifts: list[views.ShiftView]


class StepView(BaseModel):
    """One step of a policy."""

    number: int
    delay: str
    targets: list[str]
    now: list[str]  # who the step reaches right now


class PolicyPage(BaseModel):
    """`/oncall/policies/{name}`: the steps, and the simulator's answer for an alert now."""

    name: str
    repeat: int
    ack_timeout: str | None
    steps: list[StepView]
    simulation: Simulation


def _minutes(delta: timedelta) -> str:
    return f"{int(delta.total_seconds() // 60)}m"


# views


async def home_view(request: Request) -> OncallHome:
    """The on-call home page's view."""
    oncall, at, me = engine(request), now(request), principal(request).name
    directory = oncall.settings.directory
    mine = views.user_shifts(directory, me, at, at + AHEAD).shifts if me in directory.users else []
    pending = [actions.swap_out(s) for s in await actions.overrides_store(request).swaps("requested")]
    return OncallHome(
        me=me,
        now=views.on_call_now(directory, at),
        policies=sorted(directory.policies),
        my_shifts=mine,
        swaps_for_me=[s for s in pending if s.other == me],
        my_requests=[s for s in pending if s.requester == me],
    )


async def schedule_view(request: Request, name: str) -> SchedulePage:
    """A schedule page's view; 404 for an unknown schedule."""
    oncall, at, me = engine(request), now(request), principal(request).name
    directory = oncall.settings.directory
    if name not in directory.schedules:
        raise HTTPException(404, f"no schedule {name!r}")
    timeline = views.schedule_timeline(directory, name, at, at + AHEAD)
    people = [s for s in timeline.final if s.user is not None]
    swaps = [actions.swap_out(s) for s in await actions.overrides_store(request).swaps() if s.schedule == name]
    return SchedulePage(
        me=me,
        now=views.schedule_now(directory, name, at),
        timeline=timeline,
        overrides=[actions.override_out(o) for o in oncall.overrides if o.schedule == name and o.override.end > at],
        swaps=swaps[:20],
        users=sorted(directory.users),
        my_shifts=[s for s in people if s.user == me],
        other_shifts=[s for s in people if s.user != me],
    )


def _step_views(request: Request, policy: EscalationPolicy, at: datetime) -> list[StepView]:
    directory = engine(request).settings.directory
    return [
        StepView(
            number=i + 1,
            delay=_minutes(step.delay),
            targets=[f"{t.kind.value} {t.name}" for t in step.targets],
            now=list(directory.people(step.targets, at)),
        )
        for i, step in enumerate(policy.steps)
    ]


def policy_view(request: Request, name: str) -> PolicyPage:
    """A policy page's view; 404 for an unknown policy."""
    directory, at = engine(request).settings.directory, now(request)
    policy = directory.policies.get(name)
    if policy is None:
        raise HTTPException(404, f"no escalation policy {name!r}")
    return PolicyPage(
        name=name,
        repeat=policy.repeat,
        ack_timeout=_minutes(policy.ack_timeout) if policy.ack_timeout else None,
        steps=_step_views(request, policy, at),
        simulation=simulate(directory, name, at),
    )


# pages


@router.get("/oncall.json")
async def home_json(request: Request) -> JSONResponse:
    """JSON twin of the on-call page."""
    return twin(await home_view(request))


@router.get("/oncall")
async def home_page(request: Request) -> Response:
    """Who is on call now for every schedule and service, my shifts, swaps waiting for me."""
    return render(request, "oncall.html", await home_view(request), active="oncall")


@router.get("/oncall/schedules/{name}.json")
async def schedule_json(request: Request, name: str) -> JSONResponse:
    """JSON twin of a schedule's page."""
    return twin(await schedule_view(request, name))


@router.get("/oncall/schedules/{name}")
async def schedule_page(request: Request, name: str) -> Response:
    """A schedule: the next two weeks as a timeline, overrides, the override and swap forms."""
    view = await schedule_view(request, name)
    return render(request, "oncall_schedule.html", view, active="oncall", svg=timeline_svg(view.timeline))


@router.get("/oncall/policies/{name}.json")
async def policy_json(request: Request, name: str) -> JSONResponse:
    """JSON twin of a policy's page."""
    return twin(policy_view(request, name))


@router.get("/oncall/policies/{name}")
async def policy_page(request: Request, name: str) -> Response:
    """An escalation policy: its steps and who would be told what for an alert now."""
    return render(request, "oncall_policy.html", policy_view(request, name), active="oncall")


# forms


def _form_time(value: str, field: str) -> datetime:
    """A `datetime-local` or ISO 8601 form value; without an offset it is UTC."""
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise HTTPException(400, f"{field}: give a time like 2026-01-05T09:00 (UTC) or with an offset") from None
    return parsed if parsed.tzinfo is not None else parsed.replace(tzinfo=UTC)


def _back(name: str) -> RedirectResponse:
    return RedirectResponse(f"/oncall/schedules/{name}", status_code=303)


@router.post("/oncall/schedules/{name}/overrides")
async def override_form(request: Request, name: str) -> RedirectResponse:
    """The override form: someone covers a window, for everyone or instead of one person."""
    data = await form_values(request)
    body = actions.NewOverride(
        user=form_text(data, "user") or principal(request).name,
        start=_form_time(form_text(data, "start"), "start"),
        end=_form_time(form_text(data, "end"), "end"),
        replaces=form_text(data, "replaces") or None,
    )
    await actions.create_override(request, name, body)
    return _back(name)


@router.post("/oncall/overrides/{override_id}/delete")
async def delete_override_form(request: Request, override_id: int) -> RedirectResponse:
    """The Remove button of a stored override."""
    found = next((o for o in engine(request).overrides if o.id == override_id), None)
    await actions.delete_override(request, override_id)
    return _back(found.schedule) if found else RedirectResponse("/oncall", status_code=303)


@router.post("/oncall/schedules/{name}/swaps")
async def swap_form(request: Request, name: str) -> RedirectResponse:
    """The swap form: my shift for someone else's (`their_shift` is `user|start`)."""
    data = await form_values(request)
    other, _, other_at = form_text(data, "their_shift").partition("|")
    body = actions.NewSwap(
        shift_at=_form_time(form_text(data, "shift_at"), "your shift"),
        other=other or "-",
        other_shift_at=_form_time(other_at, "their shift"),
    )
    await actions.request_swap(request, name, body)
    return _back(name)


@router.post("/oncall/swaps/{swap_id}/accept")
async def accept_form(request: Request, swap_id: int) -> RedirectResponse:
    """The Accept button of a swap I was asked for."""
    await actions.decide_swap(request, swap_id, "accepted")
    return RedirectResponse("/oncall", status_code=303)


@router.post("/oncall/swaps/{swap_id}/cancel")
async def cancel_form(request: Request, swap_id: int) -> RedirectResponse:
    """The Cancel (or Decline) button of a requested swap."""
    await actions.decide_swap(request, swap_id, "cancelled")
    return RedirectResponse("/oncall", status_code=303)


# the overview section


async def oncall_section(runtime: Runtime, at: datetime) -> OverviewSection | None:
    """Who is on call now for every schedule (nothing when on-call is not configured)."""
    found = getattr(runtime, "oncall", None)
    directory = None if found is None else found.settings.directory
    if directory is None or not directory.schedules:
        return None
    items = [
        OverviewItem(
            title=f"{s.name}: {', '.join(s.on_call) or 'nobody (gap)'}",
            status="up" if s.on_call else "down",
            href=f"/oncall/schedules/{s.name}",
            detail=f"until {s.until:%a %H:%M} UTC" if s.until else "",
        )
        for s in views.on_call_now(directory, at).schedules
    ]
    return OverviewSection(key="oncall", title="Who is on call now", items=items, empty="No schedules.", href="/oncall")


if oncall_section not in SECTIONS:  # after the monitors, before the event log
    SECTIONS.insert(SECTIONS.index(events_section) if events_section in SECTIONS else len(SECTIONS), oncall_section)
