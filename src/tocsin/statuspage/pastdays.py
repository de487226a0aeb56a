"""What rebuilds of a status page keep between them: its monitors' past daily counts and its components' bars.

A page is rebuilt whenever something it shows may have changed (statuspage/cache.py), so at
least once a minute while its monitors run, but days before today almost never change: their
counts are checked by digest instead of read again (store/status_rollups.py), and their bar
views are reused when everything they are made from is equal (the counts, the maintenance
days and the incidents of those days). Today's counts are always read; when they, today's
maintenance and today's incidents are equal too, the component's whole bars are reused, so a
rebuild after one monitor's result makes the bars of that monitor's components only.
"""

from __future__ import annotations

import weakref
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import date

from tocsin.statuspage import uptime as up
from tocsin.statuspage.daybars import BarMaker, ComponentBars, Stretch
from tocsin.statuspage.incidents import IncidentView
from tocsin.store.database import Database
from tocsin.store.status_rollups import DAY_SECONDS, DayCounts, DayMemo

_memos: weakref.WeakKeyDictionary[Database, dict[str, PageMemo]] = weakref.WeakKeyDictionary()


@dataclass(slots=True)
class PageMemo:
    """One page's memo: its monitors' past counts, and each component's past bars with what they were made from."""

    counts: DayMemo = field(default_factory=DayMemo)
    bars: dict[str, Kept] = field(default_factory=dict)
    views: dict[str, tuple[object, object]] = field(default_factory=dict)  # component id -> (made from, view)


@dataclass(frozen=True, slots=True)
class Kept:
    """A component's bars with what they were made from: the past days (`past`, made into `before`) and today."""

    past: object
    before: Stretch
    today: object
    bars: ComponentBars


def memo_for(db: Database, slug: str) -> PageMemo:
    """The memo of page `slug` over database `db` (kept as long as the database is)."""
    return _memos.setdefault(db, {}).setdefault(slug, PageMemo())


def component_bars(
    memo: PageMemo,
    made: dict[str, Kept],
    component: str,
    maker: BarMaker,
    rows: Sequence[Sequence[DayCounts]],
    maintenance: Set[date],
    touched: Mapping[date, Sequence[IncidentView]],
) -> ComponentBars:
    """The bars of component id `component` from its monitors' `rows` (oldest first each), reusing the past days'
    views from `memo` when their inputs are unchanged, and the whole bars when today's are too; what they were
    made from goes into `made`."""
    today, split = maker.today, up.day_number(maker.today) * DAY_SECONDS
    cuts = [_cut(r, split) for r in rows]
    past = tuple(before for before, _ in cuts)
    key = (maker.first, maker.days, past, _before(today, maintenance), _incidents(today, touched))
    recent = tuple(r for _, rows_today in cuts for r in rows_today)
    now = (recent, today in maintenance, _incidents_on(today, touched))
    kept = memo.bars.get(component)
    if kept is not None and kept.past == key:
        if kept.today == now:
            made[component] = kept
            return kept.bars
        before = kept.before
    else:
        before = maker.stretch(up.sum_by_day(r for p in past for r in p), maintenance, touched, 0, maker.days - 1)
    bars = maker.join(before, maker.stretch(up.sum_by_day(recent), maintenance, touched, maker.days - 1))
    made[component] = Kept(key, before, now, bars)
    return bars


def _before(today: date, maintenance: Set[date]) -> frozenset[date]:
    return frozenset(d for d in maintenance if d != today) if maintenance else frozenset()


def _incidents(today: date, touched: Mapping[date, Sequence[IncidentView]]) -> tuple[object, ...]:
    """What the bars show of the incidents of each day before `today`: their ids and names."""
    if not touched:
        return ()
    return tuple((d, tuple((i.id, i.name) for i in found)) for d, found in touched.items() if d != today)


def _incidents_on(day: date, touched: Mapping[date, Sequence[IncidentView]]) -> tuple[tuple[str, str], ...]:
    return tuple((i.id, i.name) for i in touched.get(day, ())) if touched else ()


def _cut(rows: Sequence[DayCounts], split: int) -> tuple[Sequence[DayCounts], Sequence[DayCounts]]:
    """Rows (oldest first) before and from `split` (epoch seconds)."""
    n = len(rows)
    while n and rows[n - 1][0] >= split:
        n -= 1
    return rows[:n], rows[n:]
