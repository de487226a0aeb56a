"""Every route of the app against every kind of caller: the access table is really enforced.

No credentials → 401 (API) or a redirect to the login page; the wrong role or scope → 403;
the right one → anything but a refusal. Routes come from the app itself, so a new route
is covered the day it is added.
"""

from __future__ import annotations

import itertools
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import aiohttp

from tests.acceptance.conftest import Api, Browser, Target, sign_in
from tocsin.auth.model import Access, Decision, Role, Scope, authorize, token_principal, user_principal
from tocsin.testing import running_server
from tocsin.web.access import route_contexts, route_keys, rule_for
from tocsin.web.app import create_app

PASSWORD = "a long test password"
HEARTBEAT = "matrix-heartbeat-token-0001"


def app_routes() -> list[tuple[str, str]]:
    """Every (method, path) of the app as `tocsin serve --test-clock` builds it."""
    app = create_app(object(), manage_lifecycle=False, test_clock=True)  # type: ignore[arg-type]
    keys = [(m, p) for m, p in route_keys(route_contexts(app.routes)) if m != "*"]
    keys.append(("GET", "/static/app.css"))  # the static mount
    return sorted(keys, key=lambda k: k == ("POST", "/logout"))  # signing out last keeps the sessions


class Samples:
    """Concrete paths and bodies for routes, with fresh names where a call creates something."""

    def __init__(self, token_id: int) -> None:
        self.values = {
            "name": "api",
            "token": HEARTBEAT,
            "token_id": str(token_id),
            "key": "no-such-key",
            "silenceID": "00000000-0000-0000-0000-000000000000",
            "silence_id": "00000000-0000-0000-0000-000000000000",
            "delivery_id": "1",
            "secret": "no-such-calendar",
            "key_name": "no-such-key",
            "override_id": "999999",
            "swap_id": "999999",
            "incident_id": "999999",
            "entry_id": "999999",
            "action_id": "999999",
            "version": "1",
            "slug": "no-such-page",
            "component": "no-such-component",
            "subscriber_id": "999999",
        }
        self.counter = itertools.count()

    def path(self, method: str, template: str) -> str:
        values = dict(self.values)
        if template.startswith(("/api/v1/users/", "/settings/users/")):
            values["name"] = "victim"
        elif method in ("PUT", "DELETE") or template.endswith(("/edit", "/delete")):
            values["name"] = "doomed"
        return re.sub(r"\{(\w+)\}", lambda m: values[m.group(1)], template)

    def body(self, method: str, template: str) -> dict[str, Any]:
        n = next(self.counter)
        bodies: dict[tuple[str, str], Any] = {
            ("POST", "/api/v1/monitors"): {"name": f"m{n}", "kind": "tcp", "host": "127.0.0.1", "port": 9},
            ("PUT", "/api/v1/monitors/{name}"): {"kind": "tcp", "host": "127.0.0.1", "port": 9},
            ("POST", "/api/v1/users"): {"name": f"u{n}", "role": "viewer"},
            ("PATCH", "/api/v1/users/{name}"): {"role": "viewer"},
            ("POST", "/api/v1/tokens"): {"name": f"t{n}", "scopes": ["read"]},
            ("POST", "/-/clock"): {"advance": "1s"},
        }
        found = bodies.get((method, template))
        return {"json": found} if found is not None else {}


def principals() -> Iterator[tuple[str, Any]]:
    for role in Role:
        yield f"session:{role.value}", user_principal(role.value, role)
    for scope in Scope:
        yield f"token:{scope.value}", token_principal(scope.value, [scope])


async def call(caller: Browser | None, api: Api, method: str, path: str, **kwargs: Any) -> tuple[int, str]:
    """Status and Location, with no credentials (None) or a caller's."""
    if caller is None:
        async with api.session.request(method, api.base + path, allow_redirects=False, **kwargs) as resp:
            return resp.status, resp.headers.get("Location", "")
    status, _, location = await caller.request(method, path, **kwargs)
    return status, location


async def make_callers(server_url: str, admin: Api) -> dict[str, Browser]:
    """A signed-in session per role and a client per token scope."""
    callers: dict[str, Browser] = {}
    for label, _ in principals():
        kind, _, name = label.partition(":")
        if kind == "session":
            await admin.post("/api/v1/users", {"name": name, "role": name, "password": PASSWORD}, 201)
            callers[label] = await sign_in(server_url, name, PASSWORD)
        else:
            issued = await admin.post("/api/v1/tokens", {"name": name, "scopes": [name]}, 201)
            session = aiohttp.ClientSession(headers={"Authorization": f"Bearer {issued['token']}"})
            callers[label] = Browser(server_url, session)
    return callers


async def check_route(
    method: str, template: str, admin: Api, callers: dict[str, Browser], samples: Samples
) -> list[str]:
    """What is wrong with one route's answers to every kind of caller (empty when nothing)."""
    rule = rule_for(method, template if not template.startswith("/static/") else "/static")
    assert rule is not None, f"{method} {template} is not in the access table"
    path = samples.path(method, template)
    status, location = await call(None, admin, method, path, **samples.body(method, template))
    if rule.access is Access.PUBLIC:
        refused = status in (401, 403) or location.startswith("/login")
        return [f"{method} {path} is public but refused an anonymous caller: {status}"] if refused else []
    problems = []
    if status not in (401, 303) or (status == 303 and not location.startswith("/login?next=")):
        problems.append(f"{method} {path} without credentials: {status} {location}")
    for label, principal in principals():
        status, location = await call(callers[label], admin, method, path, **samples.body(method, template))
        allowed = authorize(principal, rule.access) is Decision.ALLOW
        refused = status in (401, 403) or location.startswith("/login?next=")
        if allowed and (refused or status >= 500):
            problems.append(f"{method} {path} as {label} (allowed): {status} {location}")
        if not allowed and status != 403:
            problems.append(f"{method} {path} as {label} (not allowed): {status} {location}")
    return problems


async def test_every_route_enforces_the_access_table(
    tmp_path: Path, target: Target, http: aiohttp.ClientSession
) -> None:
    config = tmp_path / "tocsin.yaml"
    config.write_text(
        f'storage: {{url: "sqlite:///{tmp_path / "t.db"}"}}\n'
        f"monitors:\n  - name: api\n    kind: http\n    url: {target.url}\n"
        f"  - name: beat\n    kind: heartbeat\n    token: {HEARTBEAT}\n"
    )
    async with running_server(config) as server:
        admin = Api(server.url, http, server.headers)
        await admin.post("/api/v1/users", {"name": "victim", "role": "viewer"}, 201)
        await admin.post("/api/v1/monitors", {"name": "doomed", "kind": "tcp", "host": "127.0.0.1", "port": 9}, 201)
        victim = await admin.post("/api/v1/tokens", {"name": "victim", "scopes": ["read"]}, 201)
        callers = await make_callers(server.url, admin)
        samples = Samples(victim["id"])
        problems: list[str] = []
        try:
            for method, template in app_routes():
                problems += await check_route(method, template, admin, callers, samples)
        finally:
            for caller in callers.values():
                await caller.close()
        assert not problems, "\n".join(problems)
        assert "Traceback" not in server.log_text()
