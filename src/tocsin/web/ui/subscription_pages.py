"""Public subscription pages of a status page: subscribe, confirm (double opt-in) and one-click unsubscribe.

No account is needed. The subscribe form carries a signed, expiring form token instead of a
session's CSRF token, and signups are limited per client address. Every signup gets the same
answer whether the address was new, pending or already subscribed, so the form cannot be used
to learn who subscribes. Confirm and unsubscribe links carry the subscriber's token: `GET`
shows a button (mail scanners follow links), `POST` acts; RFC 8058 one-click unsubscribe
POSTs `List-Unsubscribe=One-Click` to the same address. See docs/statuspages.md.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import Annotated, Literal

from fastapi import APIRouter, HTTPException, Query, Request
from fastapi.responses import JSONResponse, Response
from fastapi.templating import Jinja2Templates
from pydantic import BaseModel

from tocsin.runtime import Runtime
from tocsin.statuspage.config import StatusPageConfig
from tocsin.statuspage.fanout import Subscriptions
from tocsin.statuspage.subscribers import SubscriptionError, check_form, sign_form
from tocsin.web.deps import runtime
from tocsin.web.ratelimit import client_address
from tocsin.web.ui.forms import form_list, form_text, form_values
from tocsin.web.ui.status_pages import base

router = APIRouter(include_in_schema=False)
Token = Annotated[str, Query(min_length=1, max_length=128)]


class SubscribeForm(BaseModel):
    """What the subscribe page shows (and its JSON twin): the kinds on offer, the components, the form token."""

    slug: str
    title: str
    kinds: list[str]
    components: list[str]
    form_token: str
    error: str = ""
    address: str = ""
    kind: str = ""
    chosen: list[str] = []


class Outcome(BaseModel):
    """The answer to a subscribe, confirm or unsubscribe request."""

    status: Literal["pending", "subscribed", "confirmed", "unsubscribed", "invalid"]
    message: str


def subscribable(rt: Runtime) -> Callable[[str], bool]:
    """A template helper: whether the page with this slug takes any subscriptions (for its Subscribe link)."""

    def check(slug: str) -> bool:
        subs: Subscriptions | None = getattr(rt, "subscriptions", None)
        page = subs.page(slug) if subs else None
        return bool(page and subs and subs.kinds(page))

    return check


def _setup(request: Request, slug: str) -> tuple[Subscriptions, StatusPageConfig]:
    rt = runtime(request)
    subs = rt.subscriptions
    page = subs.page(slug)
    if page is None:
        raise HTTPException(404, f"no status page {slug!r}")
    if not rt.loaded.config.server.external_url and not page.custom_domain:
        subs.seen_base = str(request.base_url)
    return subs, page


def _wants_json(request: Request) -> bool:
    accept = request.headers.get("accept", "")
    return "application/json" in accept and "text/html" not in accept


async def _form(request: Request, slug: str, **filled: object) -> SubscribeForm:
    subs, page = _setup(request, slug)
    kinds = list(subs.kinds(page))
    if not kinds:
        raise HTTPException(404, f"status page {slug!r} does not take subscriptions")
    token = sign_form(await subs.form_key(), slug, runtime(request).clock.now())
    components = [c.name for c in page.components]
    return SubscribeForm(slug=slug, title=page.title, kinds=kinds, components=components, form_token=token, **filled)


def _page(request: Request, template: str, status: int = 200, **values: object) -> Response:
    templates: Jinja2Templates = request.app.state.templates
    root = base(request, str(request.path_params.get("slug", "")))  # "" on the page's custom domain
    html = templates.get_template(template).render(base=root, **values)
    return Response(html, status, {"Cache-Control": "no-store"}, "text/html; charset=utf-8")


def _answer(request: Request, slug: str, outcome: Outcome, status: int = 200, button: str = "") -> Response:
    if _wants_json(request):
        return JSONResponse(outcome.model_dump(), status_code=status, headers={"Cache-Control": "no-store"})
    title = runtime(request).subscriptions.page(slug)
    return _page(
        request, "status_subscription.html", status, slug=slug, page_title=title.title if title else slug,
        outcome=outcome, button=button,
    )  # fmt: skip


@router.get("/status/{slug}/subscribe.json")
async def subscribe_json(request: Request, slug: str) -> JSONResponse:
    """JSON twin of the subscribe page (its `form_token` must be posted back with the signup)."""
    return JSONResponse((await _form(request, slug)).model_dump(mode="json"), headers={"Cache-Control": "no-store"})


@router.get("/status/{slug}/subscribe")
async def subscribe_page(request: Request, slug: str) -> Response:
    """The signup form: email or webhook URL, and optional components."""
    return _page(request, "status_subscribe.html", form=await _form(request, slug))


@router.post("/status/{slug}/subscribe")
async def subscribe(request: Request, slug: str) -> Response:
    """Sign up; the answer is the same whether or not the address was subscribed already."""
    subs, page = _setup(request, slug)
    form = await form_values(request)
    kind, address, chosen = form_text(form, "kind"), form_text(form, "address"), form_list(form, "components")
    rt = runtime(request)
    if not check_form(await subs.form_key(), slug, form_text(form, "form_token"), rt.clock.now()):
        message = "the form expired or did not come from this page; reload the page and submit again"
        return await _refused(request, slug, message, 403, kind=kind, address=address, chosen=chosen)
    wait = subs.limiter.allow(
        slug, client_address(request), page.subscriptions.max_signups_per_hour, rt.clock.timestamp()
    )
    if wait:
        message = f"too many signups from your address; try again in {math.ceil(wait / 60)} minutes"
        response = await _refused(request, slug, message, 429, kind=kind, address=address, chosen=chosen)
        response.headers["Retry-After"] = str(math.ceil(wait))
        return response
    try:
        await subs.subscribe(page, kind, address, chosen)
    except SubscriptionError as exc:
        return await _refused(request, slug, str(exc), 400, kind=kind, address=address, chosen=chosen)
    return _answer(request, slug, _signed_up(kind))


def _signed_up(kind: str) -> Outcome:
    if kind == "email":
        message = "Check your inbox: we sent a link to confirm the subscription. Nothing is sent until you follow it."
        return Outcome(status="pending", message=message)
    message = "Subscribed: the webhook receives every update from now on; each one carries an unsubscribe link."
    return Outcome(status="subscribed", message=message)


async def _refused(request: Request, slug: str, message: str, status: int, **filled: object) -> Response:
    if _wants_json(request):
        return JSONResponse({"detail": message}, status_code=status)
    form = await _form(request, slug, error=message, **filled)
    return _page(request, "status_subscribe.html", status, form=form)


@router.get("/status/{slug}/subscriptions/confirm")
async def confirm_page(request: Request, slug: str, token: Token) -> Response:
    """Show a button that confirms (nothing happens on GET: mail scanners follow links)."""
    _setup(request, slug)
    outcome = Outcome(status="pending", message="Confirm that you want to receive updates of this page.")
    return _answer(request, slug, outcome, button="Confirm subscription")


@router.post("/status/{slug}/subscriptions/confirm")
async def confirm(request: Request, slug: str, token: Token) -> Response:
    """Confirm an email subscription (double opt-in); 404 for an unknown or expired link."""
    subs, page = _setup(request, slug)
    found = await subs.confirm(page, token)
    if found is None:
        message = "This link is unknown or expired (links work for 7 days); subscribe again to get a new one."
        return _answer(request, slug, Outcome(status="invalid", message=message), 404)
    return _answer(request, slug, Outcome(status="confirmed", message="Subscribed: you will receive updates."))


@router.get("/status/{slug}/unsubscribe")
async def unsubscribe_page(request: Request, slug: str, token: Token) -> Response:
    """Show a button that unsubscribes."""
    subs, _ = _setup(request, slug)
    found = await subs.store.by_token(slug, token)
    if found is None:
        outcome = Outcome(status="unsubscribed", message="This subscription does not exist (any more).")
        return _answer(request, slug, outcome)
    message = f"Stop sending updates of this page to {found.address}?"
    return _answer(request, slug, Outcome(status="pending", message=message), button="Unsubscribe")


@router.post("/status/{slug}/unsubscribe")
async def unsubscribe(request: Request, slug: str, token: Token) -> Response:
    """Unsubscribe (also RFC 8058 one-click); repeating it is harmless."""
    subs, page = _setup(request, slug)
    await subs.unsubscribe(page, token)
    return _answer(request, slug, Outcome(status="unsubscribed", message="Unsubscribed: nothing more will be sent."))
