"""Incident updates on a real server: internal ones reach a webhook and an email receiver, public ones name pages,
refusals say why, the console form works without JavaScript, and a quiet incident gets a reminder."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from tests.acceptance.conftest import Api
from tests.component.test_channel_email import Mailbox, smtp_server
from tocsin.testing import WebhookSink, running_server, webhook_sink


def write_config(path: Path, db: Path, hook: str, smtp_port: int) -> None:
    email = {"to": "sre@example.com", "from": "tocsin@example.com", "smarthost": f"127.0.0.1:{smtp_port}"}
    config: dict[str, Any] = {
        "server": {"external_url": "https://ops.example.com"},
        "storage": {"url": f"sqlite:///{db}"},
        "monitors": [{"name": "api", "kind": "heartbeat", "period": "1h"}],
        "status_pages": [
            {"slug": "public", "title": "Acme", "components": [{"name": "API", "monitors": ["api"]}]},
            {"slug": "partners", "title": "Acme partners", "components": [{"name": "API", "monitors": ["api"]}]},
        ],
        "alerting": {
            "route": {"receiver": "core", "group_by": ["alertname"], "group_wait": "10s"},
            "receivers": [
                {"name": "core", "webhook_configs": [{"url": hook}]},
                {"name": "chat", "email_configs": [{**email, "require_tls": False}]},
            ],
        },
        "incidents": {
            "audience": ["chat"],
            "update_reminder": "30m",
            "templates": [
                {
                    "name": "identified",
                    "audience": "internal",
                    "status": "identified",
                    "body": "Cause of {title} found ({severity}, {status}): {url}",
                },
                {"name": "investigating", "body": "We are investigating problems with {components}. {url}"},
            ],
        },
    }
    path.write_text(yaml.safe_dump(config))


def ours(sink: WebhookSink, alertname: str) -> list[dict[str, Any]]:
    """The webhook bodies of incident notices called `alertname` (the alert group's own notifications aside)."""
    bodies = [orjson.loads(r["body"]) for r in sink.requests]
    return [b for b in bodies if b["commonLabels"].get("alertname") == alertname]


async def until(check: Any, timeout: float = 30.0) -> None:
    async with asyncio.timeout(timeout):
        while not check():
            await asyncio.sleep(0.05)


async def test_updates_over_the_api(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, smtp_server() as mailbox:
        write_config(tmp_path / "tocsin.yaml", tmp_path / "u.db", sink.url, mailbox.port)
        async with running_server(tmp_path / "tocsin.yaml") as server:
            api = Api(server.url, http, server.headers)
            await internal_and_public(api, sink, mailbox)
            await refusals(api)
            await console(api)
            await reminder(api, sink)


async def internal_and_public(api: Api, sink: WebhookSink, mailbox: Mailbox) -> None:
    await api.post("/api/v2/alerts", [{"labels": {"alertname": "CheckoutErrors"}}])
    [group] = (await api.get("/api/v1/alerts/groups"))["groups"]
    body = {"title": "Checkout failing", "severity": "SEV2", "group_key": group["key"]}
    iid = (await api.post("/api/v1/incidents", body, 201))["incident"]["id"]
    names = [t["name"] for t in (await api.get("/api/v1/incidents/templates"))["templates"]]
    assert names == ["identified", "investigating"]

    # internal, from a template, moving the status: one action
    posted = await api.post(
        f"/api/v1/incidents/{iid}/updates",
        {"audience": "internal", "template": "identified", "status": "identified"},
        201,
    )
    assert posted["receivers"] == ["chat", "core"]  # incidents.audience, then the linked group's receiver
    assert (posted["incident_status"], posted["update"]["status"]) == ("identified", "identified")
    text = f"Cause of Checkout failing found (SEV2, identified): https://ops.example.com/incidents/{iid}"
    assert posted["update"]["body"] == text
    await sink.wait_for(1, timeout=30)
    [hook] = ours(sink, "IncidentUpdate")
    assert hook["receiver"] == "core"
    assert hook["commonAnnotations"]["summary"] == f"[SEV2] Incident {iid} update: Checkout failing"
    assert hook["commonAnnotations"]["description"].startswith(text)
    assert hook["links"] == {f"Open incident {iid}": f"https://ops.example.com/incidents/{iid}"}
    assert sink.requests[0]["headers"]["Idempotency-Key"]
    await until(lambda: len(mailbox.messages) == 1)
    [mail] = mailbox.messages
    assert mail.message["Subject"] == f"[SEV2] Incident {iid} update: Checkout failing"
    plain = mail.message.get_body(("plain",))
    assert plain is not None
    assert text in plain.get_content()

    # public: nowhere to publish until a status-page component is affected
    refused = await api.post(f"/api/v1/incidents/{iid}/updates", {"audience": "public", "body": "Looking."}, 400)
    assert "add an affected component of a status page to the incident, or name the pages" in refused["detail"]
    impacts = [{"kind": "component", "page": "public", "name": "API", "impact": "major_outage"}]
    version = posted["incident_version"]
    await api.request("PATCH", f"/api/v1/incidents/{iid}", {"version": version, "impacts": impacts})
    public = await api.post(
        f"/api/v1/incidents/{iid}/updates", {"audience": "public", "template": "investigating"}, 201
    )
    update = public["update"]
    assert (update["pages"], update["components"]) == (["public"], {"public/API": "major_outage"})
    assert update["body"] == "We are investigating problems with API. https://ops.example.com/status/public"
    assert public["receivers"] == []  # public updates go to status pages, not to receivers
    named = {"audience": "public", "body": "Partners too.", "pages": ["partners", "public"]}
    assert (await api.post(f"/api/v1/incidents/{iid}/updates", named, 201))["update"]["pages"] == ["partners", "public"]

    listed = (await api.get(f"/api/v1/incidents/{iid}/updates"))["updates"]
    assert [(u["audience"], u["body"][:8]) for u in listed] == [
        ("public", "Partners"),
        ("public", "We are i"),
        ("internal", "Cause of"),
    ]
    timeline = (await api.get(f"/api/v1/incidents/{iid}"))["timeline"]
    entries = [e for e in timeline if e["kind"] == "update"]
    assert entries[0]["text"] == f"internal update to chat, core: {text}"
    assert entries[0]["detail"] == {
        "audience": "internal",
        "update_id": listed[2]["id"],
        "pages": [],
        "status": "identified",
    }
    assert entries[1]["text"].startswith("public update on public: We are investigating")
    audit = (await api.get("/api/v1/audit?action=incident.update_posted"))["entries"]
    assert [(e["target"], e["detail"]["audience"]) for e in audit] == [(str(iid), "public")] * 2 + [
        (str(iid), "internal")
    ]
    assert len(ours(sink, "IncidentUpdate")) == 1  # nothing else was sent


async def refusals(api: Api) -> None:
    path = "/api/v1/incidents/1/updates"
    cases = [
        ({"audience": "internal"}, 400, "write the update, or name a template"),
        ({"audience": "internal", "template": "nope"}, 400, "no update template is called 'nope'; known: identified"),
        (
            {"audience": "public", "body": "x", "pages": ["nope"]},
            400,
            "no status page is called 'nope'; known: partners",
        ),
        ({"audience": "internal", "body": "x", "pages": ["public"]}, 400, "internal updates are not published"),
        ({"audience": "internal", "body": "x", "status": "fixed"}, 400, "unknown status 'fixed'"),
        ({"audience": "internal", "body": "x", "status": "investigating"}, 201, ""),  # identified → investigating
        ({"audience": "internal", "body": "x", "status": "resolved"}, 201, ""),
        ({"audience": "internal", "body": "x", "status": "monitoring"}, 400, "cannot go from resolved to monitoring"),
    ]
    for body, status, reason in cases:
        answer = await api.post(path, body, status)
        if reason:
            assert reason in answer["detail"], answer
    refused = await api.post(path, {"audience": "everyone", "body": "x"}, 422)
    assert refused["errors"][0]["field"] == "body.audience"
    assert (
        "no incident 99"
        in (await api.post("/api/v1/incidents/99/updates", {"audience": "internal", "body": "x"}, 404))["detail"]
    )
    await api.get("/api/v1/incidents/99/updates", 404)
    reopened = await api.post(path, {"audience": "internal", "body": "Back.", "status": "investigating"}, 201)
    assert reopened["incident_status"] == "investigating"


async def console(api: Api) -> None:
    page = await api.get("/incidents/1/updates")
    assert '<form method="get" action="/incidents/1/updates"' in page
    assert "Back." in page
    assert page.index("Back.") < page.index("Cause of Checkout failing")  # newest first
    twin = await api.get("/incidents/1/updates.json")
    assert twin["form"] == {
        "audience": "internal",
        "template": "",
        "status": "",
        "body": "",
        "pages": ["public"],
        "error": None,
    }
    assert twin["pages"] == ["public", "partners"]
    assert twin["updates"] == (await api.get("/api/v1/incidents/1/updates"))["updates"]

    prefilled = await api.get("/incidents/1/updates.json?template=identified")
    assert (
        prefilled["form"]["body"]
        == "Cause of Checkout failing found (SEV2, identified): https://ops.example.com/incidents/1"
    )
    assert (prefilled["form"]["audience"], prefilled["form"]["status"]) == ("internal", "identified")
    html = await api.get("/incidents/1/updates?template=investigating")
    assert "We are investigating problems with API. https://ops.example.com/status/public</textarea>" in html
    assert "no update template is called" in await api.request("GET", "/incidents/1/updates?template=nope", expect=400)

    form = {"audience": "public", "status": "", "body": "From the console.", "pages": ["partners"]}
    await api.request("POST", "/incidents/1/updates", data=form)  # 303 back to the page, followed
    [latest, *_] = (await api.get("/api/v1/incidents/1/updates"))["updates"]
    assert (latest["audience"], latest["pages"], latest["body"]) == ("public", ["partners"], "From the console.")
    ticked = {"audience": "internal", "body": "Internal, boxes still ticked.", "pages": ["public"]}
    await api.request("POST", "/incidents/1/updates", data=ticked)  # pages are ignored for internal updates
    refused = await api.request("POST", "/incidents/1/updates", data={"audience": "public", "body": ""}, expect=400)
    assert "write the update, or name a template" in refused
    assert "404" in await api.request(
        "POST", "/incidents/99/updates", data={"audience": "internal", "body": "x"}, expect=404
    )


async def reminder(api: Api, sink: WebhookSink) -> None:
    before = len(ours(sink, "IncidentUpdateReminder"))
    await api.advance("29m")
    await asyncio.sleep(0.5)
    assert len(ours(sink, "IncidentUpdateReminder")) == before
    await api.advance("2m")
    await until(lambda: len(ours(sink, "IncidentUpdateReminder")) == before + 1)
    [body] = ours(sink, "IncidentUpdateReminder")
    assert body["commonAnnotations"]["summary"].startswith("[SEV2] Incident 1: no update for 3")
    assert "goes to the incident's audience" in body["commonAnnotations"]["description"]
    timeline = (await api.get("/api/v1/incidents/1"))["timeline"]
    assert timeline[-1]["kind"] == "reminder"
    assert timeline[-1]["text"].endswith("reminded the audience (no commander is assigned)")
