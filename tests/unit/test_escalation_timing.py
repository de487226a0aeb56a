"""Escalation timing from tables: (policy, group history) -> the pages due, in order."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tocsin.oncall import (
    EscalationPolicy,
    EscalationState,
    Layer,
    Schedule,
    Step,
    Target,
    TargetKind,
    days,
    expand_targets,
    next_due,
    notifications,
)
from tocsin.oncall.escalation import timeline

T0 = datetime(2024, 3, 10, 6, 50, tzinfo=UTC)  # ten minutes before New York springs forward
ALICE = Target(TargetKind.USER, "alice")
PRIMARY = Target(TargetKind.SCHEDULE, "primary")
CORE = Target(TargetKind.TEAM, "core")
STEPS = (
    Step((ALICE,), timedelta(minutes=5)),
    Step((PRIMARY,), timedelta(minutes=10)),
    Step((CORE,), timedelta(minutes=15)),
)
ONCE = EscalationPolicy("core", STEPS, repeat=1)
EXPIRING = EscalationPolicy("core", STEPS, repeat=1, ack_timeout=timedelta(minutes=30))


def m(minutes: int) -> datetime:
    """The instant `minutes` after the group fired."""
    return T0 + timedelta(minutes=minutes)


def pages(policy: EscalationPolicy, state: EscalationState) -> list[tuple[int, int, int, bool]]:
    """(minute, step, pass, resumed) for every page of the group's whole history."""
    return [
        (int((n.due - T0) / timedelta(minutes=1)), n.step_index, n.repetition, n.resumed)
        for n in notifications(policy, state, T0, m(10_000))
    ]


FULL = [(0, 0, 0, False), (5, 1, 0, False), (15, 2, 0, False)]
FULL += [(30, 0, 1, False), (35, 1, 1, False), (45, 2, 1, False)]

TIMELINES = [
    # nobody answers: three steps, then one repeat (the last delay is the pause before it)
    (ONCE, EscalationState(T0), FULL),
    # no repeat: one pass and stop
    (EscalationPolicy("p", STEPS), EscalationState(T0), FULL[:3]),
    # an ack after step 1 stops escalation for good when acks never expire
    (ONCE, EscalationState(T0, (m(7),)), FULL[:2]),
    # an ack at the very minute a page is due silences that page
    (ONCE, EscalationState(T0, (m(5),)), FULL[:1]),
    # resolving stops escalation; a page due at the resolve instant is not sent
    (ONCE, EscalationState(T0, resolved_at=m(15)), FULL[:2]),
    # an ack from before the group fired (an older group) is ignored
    (ONCE, EscalationState(T0, (m(-1),)), FULL),
    # the ack expires 30m later: step 1 is paged again, then escalation carries on from there
    (
        EXPIRING,
        EscalationState(T0, (m(7),)),
        [
            *FULL[:2],
            (37, 1, 0, True),
            (47, 2, 0, False),
            (62, 0, 1, False),
            (67, 1, 1, False),
            (77, 2, 1, False),
        ],
    ),
    # acknowledging again while acknowledged restarts the 30m timer
    (
        EXPIRING,
        EscalationState(T0, (m(7), m(20))),
        [
            *FULL[:2],
            (50, 1, 0, True),
            (60, 2, 0, False),
            (75, 0, 1, False),
            (80, 1, 1, False),
            (90, 2, 1, False),
        ],
    ),
    # resolved while acknowledged: the expiry never pages
    (EXPIRING, EscalationState(T0, (m(7),), m(20)), FULL[:2]),
    # resolved after the expiry: pages resume until the resolve
    (
        EXPIRING,
        EscalationState(T0, (m(7),), m(50)),
        [*FULL[:2], (37, 1, 0, True), (47, 2, 0, False)],
    ),
    # acknowledged after every pass was used up: the last step is paged again on expiry
    (EXPIRING, EscalationState(T0, (m(50),)), [*FULL, (80, 2, 1, True)]),
    # acked, expired, acked again: each expiry resumes at the step paged last
    (
        EXPIRING,
        EscalationState(T0, (m(1), m(40))),
        [
            FULL[0],
            (31, 0, 0, True),
            (36, 1, 0, False),
            (70, 1, 0, True),
            (80, 2, 0, False),
            (95, 0, 1, False),
            (100, 1, 1, False),
            (110, 2, 1, False),
        ],
    ),
]


