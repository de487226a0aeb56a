"""Public test kit: a fake clock, a webhook sink, and the real server on port 0.

Used by tocsin's own tests and usable by anyone testing a tocsin config or integration.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import re
import secrets
import signal
import sys
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiohttp import web

from tocsin.clock import FakeClock

__all__ = ["FakeClock", "RunningServer", "WebhookSink", "running_server", "webhook_sink"]

_LISTENING = re.compile(r"tocsin listening on (https?://\S+)")


BOOTSTRAP_ENV = "TOCSIN_BOOTSTRAP_TOKEN"


def new_bootstrap_token() -> str:
    """A random token in tocsin's format, for `TOCSIN_BOOTSTRAP_TOKEN`."""
    return "tocsin_" + secrets.token_urlsafe(32)


@dataclass
class RunningServer:
    """A `tocsin serve` subprocess, where it listens, and an all-scopes API token for it (if any)."""

    url: str
    process: asyncio.subprocess.Process
    log: list[str] = field(default_factory=list)
    token: str | None = None

    @property
    def headers(self) -> dict[str, str]:
        """`Authorization: Bearer` with the bootstrap token (empty without one)."""
        return {"Authorization": f"Bearer {self.token}"} if self.token else {}

    def log_text(self) -> str:
        """Everything the server logged so far."""
        return "\n".join(self.log)

    async def wait_for_log(self, pattern: str, timeout: float = 5.0) -> re.Match[str]:
        """The first log line matching the regular expression `pattern`, waiting for it if needed."""
        compiled = re.compile(pattern)
        async with asyncio.timeout(timeout):
            while True:
                for line in self.log:
                    if found := compiled.search(line):
                        return found
                await asyncio.sleep(0.02)

    def hup(self) -> None:
        """Send SIGHUP (config reload)."""
        self.process.send_signal(signal.SIGHUP)


async def _pump(stream: asyncio.StreamReader, sink: list[str]) -> None:
    while line := await stream.readline():
        sink.append(line.decode(errors="replace").rstrip())


@contextlib.asynccontextmanager
async def running_server(
    config: str | Path,
    *args: str,
    env: dict[str, str] | None = None,
    test_clock: bool = True,
    timeout: float = 30.0,
    bootstrap: bool = True,
) -> AsyncIterator[RunningServer]:
    """Start `python -m tocsin serve --port 0` and yield once it logs its address.

    With `bootstrap` (the default) the server gets a fresh `TOCSIN_BOOTSTRAP_TOKEN` (unless
    `env` sets one), available as `server.token` / `server.headers`; without it the server
    starts like a fresh install and logs its one-time setup URL.
    """
    cmd = [sys.executable, "-m", "tocsin", "serve", "--config", str(config), "--port", "0", *args]
    if test_clock:
        cmd.append("--test-clock")
    environment = {k: v for k, v in os.environ.items() if k != BOOTSTRAP_ENV}
    environment.update(env or {})
    if bootstrap:
        environment.setdefault(BOOTSTRAP_ENV, new_bootstrap_token())
    token = environment.get(BOOTSTRAP_ENV)
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT, env=environment
    )
    assert proc.stdout is not None
    log: list[str] = []
    pump: asyncio.Task[None] | None = None
    try:
        url = await _wait_for_address(proc, log, timeout)  # a server that never listens is stopped all the same
        pump = asyncio.create_task(_pump(proc.stdout, log))
        yield RunningServer(url, proc, log, token)
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


async def _wait_for_address(proc: asyncio.subprocess.Process, log: list[str], timeout: float) -> str:
    assert proc.stdout is not None
    async with asyncio.timeout(timeout):
        while line := await proc.stdout.readline():
            text = line.decode(errors="replace").rstrip()
            log.append(text)
            if match := _LISTENING.search(text):
                return match.group(1)
    await proc.wait()
    raise RuntimeError("tocsin serve exited before listening:\n" + "\n".join(log))


@dataclass
class WebhookSink:
    """An HTTP server on port 0 that records every request it receives."""

    url: str
    requests: list[dict[str, Any]] = field(default_factory=list)
    status: int = 200
    arrived: asyncio.Event = field(default_factory=asyncio.Event)

    async def wait_for(self, count: int, timeout: float = 5.0) -> Sequence[dict[str, Any]]:
        """Wait until at least `count` requests arrived."""
        async with asyncio.timeout(timeout):
            while len(self.requests) < count:
                self.arrived.clear()
                await self.arrived.wait()
        return self.requests


@contextlib.asynccontextmanager
async def webhook_sink(path: str = "/hook") -> AsyncIterator[WebhookSink]:
    """Serve a recording webhook on 127.0.0.1 at a free port."""
    sink = WebhookSink(url="")

    async def record(request: web.Request) -> web.Response:
        body = await request.read()
        sink.requests.append(
            {"method": request.method, "path": request.path, "headers": dict(request.headers), "body": body}
        )
        sink.arrived.set()
        return web.Response(status=sink.status, text="ok")

    app = web.Application()
    app.router.add_route("*", path, record)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    sink.url = f"http://127.0.0.1:{port}{path}"
    try:
        yield sink
    finally:
        await runner.cleanup()
