"""kill -9 while alerts are ingested and notifications are in flight: nothing acknowledged is lost."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from pathlib import Path

import aiohttp
import orjson
import yaml
from aiohttp import web

from tocsin.testing import BOOTSTRAP_ENV, new_bootstrap_token, running_server


class SlowReceiver:
    """A webhook receiver that takes a while to answer, so requests are in flight at the kill."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, object]] = []
        self.keys: list[str] = []
        self.started = 0
        self.url = ""

    async def handle(self, request: web.Request) -> web.Response:
        self.started += 1
        body = await request.read()
        await asyncio.sleep(0.2)
        self.bodies.append(orjson.loads(body))
        self.keys.append(request.headers.get("Idempotency-Key", ""))
        return web.Response(text="ok")


@contextlib.asynccontextmanager
async def slow_receiver() -> AsyncIterator[SlowReceiver]:
    receiver = SlowReceiver()
    app = web.Application()
    app.router.add_post("/hook", receiver.handle)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    receiver.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    try:
        yield receiver
    finally:
        await runner.cleanup()


def write_config(path: Path, db: Path, hook: str) -> None:
    config = {
        "storage": {"url": f"sqlite:///{db}"},
        "alerting": {
            "route": {"receiver": "hook", "group_by": ["batch"], "group_wait": "0s", "group_interval": "1m"},
            "receivers": [{"name": "hook", "webhook_configs": [{"url": hook, "send_resolved": False}]}],
        },
    }
    path.write_text(yaml.safe_dump(config))


async def post_until_killed(base: str, headers: dict[str, str], acked: list[int]) -> None:
    """Post batches of 20 alerts, one batch per group, recording each batch answered 200."""
    async with aiohttp.ClientSession(headers=headers, timeout=aiohttp.ClientTimeout(total=5)) as session:
        for batch in range(10_000):
            alerts = [{"labels": {"alertname": "Crash", "batch": str(batch), "n": str(i)}} for i in range(20)]
            try:
                async with session.post(f"{base}/api/v2/alerts", json=alerts) as resp:
                    if resp.status == 200:
                        acked.append(batch)
            except (aiohttp.ClientError, TimeoutError):
                return


async def test_sigkill_loses_no_acknowledged_alert_or_due_notification(tmp_path: Path) -> None:
    token = new_bootstrap_token()
    env = {BOOTSTRAP_ENV: token}
    headers = {"Authorization": f"Bearer {token}"}
    config = tmp_path / "tocsin.yaml"
    acked: list[int] = []
    async with slow_receiver() as receiver:
        write_config(config, tmp_path / "crash.db", receiver.url)
        async with running_server(config, env=env) as server:
            poster = asyncio.create_task(post_until_killed(server.url, headers, acked))
            # Kill while ingest is under way and a notification is in flight (sent, not answered).
            while len(acked) < 30 or not receiver.bodies or receiver.started == len(receiver.bodies):
                await asyncio.sleep(0.005)
            in_flight = receiver.started - len(receiver.bodies)
            server.process.kill()  # SIGKILL: no shutdown hook runs
            await server.process.wait()
            await poster
        assert acked
        assert in_flight > 0

        async with running_server(config, env=env) as server, aiohttp.ClientSession(headers=headers) as http:
            async with http.get(f"{server.url}/api/v2/alerts") as resp:
                stored = await resp.json()
            present = {(a["labels"]["batch"], a["labels"]["n"]) for a in stored}
            missing = [(str(b), str(n)) for b in acked for n in range(20) if (str(b), str(n)) not in present]
            assert not missing, f"{len(missing)} acknowledged alerts lost, e.g. {missing[:3]}"

            # Leases of notifications claimed by the killed process expire after 30 s.
            async with http.post(f"{server.url}/-/clock", json={"advance": "1m"}) as resp:
                assert resp.status == 200
            async with asyncio.timeout(30):
                while not {str(b) for b in acked} <= _notified(receiver):
                    await asyncio.sleep(0.05)

    # At least once: a group may be told twice only when the receiver had not answered,
    # and then with the same idempotency key, so the receiver can drop the repeat.
    by_batch: dict[str, set[str]] = {}
    for body, key in zip(receiver.bodies, receiver.keys, strict=True):
        by_batch.setdefault(str(body["groupLabels"]["batch"]), set()).add(key)  # type: ignore[index]
    assert all(len(keys) == 1 for keys in by_batch.values())
    assert len(receiver.bodies) >= len(by_batch)  # every group told at least once


def _notified(receiver: SlowReceiver) -> set[str]:
    return {str(body["groupLabels"]["batch"]) for body in receiver.bodies}  # type: ignore[index]
