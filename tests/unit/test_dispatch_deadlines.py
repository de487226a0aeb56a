"""The dispatcher's deadline heap answers `due` and `next_deadline` exactly as a scan of every group would."""

from __future__ import annotations

import random
from datetime import UTC, datetime

from tocsin.alerting.alert import Alert
from tocsin.alerting.dispatch import Dispatcher, Group, GroupTimer
from tocsin.alerting.route import parse_route_tree

TREE = parse_route_tree(
    {
        "receiver": "default",
        "group_by": ["group"],
        "group_wait": "10s",
        "group_interval": "1m",
        "routes": [{"matchers": ['team="a"'], "receiver": "a", "group_wait": "0s", "continue": True}],
    }
)


def scanned_due(d: Dispatcher, now: float) -> list[Group]:
    ready = [g for g in d.groups.values() if g.next_flush <= now and g.alerts]
    return sorted(ready, key=lambda g: (g.has_flushed, g.next_flush))


def scanned_deadline(d: Dispatcher) -> float | None:
    return min((g.next_flush for g in d.groups.values() if g.alerts), default=None)


def alert(i: int, now: float, resolved: bool) -> Alert:
    starts = datetime.fromtimestamp(now - random.choice((0, 30)), UTC)
    ends = datetime.fromtimestamp(now - 1, UTC) if resolved else None
    return Alert({"alertname": "X", "group": f"g{i % 7}", "team": "ab"[i % 2], "i": str(i % 23)}, starts, {}, ends)


def test_due_and_next_deadline_match_a_full_scan_through_inserts_flushes_and_drops() -> None:
    random.seed(7)
    d = Dispatcher(TREE, [GroupTimer('{}:{group="g3"}', 5.0, True)])
    now = 1000.0
    for step in range(3000):
        now += random.choice((0.0, 0.5, 3.0, 20.0))
        action = random.random()
        if action < 0.5:
            d.insert(alert(random.randrange(200), now, random.random() < 0.3), now)
        elif action < 0.9:
            due = d.due(now)
            expected = scanned_due(d, now)  # same groups, same order up to ties (which the scan breaks by age)
            assert sorted(g.key for g in due) == sorted(g.key for g in expected), step
            assert [(g.has_flushed, g.next_flush) for g in due] == [(g.has_flushed, g.next_flush) for g in expected]
            for group in due[: random.randrange(len(due) + 1)]:  # the caller may flush only some of them
                sent = d.flushing(group, now)
                d.flushed(group, sent, datetime.fromtimestamp(now, UTC))
        else:
            fingerprints = [fp for g in d.groups.values() for fp in g.alerts]
            if fingerprints:
                d.remove(random.choice(fingerprints))
        assert d.next_deadline() == scanned_deadline(d), step
        assert len(d._deadlines) <= 2 * len(d.groups) + 65  # stale entries do not pile up


def test_a_group_due_but_not_flushed_stays_due() -> None:
    d = Dispatcher(TREE)
    d.insert(Alert({"group": "g", "team": "b"}, datetime.fromtimestamp(100.0, UTC)), 100.0)  # group_wait 10s
    assert d.due(109.0) == []
    assert [g.key for g in d.due(200.0)] == [g.key for g in d.due(200.0)] == ['{}:{group="g"}']
    assert d.next_deadline() == 110.0
