"""Admin API of status page subscribers: list with counts, remove one (addresses are personal data: admins only)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query, Request
from pydantic import BaseModel

from tocsin.statuspage.fanout import Subscriptions
from tocsin.statuspage.subscribers import Subscriber
from tocsin.web.deps import audit, runtime

router = APIRouter(tags=["status pages"])


class SubscriberView(BaseModel):
    """One subscriber as the API shows it."""

    id: int
    kind: str
    address: str
    components: list[str]  # empty: every component
    status: str  # confirmed, unconfirmed
    created_at: datetime
    confirmed_at: datetime | None


class SubscriberList(BaseModel):
    """A page of subscribers and the counts of the whole page."""

    page: str
    counts: dict[str, int]
    subscribers: list[SubscriberView]


def _view(s: Subscriber) -> SubscriberView:
    return SubscriberView(
        id=s.id,
        kind=s.kind,
        address=s.address,
        components=list(s.components),
        status="confirmed" if s.confirmed else "unconfirmed",
        created_at=s.created_at,
        confirmed_at=s.confirmed_at,
    )


def _subscriptions(request: Request, slug: str) -> Subscriptions:
    subs = runtime(request).subscriptions
    if subs.page(slug) is None:
        raise HTTPException(404, f"no status page {slug!r}; status_pages in the config lists them")
    return subs


@router.get("/api/v1/status-pages/{slug}/subscribers")
async def list_subscribers(
    request: Request,
    slug: str,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> SubscriberList:
    """Subscribers of the page, oldest first, with counts by kind and confirmation."""
    subs = _subscriptions(request, slug)
    found = await subs.store.page_subscribers(slug, limit=limit, offset=offset)
    return SubscriberList(page=slug, counts=await subs.store.counts(slug), subscribers=[_view(s) for s in found])


@router.delete("/api/v1/status-pages/{slug}/subscribers/{subscriber_id}", status_code=204)
async def delete_subscriber(request: Request, slug: str, subscriber_id: int) -> None:
    """Remove one subscriber; 404 when the page has no subscriber with this id."""
    entry = audit(request, "status_page.subscriber.delete", f"{slug}/{subscriber_id}")
    if not await _subscriptions(request, slug).store.delete(slug, subscriber_id, entry):
        raise HTTPException(404, f"status page {slug!r} has no subscriber {subscriber_id}")
