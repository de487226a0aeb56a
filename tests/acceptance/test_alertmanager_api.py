"""The Alertmanager API v2 and the ingest webhooks, black-box against `tocsin serve` on port 0.

Shapes and error texts are compared with what Alertmanager 0.25 answers (captured from the
Debian binary); notifications go through tocsin's route to an in-test webhook sink, and each
test fails if the sink received anything it did not expect.
"""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tocsin.testing import WebhookSink, running_server, webhook_sink

GO_MILLIS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
GENERIC_KEY = "generic-key-for-tests-0001"
GETTABLE_ALERT_KEYS = {"annotations", "endsAt", "fingerprint", "receivers", "startsAt", "status", "updatedAt", "labels"}


def write_config(tmp_path: Path, sink_url: str, extra: str = "") -> Path:
    """A config with an alertmanager.yml-style `alerting:` section whose receivers post to the sink."""
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        f"""
server: {{listen: 127.0.0.1:0}}
storage: {{url: "sqlite:///{tmp_path / "t.db"}"}}
alerting:
  global: {{resolve_timeout: 5m}}
  route:
    receiver: sink
    group_by: [alertname]
    group_wait: 0s
    group_interval: 1m
    routes:
      - matchers: ['team="db"']
        receiver: db
  receivers:
    - name: sink
      webhook_configs: [{{url: "{sink_url}"}}]
    - name: db
      webhook_configs: [{{url: "{sink_url}"}}]
  inhibit_rules:
    - source_matchers: ['severity="critical"']
      target_matchers: ['severity="warning"']
      equal: [alertname]
{extra}"""
    )
    return config


@dataclass
class Answer:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class Http:
    """Raw requests with the server's credentials: status, decoded body and headers, asserting nothing."""

    base: str
    session: aiohttp.ClientSession
    auth: dict[str, str] = field(default_factory=dict)

    async def call(self, method: str, path: str, body: Any = None, data: bytes | None = None) -> Answer:
        payload = orjson.dumps(body) if body is not None else data
        headers = {**self.auth, **({"Content-Type": "application/json"} if payload is not None else {})}
        async with self.session.request(method, self.base + path, data=payload, headers=headers) as resp:
            raw = await resp.read()
            decoded: Any = raw.decode()
            if resp.content_type == "application/json" and raw:
                decoded = orjson.loads(raw)
            return Answer(resp.status, decoded, dict(resp.headers))

    async def get(self, path: str) -> Any:
        answer = await self.call("GET", path)
        assert answer.status == 200, f"GET {path}: {answer.status} {answer.body}"
        return answer.body

    async def post(self, path: str, body: Any) -> Any:
        answer = await self.call("POST", path, body)
        assert answer.status in (200, 202), f"POST {path}: {answer.status} {answer.body}"
        return answer.body

    async def now(self) -> datetime:
        return datetime.fromisoformat((await self.get("/-/clock"))["now"])

    async def advance(self, duration: str) -> None:
        await self.post("/-/clock", {"advance": duration})

    async def align_clock(self) -> datetime:
        """Move the test clock to the next whole second, so fake instants are exact in floats and datetimes."""
        now = await self.now()
        await self.post("/-/clock", {"set": iso(now.replace(microsecond=0) + timedelta(seconds=1))})
        return await self.now()


def iso(at: datetime) -> str:
    return at.isoformat().replace("+00:00", "Z")


def go_millis(at: datetime) -> str:
    """How Alertmanager writes a time: UTC, milliseconds, Z."""
    return at.strftime("%Y-%m-%dT%H:%M:%S.") + f"{at.microsecond // 1000:03d}Z"


def names(alerts: list[dict[str, Any]]) -> list[str]:
    return sorted(a["labels"].get("alertname", "") for a in alerts)


async def delivered(sink: WebhookSink, count: int, timeout: float = 10.0) -> None:
    """Wait (bounded) until the sink holds at least `count` requests."""
    for _ in range(int(timeout / 0.02)):
        if len(sink.requests) >= count:
            return
        await asyncio.sleep(0.02)
    raise AssertionError(f"expected {count} notifications, got {notified(sink)}")


def notified(sink: WebhookSink) -> list[tuple[str, list[tuple[str, str]]]]:
    """Every notification the sink got: receiver and (alertname, status) of each alert."""
    out = []
    for request in sink.requests:
        body = orjson.loads(request["body"])
        out.append((body["receiver"], sorted((a["labels"].get("alertname", ""), a["status"]) for a in body["alerts"])))
    return out


