"""`/api/v1/oncall/overrides` and `/api/v1/oncall/swaps`: overrides and shift swaps kept in the database.

The console's forms call the same actions (`create_override`, `request_swap`, `decide_swap`).
Every change is audited in its own transaction and then adopted by the on-call engine.
See docs/oncall/console.md.
"""

from __future__ import annotations

from datetime import UTC, datetime

from fastapi import APIRouter, HTTPException, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from tocsin.auth.model import Access
from tocsin.oncall.model import swap_overrides
from tocsin.oncall.overrides import (
    OverrideProblem,
    StoredOverride,
    Swap,
    SwapState,
    check_override,
    check_swap,
    shift_at,
)
from tocsin.store.oncall_overrides import OverrideStore
from tocsin.web.api.oncall import engine
from tocsin.web.deps import audit, now, principal, runtime

router = APIRouter(tags=["oncall"])


class NewOverride(BaseModel):
    """An override to make: `user` is on call over [start, end), for everyone or only instead of `replaces`."""

    model_config = ConfigDict(extra="forbid")
    user: str = Field(min_length=1, max_length=200)
    start: datetime
    end: datetime
    replaces: str | None = Field(default=None, max_length=200)


class OverrideOut(BaseModel):
    """A stored override."""

    id: int
    schedule: str
    user: str
    start: datetime
    end: datetime
    replaces: str | None
    swap: int | None
    created_by: str
    created_at: datetime


class NewSwap(BaseModel):
    """A swap to ask for: the requester's shift at `shift_at` for `other`'s shift at `other_shift_at`."""

    model_config = ConfigDict(extra="forbid")
    shift_at: datetime
    other: str = Field(min_length=1, max_length=200)
    other_shift_at: datetime
    requester: str | None = Field(default=None, max_length=200)  # default: you; someone else needs admin


class SwapOut(BaseModel):
    """A swap and its state."""

    id: int
    schedule: str
    state: SwapState
    requester: str
    start: datetime
    end: datetime
    other: str
    other_start: datetime
    other_end: datetime
    created_by: str
    created_at: datetime
    decided_by: str | None
    decided_at: datetime | None


class OverrideList(BaseModel):
    """`GET /api/v1/oncall/overrides`."""

    overrides: list[OverrideOut]


class SwapList(BaseModel):
    """`GET /api/v1/oncall/swaps`."""

    swaps: list[SwapOut]


def override_out(item: StoredOverride) -> OverrideOut:
    """The API's view of a stored override."""
    o = item.override
    return OverrideOut(
        id=item.id,
        schedule=item.schedule,
        user=o.user,
        start=o.start,
        end=o.end,
        replaces=o.replaces,
        swap=item.swap,
        created_by=item.created_by,
        created_at=item.created_at,
    )


def swap_out(swap: Swap) -> SwapOut:
    """The API's view of a swap."""
    return SwapOut(
        id=swap.id,
        schedule=swap.schedule,
        state=swap.state,
        requester=swap.requester,
        start=swap.shift.start,
        end=swap.shift.end,
        other=swap.other,
        other_start=swap.other_shift.start,
        other_end=swap.other_shift.end,
        created_by=swap.created_by,
        created_at=swap.created_at,
        decided_by=swap.decided_by,
        decided_at=swap.decided_at,
    )


def overrides_store(request: Request) -> OverrideStore:
    """Where overrides and swaps are kept."""
    return OverrideStore(runtime(request).store)


def _aware(at: datetime) -> datetime:
    return at if at.tzinfo is not None else at.replace(tzinfo=UTC)


def _known_schedule(request: Request, name: str) -> None:
    if name not in engine(request).settings.directory.schedules:
        raise HTTPException(404, f"no schedule {name!r}; GET /api/v1/oncall/now lists them")


async def create_override(request: Request, schedule: str, body: NewOverride) -> OverrideOut:
    """Check, store (audited) and adopt an override; 404 for an unknown schedule, 400 saying what is wrong."""
    _known_schedule(request, schedule)
    oncall, at, by = engine(request), now(request), principal(request).actor
    try:
        override = check_override(
            oncall.settings.directory, schedule, body.user, _aware(body.start), _aware(body.end), body.replaces
        )
    except OverrideProblem as exc:
        raise HTTPException(400, str(exc)) from None
    detail = {"user": override.user, "start": override.start.isoformat(), "end": override.end.isoformat()}
    entry = audit(request, "override.create", schedule, replaces=override.replaces, **detail)
    stored = await overrides_store(request).add_override(schedule, override, by, at, entry)
    await oncall.reload_overrides()
    return override_out(stored)


