"""The on-call console through the real server: pages with SVG, overrides and swaps from forms and the API, audit."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import yaml

from tests.acceptance.conftest import Api, Browser, sign_in
from tests.acceptance.test_oncall_api import oncall_config
from tocsin.testing import running_server

PASSWORD = "a long test password"


def write_config(path: Path) -> None:
    config = {
        "storage": {"url": f"sqlite:///{path.parent / 'tocsin.db'}"},
        "alerting": {"route": {"receiver": "pager"}, "receivers": [{"name": "pager", "service": "api"}]},
        "oncall": oncall_config("http://127.0.0.1:9/hook"),
    }
    path.write_text(yaml.safe_dump(config))


class Now:
    """Where the real-time test clock stands in the daily alice/bob rotation."""

    def __init__(self, shifts: list[dict[str, Any]]) -> None:
        self.at = datetime.fromisoformat(shifts[0]["start"])
        self.current = shifts[0]["user"]
        self.other = "bob" if self.current == "alice" else "alice"
        ends = datetime.fromisoformat(shifts[0]["end"])
        self.soon = self.at + min(timedelta(hours=1), (ends - self.at) / 2)  # inside the current shift
        self.next_other = datetime.fromisoformat(shifts[1]["start"]) + timedelta(hours=1)  # inside the other's
        self.later_current = datetime.fromisoformat(shifts[2]["start"]) + timedelta(hours=1)
        self.later_other = datetime.fromisoformat(shifts[3]["start"]) + timedelta(hours=1)


async def now_of(api: Api) -> Now:
    return Now((await api.get("/api/v1/oncall/schedules/primary?days=5"))["final"])


def iso(t: datetime) -> str:
    return t.isoformat()


async def on_call(api: Api) -> list[str]:
    view = await api.get("/oncall.json")
    [primary] = view["now"]["schedules"]
    found: list[str] = primary["on_call"]
    return found


async def people(server_url: str, admin: Api) -> dict[str, Browser]:
    for name in ("alice", "bob"):  # on-call users may already have accounts (without a password)
        await admin.request("PATCH", f"/api/v1/users/{name}", {"role": "responder", "password": PASSWORD})
    return {name: await sign_in(server_url, name, PASSWORD) for name in ("alice", "bob")}


async def test_pages_render_with_their_json_twins(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        now = await now_of(api)
        home = await api.get("/oncall")
        assert "primary" in home
        assert "/oncall/policies/core" in home
        assert await on_call(api) == [now.current]
        page = await api.get("/oncall/schedules/primary")
        assert "<svg" in page
        assert "<title>" in page
        assert "Add an override" in page
        view = await api.get("/oncall/schedules/primary.json")
        assert [layer["name"] for layer in view["timeline"]["layers"]] == ["daily"]
        assert view["now"]["on_call"] == [now.current]
        policy = await api.get("/oncall/policies/core.json")
        assert [s["now"] for s in policy["steps"]] == [[now.current], ["carol"]]
        assert policy["simulation"]["sends"][0]["user"] == now.current
        assert "An alert now" in await api.get("/oncall/policies/core")
        overview = await api.get("/overview.json")
        assert any(s["key"] == "oncall" for s in overview["sections"])
        await api.get("/oncall/schedules/nope.json", expect=404)
        await api.get("/oncall/policies/nope", expect=404)


async def test_overrides_from_the_api_and_the_form(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        now = await now_of(api)
        path = "/api/v1/oncall/schedules/primary/overrides"
        window = {"start": iso(now.at), "end": iso(now.soon)}
        unknown = await api.post(path, {"user": "dave", **window}, 400)
        assert "not under oncall.users" in str(unknown)
        backwards = await api.post(path, {"user": "carol", "start": iso(now.soon), "end": iso(now.at)}, 400)
        assert "before it starts" in str(backwards)
        no_shift = await api.post(path, {"user": "carol", "replaces": now.other, **window}, 400)
        assert "no shift" in str(no_shift)
        await api.post("/api/v1/oncall/schedules/nope/overrides", {"user": "carol", **window}, 404)

        made = await api.post(path, {"user": "carol", "replaces": now.current, **window}, 201)
        assert await on_call(api) == ["carol"]
        assert (await api.get("/api/v1/oncall/overrides"))["overrides"][0]["id"] == made["id"]
        await api.request("DELETE", f"/api/v1/oncall/overrides/{made['id']}", expect=204)
        assert await on_call(api) == [now.current]

        browsers = await people(server.url, api)
        alice, bob = browsers["alice"], browsers["bob"]
        try:
            form = {"user": "carol", "start": iso(now.at), "end": iso(now.soon)}
            status, _, location = await alice.request("POST", "/oncall/schedules/primary/overrides", data=form)
            assert (status, location) == (303, "/oncall/schedules/primary")
            assert await on_call(api) == ["carol"]
            [stored] = (await api.get("/oncall/schedules/primary.json"))["overrides"]
            assert stored["created_by"] == "alice"
            status, _, _ = await bob.request("POST", f"/oncall/overrides/{stored['id']}/delete", data={})
            assert status == 303
            assert await on_call(api) == [now.current]
            bad = {"user": "carol", "start": iso(now.soon), "end": iso(now.at)}
            status, body, _ = await alice.request("POST", "/oncall/schedules/primary/overrides", data=bad)
            assert status == 400
            assert "before it starts" in body
        finally:
            for browser in browsers.values():
                await browser.close()
        entries = (await api.get("/api/v1/audit?action=override."))["entries"]
        actions = ["override.delete", "override.create", "override.delete", "override.create"]
        assert [e["action"] for e in entries] == actions
        assert [e["actor"] for e in entries[:2]] == ["bob", "alice"]
        assert entries[3]["detail"]["user"] == "carol"


async def test_swap_request_accept_and_cancel(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        now = await now_of(api)
        browsers = await people(server.url, api)
        mine, theirs = browsers[now.current], browsers[now.other]
        try:
            ask = {"shift_at": iso(now.at), "their_shift": f"{now.other}|{iso(now.next_other)}"}
            status, body, _ = await mine.request("POST", "/oncall/schedules/primary/swaps", data=ask)
            assert status == 303, body
            status, body, _ = await theirs.request("GET", "/oncall.json")
            [waiting] = _json(body)["swaps_for_me"]
            assert (waiting["requester"], waiting["state"]) == (now.current, "requested")
            status, _, _ = await mine.request("POST", f"/oncall/swaps/{waiting['id']}/accept", data={})
            assert status == 403  # only the other person can accept
            status, _, _ = await theirs.request("POST", f"/oncall/swaps/{waiting['id']}/accept", data={})
            assert status == 303
            assert await on_call(api) == [now.other]  # the current shift changed hands
            shifts = (await api.get("/api/v1/oncall/schedules/primary?days=3"))["final"]
            assert [s["user"] for s in shifts[:2]] == [now.other, now.current]  # and so did the next one
            status, _, _ = await theirs.request("POST", f"/oncall/swaps/{waiting['id']}/cancel", data={})
            assert status == 409  # decided already

            again = {"shift_at": iso(now.later_current), "other": now.other, "other_shift_at": iso(now.later_other)}
            swap = await _post(mine, "/api/v1/oncall/schedules/primary/swaps", again, 201)
            cancelled = await _post(mine, f"/api/v1/oncall/swaps/{swap['id']}/cancel", None, 200)
            assert cancelled["state"] == "cancelled"
            missing = {**again, "other_shift_at": iso(now.later_current)}  # the other is not on call then
            assert "no shift" in str(await _post(mine, "/api/v1/oncall/schedules/primary/swaps", missing, 400))
        finally:
            for browser in browsers.values():
                await browser.close()
        states = {s["id"]: s["state"] for s in (await api.get("/api/v1/oncall/swaps"))["swaps"]}
        assert sorted(states.values()) == ["accepted", "cancelled"]
        entries = (await api.get("/api/v1/audit?action=swap."))["entries"]
        assert [(e["action"], e["actor"]) for e in entries] == [
            ("swap.cancel", now.current),
            ("swap.request", now.current),
            ("swap.accept", now.other),
            ("swap.request", now.current),
        ]


def _json(body: str) -> Any:
    return json.loads(body)


async def _post(browser: Browser, path: str, body: Any, expect: int) -> Any:
    headers = {"X-CSRF-Token": browser.csrf}
    async with browser.session.post(browser.base + path, json=body, headers=headers) as resp:
        assert resp.status == expect, f"{path}: {resp.status} {await resp.text()}"
        return await resp.json()
