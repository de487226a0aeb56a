"""Signing in end to end: first-run setup, sessions, CSRF, rate limits, tokens, users and the audit log."""

from __future__ import annotations

import re
from pathlib import Path

import aiohttp
from yarl import URL

from tests.acceptance.conftest import Api, login_form, sign_in
from tocsin.testing import running_server

PASSWORD = "a long test password"


def write_config(tmp_path: Path) -> Path:
    config = tmp_path / "tocsin.yaml"
    config.write_text(f'storage: {{url: "sqlite:///{tmp_path / "t.db"}"}}\nmonitors: []\n')
    return config


def jar_session() -> aiohttp.ClientSession:
    return aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True), timeout=aiohttp.ClientTimeout(total=15))


async def test_first_run_setup_creates_the_first_admin_once(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(write_config(tmp_path), bootstrap=False) as server:
        setup_url = (await server.wait_for_log(r"no admin yet: open (\S+)")).group(1)
        assert setup_url.startswith(server.url + "/setup/")
        async with http.get(server.url + "/", allow_redirects=False) as resp:
            assert (resp.status, resp.headers["Location"]) == (303, "/login?next=%2F")
        async with http.get(server.url + "/api/v1/monitors") as resp:
            assert resp.status == 401
            assert resp.headers["WWW-Authenticate"].startswith("Bearer")
        async with http.get(server.url + "/healthz") as resp:
            assert resp.status == 200
        async with http.get(server.url + "/login") as resp:
            assert "no admin yet" in await resp.text()
        async with http.get(server.url + "/setup/not-the-token") as resp:
            assert resp.status == 404

        async with jar_session() as browser:
            async with browser.get(setup_url) as resp:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
            form = {"csrf": csrf, "name": "ada", "password": PASSWORD, "confirm": "something else"}
            async with browser.post(setup_url, data=form) as resp:
                assert resp.status == 422
                assert "The two passwords differ" in await resp.text()
            async with browser.post(setup_url, data={**form, "csrf": "forged", "confirm": PASSWORD}) as resp:
                assert resp.status == 422  # the double-submit cookie does not match
            async with browser.get(setup_url) as resp:
                csrf = re.search(r'name="csrf" value="([^"]+)"', await resp.text()).group(1)  # type: ignore[union-attr]
            good = {"csrf": csrf, "name": "ada", "password": PASSWORD, "confirm": PASSWORD}
            async with browser.post(setup_url, data=good, allow_redirects=False) as resp:
                assert (resp.status, resp.headers["Location"]) == (303, "/")
            async with browser.get(server.url + "/api/v1/me", headers={"Accept": "application/json"}) as resp:
                assert (await resp.json())["role"] == "admin"  # signed in straight away
        async with http.get(setup_url) as resp:
            assert resp.status == 404  # the link worked once
        async with http.post(setup_url, data=good) as resp:
            assert resp.status == 404


async def test_sign_in_sessions_csrf_and_rate_limits(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(write_config(tmp_path)) as server:
        admin = Api(server.url, http, server.headers)
        await admin.post("/api/v1/users", {"name": "rita", "role": "responder", "password": PASSWORD}, 201)

        async with jar_session() as browser:
            csrf = await login_form(browser, server.url)
            wrong = {"csrf": csrf, "name": "rita", "password": "not it at all"}
            async with browser.post(server.url + "/login", data=wrong) as resp:
                assert resp.status == 200
                wrong_text = await resp.text()
            csrf = await login_form(browser, server.url)
            async with browser.post(server.url + "/login", data={**wrong, "csrf": csrf, "name": "nobody"}) as resp:
                assert resp.status == 200
                assert "Wrong user name or password." in wrong_text
                assert "Wrong user name or password." in await resp.text()  # no hint who exists

            csrf = await login_form(browser, server.url)
            async with browser.post(
                server.url + "/login", data={**wrong, "csrf": csrf, "password": PASSWORD}, allow_redirects=False
            ) as resp:
                assert resp.status == 303
                cookie = resp.headers.getall("Set-Cookie")
            session_cookie = next(c for c in cookie if c.startswith("tocsin_session="))
            assert "HttpOnly" in session_cookie
            assert "SameSite=lax" in session_cookie
            assert "Path=/" in session_cookie
            assert "Secure" not in session_cookie  # plain http on localhost (see docs/security.md)

        rita = await sign_in(server.url, "rita", PASSWORD)
        first_cookie = rita.session.cookie_jar.filter_cookies(URL(server.url))["tocsin_session"].value
        status, _, _ = await rita.request("POST", "/api/v1/monitors/nope/pause", headers={"X-CSRF-Token": "forged"})
        assert status == 403  # a write without the session's CSRF token
        status, body, _ = await rita.request("POST", "/-/reload")
        assert status == 403  # a responder is not an admin
        assert "needs role admin" in body
        status, _, _ = await rita.request("POST", "/api/v1/monitors/nope/pause")
        assert status == 404  # with the token it reaches the handler

        again = await sign_in(server.url, "rita", PASSWORD)  # a new sign-in is a new session
        assert again.session.cookie_jar.filter_cookies(URL(server.url))["tocsin_session"].value != first_cookie
        status, _, location = await again.request("POST", "/logout")
        assert (status, location) == (303, "/login?signed_out=1")
        status, _, location = await again.request("GET", "/")
        assert (status, location) == (303, "/login?next=%2F")
        status, _, _ = await rita.request("GET", "/")
        assert status == 200  # the other session is untouched

        await admin.advance("2h1m")  # idle timeout
        status, _, location = await rita.request("GET", "/monitors")
        assert (status, location) == (303, "/login?next=%2Fmonitors")
        await rita.close()
        await again.close()

        async with jar_session() as browser:
            for _ in range(5):
                csrf = await login_form(browser, server.url)
                data = {"csrf": csrf, "name": "rita", "password": "guessing wrong"}
                async with browser.post(server.url + "/login", data=data) as resp:
                    assert resp.status == 200
            csrf = await login_form(browser, server.url)
            data = {"csrf": csrf, "name": "rita", "password": PASSWORD}
            async with browser.post(server.url + "/login", data=data) as resp:
                assert resp.status == 429  # even the right password waits
                assert "Too many failed sign-ins for this account or from this address" in await resp.text()

        log = await admin.get("/api/v1/audit?action=session.")
        actions = [e["action"] for e in log["entries"]]
        assert "session.login_failed" in actions
        assert "session.login" in actions
        assert "session.logout" in actions
        assert {e["source"] for e in log["entries"]} == {"127.0.0.1"}


async def test_tokens_scopes_expiry_and_revocation(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(write_config(tmp_path)) as server:
        admin = Api(server.url, http, server.headers)
        issued = await admin.post("/api/v1/tokens", {"name": "grafana", "scopes": ["read"], "expires_in": "1d"}, 201)
        assert issued["token"].startswith("tocsin_")
        assert issued["expires_at"]
        listed = await admin.get("/api/v1/tokens")
        assert issued["token"] not in str(listed)  # shown once
        reader = Api(server.url, http, {"Authorization": f"Bearer {issued['token']}"})
        assert (await reader.get("/api/v1/me"))["scopes"] == ["read"]
        await reader.get("/api/v1/monitors")
        await reader.post("/-/reload", expect=403)
        await reader.get("/api/v1/tokens", expect=403)
        used = next(t for t in await admin.get("/api/v1/tokens") if t["name"] == "grafana")
        assert used["last_used_at"]

        bad = Api(server.url, http, {"Authorization": "Bearer tocsin_not-a-real-token"})
        await bad.get("/api/v1/monitors", expect=401)
        basic = Api(server.url, http, {"Authorization": "Basic YTpi"})
        await basic.get("/api/v1/monitors", expect=401)

        await admin.advance("1d1s")
        await reader.get("/api/v1/monitors", expect=401)  # expired
        other = await admin.post("/api/v1/tokens", {"name": "ci", "scopes": ["write", "ingest"]}, 201)
        writer = Api(server.url, http, {"Authorization": f"Bearer {other['token']}"})
        await writer.get("/api/v1/monitors")
        await admin.request("DELETE", f"/api/v1/tokens/{other['id']}", expect=204)
        await writer.get("/api/v1/monitors", expect=401)  # revoked: at once
        await admin.request("DELETE", "/api/v1/tokens/9999", expect=404)

        problems = await admin.post("/api/v1/tokens", {"name": "x", "scopes": ["root"], "colour": 1}, 422)
        assert {e["field"] for e in problems["errors"]} == {"body.scopes.0", "body.colour"}
        async with http.post(
            server.url + "/api/v1/tokens",
            data=b'{"name": "x",',
            headers={**server.headers, "Content-Type": "application/json"},
        ) as resp:
            assert resp.status == 400
            assert (await resp.json())["detail"].startswith("malformed JSON")


async def test_user_management_rules(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(write_config(tmp_path)) as server:
        admin = Api(server.url, http, server.headers)
        await admin.post("/api/v1/users", {"name": "root", "role": "admin", "password": PASSWORD}, 201)
        await admin.post("/api/v1/users", {"name": "root", "role": "viewer"}, 409)
        weak = await admin.post("/api/v1/users", {"name": "v", "role": "viewer", "password": "short"}, 422)
        assert weak["errors"][0]["field"] == "password"
        last = await admin.request("PATCH", "/api/v1/users/root", {"role": "viewer"}, expect=409)
        assert "last admin" in last["detail"]
        await admin.request("DELETE", "/api/v1/users/root", expect=409)
        await admin.post("/api/v1/users", {"name": "vera", "role": "viewer", "password": PASSWORD}, 201)
        vera = await sign_in(server.url, "vera", PASSWORD)
        status, _, _ = await vera.request("GET", "/settings/users")
        assert status == 403
        changed = await admin.request("PATCH", "/api/v1/users/vera", {"role": "responder"})
        assert changed["role"] == "responder"
        status, body, _ = await vera.request("GET", "/monitors")
        assert status == 200
        assert "New monitor" in body  # the new role applies to the next request
        await admin.request("PATCH", "/api/v1/users/vera", {"disabled": True})
        status, _, location = await vera.request("GET", "/monitors")
        assert location.startswith("/login")  # disabling ends her sessions
        await vera.close()
        users = {u["name"]: u for u in await admin.get("/api/v1/users")}
        assert users["vera"]["disabled"]
        assert "argon2" not in str(users)
        await admin.request("DELETE", "/api/v1/users/vera", expect=204)
        actions = [e["action"] for e in (await admin.get("/api/v1/audit?target=vera&action=user."))["entries"]]
        assert actions == ["user.delete", "user.update", "user.update", "user.create"]
        entries = (await admin.get("/api/v1/audit?target=vera&action=user."))["entries"]
        assert {e["actor"] for e in entries} == {"token:bootstrap"}


async def test_config_reloads_are_audited(tmp_path: Path, http: aiohttp.ClientSession) -> None:
    async with running_server(write_config(tmp_path)) as server:
        admin = Api(server.url, http, server.headers)
        await admin.post("/-/reload")
        server.hup()
        await admin.until(lambda: _count(admin, "config.reload", 2))
        entries = (await admin.get("/api/v1/audit?action=config.reload"))["entries"]
        assert [(e["actor"], e["detail"]["ok"]) for e in entries] == [
            ("signal:SIGHUP", True),
            ("token:bootstrap", True),
        ]


async def _count(api: Api, action: str, wanted: int) -> bool:
    return len((await api.get(f"/api/v1/audit?action={action}"))["entries"]) >= wanted