async def test_alerts_silences_groups_status_and_health(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url)) as server:
        am = Http(server.url, http, server.headers)
        await am.align_clock()
        for path in ("/-/healthy", "/-/ready"):
            assert (await am.call("GET", path)).body == "OK"
        assert await am.get("/api/v2/receivers") == [{"name": "sink"}, {"name": "db"}]

        now = await am.now()
        assert (
            await am.post(
                "/api/v2/alerts",
                [
                    {"labels": {"alertname": "A", "sev": "x"}, "annotations": {"summary": "s"}},
                    {"labels": {"alertname": "Web", "severity": "critical"}, "generatorURL": "http://prom/graph"},
                    {"labels": {"alertname": "Web", "severity": "warning"}},
                    {"labels": {"alertname": "Db", "team": "db", "empty": ""}, "endsAt": iso(now + timedelta(hours=1))},
                    {"labels": {"alertname": "Gone"}, "startsAt": iso(now - timedelta(hours=1)), "endsAt": iso(now)},
                ],
            )
            == ""
        )
        alerts = await am.get("/api/v2/alerts")
        assert names(alerts) == ["A", "Db", "Web", "Web"]  # resolved ones are not listed
        assert [a["fingerprint"] for a in alerts] == sorted(a["fingerprint"] for a in alerts)
        first = next(a for a in alerts if a["labels"]["alertname"] == "A")
        assert set(first) == GETTABLE_ALERT_KEYS  # generatorURL omitted when empty, as Alertmanager does
        assert first["fingerprint"] == "a95a76968dc9254d"  # what Alertmanager 0.25 answers for these labels
        assert first["receivers"] == [{"name": "sink"}]
        assert first["status"] == {"inhibitedBy": [], "silencedBy": [], "state": "active"}
        assert all(GO_MILLIS.match(first[k]) for k in ("startsAt", "endsAt", "updatedAt"))
        assert datetime.fromisoformat(first["endsAt"]) - datetime.fromisoformat(first["startsAt"]) == timedelta(
            minutes=5
        )  # no endsAt: resolve_timeout
        db = next(a for a in alerts if a["labels"]["alertname"] == "Db")
        assert db["labels"] == {"alertname": "Db", "team": "db"}  # empty labels dropped
        assert db["receivers"] == [{"name": "db"}]
        warning = next(a for a in alerts if a["labels"].get("severity") == "warning")
        critical = next(a for a in alerts if a["labels"].get("severity") == "critical")
        assert warning["status"] == {"inhibitedBy": [critical["fingerprint"]], "silencedBy": [], "state": "suppressed"}
        assert critical["generatorURL"] == "http://prom/graph"

        # filters
        assert names(await am.get('/api/v2/alerts?filter=team="db"')) == ["Db"]
        assert names(await am.get("/api/v2/alerts?filter=%7Balertname%3D~%22W.%2A%22%7D")) == ["Web", "Web"]
        assert names(await am.get("/api/v2/alerts?filter=alertname!=Web&filter=sev=x")) == ["A"]
        assert names(await am.get("/api/v2/alerts?inhibited=false")) == ["A", "Db", "Web"]
        assert names(await am.get("/api/v2/alerts?active=false")) == ["Web"]
        assert names(await am.get("/api/v2/alerts?receiver=d.")) == ["Db"]
        bad = await am.call("GET", "/api/v2/alerts?filter=foo")
        assert bad.status == 400
        assert bad.body.startswith("bad matcher format")
        assert (await am.call("GET", "/api/v2/alerts?active=maybe")).status == 400

        # silences: create, read, filter, update in place, replace on matcher change, expire
        sil = {
            "matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
            "startsAt": iso(now - timedelta(minutes=1)),
            "endsAt": iso(now + timedelta(hours=1)),
            "createdBy": "alice",
            "comment": "deploy",
        }
        sid = (await am.post("/api/v2/silences", sil))["silenceID"]
        assert re.fullmatch(r"[0-9a-f-]{36}", sid)
        got = await am.get(f"/api/v2/silence/{sid}")
        assert got["status"] == {"state": "active"}
        assert got["matchers"] == [{"isEqual": True, "isRegex": False, "name": "alertname", "value": "A"}]
        assert got["startsAt"] == go_millis(now)  # a start in the past becomes now
        assert {k: got[k] for k in ("createdBy", "comment")} == {"createdBy": "alice", "comment": "deploy"}
        assert set(got) == {"id", "status", "updatedAt", "comment", "createdBy", "endsAt", "matchers", "startsAt"}
        silenced = next(a for a in await am.get("/api/v2/alerts") if a["labels"]["alertname"] == "A")
        assert silenced["status"] == {"inhibitedBy": [], "silencedBy": [sid], "state": "suppressed"}
        assert names(await am.get("/api/v2/alerts?silenced=false")) == ["Db", "Web", "Web"]
        assert [s["id"] for s in await am.get('/api/v2/silences?filter=alertname="A"')] == [sid]
        assert await am.get('/api/v2/silences?filter=alertname="B"') == []

        longer = {**sil, "id": sid, "startsAt": got["startsAt"], "endsAt": iso(now + timedelta(hours=2))}
        assert (await am.post("/api/v2/silences", longer))["silenceID"] == sid  # same matchers: updated in place
        moved = {**longer, "matchers": [{"name": "alertname", "value": "Db", "isRegex": False}]}
        new_id = (await am.post("/api/v2/silences", moved))["silenceID"]
        assert new_id != sid  # matchers changed: the old one expired, a new one was made
        assert (await am.get(f"/api/v2/silence/{sid}"))["status"]["state"] == "expired"
        states = [(s["id"], s["status"]["state"]) for s in await am.get("/api/v2/silences")]
        assert states == [(new_id, "active"), (sid, "expired")]
        assert (await am.call("DELETE", f"/api/v2/silence/{new_id}")).status == 200
        assert (await am.get(f"/api/v2/silence/{new_id}"))["status"]["state"] == "expired"
        assert (await am.call("DELETE", f"/api/v2/silence/{new_id}")).status == 200  # already expired: no-op
        unknown = "00000000-0000-0000-0000-000000000000"
        assert (await am.call("DELETE", f"/api/v2/silence/{unknown}")).status == 404
        assert (await am.call("GET", f"/api/v2/silence/{unknown}")).body == "silence not found"
        assert (await am.call("POST", "/api/v2/silences", {**sil, "id": unknown})).status == 404

        # groups: the dispatcher's groups, filtered like alerts
        groups = await am.get("/api/v2/alerts/groups")
        assert [(g["labels"], g["receiver"]["name"], names(g["alerts"])) for g in groups] == [
            ({"alertname": "A"}, "sink", ["A"]),
            ({"alertname": "Db"}, "db", ["Db"]),
            ({"alertname": "Web"}, "sink", ["Web", "Web"]),
        ]
        assert [g["labels"] for g in await am.get("/api/v2/alerts/groups?receiver=db")] == [{"alertname": "Db"}]
        assert [names(g["alerts"]) for g in await am.get("/api/v2/alerts/groups?inhibited=false")][-1] == ["Web"]

        status = await am.get("/api/v2/status")
        assert set(status) == {"cluster", "config", "uptime", "versionInfo"}
        assert status["cluster"] == {"peers": [], "status": "disabled"}
        assert "receiver: sink" in status["config"]["original"]
        assert sink.url not in status["config"]["original"]  # webhook URLs are secrets, as in Alertmanager
        assert "<secret>" in status["config"]["original"]
        assert set(status["versionInfo"]) == {"branch", "buildDate", "buildUser", "goVersion", "revision", "version"}
        assert GO_MILLIS.match(status["uptime"])
        assert status["uptime"] < go_millis(now)  # when the server started, before the clock was aligned

        # every group was notified once through its route (group_wait 0s), and nothing else
        await delivered(sink, 3)
        assert sorted(notified(sink)) == [
            ("db", [("Db", "firing")]),
            ("sink", [("A", "firing")]),
            ("sink", [("Web", "firing")]),  # the warning is inhibited by the critical one
        ]
        assert len(sink.requests) == 3


