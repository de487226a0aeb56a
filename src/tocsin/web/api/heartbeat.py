"""Heartbeat pings at `/ping/{token}`, `/ping/{token}/start` and `/ping/{token}/fail`."""

from __future__ import annotations

import re

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import PlainTextResponse

from tocsin.web.deps import runtime

router = APIRouter(tags=["heartbeat"])
_TOKEN = re.compile(r"^[A-Za-z0-9_\-]{16,128}$")
MAX_PING_BODY = 100_000


async def _ping(request: Request, token: str, kind: str) -> PlainTextResponse:
    if not _TOKEN.match(token):
        raise HTTPException(400, "malformed ping token: expected 16-128 characters of A-Z a-z 0-9 _ -")
    rt = runtime(request)
    record = await rt.store.monitor_by_token(token)
    if record is None or record.removed or record.name not in rt.runner.monitors:
        raise HTTPException(404, "no heartbeat monitor has this token; copy the ping URL from the monitor's page")
    body = (await request.body())[:MAX_PING_BODY].decode("utf-8", "replace") if request.method == "POST" else ""
    await rt.runner.ping(record, kind, body)
    note = " (monitor is paused)" if record.name in rt.runner.paused else ""
    return PlainTextResponse(f"OK{note}\n")


@router.api_route("/ping/{token}", methods=["GET", "POST", "HEAD"], response_class=PlainTextResponse)
async def ping(request: Request, token: str) -> PlainTextResponse:
    """The job ran and succeeded."""
    return await _ping(request, token, "ping")


@router.api_route("/ping/{token}/start", methods=["GET", "POST", "HEAD"], response_class=PlainTextResponse)
async def start(request: Request, token: str) -> PlainTextResponse:
    """The job started; it must ping within the grace time."""
    return await _ping(request, token, "start")


@router.api_route("/ping/{token}/fail", methods=["GET", "POST", "HEAD"], response_class=PlainTextResponse)
async def fail(request: Request, token: str) -> PlainTextResponse:
    """The job failed; the POST body (if any) becomes the failure message."""
    return await _ping(request, token, "fail")
