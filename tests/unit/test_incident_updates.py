"""Incident updates, the pure part: templates, pages, audience, the notice channels render, reminder timing."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

import pytest

from tocsin.config.models import TocsinConfig
from tocsin.incidents.model import Impact, IncidentError, Status
from tocsin.incidents.updates import (
    audience_receivers,
    components_phrase,
    deliveries,
    fill,
    find_template,
    notice_integrations,
    publish_pages,
    reminder_due,
    reminder_due_at,
    reminder_message,
    routed_receivers,
    snapshot,
    template_values,
    update_notice,
)
from tocsin.notify.model import SKIPPED, DeliveryResult, Notification
from tocsin.notify.outbox import Integration, decode, encode
from tocsin.notify.render import MessageTemplate
from tocsin.notify.webhook import payload_v4
from tocsin.store.incident_updates import IncidentUpdate, QuietIncident
from tocsin.store.incidents import Incident

T0 = datetime(2026, 3, 1, 10, 0, tzinfo=UTC)
API = Impact("component", "public", "API", "major_outage")
WEB = Impact("component", "public", "Web", "partial_outage")
PARTNER = Impact("component", "partners", "API", "degraded_performance")
CHECKOUT = Impact("service", "", "checkout", "major_outage")


def incident(*impacts: Impact, **changes: object) -> Incident:
    base = Incident("Checkout errors", "SEV2", Status.IDENTIFIED, "", "alice", T0, T0, impacts=impacts, id=12)
    return replace(base, **changes)  # type: ignore[arg-type]


# templates


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("We are investigating {components}.", "We are investigating API and Web."),
        ("[{severity}] #{id} {title} is {status}: {url}", "[SEV2] #12 Checkout errors is monitoring: https://x/i/12"),
        ('Literal braces stay: {"a": 1} and {unknown}', 'Literal braces stay: {"a": 1} and {unknown}'),  # not fields
        ("{title}{title}", "Checkout errorsCheckout errors"),  # every occurrence
    ],
)
def test_fill(body: str, expected: str) -> None:
    values = template_values(incident(API, WEB), "monitoring", [API, WEB], "https://x/i/12")
    assert fill(body, values) == expected


@pytest.mark.parametrize(
    ("impacts", "phrase"),
    [
        ((), "our services"),  # nothing recorded yet
        ((API,), "API"),
        ((API, WEB), "API and Web"),
        ((API, WEB, Impact("component", "public", "DB", "major_outage")), "API, Web and DB"),
        ((API, PARTNER), "API"),  # the same name on two pages is named once
        ((CHECKOUT,), "checkout"),  # services when no component is affected
        ((CHECKOUT, API), "API"),  # components win: they are what the public knows
    ],
)
def test_components_phrase(impacts: tuple[Impact, ...], phrase: str) -> None:
    assert components_phrase(impacts) == phrase


def test_find_template_names_the_known_ones() -> None:
    templates = [{"name": "investigating", "body": "b"}, {"name": "fixed", "body": "c"}]
    found = TocsinConfig.model_validate({"incidents": {"templates": templates}}).incidents.templates
    assert find_template(found, "fixed").body == "c"
    with pytest.raises(IncidentError, match="no update template is called 'nope'; known: investigating, fixed"):
        find_template(found, "nope")
    with pytest.raises(IncidentError, match=r"known: none \(configure incidents.templates\)"):
        find_template([], "nope")


# pages


KNOWN = ["public", "partners", "internal-status"]


@pytest.mark.parametrize(
    ("audience", "requested", "impacts", "pages"),
    [
        ("public", None, (API, WEB, PARTNER), ("public", "partners")),  # default: affected components' pages
        ("public", ["internal-status"], (API,), ("internal-status",)),  # an explicit list wins
        ("public", ["public", "public"], (), ("public",)),  # named once
        ("public", None, (Impact("component", "gone", "X", "major_outage"), API), ("public",)),  # deleted page
        ("internal", None, (API,), ()),  # internal updates are never published
        ("internal", [], (API,), ()),
    ],
)
def test_publish_pages(
    audience: str, requested: list[str] | None, impacts: tuple[Impact, ...], pages: tuple[str, ...]
) -> None:
    assert publish_pages(audience, requested, impacts, KNOWN) == pages  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("audience", "requested", "impacts", "error"),
    [
        ("public", None, (), "add an affected component of a status page to the incident, or name the pages"),
        ("public", None, (CHECKOUT,), "needs a status page to publish to"),  # a service is on no page
        ("public", [], (API,), "needs a status page to publish to"),  # an explicit empty list publishes nowhere
        ("public", ["nope"], (API,), "no status page is called 'nope'; known: internal-status, partners, public"),
        ("internal", ["public"], (), "internal updates are not published"),
    ],
)
def test_publish_pages_refusals(
    audience: str, requested: list[str] | None, impacts: tuple[Impact, ...], error: str
) -> None:
    with pytest.raises(IncidentError, match=error):
        publish_pages(audience, requested, impacts, KNOWN)  # type: ignore[arg-type]


def test_snapshot_records_components_only() -> None:
    assert snapshot([API, PARTNER, CHECKOUT]) == {"public/API": "major_outage", "partners/API": "degraded_performance"}


# audience


ROUTES = {"{}": "default", '{}/{service="api"}': "api-team", '{}/{service="api"}/{env="prod"}': "api-prod"}


@pytest.mark.parametrize(
    ("keys", "receivers"),
    [
        (['{}:{alertname="X"}'], ["default"]),  # the root route
        (['{}/{service="api"}:{alertname="X"}'], ["api-team"]),  # not the root: "{}/" is not "{}:{"
        (['{}/{service="api"}/{env="prod"}:{}'], ["api-prod"]),
        (['{}:{a="1"}', '{}:{a="2"}'], ["default"]),  # each receiver once
        (['{}/{service="gone"}:{}'], []),  # a route that no longer exists
    ],
)
def test_routed_receivers(keys: list[str], receivers: list[str]) -> None:
    assert routed_receivers(keys, ROUTES) == receivers


def test_audience_is_configured_then_linked_without_people() -> None:
    assert audience_receivers(["sre-chat", "core"], ["core", "oncall:alice", "api-team"]) == [
        "sre-chat",
        "core",
        "api-team",
    ]


class Quiet:
    async def send(self, n: Notification, http: object) -> DeliveryResult:
        return SKIPPED


def test_notices_skip_paging_channels() -> None:
    integrations = {
        "core": [
            Integration("core", 0, "slack", True, Quiet()),
            Integration("core", 1, "pagerduty", True, Quiet()),
            Integration("core", 2, "oncall", False, Quiet()),
        ],
        "sre-chat": [Integration("sre-chat", 0, "webhook", True, Quiet())],
    }
    through = notice_integrations(["core", "sre-chat", "unknown"], integrations)
    assert [(i.receiver, i.kind) for i in through] == [("core", "slack"), ("sre-chat", "webhook")]


# the message


def posted(**changes: object) -> IncidentUpdate:
    u = IncidentUpdate(12, T0, "alice", "internal", "identified", "Cause found: a bad deploy.\nRolling back.")
    return replace(u, **changes)  # type: ignore[arg-type]


def test_update_notice_renders_as_a_distinct_message() -> None:
    n = update_notice(incident(API), posted(), "https://ops.example.com/incidents/12", "https://ops.example.com")
    assert MessageTemplate("title.txt.j2").render(n) == "[SEV2] Incident 12 update: Checkout errors"
    text = MessageTemplate("text.txt.j2").render(n)
    assert text.startswith("Cause found: a bad deploy.\nRolling back.\n\nStatus: identified · posted by alice")
    assert text.endswith("Open incident 12: https://ops.example.com/incidents/12")
    assert "firing" not in text.lower()  # not an alert
    html = MessageTemplate("html.html.j2").render(n, title="T")
    assert "<p>Cause found: a bad deploy.<br>Rolling back.</p>" in html
    assert '<a href="https://ops.example.com/incidents/12">Open incident 12</a>' in html
    assert n.console_url == "https://ops.example.com/incidents/12"  # buttons open the incident, not a group


def test_receiver_overrides_do_not_apply_to_notices() -> None:
    n = update_notice(incident(), posted(), "https://x/incidents/12", "https://x")
    assert MessageTemplate("title.txt.j2", "{{ common_labels.alertname }} {{ status }}").render(n).startswith("[SEV2]")


def test_html_notice_is_escaped() -> None:
    n = update_notice(incident(), posted(body="<script>x</script> & co"), "https://x/incidents/12", "")
    assert "&lt;script&gt;x&lt;/script&gt; &amp; co" in MessageTemplate("html.html.j2").render(n)


def test_deliveries_are_keyed_per_channel_and_survive_the_outbox() -> None:
    n = update_notice(incident(), posted(), "https://x/incidents/12", "https://x")
    through = [Integration("core", 0, "slack", True, Quiet()), Integration("sre", 1, "webhook", True, Quiet())]
    rows = deliveries(n, through, 7)
    assert [(d.receiver, d.integration, d.reason) for d in rows] == [("core", 0, "incident"), ("sre", 1, "incident")]
    assert len({d.idempotency_key for d in rows}) == 2
    assert rows[0].idempotency_key != deliveries(n, through, 8)[0].idempotency_key  # another update, another key
    back = decode(rows[1].payload)
    assert (back.subject, back.receiver, back.links) == (n.subject, "sre", n.links)
    body = payload_v4(back)
    assert body["alerts"][0]["labels"] == {
        "alertname": "IncidentUpdate",
        "incident_id": "12",
        "incident_severity": "SEV2",
        "incident_status": "identified",
    }
    assert body["commonAnnotations"]["summary"] == "[SEV2] Incident 12 update: Checkout errors"
    assert body["links"] == {"Open incident 12": "https://x/incidents/12"}


def test_alert_notifications_still_encode_as_before() -> None:
    n = update_notice(incident(), posted(), "", "")
    plain = replace(n, subject="")
    assert "subject" not in encode(plain)  # rows written before notices decode unchanged
    assert decode(encode(plain)).subject == ""


# reminders

PERIOD = timedelta(minutes=30)


def quiet(last: datetime | None = None, reminded: datetime | None = None, **changes: object) -> QuietIncident:
    q = QuietIncident(12, "Checkout errors", "SEV2", "identified", T0, last, reminded, "alice")
    return replace(q, **changes)  # type: ignore[arg-type]


M = timedelta(minutes=1)


@pytest.mark.parametrize(
    ("q", "due_at"),
    [
        (quiet(), T0 + 30 * M),  # no update: 30 minutes after declaring
        (quiet(last=T0 + 10 * M), T0 + 40 * M),  # 30 minutes after the last update
        (quiet(reminded=T0 + 30 * M), T0 + 60 * M),  # reminded and still quiet: once per period
        (quiet(last=T0 + 45 * M, reminded=T0 + 30 * M), T0 + 75 * M),  # an update after the reminder restarts it
        (quiet(last=T0 - 5 * M), T0 + 30 * M),  # an update older than the declaration (imported) does not count
    ],
)
def test_reminder_due_at(q: QuietIncident, due_at: datetime) -> None:
    assert reminder_due_at(q, PERIOD) == due_at


@pytest.mark.parametrize(
    ("q", "period", "now", "due"),
    [
        (quiet(), PERIOD, T0 + 29 * M, False),
        (quiet(), PERIOD, T0 + 30 * M, True),  # exactly the period
        (quiet(), None, T0 + 600 * M, False),  # update_reminder: null turns reminders off
        (quiet(status="resolved"), PERIOD, T0 + 600 * M, False),  # resolved incidents need no updates
        (quiet(reminded=T0 + 30 * M), PERIOD, T0 + 59 * M, False),  # at most once per period
        (quiet(reminded=T0 + 30 * M), PERIOD, T0 + 60 * M, True),
    ],
)
def test_reminder_due(q: QuietIncident, period: timedelta | None, now: datetime, due: bool) -> None:
    assert reminder_due(q, period, now) is due


def test_reminder_message() -> None:
    subject, text = reminder_message(quiet(last=T0), T0 + 42 * M, "https://x/incidents/12/updates")
    assert subject == "[SEV2] Incident 12: no update for 42m"
    assert "nobody has posted an update since 2026-03-01 10:00:00 UTC" in text
    assert text.endswith("Please post an internal or public update: https://x/incidents/12/updates")
    _, text = reminder_message(quiet(commander=None), T0 + 31 * M, "u")
    assert "since it was declared" in text
    assert text.endswith("No commander is assigned, so this reminder goes to the incident's audience.")
