"""Postmortems, pure: the review state machine, durations, rendering (golden files), regeneration, HTML.

Golden files live in tests/fixtures/postmortems/. After an intended change of the document,
regenerate them with `TOCSIN_UPDATE_GOLDEN=1 pytest tests/unit/test_postmortem.py
tests/component/test_postmortem_facts.py` and review the diff like code.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from tocsin.incidents.postmortem import GENERATED, html, markdown, regenerate
from tocsin.incidents.postmortem_model import (
    Ack,
    ActionItem,
    Affected,
    Facts,
    FirstAlert,
    Moment,
    Page,
    PostmortemError,
    PostmortemState,
    PublicUpdate,
    SloSpend,
    check_editable,
    check_transition,
    durations,
    facts_from_json,
    facts_json,
    human_duration,
    impact_window,
)

GOLDEN = Path(__file__).resolve().parents[1] / "fixtures" / "postmortems"
T0 = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
D, IR, P = PostmortemState.DRAFT, PostmortemState.IN_REVIEW, PostmortemState.PUBLISHED


def golden(name: str, text: str) -> None:
    """Compare with the golden file `name`, or write it when TOCSIN_UPDATE_GOLDEN=1."""
    path = GOLDEN / name
    if os.environ.get("TOCSIN_UPDATE_GOLDEN") == "1":
        path.write_text(text)
    assert path.exists(), f"{path} is missing; run with TOCSIN_UPDATE_GOLDEN=1 to write it"
    assert text == path.read_text(), f"{name} differs from its golden file (TOCSIN_UPDATE_GOLDEN=1 rewrites it)"


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


def rich_facts() -> Facts:
    """An incident with everything: SLO spend over the threshold, pages, acks, pins, actions, updates."""
    times = {"impact_start": at(0), "detected": at(4), "acknowledged": at(6), "mitigated": at(35), "resolved": at(52)}
    return Facts(
        incident_id=7,
        title="Checkout | payments failing",
        severity="SEV1",
        summary="Card payments failed for 35 minutes after a certificate expired.",
        generated_at=at(60),
        source="rule:payments-down",
        roles={"commander": "alice", "scribe": "bob"},
        times=times,
        window_start=at(0),
        window_end=at(52),
        durations=durations(times),
        affected=[
            Affected("service", "payments", "major_outage"),
            Affected("component", "Checkout", "partial_outage", "public"),
        ],
        slos=[
            SloSpend("payments-availability", "payments", 99.9, "30d", 41.6667, 180, 4320, True, "service payments"),
            SloSpend("payments-latency", "payments", 99.0, "month (UTC)", 3.5, 12, 4320, False, "service payments"),
        ],
        threshold=20.0,
        required=True,
        alert_groups=['{}:{alertname="PaymentsDown"}'],
        first_alert=FirstAlert('{}:{alertname="PaymentsDown"}', "PaymentsDown", at(3), "payments 5xx above 50%"),
        pages=[
            Page("alice", "sms", at(4), "delivered", '{}:{alertname="PaymentsDown"}'),
            Page("alice", "email", at(4), "delivered", '{}:{alertname="PaymentsDown"}'),
        ],
        acks=[Ack("alice", at(6), '{}:{alertname="PaymentsDown"}')],
        timeline=[
            Moment(at(4), "tocsin", "declared", "declared SEV1: Checkout | payments failing"),
            Moment(at(20), "alice", "note", "the payment provider's certificate expired at 09:00", pinned=True),
            Moment(at(35), "bob", "status", "status identified → monitoring"),
            Moment(at(52), "alice", "status", "status monitoring → resolved"),
        ],
        actions=[
            ActionItem("Alert 14 days before any certificate expires", "detect", "open", "carol", at(60 * 24 * 14)),
            ActionItem("Automate certificate renewal", "prevent", "in_progress", None, None),
        ],
        updates=[PublicUpdate(at(8), "investigating", "Card payments are failing; we are investigating.")],
    )


def quiet_facts() -> Facts:
    """An incident that knows little: no SLO, no alert, no pages, nothing on the timeline."""
    times = {"impact_start": None, "detected": at(0), "acknowledged": None, "mitigated": None, "resolved": at(90)}
    return Facts(
        7,
        "Slow admin pages",
        "SEV4",
        "",
        at(91),
        times=times,
        window_start=at(0),
        window_end=at(90),
        durations=durations(times),
    )


@pytest.mark.parametrize(
    ("current", "target", "allowed"),
    [
        (D, IR, True),  # a draft goes to review
        (D, P, False),  # nothing is published without a review
        (IR, P, True),  # a reviewed postmortem is published
        (IR, D, True),  # reviewers send it back for more work
        (P, D, True),  # reopen a published postmortem for edits
        (P, IR, False),  # a reopened one starts as a draft again
        (D, D, False),  # not a move
    ],
)
def test_state_machine(current: PostmortemState, target: PostmortemState, allowed: bool) -> None:
    if allowed:
        check_transition(current, target)
    else:
        with pytest.raises(PostmortemError, match=f"cannot go from {current} to {target}"):
            check_transition(current, target)


def test_published_is_read_only() -> None:
    check_editable(D)
    check_editable(IR)
    with pytest.raises(PostmortemError, match="move it back to draft"):
        check_editable(P)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [
        (None, "unknown"),
        (0, "0s"),
        (45, "45s"),
        (60, "1m"),
        (245, "4m 05s"),
        (5280, "1h 28m"),
        (86400, "1d"),
        (183600, "2d 3h"),
    ],
)
def test_human_duration(seconds: float | None, text: str) -> None:
    assert human_duration(seconds) == text


def test_durations_from_milestones() -> None:
    times = {"impact_start": at(0), "detected": at(4), "acknowledged": at(6), "mitigated": at(35), "resolved": at(52)}
    d = durations(times)
    assert (d.impact, d.to_detect, d.to_acknowledge, d.to_mitigate, d.to_resolve) == (3120, 240, 120, 2100, 3120)
    # no impact start: the window starts at detection; no resolution yet: it ends at mitigation
    assert impact_window({"detected": at(4), "mitigated": at(35)}) == (at(4), at(35))
    assert durations({"detected": at(4)}).to_detect is None


def test_facts_round_trip_through_json() -> None:
    facts = rich_facts()
    stored = facts_json(facts)
    assert stored["times"]["detected"] == "2026-03-02T09:04:00Z"
    assert stored["slos"][0]["consumed"] == 41.6667
    assert facts_from_json(stored) == facts


def test_golden_rich() -> None:
    golden("rich.md", markdown(rich_facts()))


def test_golden_quiet() -> None:
    golden("quiet.md", markdown(quiet_facts()))


def test_sections_are_blameless_and_complete() -> None:
    text = markdown(rich_facts())
    headings = [line[3:] for line in text.splitlines() if line.startswith("## ")]
    assert headings == [
        "Summary",
        "Impact",
        "Detection",
        "Response",
        "Timeline",
        "Contributing factors",
        "What went well",
        "What went poorly",
        "Where we got lucky",
        "Action items",
        "Lessons",
    ]
    assert "## Root cause" not in text
    assert "blameless" in text


def test_regenerate_replaces_only_generated_sections() -> None:
    first = markdown(quiet_facts())
    edited = first.replace("- _A contributing factor_", "- The admin database had no index on orders.created_at")
    edited = edited.replace("Slow admin pages\n", "Slow admin pages (edited title)\n", 1)
    again, skipped = regenerate(edited, rich_facts())
    assert skipped == []
    assert "- The admin database had no index on orders.created_at" in again
    assert "# Postmortem: Slow admin pages (edited title)" in again  # human text stays, the title too
    assert "payments-availability" in again  # the new facts are in
    for name in GENERATED:
        assert again.count(f"<!-- tocsin:begin {name} -->") == 1


def test_regenerate_skips_sections_whose_markers_were_removed() -> None:
    first = markdown(quiet_facts())
    edited = first.replace("<!-- tocsin:end timeline -->\n", "")
    again, skipped = regenerate(edited, rich_facts())
    assert skipped == ["timeline"]
    assert "the payment provider's certificate expired" not in again
    assert "payments-availability" in again


def test_html_is_sanitised_and_hides_markers() -> None:
    body = markdown(quiet_facts()) + "\n<script>alert(1)</script>\n\n[x](javascript:alert(1)) <b>bold</b>\n"
    out = html(body)
    assert "<script>" not in out
    assert "&lt;script&gt;" in out
    assert 'href="javascript:' not in out
    assert "<b>" not in out
    assert "tocsin:begin" not in out
    assert "<table>" in out
    assert "<h3>Impact</h3>" in out  # one level down: the page has its own h1
    assert "<h1>" not in out
