"""A real Alertmanager (Debian's prometheus-alertmanager 0.25) forwards to tocsin's webhook ingest.

Alertmanager runs on 127.0.0.1:0 with clustering disabled and one webhook receiver pointing
at `/api/v1/ingest/alertmanager`; an alert posted to it arrives in tocsin (firing, then
resolved) and goes on through tocsin's own route to the sink. Waits are bounded.
"""

from __future__ import annotations

import asyncio
import contextlib
import re
import shutil
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.acceptance.test_alertmanager_api import Http, delivered, notified, write_config
from tocsin.testing import running_server, webhook_sink

_LISTENING = re.compile(r'msg="Listening on" address=127\.0\.0\.1:(\d+)')


async def _pump(stream: asyncio.StreamReader, log: list[str]) -> None:
    while line := await stream.readline():
        log.append(line.decode(errors="replace"))


async def _address(stream: asyncio.StreamReader, log: list[str], timeout: float = 15.0) -> str:
    """Read the log until Alertmanager says where it listens."""
    try:
        async with asyncio.timeout(timeout):
            while line := await stream.readline():
                log.append(line.decode(errors="replace"))
                if found := _LISTENING.search(log[-1]):
                    return f"http://127.0.0.1:{found.group(1)}"
    except TimeoutError:
        pass
    raise AssertionError("alertmanager did not start:\n" + "".join(log[-30:]))


@contextlib.asynccontextmanager
async def alertmanager(tmp_path: Path, webhook_url: str, token: str | None) -> AsyncIterator[str]:
    """Run /usr/bin/prometheus-alertmanager with one webhook receiver (sending `token`); yield its URL."""
    binary = shutil.which("prometheus-alertmanager")
    assert binary, "prometheus-alertmanager (Debian package) is required"
    config: dict[str, Any] = {
        "route": {"receiver": "tocsin", "group_by": ["alertname"], "group_wait": "0s", "group_interval": "1s"},
        "receivers": [{"name": "tocsin", "webhook_configs": [{"url": webhook_url, "send_resolved": True}]}],
    }
    if token:
        config["receivers"][0]["webhook_configs"][0]["http_config"] = {"authorization": {"credentials": token}}
    (tmp_path / "alertmanager.yml").write_text(yaml.safe_dump(config))
    proc = await asyncio.create_subprocess_exec(
        binary,
        f"--config.file={tmp_path / 'alertmanager.yml'}",
        f"--storage.path={tmp_path / 'am-data'}",
        "--web.listen-address=127.0.0.1:0",
        "--cluster.listen-address=",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert proc.stdout is not None
    log: list[str] = []
    pump = None
    try:
        url = await _address(proc.stdout, log)
        pump = asyncio.create_task(_pump(proc.stdout, log))
        yield url
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 10)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        if pump is not None:
            pump.cancel()


async def alerts_become(api: Http, expected: list[str], timeout: float = 15.0) -> None:
    """Poll tocsin's alert list until it names exactly `expected`."""
    seen: list[str] = []
    for _ in range(int(timeout / 0.05)):
        seen = sorted(a["labels"]["alertname"] for a in await api.get("/api/v2/alerts"))
        if seen == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"tocsin has {seen}, expected {expected}")


async def test_alertmanager_webhook_is_ingested(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with webhook_sink() as sink, running_server(write_config(tmp_path, sink.url), test_clock=False) as server:
        tocsin = Http(server.url, http, server.headers)
        async with alertmanager(tmp_path, f"{server.url}/api/v1/ingest/alertmanager", server.token) as am_url:
            upstream = Http(am_url, http)
            alert = {"labels": {"alertname": "Upstream", "job": "api"}, "annotations": {"summary": "from AM"}}
            await upstream.post("/api/v2/alerts", [alert])
            await alerts_become(tocsin, ["Upstream"])
            [got] = await tocsin.get("/api/v2/alerts")
            [theirs] = await upstream.get("/api/v2/alerts")
            assert got["labels"] == theirs["labels"] == {"alertname": "Upstream", "job": "api"}
            assert got["annotations"] == {"summary": "from AM"}
            assert got["fingerprint"] == theirs["fingerprint"]  # the same Prometheus fingerprint
            assert got["startsAt"] == theirs["startsAt"]

            now = datetime.now(UTC).isoformat().replace("+00:00", "Z")
            await upstream.post("/api/v2/alerts", [{**alert, "endsAt": now}])
            await alerts_become(tocsin, [])  # the resolved notification ended it in tocsin

        await delivered(sink, 1)
        assert notified(sink)[0] == ("sink", [("Upstream", "firing")])
