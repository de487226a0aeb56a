"""The overview page, its JSON twin, and its live updates as server-sent events."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from typing import Any

import orjson
from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from fastapi.templating import Jinja2Templates

from tocsin.web.deps import now, runtime
from tocsin.web.overview import Overview, overview
from tocsin.web.ui.render import context, render

router = APIRouter(include_in_schema=False)
POLL_SECONDS = 2.0
KEEPALIVE_SECONDS = 15.0
# A stream ends after this long and the browser reconnects, so credentials are checked again.
STREAM_SECONDS = 300.0


def sections_html(request: Request, view: Overview) -> str:
    """The sections block alone, rendered by the same template the page includes."""
    templates: Jinja2Templates = request.app.state.templates
    template = templates.get_template("_overview_sections.html")
    return template.render({**context(request, "overview"), "view": view})


def _signature(view: Overview) -> bytes:
    return orjson.dumps(view.model_dump(mode="json", exclude={"generated_at"}))


def _event(request: Request, view: Overview) -> str:
    data = {"html": sections_html(request, view), "generated_at": view.generated_at.isoformat()}
    return f"event: overview\ndata: {orjson.dumps(data).decode()}\n\n"


async def _updates(request: Request) -> AsyncIterator[str]:
    loop = asyncio.get_running_loop()
    started = last_sent = loop.time()
    last: bytes | None = None
    yield f"retry: {int(POLL_SECONDS * 1500)}\n\n"
    while loop.time() - started < STREAM_SECONDS and not await request.is_disconnected():
        view = await overview(runtime(request), now(request))
        signature = _signature(view)
        if signature != last:
            last, last_sent = signature, loop.time()
            yield _event(request, view)
        elif loop.time() - last_sent >= KEEPALIVE_SECONDS:
            last_sent = loop.time()
            yield ": keepalive\n\n"
        await asyncio.sleep(POLL_SECONDS)


@router.get("/")
async def overview_page(request: Request) -> Response:
    """What is on fire now; updates itself while open (server-sent events), or reload the page."""
    return render(request, "overview.html", await overview(runtime(request), now(request)), active="overview")


@router.get("/overview.json")
async def overview_json(request: Request) -> JSONResponse:
    """JSON twin of the overview."""
    view: Any = (await overview(runtime(request), now(request))).model_dump(mode="json")
    return JSONResponse(view)


@router.get("/overview/stream")
async def overview_stream(request: Request) -> StreamingResponse:
    """Server-sent events: an `overview` event with the sections' HTML whenever they change."""
    headers = {"Cache-Control": "no-store", "X-Accel-Buffering": "no"}
    return StreamingResponse(_updates(request), media_type="text/event-stream", headers=headers)
