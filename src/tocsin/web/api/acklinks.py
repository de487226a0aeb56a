"""One-click acknowledge and resolve links from notifications: `GET /ack/{token}` confirms, `POST` acts.

The link works on a phone without signing in: the token is the credential (signed, bound
to the group, the occurrence and the person, expiring, single use). `GET` only shows a
page with a button, so link scanners and previews in mail and chat apps never act; the
button POSTs. Both answer JSON to clients that ask for it. See docs/oncall/acknowledge.md.
"""

from __future__ import annotations

import html
from datetime import datetime

from fastapi import APIRouter, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from pydantic import BaseModel

from tocsin.oncall.acks import Action, Claim, TokenError
from tocsin.oncall.engine import Outcome
from tocsin.web.api.oncall import engine

router = APIRouter(tags=["oncall"])

_VERB = {Action.ACKNOWLEDGE: "Acknowledge", Action.RESOLVE: "Resolve"}
_DONE = {
    "done": "{verb}d: thank you, {user}.",
    "already_resolved": "Nothing to do: this alert was already resolved.",
    "stale": "Nothing to do: this page was for an earlier occurrence of the alert, which was resolved.",
    "unknown": "Nothing to do: this alert is no longer known.",
}


class LinkView(BaseModel):
    """What a link does, for `GET /ack/{token}` with `Accept: application/json`."""

    action: str
    user: str
    group_key: str
    incident: int
    expires_at: datetime
    used: bool


class LinkResult(BaseModel):
    """What using a link did."""

    action: str
    user: str
    group_key: str
    status: str  # done, already_resolved, stale, unknown
    message: str


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


def _page(title: str, body: str, status: int = 200) -> HTMLResponse:
    """A small self-contained page that reads well on a phone."""
    text = (
        "<!doctype html><html><head><meta charset='utf-8'>"
        "<meta name='viewport' content='width=device-width, initial-scale=1'>"
        f"<title>{html.escape(title)} · tocsin</title>"
        "<style>body{font:18px system-ui,sans-serif;margin:2em auto;max-width:32em;padding:0 1em}"
        "button{font-size:1.2em;padding:.6em 1.4em}code{word-break:break-all}</style></head>"
        f"<body><h1>{html.escape(title)}</h1>{body}</body></html>"
    )
    return HTMLResponse(text, status_code=status, headers={"Cache-Control": "no-store"})


def _status(exc: TokenError) -> int:
    """409 for a used link, 410 for an expired one, 404 for anything that is not a genuine link."""
    text = str(exc)
    return 409 if "already used" in text else 410 if "expired" in text else 404


def _refusal(request: Request, exc: TokenError, status: int) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": str(exc)}, status_code=status)
    return _page("This link cannot be used", f"<p>{html.escape(str(exc))}</p>", status)


@router.get("/ack/{token}", response_model=None)
async def confirm(request: Request, token: str) -> Response:
    """Show what the link would do, with a button that does it (nothing happens on GET)."""
    try:
        claim, used = await engine(request).check_link(token)
    except TokenError as exc:
        return _refusal(request, exc, _status(exc))
    if _wants_json(request):
        view = LinkView(
            action=claim.action.value,
            user=claim.user,
            group_key=claim.group_key,
            incident=claim.incident,
            expires_at=claim.expires_at,
            used=used,
        )
        return JSONResponse(view.model_dump(mode="json"))
    if used:
        return _page("Already used", "<p>This link was already used. Each link works once.</p>", 409)
    verb = _VERB[claim.action]
    form = (
        f"<p>{verb} <code>{html.escape(claim.group_key)}</code> as <strong>{html.escape(claim.user)}</strong>?</p>"
        f"<form method='post'><button type='submit'>{verb}</button></form>"
    )
    return _page(f"{verb} alert", form)


@router.post("/ack/{token}", response_model=None)
async def act(request: Request, token: str) -> Response:
    """Acknowledge or resolve, once; a second use of the same link is refused (409)."""
    try:
        claim, outcome = await engine(request).use_link(token)
    except TokenError as exc:
        return _refusal(request, exc, _status(exc))
    result = _result(claim, outcome)
    if _wants_json(request):
        return JSONResponse(result.model_dump(mode="json"))
    return _page(_VERB[claim.action], f"<p>{html.escape(result.message)}</p>")


def _result(claim: Claim, outcome: Outcome) -> LinkResult:
    message = _DONE[outcome.status].format(verb=_VERB[claim.action], user=claim.user)
    return LinkResult(
        action=claim.action.value, user=claim.user, group_key=claim.group_key, status=outcome.status, message=message
    )
