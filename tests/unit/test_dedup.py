"""Alertmanager's notification-log decision (`needsUpdate`), from a table."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tocsin.pipeline.dedup import LogEntry, needs_update

NOW = datetime(2026, 6, 1, tzinfo=UTC)
H = timedelta(hours=1)


def entry(firing: set[str], resolved: set[str] = set(), ago: timedelta = timedelta(minutes=5)) -> LogEntry:  # noqa: B006
    return LogEntry(frozenset(firing), frozenset(resolved), NOW - ago)


@pytest.mark.parametrize(
    ("previous", "firing", "resolved", "send_resolved", "expected"),
    [
        (None, {"a"}, set(), True, "new"),  # first notification of a group
        (None, set(), {"a"}, True, None),  # a group that only ever resolved is never notified
        (entry({"a"}), {"a", "b"}, set(), True, "update"),  # a new alert fires
        (entry({"a", "b"}), {"a"}, {"b"}, False, None),  # one resolved, send_resolved off: wait
        (entry({"a", "b"}), {"a"}, {"b"}, True, "resolved"),  # ... with send_resolved on: tell
        (entry({"a"}, {"b"}), {"a"}, {"b"}, True, None),  # that resolution was already told
        (entry({"a"}), set(), {"a"}, False, "resolved"),  # all clear is recorded even without send_resolved
        (entry(set(), {"a"}), set(), {"a"}, True, None),  # all clear was already recorded
        (entry({"a"}, ago=4 * H), {"a"}, set(), True, "repeat"),  # unchanged for repeat_interval
        (entry({"a"}, ago=4 * H - timedelta(seconds=1)), {"a"}, set(), True, None),  # not yet
        (entry(set()), {"a"}, set(), True, "new"),  # firing again after all clear is news
    ],
)
def test_needs_update(
    previous: LogEntry | None, firing: set[str], resolved: set[str], send_resolved: bool, expected: str | None
) -> None:
    assert needs_update(previous, frozenset(firing), frozenset(resolved), send_resolved, 4 * H, NOW) == expected
