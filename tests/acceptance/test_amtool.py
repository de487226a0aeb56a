"""The real `amtool` (Debian's prometheus-alertmanager 0.25) against `tocsin serve` on port 0.

`amtool` stamps silences with its own wall clock, so this server runs on the real clock.
"""

from __future__ import annotations

import asyncio
import shutil
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import orjson

from tests.acceptance.test_alertmanager_api import Http, delivered, notified, write_config
from tocsin.testing import running_server, webhook_sink


@dataclass
class Amtool:
    """The amtool binary pointed at one server, sending its token through `--http.config.file`."""

    url: str
    http_config: Path

    async def __call__(self, *args: str) -> str:
        """Run amtool; fail with its output unless it exits 0."""
        return await amtool(self.url, f"--http.config.file={self.http_config}", *args)

    async def json(self, *args: str) -> Any:
        """Run amtool with `-o json` and decode what it prints."""
        return orjson.loads(await self("-o", "json", *args))


async def amtool(url: str, *args: str) -> str:
    """Run amtool against `url`; fail with its output unless it exits 0."""
    path = shutil.which("amtool")
    assert path, "amtool (Debian prometheus-alertmanager) is required"
    proc = await asyncio.create_subprocess_exec(
        path,
        f"--alertmanager.url={url}",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 0, f"amtool {' '.join(args)}: exit {proc.returncode}\n{out.decode()}{err.decode()}"
    return out.decode()


def names(alerts: list[dict[str, Any]]) -> list[str]:
    return sorted(a["labels"]["alertname"] for a in alerts)


async def test_amtool_alerts_and_silences(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url), test_clock=False) as server:
        token = tmp_path / "amtool-http.yml"
        token.write_text(f"authorization: {{credentials: {server.token}}}\n" if server.token else "{}\n")
        am = Amtool(server.url, token)
        await am("alert", "add", "alertname=Disk", "severity=warning", "instance=a", "--annotation=summary=full")
        await Http(server.url, http, server.headers).post(
            "/api/v2/alerts", [{"labels": {"alertname": "Cpu", "severity": "critical", "team": "db"}}]
        )

        assert names(await am.json("alert", "query")) == ["Cpu", "Disk"]
        assert names(await am.json("alert", "query", "severity=warning")) == ["Disk"]
        assert names(await am.json("alert", "query", 'alertname=~"C.*"', "team!=web")) == ["Cpu"]
        simple = await am("alert", "query", "alertname=Disk")
        assert "Disk" in simple
        assert "full" in simple  # the summary column
        assert "Cpu" not in simple

        silence_id = (
            await am("silence", "add", "alertname=Disk", "--comment=disk swap", "--author=alice", "-d", "1h")
        ).strip()
        assert len(silence_id) == 36
        [silence] = await am.json("silence", "query")
        assert silence["id"] == silence_id
        assert silence["createdBy"] == "alice"
        assert silence["status"]["state"] == "active"
        assert (await am("silence", "query", "-q", "alertname=Disk")).split() == [silence_id]
        assert names(await am.json("alert", "query")) == ["Cpu"]  # active only: Disk is silenced
        [muted] = await am.json("alert", "query", "--silenced")
        assert muted["labels"]["alertname"] == "Disk"
        assert muted["status"]["silencedBy"] == [silence_id]

        await am("silence", "expire", silence_id)
        assert await am.json("silence", "query") == []
        [expired] = await am.json("silence", "query", "--expired")
        assert expired["status"]["state"] == "expired"
        assert names(await am.json("alert", "query")) == ["Cpu", "Disk"]

        await delivered(sink, 2)  # one notification per group through tocsin's route, nothing else
        assert sorted(notified(sink)) == [("db", [("Cpu", "firing")]), ("sink", [("Disk", "firing")])]