@pytest.mark.parametrize(("policy", "state", "expected"), TIMELINES)
def test_escalation_timeline(
    policy: EscalationPolicy, state: EscalationState, expected: list[tuple[int, int, int, bool]]
) -> None:
    assert pages(policy, state) == expected


def test_notifications_are_those_due_in_the_half_open_window() -> None:
    due = notifications(ONCE, EscalationState(T0), m(5), m(30))
    assert [(n.due, n.step_index, n.targets) for n in due] == [
        (m(5), 1, (PRIMARY,)),
        (m(15), 2, (CORE,)),
    ]


NEXT = [
    (m(0), 0),  # the first page is due the moment the group fires
    (m(1), 5),  # between pages, the next one is the following step
    (m(5), 5),  # a page due exactly now is still due
    (m(46), None),  # after the last page of the last pass there is nothing left
]


@pytest.mark.parametrize(("now", "minute"), NEXT)
def test_next_due(now: datetime, minute: int | None) -> None:
    found = next_due(ONCE, EscalationState(T0), now)
    assert (None if found is None else found.due) == (None if minute is None else m(minute))


def test_next_due_after_an_ack_is_its_expiry() -> None:
    found = next_due(EXPIRING, EscalationState(T0, (m(7),)), m(8))
    assert found is not None
    assert (found.due, found.step_index, found.resumed) == (m(37), 1, True)


def test_times_in_other_zones_are_the_same_instants() -> None:
    # Delays are elapsed time: the DST jump in New York at 07:00Z does not stretch them.
    state = EscalationState(T0.astimezone(ZoneInfo("America/New_York")))
    assert pages(ONCE, state) == FULL


def test_expand_targets_resolves_schedules_and_teams_at_the_due_time() -> None:
    rota = Layer("l", ("bob", "cat"), days(1), date(2024, 3, 1), time(9), "America/New_York")
    schedules = {"primary": Schedule("primary", "America/New_York", (rota,))}
    teams = {"core": ("alice", "dave")}
    targets = (ALICE, PRIMARY, CORE)
    # 01:50 EST on 10 March is still the 9 March turn (bob); 10:00 EDT (14:00Z) is cat's.
    assert expand_targets(targets, m(0), schedules, teams) == ("alice", "bob", "dave")
    assert expand_targets(targets, m(430), schedules, teams) == ("alice", "cat", "dave")
    assert expand_targets((ALICE, ALICE), m(0), schedules, teams) == ("alice",)
    with pytest.raises(ValueError, match="does not exist"):
        expand_targets((Target(TargetKind.TEAM, "ghosts"),), m(0), schedules, teams)


def test_bad_policies_are_refused() -> None:
    with pytest.raises(ValueError, match="at least one step"):
        EscalationPolicy("p", ())
    with pytest.raises(ValueError, match="negative"):
        Step((ALICE,), timedelta(minutes=-1))
    with pytest.raises(ValueError, match="timezone-aware"):
        EscalationState(datetime(2024, 1, 1))


MINUTES = st.integers(0, 300)
POLICIES = st.builds(
    EscalationPolicy,
    st.just("p"),
    st.lists(
        st.builds(Step, st.just((ALICE,)), MINUTES.map(lambda n: timedelta(minutes=n))),
        min_size=1,
        max_size=4,
    ).map(tuple),
    st.integers(0, 3),
    st.one_of(st.none(), st.integers(1, 300).map(lambda n: timedelta(minutes=n))),
)


@settings(max_examples=200, deadline=None)
@given(
    policy=POLICIES,
    acks=st.lists(MINUTES, max_size=4),
    resolved=st.one_of(st.none(), MINUTES),
    extra=MINUTES,
)
def test_a_later_event_never_changes_earlier_pages(
    policy: EscalationPolicy, acks: list[int], resolved: int | None, extra: int
) -> None:
    before = EscalationState(T0, tuple(map(m, acks)), None if resolved is None else m(resolved))
    after = EscalationState(T0, (*before.acknowledged_at, m(extra)), before.resolved_at)
    early = [n for n in timeline(policy, before) if n.due < m(extra)]
    assert [n for n in timeline(policy, after) if n.due < m(extra)] == early
    dues = [n.due for n in timeline(policy, before)]
    assert dues == sorted(dues)
    assert all(resolved is None or due < m(resolved) for due in dues)
