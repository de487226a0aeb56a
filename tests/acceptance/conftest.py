"""Fixtures for black-box tests against `tocsin serve` on port 0."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import aiohttp
import pytest
from aiohttp import web


@dataclass
class Target:
    """A local HTTP target whose answer the test controls."""

    url: str
    status: int = 200
    body: dict[str, Any] | None = None
    hits: int = 0


@pytest.fixture
async def target() -> AsyncIterator[Target]:
    """An HTTP server on 127.0.0.1:0 answering `/health` with the status the test sets."""
    state = Target(url="")

    async def health(_: web.Request) -> web.Response:
        state.hits += 1
        return web.json_response(state.body or {"status": "UP"}, status=state.status)

    app = web.Application()
    app.router.add_get("/health", health)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = site._server.sockets[0].getsockname()[1]  # type: ignore[union-attr]
    state.url = f"http://127.0.0.1:{port}/health"
    yield state
    await runner.cleanup()


@dataclass
class Api:
    """A thin JSON client for one running server."""

    base: str
    session: aiohttp.ClientSession

    async def get(self, path: str, expect: int = 200) -> Any:
        async with self.session.get(self.base + path) as resp:
            assert resp.status == expect, f"GET {path}: {resp.status} {await resp.text()}"
            return await resp.json() if resp.content_type == "application/json" else await resp.text()

    async def post(self, path: str, json: Any = None, expect: int = 200) -> Any:
        async with self.session.post(self.base + path, json=json) as resp:
            assert resp.status == expect, f"POST {path}: {resp.status} {await resp.text()}"
            return await resp.json() if resp.content_type == "application/json" else await resp.text()

    async def advance(self, duration: str) -> None:
        await self.post("/-/clock", {"advance": duration})

    async def until(
        self, check: Callable[[], Awaitable[bool]], advance: str | None = None, attempts: int = 100
    ) -> None:
        """Poll (optionally moving the clock each time) until `check` holds; probes take real time."""
        for _ in range(attempts):
            if await check():
                return
            if advance:
                await self.advance(advance)
            await asyncio.sleep(0.05)
        raise AssertionError("condition not reached")


@pytest.fixture
async def http() -> AsyncIterator[aiohttp.ClientSession]:
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15)) as session:
        yield session
