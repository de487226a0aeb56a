"""Monitors created, edited and deleted through the API: live at once, validated like the config, audited."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import aiohttp

from tests.acceptance.conftest import Api, Target
from tests.acceptance.test_cli import atocsin
from tocsin.testing import running_server


def write_config(path: Path, db: Path, extra: str = "") -> None:
    path.write_text(
        f'storage: {{url: "sqlite:///{db}"}}\n'
        "monitors:\n  - name: cfg\n    kind: tcp\n    host: 127.0.0.1\n    port: 9\n    interval: 1h\n" + extra
    )


async def status_of(api: Api, name: str) -> str:
    detail: dict[str, Any] = await api.get(f"/api/v1/monitors/{name}")
    return str(detail["monitor"]["status"])


async def test_create_edit_delete_take_effect_without_reload(
    tmp_path: Path, target: Target, http: aiohttp.ClientSession
) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        body = {"name": "web", "kind": "http", "url": target.url, "interval": "10s", "conditions": ["[STATUS] == 200"]}
        created = await api.post("/api/v1/monitors", body, 201)
        assert (created["monitor"]["source"], created["monitor"]["location"]) == ("api", None)

        async def is_up() -> bool:
            return await status_of(api, "web") == "up"

        await api.until(is_up, advance="10s")  # checked without any reload
        assert target.hits >= 1

        target.status = 503
        changed = {**body, "failure_threshold": 1}
        del changed["name"]  # the path names it
        await api.request("PUT", "/api/v1/monitors/web", changed)

        async def is_down() -> bool:
            return await status_of(api, "web") == "down"

        await api.until(is_down, advance="10s")  # the new threshold applies at once
        assert (await api.get("/api/v1/monitors/web"))["spec"]["failure_threshold"] == 1

        await api.post("/api/v1/monitors", body, 409)  # the name is taken
        clash = await api.post("/api/v1/monitors", {**body, "name": "cfg"}, 409)
        assert "tocsin.yaml:3" in clash["detail"]  # config monitors win and say where they are
        await api.request("PUT", "/api/v1/monitors/cfg", {"kind": "tcp", "host": "x", "port": 1}, expect=409)
        await api.request("DELETE", "/api/v1/monitors/cfg", expect=409)
        renamed = await api.request("PUT", "/api/v1/monitors/web", {**body, "name": "web2"}, expect=422)
        assert renamed["errors"][0]["field"] == "name"

        await api.request("DELETE", "/api/v1/monitors/web", expect=204)
        await api.get("/api/v1/monitors/web", expect=404)
        events = await api.get("/api/v1/events")
        assert events[0]["labels"]["monitor"] == "web"
        assert events[0]["status"] == "resolved"  # its firing alert resolved on delete
        hits = target.hits
        await api.advance("1m")
        await asyncio.sleep(0.2)
        assert target.hits == hits  # no longer checked
        await api.request("DELETE", "/api/v1/monitors/web", expect=404)

        log = await api.get("/api/v1/audit?target=web")
        assert [e["action"] for e in log["entries"]] == ["monitor.delete", "monitor.update", "monitor.create"]
        assert {e["actor"] for e in log["entries"]} == {"token:bootstrap"}


async def test_bad_input_is_refused_and_writes_nothing(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        headers = {**server.headers, "Content-Type": "application/json"}

        async def post(data: bytes, chunked: bool = False) -> tuple[int, Any]:
            payload: Any = data
            if chunked:

                async def chunks() -> Any:
                    for i in range(0, len(data), 65536):
                        yield data[i : i + 65536]

                payload = chunks()
            async with http.post(server.url + "/api/v1/monitors", data=payload, headers=headers) as resp:
                return resp.status, await resp.json()

        status, answer = await post(b'{"name": "x", "kind": "http",, }')
        assert status == 400
        assert answer["detail"].startswith("malformed JSON")
        assert "character 29" in answer["detail"]
        status, answer = await post(b'["a list"]')
        assert (status, answer["errors"][0]["field"]) == (422, "body")

        cases = [
            ({"name": "x", "kind": "http", "url": "http://a", "colour": "red"}, "colour"),
            ({"name": "x", "kind": "http"}, "url"),
            ({"name": "x", "kind": "http", "url": "http://a", "conditions": ["[STATUS] =="]}, "conditions.0"),
            ({"name": "x", "kind": "gopher"}, "kind"),
            ({"name": "x y", "kind": "tcp", "host": "h", "port": 1}, "name"),
            ({"name": "x", "kind": "tcp", "host": "h", "port": 1, "interval": "10x"}, "interval"),
        ]
        for body, field in cases:
            answer = await api.post("/api/v1/monitors", body, 422)
            assert field in {e["field"] for e in answer["errors"]}, (body, answer)

        big = b'{"name": "x", "kind": "tcp", "host": "h", "port": 1, "description": "' + b"x" * 1_100_000 + b'"}'
        assert (await post(big))[0] == 413
        assert (await post(big, chunked=True))[0] == 413  # no Content-Length: counted as it streams
        await api.get("/api/v1/monitors/x", expect=404)  # nothing was half-written
        assert (await api.get("/api/v1/audit?action=monitor."))["entries"] == []
        assert "Traceback" not in server.log_text()


async def test_database_monitors_survive_restart_export_and_yield_to_config(
    tmp_path: Path, http: aiohttp.ClientSession
) -> None:
    config, db = tmp_path / "tocsin.yaml", tmp_path / "t.db"
    write_config(config, db)
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.post("/api/v1/monitors", {"name": "job", "kind": "heartbeat", "period": "1h"}, 201)
        await api.post("/api/v1/monitors", {"name": "db", "kind": "tcp", "host": "127.0.0.1", "port": 5432}, 201)
        await api.post("/api/v1/monitors/db/pause")
        ping_url = (await api.get("/api/v1/monitors/job"))["ping_url"]
        token = ping_url.rsplit("/", 1)[1]
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        assert await status_of(api, "db") == "paused"  # kept across the restart
        async with http.get(f"{server.url}/ping/{token}") as resp:
            assert resp.status == 200
        assert await status_of(api, "job") == "up"

    exported = tmp_path / "exported.yaml"
    result = await atocsin("config", "export", "--config", str(config), "-o", str(exported))
    assert result.returncode == 0, result.stderr
    text = exported.read_text()
    assert "name: job" in text
    assert f"token: {token}" in text
    assert "name: cfg" not in text
    check = await atocsin("validate", str(exported))
    assert check.returncode == 0, check.stderr

    write_config(config, db, extra="  - name: db\n    kind: tcp\n    host: 127.0.0.1\n    port: 6543\n")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        db_monitor = (await api.get("/api/v1/monitors/db"))["monitor"]
        assert db_monitor["source"] == "config"  # the file took the name over
        assert (await api.get("/api/v1/monitors/db"))["spec"]["port"] == 6543
        await api.request("DELETE", "/api/v1/monitors/db", expect=409)
        assert await status_of(api, "job") == "up"  # the other database monitor runs on


async def test_console_forms_create_edit_and_delete(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    from tests.acceptance.conftest import sign_in

    config = tmp_path / "tocsin.yaml"
    write_config(config, tmp_path / "t.db")
    async with running_server(config) as server:
        api = Api(server.url, http, server.headers)
        await api.post("/api/v1/users", {"name": "rex", "role": "responder", "password": "a long password"}, 201)
        rex = await sign_in(server.url, "rex", "a long password")
        form = {"csrf": rex.csrf, "name": "db", "kind": "tcp", "host": "127.0.0.1", "port": "70000", "interval": "1m"}
        status, body, _ = await rex.request("POST", "/monitors/new", data=form)
        assert status == 422
        assert "Please correct the fields marked below." in body
        assert 'aria-invalid="true"' in body  # the port field is marked
        assert 'value="127.0.0.1"' in body  # what was typed is kept
        status, _, location = await rex.request("POST", "/monitors/new", data={**form, "port": "5432"})
        assert (status, location) == (303, "/monitors/db")

        status, body, _ = await rex.request("GET", "/monitors/db/edit")
        assert status == 200
        assert 'value="5432"' in body
        edit = {**form, "port": "6432", "labels": "team=data", "conditions": "[CONNECTED] == true"}
        status, _, location = await rex.request("POST", "/monitors/db/edit", data=edit)
        assert (status, location) == (303, "/monitors/db")
        spec = (await api.get("/api/v1/monitors/db"))["spec"]
        assert (spec["port"], spec["labels"], spec["conditions"]) == (6432, {"team": "data"}, ["[CONNECTED] == true"])

        status, body, _ = await rex.request("GET", "/monitors/cfg/edit")
        assert status == 409
        assert "edit it there" in body
        status, body, _ = await rex.request("GET", "/monitors/cfg")
        assert "Read-only here" in body
        assert "/monitors/cfg/edit" not in body

        status, _, location = await rex.request("POST", "/monitors/db/delete", data={"csrf": rex.csrf})
        assert (status, location) == (303, "/monitors")
        await api.get("/api/v1/monitors/db", expect=404)
        await rex.close()
        actions = [(e["action"], e["actor"]) for e in (await api.get("/api/v1/audit?target=db"))["entries"]]
        assert actions == [("monitor.delete", "rex"), ("monitor.update", "rex"), ("monitor.create", "rex")]
