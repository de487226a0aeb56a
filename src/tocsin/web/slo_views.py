"""What the SLO API and console pages show: `tocsin.slo.views` plus recent spend, policy flags and the report.

The API and the pages build the same models here, so every page's `.json` twin is the
API's answer. Recent spend is the budget consumed over the last 1h, 6h, 1d and 3d up to
the evaluation instant; more than 20% in any of them sets `postmortem_required`.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta

from pydantic import BaseModel

from tocsin.runtime import Runtime
from tocsin.slo.alerts import window_label
from tocsin.slo.evaluator import SloEvaluator
from tocsin.slo.views import Consumed, MonthRow, SloDetail, SloSummary, consumed, list_slos, monthly_report, slo_detail
from tocsin.web.overview import MAX_ITEMS, OverviewItem, OverviewSection

RECENT_MINUTES = (60, 360, 1440, 4320)  # the long windows of the workbook's burn-rate tiers
STATUSES = ("exhausted", "warning", "ok")


class RecentSpend(Consumed):
    """Budget consumed over the last `window` before the evaluation instant."""

    window: str


class SloRow(SloSummary):
    """One row of the SLO list, with the postmortem flag of its recent spend."""

    postmortem_required: bool


class SloList(BaseModel):
    """The SLO list (`/slos`, `GET /api/v1/slos`): least budget left first."""

    slos: list[SloRow]
    counts: dict[str, int]  # SLOs per status
    evaluated_at: datetime | None


class SloPage(SloDetail):
    """One SLO (`/slos/{name}`, `GET /api/v1/slos/{name}`): the detail plus recent spend and policy."""

    recent: list[RecentSpend]
    postmortem_required: bool


class SloReport(BaseModel):
    """The monthly report (`/slos/report`, `GET /api/v1/slos/report`)."""

    months: int
    generated_at: datetime
    rows: list[MonthRow]


async def recent_spend(evaluator: SloEvaluator, name: str, at: datetime) -> list[RecentSpend]:
    """Budget consumed over each of the last 1h, 6h, 1d and 3d up to `at`."""
    out = []
    for minutes in RECENT_MINUTES:
        spent = await consumed(evaluator, name, at - timedelta(minutes=minutes), at)
        out.append(RecentSpend(**spent.model_dump(), window=window_label(minutes)))
    return out


def evaluated_at(evaluator: SloEvaluator) -> datetime | None:
    """The instant of the latest evaluation (None before the first)."""
    snap = evaluator.snapshot
    return snap.at if snap is not None else None


async def slo_list(evaluator: SloEvaluator) -> SloList:
    """Every SLO, least budget left first, with counts per status."""
    at = evaluated_at(evaluator)
    rows = []
    for summary in list_slos(evaluator):
        spend = await recent_spend(evaluator, summary.name, at) if at else []
        rows.append(SloRow(**summary.model_dump(), postmortem_required=any(s.postmortem_required for s in spend)))
    counts = {s: n for s in STATUSES if (n := sum(r.status == s for r in rows))}
    return SloList(slos=rows, counts=counts, evaluated_at=at)


async def slo_page(evaluator: SloEvaluator, name: str) -> SloPage | None:
    """One SLO with its recent spend, or None when there is no such SLO (or nothing evaluated yet)."""
    detail = slo_detail(evaluator, name)
    if detail is None:
        return None
    spend = await recent_spend(evaluator, name, detail.evaluated_at)
    return SloPage(**detail.model_dump(), recent=spend, postmortem_required=any(s.postmortem_required for s in spend))


async def slo_report(evaluator: SloEvaluator, now: datetime, months: int) -> SloReport:
    """The SLI of every SLO in each of the last `months` calendar months."""
    return SloReport(months=months, generated_at=now, rows=await monthly_report(evaluator, now, months))


def report_table(rows: Sequence[MonthRow]) -> tuple[list[str], list[tuple[str, dict[str, MonthRow]]]]:
    """The report as a grid: every month label (oldest first), and each SLO's rows by month."""
    months = sorted({r.month for r in rows})
    by_slo: dict[str, dict[str, MonthRow]] = {}
    for r in rows:
        by_slo.setdefault(r.slo, {})[r.month] = r
    return months, list(by_slo.items())


def _item(row: SloSummary) -> OverviewItem:
    """An overview line for a burning SLO: exhausted is down, a firing tier is firing, else degraded."""
    status = "down" if row.status == "exhausted" else "firing" if row.alert else "degraded"
    left = f"{row.budget_remaining * 100:.1f}% budget left"
    detail = " · ".join(filter(None, [left, f"burn 1h {row.burn_rate_1h:.2f}x", row.alert]))
    return OverviewItem(title=row.name, status=status, href=f"/slos/{row.name}", detail=detail)


async def slos_section(runtime: Runtime, now: datetime) -> OverviewSection | None:
    """SLOs burning: a burn-rate tier firing or under 25% budget left, least left first; None without SLOs."""
    rows = list_slos(runtime.slo)
    if not rows:
        return None
    burning = [r for r in rows if r.alert or r.status != "ok"]
    counts = {s: n for s in STATUSES if (n := sum(r.status == s for r in rows))}
    return OverviewSection(
        key="slos",
        title="SLOs burning",
        items=[_item(r) for r in burning[:MAX_ITEMS]],
        empty="Every SLO is within budget.",
        summary=" · ".join(f"{n} {s}" for s, n in counts.items()),
        href="/slos",
    )
