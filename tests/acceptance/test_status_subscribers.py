"""Status page subscribers on a real server: double opt-in email through aiosmtpd, public updates fanned out per
component, one-click unsubscribe, Statuspage-shaped webhooks, the admin API, and no answer that tells who subscribed."""

from __future__ import annotations

import asyncio
import contextlib
import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import EmailMessage
from email.policy import default as default_policy
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml
from aiosmtpd.smtp import SMTP, Envelope, Session

from tests.acceptance.conftest import Api
from tocsin.testing import WebhookSink, running_server, webhook_sink

_CONFIRM = re.compile(r"(/status/acme/subscriptions/confirm\?token=[A-Za-z0-9_\-%]+)")


@dataclass
class Mailbox:
    """aiosmtpd's handler: every message, parsed."""

    port: int = 0
    messages: list[EmailMessage] = field(default_factory=list)

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        content = envelope.content if isinstance(envelope.content, bytes) else b""
        message = message_from_bytes(content, policy=default_policy)
        assert isinstance(message, EmailMessage)
        self.messages.append(message)
        return "250 OK"

    def to(self, address: str) -> list[EmailMessage]:
        return [m for m in self.messages if m["To"] == address]

    async def wait_for(self, count: int, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while len(self.messages) < count:
                await asyncio.sleep(0.02)


@contextlib.asynccontextmanager
async def smtp_server() -> AsyncIterator[Mailbox]:
    mailbox = Mailbox()
    server = await asyncio.get_running_loop().create_server(lambda: SMTP(mailbox, hostname="mx.test"), "127.0.0.1", 0)
    mailbox.port = server.sockets[0].getsockname()[1]
    try:
        yield mailbox
    finally:
        server.close()
        await server.wait_closed()


def write_config(path: Path, db: Path, smtp_port: int) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [
            {"name": "api", "kind": "heartbeat", "period": "1h"},
            {"name": "db", "kind": "heartbeat", "period": "1h"},
        ],
        "alerting": {
            "global": {"smtp_smarthost": f"127.0.0.1:{smtp_port}", "smtp_from": "Acme status <status@acme.test>"},
            "route": {"receiver": "nobody"},
            "receivers": [{"name": "nobody"}],
        },
        "status_pages": [
            {
                "slug": "acme",
                "title": "Acme",
                "components": [{"name": "API", "monitors": ["api"]}, {"name": "DB", "monitors": ["db"]}],
                "subscriptions": {"webhooks": True, "smtp": {"require_tls": False}, "max_signups_per_hour": 6},
            }
        ],
    }
    path.write_text(yaml.safe_dump(config))


@dataclass
class Visitor:
    """An anonymous browser on the public pages."""

    base: str
    session: aiohttp.ClientSession

    async def signup(self, kind: str, address: str, components: tuple[str, ...] = (), token: str = "") -> int:
        if not token:
            async with self.session.get(f"{self.base}/status/acme/subscribe.json") as resp:
                token = (await resp.json())["form_token"]
        form = [("form_token", token), ("kind", kind), ("address", address), *(("components", c) for c in components)]
        async with self.session.post(f"{self.base}/status/acme/subscribe", data=form) as resp:
            text = await resp.text()
            if resp.status == 200:
                expected = "Check your inbox" if kind == "email" else "Subscribed: the webhook"
                assert expected in text
            return resp.status

    async def press(self, link: str, **kwargs: Any) -> tuple[int, str]:
        """Follow a link from a message (GET shows a button), then press it (POST)."""
        url = self.base + link[link.index("/status/") :]
        async with self.session.get(url) as resp:
            assert resp.status == 200
            assert "<button" in await resp.text()
        async with self.session.post(url, **kwargs) as resp:
            return resp.status, await resp.text()


