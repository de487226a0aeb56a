"""Pure monitor state transitions with flap protection.

The counters are relative to the current status: `consecutive_fail` counts results in a
row that are worse than the status, `consecutive_ok` results that are better. A result
equal to the status resets both. The status moves to the latest result's outcome once
`failure_threshold` worse (or `success_threshold` better) results arrived in a row.
A pending monitor takes its first available result at once (that is not a recovery).
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from tocsin.checks.result import CheckResult, MonitorStatus, Outcome
from tocsin.store.records import MonitorState

_RANK = {MonitorStatus.UP: 0, MonitorStatus.DEGRADED: 1, MonitorStatus.DOWN: 2}
_STATUS_OF = {
    Outcome.UP: MonitorStatus.UP,
    Outcome.DEGRADED: MonitorStatus.DEGRADED,
    Outcome.DOWN: MonitorStatus.DOWN,
}


@dataclass(frozen=True, slots=True)
class Transition:
    """A change of status caused by one result."""

    previous: MonitorStatus
    current: MonitorStatus


def apply_result(
    state: MonitorState, result: CheckResult, failure_threshold: int, success_threshold: int
) -> tuple[MonitorState, Transition | None]:
    """Fold one result into the state; return the new state and the transition, if any."""
    target = _STATUS_OF[result.outcome]
    if target is state.status:  # the common case, built directly: replace() costs ~1 µs a call
        return MonitorState(target, 0, 0, state.since, result.outcome, result.at), None
    seen = replace(state, last_outcome=result.outcome, last_result_at=result.at)
    if state.status in (MonitorStatus.PENDING, MonitorStatus.PAUSED):
        return _from_pending(seen, target, result, failure_threshold)
    if _RANK[target] > _RANK[state.status]:
        fails = state.consecutive_fail + 1
        if fails >= failure_threshold:
            return _move(seen, target, result)
        return replace(seen, consecutive_fail=fails, consecutive_ok=0), None
    oks = state.consecutive_ok + 1
    if oks >= success_threshold:
        return _move(seen, target, result)
    return replace(seen, consecutive_ok=oks, consecutive_fail=0), None


def _from_pending(
    seen: MonitorState, target: MonitorStatus, result: CheckResult, failure_threshold: int
) -> tuple[MonitorState, Transition | None]:
    if target is not MonitorStatus.DOWN:
        return _move(seen, target, result)
    fails = seen.consecutive_fail + 1
    if fails >= failure_threshold:
        return _move(seen, target, result)
    return replace(seen, consecutive_fail=fails, consecutive_ok=0), None


def _move(seen: MonitorState, target: MonitorStatus, result: CheckResult) -> tuple[MonitorState, Transition]:
    moved = replace(seen, status=target, since=result.at, consecutive_ok=0, consecutive_fail=0)
    return moved, Transition(seen.status, target)


def pause(state: MonitorState, paused: bool) -> tuple[MonitorState, Transition | None]:
    """Pause (or resume into pending) a monitor; the transition lets callers resolve alerts."""
    target = MonitorStatus.PAUSED if paused else MonitorStatus.PENDING
    if state.status is target or (not paused and state.status is not MonitorStatus.PAUSED):
        return state, None
    moved = replace(state, status=target, consecutive_ok=0, consecutive_fail=0)
    return moved, Transition(state.status, target)
