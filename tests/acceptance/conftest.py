"""Fixtures for black-box tests against `tocsin serve` on port 0."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
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
    """A thin JSON client for one running server, authenticated with `headers` (the bootstrap token)."""

    base: str
    session: aiohttp.ClientSession
    headers: dict[str, str] = field(default_factory=dict)

    async def request(self, method: str, path: str, json: Any = None, expect: int = 200, data: Any = None) -> Any:
        async with self.session.request(method, self.base + path, json=json, data=data, headers=self.headers) as resp:
            assert resp.status == expect, f"{method} {path}: {resp.status} {await resp.text()}"
            if resp.content_type == "application/json":
                return await resp.json()
            return await resp.text()

    async def get(self, path: str, expect: int = 200) -> Any:
        return await self.request("GET", path, expect=expect)

    async def post(self, path: str, json: Any = None, expect: int = 200) -> Any:
        return await self.request("POST", path, json, expect)

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


_CSRF_FIELD = re.compile(r'name="csrf" value="([^"]+)"')
_CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)">')


@dataclass
class Browser:
    """A signed-in console session: its cookie jar and the CSRF token its pages carry."""

    base: str
    session: aiohttp.ClientSession
    csrf: str = ""

    async def request(self, method: str, path: str, **kwargs: Any) -> tuple[int, str, str]:
        """Status, body and Location of a request (redirects not followed; CSRF header on writes)."""
        headers = {"X-CSRF-Token": self.csrf} if method not in ("GET", "HEAD") else {}
        headers.update(kwargs.pop("headers", {}))
        async with self.session.request(
            method, self.base + path, headers=headers, allow_redirects=False, **kwargs
        ) as resp:
            streaming = resp.content_type == "text/event-stream"  # endless: headers are enough
            return resp.status, "" if streaming else await resp.text(), resp.headers.get("Location", "")

    async def close(self) -> None:
        await self.session.close()


async def login_form(session: aiohttp.ClientSession, base: str) -> str:
    """Open the login page; the CSRF value its form carries (its cookie is now in the jar)."""
    async with session.get(base + "/login") as resp:
        found = _CSRF_FIELD.search(await resp.text())
    assert found, "no CSRF field on the login page"
    return found.group(1)


async def sign_in(base: str, name: str, password: str) -> Browser:
    """Sign in through the login form like a browser; fails the test if it does not work."""
    session = aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=15))
    csrf = await login_form(session, base)
    form = {"csrf": csrf, "name": name, "password": password, "next": "/"}
    async with session.post(base + "/login", data=form, allow_redirects=False) as resp:
        assert resp.status == 303, f"sign-in as {name}: {resp.status} {await resp.text()}"
    async with session.get(base + "/") as resp:
        meta = _CSRF_META.search(await resp.text())
    assert meta, "no CSRF token on the overview"
    return Browser(base, session, meta.group(1))