async def confirm(visitor: Visitor, mailbox: Mailbox, address: str) -> None:
    [mail] = mailbox.to(address)
    assert mail["Subject"] == "Confirm your subscription to Acme"
    text = mail.get_body(("plain",))
    assert text is not None
    found = _CONFIRM.search(text.get_content())
    assert found, text.get_content()
    status, page = await visitor.press(found.group(1))
    assert status == 200
    assert "Subscribed: you will receive updates." in page


async def post_public_update(admin: Api, component: str, body: str, page: str = "acme") -> None:
    declared = await admin.post("/api/v1/incidents", {"title": f"{component} trouble", "severity": "SEV2"}, 201)
    path = f"/api/v1/incidents/{declared['incident']['id']}"
    version = (await admin.get(path))["incident"]["version"]
    impacts = [{"kind": "component", "page": page, "name": component, "impact": "major_outage"}]
    await admin.request("PATCH", path, {"version": version, "impacts": impacts})
    await admin.post(f"{path}/updates", {"audience": "public", "body": body, "status": "identified"}, 201)
    await admin.advance("1s")  # the fan-out loop looks every second of (test) clock


async def test_subscribe_confirm_notify_unsubscribe(tmp_path: Path) -> None:
    async with smtp_server() as mailbox, webhook_sink() as hook:
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "s.db", mailbox.port)
        async with running_server(config) as server, aiohttp.ClientSession() as http:
            admin, visitor = Api(server.url, http, server.headers), Visitor(server.url, http)
            await signups(visitor, mailbox, hook)
            await post_public_update(admin, "API", "Errors on the API; rolling back.")
            await mailbox.wait_for(4)  # 3 confirmations + 1 update (ann: API); bob (DB) and carol (pending): nothing
            [delivery] = await hook.wait_for(1)
            await assert_update_mail(visitor, mailbox)
            assert_webhook(delivery)
            await assert_admin_api(admin, server.url, http)
            await post_public_update(admin, "DB", "Database failover.")
            await mailbox.wait_for(5)
            await asyncio.sleep(0.5)  # nothing else may arrive
            assert [m["To"] for m in mailbox.messages[4:]] == ["bob@example.com"]  # ann left; bob hears about DB
            assert len(hook.requests) == 1  # the webhook was removed through the admin API


async def signups(visitor: Visitor, mailbox: Mailbox, hook: WebhookSink) -> None:
    assert await visitor.signup("email", "ann@example.com", ("API",)) == 200
    await mailbox.wait_for(1)
    await confirm(visitor, mailbox, "ann@example.com")
    assert await visitor.signup("email", "ann@example.com", ("DB",)) == 200  # the same answer: no enumeration
    assert await visitor.signup("email", "bob@example.com", ("DB",)) == 200
    assert await visitor.signup("email", "carol@example.com") == 200  # never confirms
    await mailbox.wait_for(3)
    await confirm(visitor, mailbox, "bob@example.com")
    assert len(mailbox.to("ann@example.com")) == 1  # a confirmed subscription is left alone: no second email
    assert await visitor.signup("email", "not an address") == 400
    assert await visitor.signup("email", "dave@example.com", token="1.forged") == 403  # not a form of this page
    assert await visitor.signup("webhook", hook.url) == 200
    assert await visitor.signup("email", "eve@example.com") == 429  # 7th signup from this address in an hour


