"""Message templates: defaults, escaping per format, overrides, limits, and the notification helpers they use."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from tests.component.channel_kit import T0, firing_alert, notification, resolved_alert, resolved_notification
from tocsin.notify.model import PermanentError, for_channel
from tocsin.notify.render import MessageTemplate, check_template, fit, format_duration, format_time, template_context


def render(name: str, source: str | None = None, **changes: object) -> str:
    return MessageTemplate(name, source).render(notification(**changes))


@pytest.mark.parametrize(
    ("n", "title"),
    [
        (notification(), "[FIRING:1] HighLatency (api)"),  # counts firing alerts only
        (resolved_notification(), "[RESOLVED] HighLatency (api)"),
        (notification(group_labels={"service": "api"}, common_labels={}), "[FIRING:1] api"),  # no alertname
        (notification(group_labels={}, common_labels={}), "[FIRING:1] alerts"),  # nothing to name it by
    ],
)
def test_title(n: object, title: str) -> None:
    assert MessageTemplate("title.txt.j2").render(n) == title  # type: ignore[arg-type]


def test_text_says_what_since_when_and_where() -> None:
    text = render("text.txt.j2")
    assert text.splitlines()[0] == "1 firing, 1 resolved, firing since 2026-01-01 10:00:00 UTC."
    assert "[FIRING] p99 latency above 500ms\n  since 2026-01-01 10:00:00 UTC (2h 5m)" in text
    assert "  labels: instance=a:9090" in text  # common labels are not repeated per alert
    assert "  runbook: https://runbooks.example.com/latency" in text
    assert "[RESOLVED] p99 latency above 500ms\n  resolved at 2026-01-01 10:30:00 UTC after 27m" in text
    assert text.endswith(
        "Open in tocsin: https://ops.example.com/alerts/group?key="
        "%7B%7D%3A%7Balertname%3D%22HighLatency%22%2C%20service%3D%22api%22%7D"
    )


def test_repeat_and_truncation_are_mentioned() -> None:
    text = render("text.txt.j2", reason="repeat", truncated_alerts=3, external_url="")
    assert text.startswith("Reminder: still firing.")
    assert "…and 3 more alerts not shown." in text
    assert "Open in tocsin" not in text  # no external_url, no link


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("html.html.j2", "a &lt;b&gt; &amp; &#34;c&#34;"),  # HTML: everything escaped
        ("telegram.html.j2", "a &lt;b&gt; &amp; &#34;c&#34;"),
        ("slack.mrkdwn.j2", 'a &lt;b&gt; &amp; "c"'),  # Slack: only &, <, >
        ("markdown.md.j2", 'a <b> & "c"'),  # markdown and text: untouched
        ("text.txt.j2", 'a <b> & "c"'),
    ],
)
def test_escaping_follows_the_format(name: str, expected: str) -> None:
    n = notification(firing_alert(summary='a <b> & "c"'))
    assert expected in MessageTemplate(name).render(n, title="t")


def test_override_sees_the_documented_context() -> None:
    source = (
        "{{ receiver }}/{{ status }}/{{ reason }}/{{ alerts|length }}/{{ firing[0].labels.instance }}/{{ since|time }}"
    )
    assert render("title.txt.j2", source) == "core/firing/new/2/a:9090/2026-01-01 10:00:00 UTC"


def test_missing_values_render_empty() -> None:
    assert render("title.txt.j2", "[{{ common_labels.nope.deeper }}]") == "[]"


def test_runtime_template_error_is_permanent() -> None:
    with pytest.raises(PermanentError, match="template error"):
        render("title.txt.j2", "{{ 1 / 0 }}")


def test_sandbox_blocks_internals() -> None:
    with pytest.raises(PermanentError):
        render("title.txt.j2", "{{ receiver.__class__.__mro__[1].__subclasses__() }}")


@pytest.mark.parametrize(
    ("source", "result"),
    [
        (None, None),  # unset: the default template
        ('{{ template "slack.default.title" . }}', None),  # Alertmanager's explicit default: ours
        ("{{ headline }} on {{ common_labels.service }}", "{{ headline }} on {{ common_labels.service }}"),
        ("plain text", "plain text"),
    ],
)
def test_check_template_accepts(source: str | None, result: str | None) -> None:
    assert check_template(source) == result


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("{{ .CommonLabels.alertname }}", "looks like an Alertmanager Go template"),
        ("{{ range .Alerts }}x{{ end }}", "looks like an Alertmanager Go template"),
        ("line one\n{% if %}", "invalid template (line 2)"),
        ("{{ unclosed", "invalid template (line 1)"),
    ],
)
def test_check_template_rejects(source: str, message: str) -> None:
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        check_template(source)


def test_fit_drops_alerts_then_cuts_at_a_line_end() -> None:
    n = notification(*(firing_alert(f"host{i}") for i in range(64)))
    template = MessageTemplate("text.txt.j2")
    text = fit(n, template.render, 1500)
    assert len(text) <= 1500
    assert "more alerts not shown" in text
    long_line = notification(firing_alert(description="word " * 1000))
    cut = fit(long_line, template.render, 300)
    assert len(cut) <= 300
    assert cut.endswith("…")
    assert "\n" in cut


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(0, "0s"), (45, "45s"), (60, "1m"), (7500, "2h 5m"), (90061, "1d 1h"), (-5, "0s")],
)
def test_format_duration(seconds: int, text: str) -> None:
    assert format_duration(timedelta(seconds=seconds)) == text


def test_format_time_treats_naive_as_utc() -> None:
    assert format_time(datetime(2026, 1, 1, 10, 0)) == "2026-01-01 10:00:00 UTC"
    assert format_time(None) == ""


def test_alert_status_is_decided_at_the_notification_instant() -> None:
    n = notification()
    future_end, past_end = n.alerts
    assert n.alert_status(future_end) == "firing"  # Prometheus sends a future ends_at while firing
    assert n.alert_status(past_end) == "resolved"
    assert template_context(n)["since"] == T0


def test_truncated_and_for_channel() -> None:
    n = notification(*(firing_alert(f"h{i}") for i in range(4)), resolved_alert(), truncated_alerts=1)
    assert len(n.truncated(2).alerts) == 2
    assert n.truncated(2).truncated_alerts == 4
    assert n.truncated(0) is n
    assert for_channel(n, send_resolved=True) is n
    only_firing = for_channel(n, send_resolved=False)
    assert only_firing is not None
    assert len(only_firing.alerts) == 4
    assert for_channel(resolved_notification(), send_resolved=False) is None


def test_context_uses_no_clock() -> None:
    later = notification(created_at=datetime(2026, 1, 2, 9, 30, tzinfo=UTC))
    assert template_context(later)["firing"][0].duration == "23h 30m"  # measured to created_at, not to now()
