"""Debian's real `prometheus` uses tocsin as its Alertmanager: an always-firing rule reaches a webhook sink.

Prometheus evaluates `vector(1)` every second and posts to tocsin's `/api/v2/alerts`
(`alerting.alertmanagers`); tocsin routes it (group_wait 0s) and notifies the sink with
Alertmanager's webhook payload v4. Everything listens on 127.0.0.1; waits are bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import shutil
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import orjson
import yaml

from tests.acceptance.test_alertmanager_api import Http, delivered, write_config
from tocsin.testing import running_server, webhook_sink

RULES = {
    "groups": [
        {
            "name": "always",
            "interval": "1s",
            "rules": [
                {
                    "alert": "AlwaysFiring",
                    "expr": "vector(1)",
                    "labels": {"severity": "page"},
                    "annotations": {"summary": "always firing"},
                }
            ],
        }
    ]
}


@contextlib.asynccontextmanager
async def prometheus(tmp_path: Path, alertmanager: str, token: str | None) -> AsyncIterator[Path]:
    """Run /usr/bin/prometheus (web on 127.0.0.1:0, nothing scraped) with tocsin as its Alertmanager; yield its log."""
    binary = shutil.which("prometheus")
    assert binary, "prometheus (Debian package) is required"
    (tmp_path / "rules.yml").write_text(yaml.safe_dump(RULES))
    config: dict[str, Any] = {
        "global": {"evaluation_interval": "1s", "scrape_interval": "1m"},
        "rule_files": [str(tmp_path / "rules.yml")],
        "alerting": {"alertmanagers": [{"api_version": "v2", "static_configs": [{"targets": [alertmanager]}]}]},
    }
    if token:  # an `ingest` token, as docs/alerting/api.md tells users to configure
        config["alerting"]["alertmanagers"][0]["authorization"] = {"credentials": token}
    (tmp_path / "prometheus.yml").write_text(yaml.safe_dump(config))
    log = tmp_path / "prometheus.log"
    with log.open("wb") as out:
        proc = await asyncio.create_subprocess_exec(
            binary,
            f"--config.file={tmp_path / 'prometheus.yml'}",
            f"--storage.tsdb.path={tmp_path / 'tsdb'}",
            "--web.listen-address=127.0.0.1:0",
            "--rules.alert.resend-delay=1s",  # the first sends may precede discovery of the Alertmanager
            stdout=out,
            stderr=out,
        )
    try:
        yield log
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()


async def test_prometheus_alerts_reach_the_sink_through_tocsin(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url), test_clock=False) as server:
        host_port = server.url.removeprefix("http://")
        async with prometheus(tmp_path, host_port, server.token) as log:
            try:
                await delivered(sink, 1, timeout=30)
            except AssertionError:
                raise AssertionError(log.read_text()[-3000:]) from None
            alerts = await Http(server.url, http, server.headers).get("/api/v2/alerts")

    body = orjson.loads(sink.requests[0]["body"])
    assert body["version"] == "4"
    assert body["receiver"] == "sink"
    assert body["status"] == "firing"
    assert body["groupLabels"] == {"alertname": "AlwaysFiring"}
    [alert] = body["alerts"]
    assert alert["labels"] == {"alertname": "AlwaysFiring", "severity": "page"}
    assert alert["annotations"] == {"summary": "always firing"}
    assert alert["generatorURL"].startswith("http")  # Prometheus's link to the expression
    assert alert["endsAt"] == "0001-01-01T00:00:00Z"  # firing, as Alertmanager writes it
    [stored] = alerts
    assert stored["labels"] == alert["labels"]
    assert stored["endsAt"] > stored["startsAt"]  # Prometheus sends endsAt (its ValidUntil), no resolve_timeout
    assert len(sink.requests) == 1  # re-sent every second, notified once (repeat_interval has not passed)