async def assert_update_mail(visitor: Visitor, mailbox: Mailbox) -> None:
    [_, mail] = mailbox.to("ann@example.com")
    assert mail["Subject"] == "[Acme] API trouble: Identified"
    assert mail["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    link = mail["List-Unsubscribe"].strip("<>")
    assert link.startswith(visitor.base + "/status/acme/unsubscribe?token=")
    text = mail.get_body(("plain",))
    assert text is not None
    assert "Identified: Errors on the API; rolling back." in text.get_content()
    async with visitor.session.post(link, data={"List-Unsubscribe": "One-Click"}) as resp:  # RFC 8058: one POST
        assert resp.status == 200
        assert "Unsubscribed" in await resp.text()
    async with visitor.session.get(link) as resp:
        assert "does not exist (any more)" in await resp.text()


def assert_webhook(delivery: dict[str, Any]) -> None:
    body = orjson.loads(delivery["body"])
    assert delivery["headers"]["Content-Type"] == "application/json"
    assert set(body) == {"meta", "page", "incident"}
    assert body["meta"]["unsubscribe"].split("?")[0].endswith("/status/acme/unsubscribe")
    assert body["page"]["status_indicator"] == "critical"
    assert body["incident"]["name"] == "API trouble"
    assert body["incident"]["components"] == [{"name": "API", "status": "major_outage"}]
    assert body["incident"]["incident_updates"][0]["body"] == "Errors on the API; rolling back."


async def assert_admin_api(admin: Api, base: str, http: aiohttp.ClientSession) -> None:
    listed = await admin.get("/api/v1/status-pages/acme/subscribers")
    assert listed["counts"] == {"email_confirmed": 1, "email_unconfirmed": 1, "webhook_confirmed": 1,
                                "webhook_unconfirmed": 0}  # fmt: skip
    assert [(s["address"], s["status"]) for s in listed["subscribers"]] == [
        ("bob@example.com", "confirmed"),
        ("carol@example.com", "unconfirmed"),
        (listed["subscribers"][2]["address"], "confirmed"),
    ]
    async with http.get(base + "/api/v1/status-pages/acme/subscribers") as resp:
        assert resp.status == 401  # personal data: never public
    webhook_id = listed["subscribers"][2]["id"]
    await admin.request("DELETE", f"/api/v1/status-pages/acme/subscribers/{webhook_id}", expect=204)
    await admin.request("DELETE", f"/api/v1/status-pages/acme/subscribers/{webhook_id}", expect=404)


BETA = "status.beta.test"


async def test_console_page_takes_subscribers_on_its_domain_and_hears_updates(tmp_path: Path) -> None:
    async with smtp_server() as mailbox, webhook_sink() as hook:
        config = tmp_path / "tocsin.yaml"
        write_config(config, tmp_path / "s.db", mailbox.port)
        async with running_server(config) as server, aiohttp.ClientSession() as http:
            admin = Api(server.url, http, server.headers)
            components = [{"name": "API", "monitors": ["api"]}]
            spec = {"slug": "beta", "title": "Beta", "custom_domain": BETA, "components": components}
            spec["subscriptions"] = {"webhooks": True}
            await admin.post("/api/v1/status-pages", spec, 201)
            on_domain = {"Host": BETA}
            async with http.get(server.url + "/subscribe", headers=on_domain) as resp:
                assert 'action="/subscribe"' in await resp.text()  # the form posts back on the domain
            async with http.get(server.url + "/subscribe.json", headers=on_domain) as resp:
                assert resp.status == 200
                form = await resp.json()
            assert (form["slug"], form["kinds"]) == ("beta", ["email", "webhook"])
            signup = [("form_token", form["form_token"]), ("kind", "webhook"), ("address", hook.url)]
            async with http.post(server.url + "/subscribe", data=signup, headers=on_domain) as resp:
                assert resp.status == 200, await resp.text()
            for path in ("/subscriptions/confirm?token=unknown", "/unsubscribe?token=unknown"):
                async with http.get(server.url + path, headers=on_domain) as resp:
                    assert resp.status == 200, path  # the page's own answer, not the domain's 404
                    assert '<a href="/">Back to the status page</a>' in await resp.text()
            await post_public_update(admin, "API", "Beta is down.", page="beta")
            [delivery] = await hook.wait_for(1)
            body = orjson.loads(delivery["body"])
            assert body["incident"]["incident_updates"][0]["body"] == "Beta is down."
            assert body["meta"]["unsubscribe"].startswith(f"https://{BETA}/unsubscribe?token=")
