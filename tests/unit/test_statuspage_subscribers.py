"""Status page subscribers, the pure rules: tokens, input checks, who hears an update, message text, config."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from pydantic import ValidationError

from tocsin.config.models import TocsinConfig
from tocsin.statuspage.subscribers import (
    PageLinks,
    PublicUpdate,
    SignupLimiter,
    Subscriber,
    SubscriptionError,
    check_components,
    check_email,
    check_form,
    check_webhook_url,
    confirmation_mail,
    expired,
    new_token,
    sign_form,
    update_mail,
    wants,
    webhook_body,
)
from tocsin.statuspage.subscription_config import SubscriptionsConfig, email_enabled, smtp_for

NOW = datetime(2026, 1, 1, 12, 0, tzinfo=UTC)
LINKS = PageLinks("https://status.example.com/status/acme")
SMTP = {"smtp_smarthost": "mail.example.com:587", "smtp_from": "status@example.com"}


def sub(components: tuple[str, ...] = (), *, confirmed: bool = True, page: str = "acme") -> Subscriber:
    return Subscriber(7, page, "email", "ann@example.com", components, "tok-en", NOW, NOW if confirmed else None)


def upd(components: dict[str, str] | None = None, pages: tuple[str, ...] = ("acme",)) -> PublicUpdate:
    return PublicUpdate(
        id=3,
        incident_id=42,
        incident_title="API errors",
        incident_created_at=NOW - timedelta(minutes=10),
        at=NOW,
        status="identified",
        body="A bad deploy; rolling back.",
        pages=pages,
        components=components or {},
    )


def test_tokens_are_random_and_url_safe() -> None:
    tokens = {new_token() for _ in range(100)}
    assert len(tokens) == 100
    assert all(len(t) == 43 and t.replace("-", "").replace("_", "").isalnum() for t in tokens)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("ann@Example.COM", "ann@example.com"),  # the domain is case-insensitive, the local part is not
        ("  Ann.B+status@example.co.uk ", "Ann.B+status@example.co.uk"),  # trimmed, tags kept
    ],
)
def test_valid_emails(given: str, expected: str) -> None:
    assert check_email(given) == expected


@pytest.mark.parametrize(
    "given",
    [
        "",  # nothing
        "ann",  # no domain
        "ann@localhost",  # no dot in the domain
        "Ann <ann@example.com>",  # a display name: one plain address only
        "ann@example.com, bob@example.com",  # two addresses
        "ann@exa mple.com",  # whitespace
        "a" * 250 + "@example.com",  # longer than 254
    ],
)
def test_invalid_emails(given: str) -> None:
    with pytest.raises(SubscriptionError, match="email: enter one plain address"):
        check_email(given)


def test_webhook_urls() -> None:
    assert check_webhook_url(" https://hooks.example.com/x ") == "https://hooks.example.com/x"
    for bad in ("ftp://example.com", "example.com/hook", "https://", "https://e.com/" + "x" * 500):
        with pytest.raises(SubscriptionError, match="webhook: enter an absolute"):
            check_webhook_url(bad)


def test_components_are_checked_and_kept_in_page_order() -> None:
    assert check_components(["DB", "API"], ["API", "Web", "DB"]) == ("API", "DB")
    assert check_components([], ["API"]) == ()  # none chosen: every component
    with pytest.raises(SubscriptionError, match="no component called 'Nope'"):
        check_components(["Nope"], ["API"])


def test_form_tokens_are_bound_to_the_page_and_expire() -> None:
    key = b"k" * 32
    token = sign_form(key, "acme", NOW)
    assert check_form(key, "acme", token, NOW + timedelta(hours=1))
    assert not check_form(key, "other", token, NOW)  # another page's form
    assert not check_form(b"x" * 32, "acme", token, NOW)  # another server's secret
    assert not check_form(key, "acme", token, NOW + timedelta(hours=3))  # left open too long
    assert not check_form(key, "acme", "garbage", NOW)


@pytest.mark.parametrize(
    ("subscriber", "update", "hears"),
    [
        (sub(), upd({"acme/API": "major_outage"}), True),  # all components: hears everything
        (sub(("API",)), upd({"acme/API": "major_outage"}), True),  # their component is affected
        (sub(("DB",)), upd({"acme/API": "major_outage"}), False),  # another component only
        (sub(("DB",)), upd({"acme/API": "partial_outage", "acme/DB": "degraded_performance"}), True),
        (sub(("DB",)), upd({"other/DB": "major_outage"}), True),  # no component of this page named: page-wide
        (sub(("DB",)), upd(), True),  # no component at all: a page-wide update
        (sub(confirmed=False), upd(), False),  # unconfirmed: never
        (sub(page="other"), upd(), False),  # the update is not on their page
    ],
)
def test_who_hears_an_update(subscriber: Subscriber, update: PublicUpdate, hears: bool) -> None:
    assert wants(subscriber, update) is hears


def test_unconfirmed_signups_expire_after_seven_days() -> None:
    pending = sub(confirmed=False)
    assert not expired(pending, NOW + timedelta(days=7))
    assert expired(pending, NOW + timedelta(days=7, seconds=1))
    assert not expired(sub(), NOW + timedelta(days=70))  # confirmed ones never do


def test_update_mail_has_one_click_unsubscribe() -> None:
    mail = update_mail("Acme status", upd({"acme/API": "major_outage", "other/X": "major_outage"}), sub(), LINKS)
    assert mail.subject == "[Acme status] API errors: Identified"
    unsubscribe = "https://status.example.com/status/acme/unsubscribe?token=tok-en"
    assert mail.headers == {
        "List-Unsubscribe": f"<{unsubscribe}>",
        "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
    }
    assert mail.text.splitlines() == [
        "Identified: A bad deploy; rolling back.",
        "",
        "Affected:",
        "API: major outage",  # only this page's components
        "",
        "Posted 2026-01-01 12:00 UTC.",
        "Status page: https://status.example.com/status/acme",
        "",
        f"Unsubscribe: {unsubscribe}",
    ]
    assert f'<a href="{unsubscribe}">Unsubscribe</a>' in mail.html


def test_confirmation_mail() -> None:
    mail = confirmation_mail("Acme <status>", sub(("API",), confirmed=False), LINKS)
    assert mail.subject == "Confirm your subscription to Acme <status>"
    assert "Confirm the subscription: https://status.example.com/status/acme/subscriptions/confirm?token=tok-en" in (
        mail.text
    )
    assert "updates (API)" in mail.text
    assert "Acme &lt;status&gt;" in mail.html  # escaped in HTML
    assert "List-Unsubscribe" not in mail.headers  # nothing to unsubscribe from yet


def test_webhook_body_is_statuspage_shaped() -> None:
    body = webhook_body(upd({"acme/API": "partial_outage"}), sub(), LINKS.page_url, LINKS)
    assert set(body) == {"meta", "page", "incident"}
    assert body["meta"]["unsubscribe"] == "https://status.example.com/status/acme/unsubscribe?token=tok-en"
    assert body["page"]["status_indicator"] == "major"
    assert body["page"]["status_description"] == "Partial System Outage"
    incident = body["incident"]
    assert (incident["id"], incident["name"], incident["status"], incident["impact"]) == (
        "42",
        "API errors",
        "identified",
        "major",
    )
    assert incident["resolved_at"] is None
    [update] = incident["incident_updates"]
    assert (update["id"], update["body"], update["created_at"]) == ("3", "A bad deploy; rolling back.", NOW.isoformat())


def test_signup_limiter_counts_per_page_and_address() -> None:
    limiter = SignupLimiter()
    assert [limiter.allow("acme", "10.0.0.1", 2, t) for t in (0.0, 1.0)] == [0.0, 0.0]
    assert limiter.allow("acme", "10.0.0.1", 2, 2.0) == pytest.approx(3598.0)  # the third in an hour waits
    assert limiter.allow("acme", "10.0.0.2", 2, 2.0) == 0.0  # another address
    assert limiter.allow("other", "10.0.0.1", 2, 2.0) == 0.0  # another page
    assert limiter.allow("acme", "10.0.0.1", 2, 3600.5) == 0.0  # the first one aged out


def test_smtp_defaults_from_alerting_global() -> None:
    assert smtp_for(SubscriptionsConfig(), {}) is None
    assert email_enabled(SubscriptionsConfig(), {}) is False  # on by default only with SMTP settings
    assert smtp_for(SubscriptionsConfig(), SMTP) == {"smarthost": "mail.example.com:587", "from": "status@example.com"}
    assert email_enabled(SubscriptionsConfig(), SMTP) is True
    own = SubscriptionsConfig.model_validate({"smtp": {"smarthost": "other:25", "require_tls": False}})
    assert smtp_for(own, SMTP) == {"smarthost": "other:25", "from": "status@example.com", "require_tls": False}
    assert email_enabled(SubscriptionsConfig(email=False), SMTP) is False


def test_email_without_smtp_settings_is_a_located_error() -> None:
    page = {"slug": "acme", "title": "Acme", "subscriptions": {"email": True}}
    with pytest.raises(ValidationError, match=r"status_pages\[0\]\.subscriptions\.smtp, or smtp_smarthost"):
        TocsinConfig.model_validate({"status_pages": [page]})
    ok = {
        "status_pages": [page],
        "alerting": {"global": SMTP, "route": {"receiver": "x"}, "receivers": [{"name": "x"}]},
    }
    assert TocsinConfig.model_validate(ok).status_pages[0].subscriptions.email is True
