"""A page's history: months of incidents (with all their public updates) and completed maintenance, newest first."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime

from pydantic import BaseModel

from tocsin.runtime import Runtime
from tocsin.statuspage.config import StatusPageConfig, Theme
from tocsin.statuspage.incidents import IncidentView, incident_view
from tocsin.statuspage.views import MaintenanceView, component_ids, maintenances_between, page_url
from tocsin.store.status_incidents import page_incidents

MONTHS_PER_PAGE = 3
Month = tuple[int, int]  # (year, month)


class MonthView(BaseModel):
    """One calendar month (UTC) of a page's history."""

    month: str  # 2026-11
    label: str  # November 2026
    incidents: list[IncidentView]  # newest first
    maintenances: list[MaintenanceView]  # completed, newest first


class HistoryView(BaseModel):
    """One page of a status page's history, `months` newest first; `pages` counts them all."""

    slug: str
    title: str
    logo: str | None
    logo_alt: str
    theme: Theme
    url: str
    updated_at: datetime
    page: int
    pages: int
    months: list[MonthView]


def _back(month: Month, count: int) -> Month:
    index = month[0] * 12 + month[1] - 1 - count
    return index // 12, index % 12 + 1


def _months_between(newest: Month, oldest: Month) -> int:
    return (newest[0] - oldest[0]) * 12 + newest[1] - oldest[1] + 1


def page_count(now: datetime, oldest: datetime | None) -> int:
    """How many history pages there are: back to the month of the oldest incident, at least one."""
    current = (now.year, now.month)
    first = (oldest.year, oldest.month) if oldest else current
    months = max(_months_between(current, first), 1)
    return max((months + MONTHS_PER_PAGE - 1) // MONTHS_PER_PAGE, 1)


def months_of(now: datetime, number: int) -> list[Month]:
    """The months of history page `number` (1 = the current month and the two before), newest first."""
    current = (now.year, now.month)
    return [_back(current, (number - 1) * MONTHS_PER_PAGE + k) for k in range(MONTHS_PER_PAGE)]


def page_of(now: datetime, at: datetime) -> int:
    """The history page that shows the month of `at`."""
    return max(_months_between((now.year, now.month), (at.year, at.month)) - 1, 0) // MONTHS_PER_PAGE + 1


def _start(month: Month) -> datetime:
    return datetime(month[0], month[1], 1, tzinfo=UTC)


def _month(month: Month, found: Sequence[IncidentView], maintenance: Sequence[MaintenanceView]) -> MonthView:
    start, end = _start(month), _start(_back(month, -1))
    return MonthView(
        month=f"{month[0]:04d}-{month[1]:02d}",
        label=start.strftime("%B %Y"),
        incidents=[i for i in found if start <= i.created_at < end],
        maintenances=[m for m in reversed(maintenance) if start <= m.scheduled_for < end and m.status == "completed"],
    )


async def history(rt: Runtime, page: StatusPageConfig, number: int, now: datetime) -> HistoryView:
    """History page `number` of the page (with no months past the last page)."""
    stored = await page_incidents(rt.store.database, page.slug, None)
    pages = page_count(now, min((i.created_at for i in stored), default=None))
    ids = component_ids(page)
    found = [incident_view(i, ids) for i in stored]
    months = months_of(now, number)
    maintenance = maintenances_between(rt, page, _start(months[-1]), min(_start(_back(months[0], -1)), now), now)
    return HistoryView(
        slug=page.slug,
        title=page.title,
        logo=page.logo,
        logo_alt=page.logo_alt or f"{page.title} logo",
        theme=page.theme,
        url=page_url(rt, page),
        updated_at=now,
        page=number,
        pages=pages,
        months=[_month(m, found, maintenance) for m in months] if number <= pages else [],
    )