async def test_resolve_timeout_unless_resent(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url)) as server:
        am = Http(server.url, http, server.headers)
        await am.align_clock()
        await am.post("/api/v2/alerts", [{"labels": {"alertname": "Resent"}}, {"labels": {"alertname": "Once"}}])
        await delivered(sink, 2)
        await am.advance("4m")
        await am.post("/api/v2/alerts", [{"labels": {"alertname": "Resent"}}])  # re-sent: a new timeout
        await am.advance("2m")
        assert names(await am.get("/api/v2/alerts")) == ["Resent"]  # Once resolved after resolve_timeout (5m)
        await delivered(sink, 3)
        assert notified(sink)[2] == ("sink", [("Once", "resolved")])
        await am.advance("4m")
        assert await am.get("/api/v2/alerts") == []
        await delivered(sink, 4)
        assert notified(sink)[3] == ("sink", [("Resent", "resolved")])
        assert len(sink.requests) == 4


async def test_bad_input_body_limit_and_rate_limit(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    extra = "ingest: {alerts_per_minute: 60, burst: 3}\n"
    config = write_config(tmp_path, "http://127.0.0.1:9/unused", extra)
    config.write_text(config.read_text().replace("listen: 127.0.0.1:0", "listen: 127.0.0.1:0, max_body_bytes: 1024"))
    async with running_server(config) as server:
        am = Http(server.url, http, server.headers)
        await am.align_clock()
        refused = {
            "not json": (b"notjson", "parsing alerts body failed"),
            "not an array": (b'{"labels": {"a": "b"}}', "expected a JSON array"),
            "no labels": (b"[{}]", "0.labels in body is required"),
            "bad time": (
                b'[{"labels": {"a": "b"}, "startsAt": "xyz"}]',
                "0.startsAt in body must be of type date-time",
            ),
            "bad type": (
                b'[{"labels": {"a": "b"}}, {"labels": {"a": 1}}]',
                "1.labels.a in body must be of type string",
            ),
            "bad url": (b'[{"labels": {"a": "b"}, "generatorURL": "not a url"}]', "0.generatorURL in body must be"),
        }
        for case, (body, reason) in refused.items():
            answer = await am.call("POST", "/api/v2/alerts", data=body)
            assert answer.status == 400, case
            assert reason in answer.body, (case, answer.body)

        # semantic problems: the valid alerts are kept (Alertmanager's best effort), the others named by index
        mixed = [
            {"labels": {"alertname": "Ok"}},
            {"labels": {"a-b": "x"}},
            {"labels": {"x": ""}},
            {
                "labels": {"alertname": "Backwards"},
                "startsAt": "2030-01-01T00:00:00Z",
                "endsAt": "2029-01-01T00:00:00Z",
            },
        ]
        answer = await am.call("POST", "/api/v2/alerts", mixed)
        assert answer.status == 400
        assert answer.body == (
            '1.labels: invalid label set: invalid name "a-b"; 2.labels: at least one label pair required; '
            "3.endsAt: start time must be before end time"
        )
        assert names(await am.get("/api/v2/alerts")) == ["Ok"]

        # 429 once the source's bucket is empty (burst 3; the 4 alerts above took a full bucket); time refills it
        limited = await am.call("POST", "/api/v2/alerts", [{"labels": {"alertname": "Ok"}}])
        assert limited.status == 429
        assert limited.headers["Retry-After"] == "1"
        assert "ingest.alerts_per_minute" in limited.body
        webhook = {"version": "4", "status": "firing", "alerts": [{"status": "firing", "labels": {"a": "b"}}]}
        assert (await am.call("POST", "/api/v1/ingest/alertmanager", webhook)).status == 429  # same source
        await am.advance("1m")
        assert (await am.call("POST", "/api/v2/alerts", [{"labels": {"alertname": "Ok"}}])).status == 200

        too_big = await am.call("POST", "/api/v2/alerts", [{"labels": {"alertname": "x" * 2000}}])
        assert too_big.status == 413
        assert "max_body_bytes" in too_big.body["detail"]

        now = await am.now()
        sil = {
            "matchers": [{"name": "alertname", "value": "A", "isRegex": False}],
            "startsAt": iso(now),
            "endsAt": iso(now + timedelta(hours=1)),
            "createdBy": "alice",
            "comment": "c",
        }
        bad_silences = {
            "end in past": (
                {"endsAt": iso(now - timedelta(minutes=1)), "startsAt": iso(now - timedelta(hours=1))},
                "end time can't be in the past",
            ),
            "start after end": ({"startsAt": iso(now + timedelta(hours=2))}, "start time must be before end time"),
            "no matchers": ({"matchers": []}, "matchers in body should have at least 1 items"),
            "no author": ({"createdBy": None}, "createdBy in body is required"),
            "matches empty": (
                {"matchers": [{"name": "a", "value": "", "isRegex": False}]},
                "at least one matcher must not match the empty string",
            ),
            "bad regex": ({"matchers": [{"name": "a", "value": "(", "isRegex": True}]}, "invalid label matcher 0"),
            "bad name": ({"matchers": [{"name": "a-b", "value": "x", "isRegex": False}]}, "invalid label matcher 0"),
        }
        for case, (change, reason) in bad_silences.items():
            body = {k: v for k, v in {**sil, **change}.items() if v is not None}
            answer = await am.call("POST", "/api/v2/silences", body)
            assert answer.status == 400, case
            assert reason in answer.body, (case, answer.body)
        assert await am.get("/api/v2/silences") == []


async def test_webhook_v4_and_generic_ingest(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    env = {"TOCSIN_GENERIC_KEYS": f"payments={GENERIC_KEY}"}
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url), env=env) as server:
        am = Http(server.url, http, server.headers)
        await am.align_clock()
        now = await am.now()
        payload = {  # as Alertmanager 0.25 sends it: firing alerts carry Go's zero endsAt
            "receiver": "tocsin",
            "status": "firing",
            "alerts": [
                {
                    "status": "firing",
                    "labels": {"alertname": "Upstream", "instance": "a"},
                    "annotations": {"summary": "from upstream"},
                    "startsAt": "2026-01-01T00:00:00.123456789Z",
                    "endsAt": "0001-01-01T00:00:00Z",
                    "generatorURL": "http://prometheus:9090/graph?g0.expr=up",
                    "fingerprint": "ignored",
                }
            ],
            "groupLabels": {"alertname": "Upstream"},
            "commonLabels": {"alertname": "Upstream", "instance": "a"},
            "commonAnnotations": {"summary": "from upstream"},
            "externalURL": "http://alertmanager:9093",
            "version": "4",
            "groupKey": '{}:{alertname="Upstream"}',
            "truncatedAlerts": 0,
        }
        assert await am.post("/api/v1/ingest/alertmanager", payload) == {"status": "success", "alerts": 1}
        [upstream] = await am.get("/api/v2/alerts")
        assert upstream["startsAt"] == "2026-01-01T00:00:00.123Z"
        assert upstream["endsAt"] == "0001-01-01T00:00:00.000Z"  # firing until the resolved notification
        await am.advance("10m")  # no resolve_timeout for forwarded alerts
        assert names(await am.get("/api/v2/alerts")) == ["Upstream"]
        resolved = {**payload, "status": "resolved"}
        resolved["alerts"] = [{**payload["alerts"][0], "status": "resolved", "endsAt": iso(now + timedelta(minutes=9))}]
        await am.post("/api/v1/ingest/alertmanager", resolved)
        assert await am.get("/api/v2/alerts") == []
        await am.advance("1m")  # the group's next flush carries the resolved alert
        bad = await am.call("POST", "/api/v1/ingest/alertmanager", {**payload, "version": "3"})
        assert bad.status == 400
        assert "version" in bad.body["detail"]

        # generic webhook: the mapping documented in docs/alerting/api.md; the key in the path is the credential
        public = Http(server.url, http)
        event = {
            "summary": "Checkout errors above 5%",
            "severity": "warning",
            "dedup_key": "checkout-5xx",
            "labels": {"region": "eu"},
            "annotations": {"runbook_url": "https://runbooks/checkout"},
            "source": "grafana",
            "links": [{"href": "https://grafana/d/1", "text": "dashboard"}],
        }
        accepted = await public.post(f"/api/v1/ingest/generic/{GENERIC_KEY}", event)
        assert accepted["status"] == "accepted"
        [alert] = await am.get("/api/v2/alerts")
        assert alert["fingerprint"] == accepted["fingerprint"]
        assert alert["labels"] == {
            "alertname": "Checkout errors above 5%",
            "severity": "warning",
            "dedup_key": "checkout-5xx",
            "service": "payments",
            "region": "eu",
        }
        assert alert["annotations"] == {
            "summary": "Checkout errors above 5%",
            "runbook_url": "https://runbooks/checkout",
            "source": "grafana",
            "links": "https://grafana/d/1",
        }
        assert alert["generatorURL"] == "https://grafana/d/1"
        update = {"summary": "Checkout errors above 9%", "dedup_key": "checkout-5xx"}
        again = await public.post(f"/api/v1/ingest/generic/{GENERIC_KEY}", update)
        assert again["fingerprint"] == alert["fingerprint"]
        [updated] = await am.get("/api/v2/alerts")
        assert updated["annotations"]["summary"] == "Checkout errors above 9%"  # same alert, new summary
        resolve = {"summary": "Checkout recovered", "dedup_key": "checkout-5xx", "status": "resolved"}
        await public.post(f"/api/v1/ingest/generic/{GENERIC_KEY}", resolve)
        assert await am.get("/api/v2/alerts") == []
        await am.advance("1m")
        assert (await public.call("POST", "/api/v1/ingest/generic/wrong-key-000000000", event)).status == 404
        invalid = await public.call("POST", f"/api/v1/ingest/generic/{GENERIC_KEY}", {"severity": "loud"})
        assert invalid.status == 422
        assert {e["field"] for e in invalid.body["errors"]} == {"body.summary", "body.severity"}

        await delivered(sink, 4)
        checkout = "Checkout errors above 5%"
        assert notified(sink) == [
            ("sink", [("Upstream", "firing")]),
            ("sink", [("Upstream", "resolved")]),
            ("sink", [(checkout, "firing")]),  # a new summary under the same dedup_key is not a new alert
            ("sink", [(checkout, "resolved")]),
        ]
