"""Monitor status transitions with flap protection, from tables."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tocsin.checks.evaluate import apply_result, pause
from tocsin.checks.result import CheckResult, MonitorStatus, Outcome
from tocsin.store.records import MonitorState

T0 = datetime(2026, 1, 1, tzinfo=UTC)
U, G, D = Outcome.UP, Outcome.DEGRADED, Outcome.DOWN
P, UP_, DEG, DOWN = MonitorStatus.PENDING, MonitorStatus.UP, MonitorStatus.DEGRADED, MonitorStatus.DOWN


def run(start: MonitorStatus, outcomes: list[Outcome], fail: int, ok: int) -> list[MonitorStatus]:
    """The status after each result."""
    state = MonitorState(status=start)
    seen = []
    for i, outcome in enumerate(outcomes):
        state, _ = apply_result(state, CheckResult("m", T0 + timedelta(seconds=i), outcome), fail, ok)
        seen.append(state.status)
    return seen


@pytest.mark.parametrize(
    ("start", "outcomes", "fail", "ok", "expected"),
    [
        (P, [U], 2, 1, [UP_]),  # pending takes the first up result at once
        (P, [G], 2, 1, [DEG]),  # ... and the first degraded one
        (P, [D, D], 2, 1, [P, DOWN]),  # pending needs failure_threshold downs
        (P, [D, U], 2, 1, [P, UP_]),  # one failure then success: never down
        (UP_, [D], 1, 1, [DOWN]),  # threshold 1 reacts to a single failure
        (UP_, [D, U, D, U], 2, 1, [UP_, UP_, UP_, UP_]),  # alternating never trips a threshold of 2
        (UP_, [D, D, D], 3, 1, [UP_, UP_, DOWN]),  # exactly failure_threshold in a row
        (UP_, [G, D], 2, 1, [UP_, DOWN]),  # worse results in a row count together; latest decides
        (UP_, [D, G], 2, 1, [UP_, DEG]),  # ... so down then degraded lands on degraded
        (DOWN, [U], 2, 2, [DOWN]),  # recovery waits for success_threshold
        (DOWN, [U, U], 2, 2, [DOWN, UP_]),  # ... and happens at exactly success_threshold
        (DOWN, [U, D, U, U], 2, 2, [DOWN, DOWN, DOWN, UP_]),  # a failure in between restarts the count
        (DOWN, [G, G], 2, 2, [DOWN, DEG]),  # degraded is better than down: a recovery to degraded
        (DEG, [U], 2, 1, [UP_]),  # degraded to up with success_threshold 1
        (DEG, [D, G, D, D], 2, 1, [DEG, DEG, DEG, DOWN]),  # an equal result resets the worse streak
        (UP_, [U, U, U], 1, 1, [UP_, UP_, UP_]),  # steady state never transitions
    ],
)
def test_transitions(
    start: MonitorStatus, outcomes: list[Outcome], fail: int, ok: int, expected: list[MonitorStatus]
) -> None:
    assert run(start, outcomes, fail, ok) == expected


def test_transition_reports_previous_and_current_and_sets_since() -> None:
    state = MonitorState(status=UP_)
    at = T0 + timedelta(minutes=5)
    state, change = apply_result(state, CheckResult("m", at, D), 1, 1)
    assert change is not None
    assert (change.previous, change.current) == (UP_, DOWN)
    assert state.since == at
    assert state.last_outcome is D
    assert state.last_result_at == at


def test_pause_and_resume() -> None:
    paused, change = pause(MonitorState(status=DOWN), True)
    assert paused.status is MonitorStatus.PAUSED
    assert change is not None
    assert change.previous is DOWN
    resumed, change = pause(paused, False)
    assert resumed.status is P
    assert change is not None
    same, change = pause(MonitorState(status=UP_), False)  # resuming a running monitor does nothing
    assert same.status is UP_
    assert change is None


@given(
    st.lists(st.sampled_from([U, G, D]), max_size=40),
    st.integers(min_value=1, max_value=5),
    st.integers(min_value=1, max_value=5),
)
def test_status_only_moves_to_the_latest_outcome(outcomes: list[Outcome], fail: int, ok: int) -> None:
    """Invariant: a transition always lands on the outcome of the result that caused it."""
    state = MonitorState()
    for i, outcome in enumerate(outcomes):
        before = state.status
        state, change = apply_result(state, CheckResult("m", T0 + timedelta(seconds=i), outcome), fail, ok)
        if change is not None:
            assert change.previous is before
            assert state.status.value == outcome.value
        else:
            assert state.status is before


@given(st.integers(min_value=1, max_value=6), st.integers(min_value=0, max_value=10))
def test_fewer_failures_than_threshold_never_go_down(fail: int, extra_ups: int) -> None:
    """Invariant: fail-1 failures in a row, whatever surrounds them, keep an up monitor up."""
    outcomes = [U] * extra_ups + [D] * (fail - 1) + [U]
    assert DOWN not in run(UP_, outcomes, fail, 1)