async def delete_override(request: Request, override_id: int) -> None:
    """Delete a stored override (audited) and adopt the change; 404 when there is none."""
    oncall = engine(request)
    if not await overrides_store(request).delete_override(
        override_id, audit(request, "override.delete", str(override_id))
    ):
        raise HTTPException(404, f"no stored override {override_id}; config overrides live in the config")
    await oncall.reload_overrides()


async def request_swap(request: Request, schedule: str, body: NewSwap) -> SwapOut:
    """Store a requested swap of two whole shifts (audited); 400 when either shift does not exist."""
    _known_schedule(request, schedule)
    me = principal(request)
    requester = body.requester or me.name
    if requester != me.name and not me.can(Access.ADMIN):
        raise HTTPException(403, "only an admin can ask for a swap on someone else's behalf")
    directory = engine(request).settings.directory
    try:
        mine = shift_at(directory, schedule, requester, _aware(body.shift_at))
        theirs = shift_at(directory, schedule, body.other, _aware(body.other_shift_at))
        check_swap(mine, theirs)
    except OverrideProblem as exc:
        raise HTTPException(400, str(exc)) from None
    detail = {"with": body.other, "shift": mine.start.isoformat(), "other_shift": theirs.start.isoformat()}
    entry = audit(request, "swap.request", schedule, **detail)
    swap_id = await overrides_store(request).add_swap(schedule, mine, theirs, me.actor, now(request), entry)
    found = await overrides_store(request).swap(swap_id)
    assert found is not None  # just committed
    return swap_out(found)


def _may_decide(request: Request, swap: Swap, state: SwapState) -> None:
    me = principal(request)
    allowed = {swap.other} if state == "accepted" else {swap.other, swap.requester}
    if me.name not in allowed and not me.can(Access.ADMIN):
        who = swap.other if state == "accepted" else f"{swap.requester} or {swap.other}"
        raise HTTPException(403, f"only {who} (or an admin) can do this")


async def decide_swap(request: Request, swap_id: int, state: SwapState) -> SwapOut:
    """Accept (two overrides take effect) or cancel a requested swap, audited; 409 when it was decided already."""
    store = overrides_store(request)
    swap = await store.swap(swap_id)
    if swap is None:
        raise HTTPException(404, f"no swap {swap_id}; GET /api/v1/oncall/swaps lists them")
    _may_decide(request, swap, state)
    made = swap_overrides(swap.shift, swap.other_shift) if state == "accepted" else ()
    action = "swap.accept" if state == "accepted" else "swap.cancel"
    entry = audit(request, action, str(swap_id), schedule=swap.schedule)
    if not await store.decide_swap(swap, state, principal(request).actor, now(request), made, entry):
        raise HTTPException(409, f"swap {swap_id} was already accepted or cancelled")
    await engine(request).reload_overrides()
    found = await store.swap(swap_id)
    assert found is not None
    return swap_out(found)


@router.get("/api/v1/oncall/overrides", response_model=OverrideList)
async def list_overrides(request: Request) -> OverrideList:
    """Every override made through the console or API (config overrides are in the config)."""
    return OverrideList(overrides=[override_out(o) for o in engine(request).overrides])


@router.post("/api/v1/oncall/schedules/{name}/overrides", response_model=OverrideOut, status_code=201)
async def post_override(request: Request, name: str, body: NewOverride) -> OverrideOut:
    """Make an override on a schedule."""
    return await create_override(request, name, body)


@router.delete("/api/v1/oncall/overrides/{override_id}", status_code=204)
async def remove_override(request: Request, override_id: int) -> Response:
    """Delete an override made through the console or API."""
    await delete_override(request, override_id)
    return Response(status_code=204)


@router.get("/api/v1/oncall/swaps", response_model=SwapList)
async def list_swaps(request: Request, state: SwapState | None = None) -> SwapList:
    """Swaps, newest first, optionally only those in `state`."""
    engine(request)
    return SwapList(swaps=[swap_out(s) for s in await overrides_store(request).swaps(state)])


@router.post("/api/v1/oncall/schedules/{name}/swaps", response_model=SwapOut, status_code=201)
async def post_swap(request: Request, name: str, body: NewSwap) -> SwapOut:
    """Ask another person to swap shifts."""
    return await request_swap(request, name, body)


@router.post("/api/v1/oncall/swaps/{swap_id}/accept", response_model=SwapOut)
async def accept_swap(request: Request, swap_id: int) -> SwapOut:
    """Accept a swap you were asked for: both shifts change hands."""
    return await decide_swap(request, swap_id, "accepted")


@router.post("/api/v1/oncall/swaps/{swap_id}/cancel", response_model=SwapOut)
async def cancel_swap(request: Request, swap_id: int) -> SwapOut:
    """Cancel (or decline) a requested swap."""
    return await decide_swap(request, swap_id, "cancelled")
