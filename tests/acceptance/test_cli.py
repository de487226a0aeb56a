"""The CLI as a user runs it: validate, check, db migrate, and serve's start-up errors."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

from tests.acceptance.conftest import Target


def tocsin(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "tocsin", *args], capture_output=True, text=True, timeout=timeout, check=False
    )


GOOD = """
storage: {{url: "sqlite:///{db}"}}
monitors:
  - name: web
    kind: http
    url: {url}
    conditions: ["[STATUS] == 200"]
  - name: closed-port
    kind: tcp
    host: 127.0.0.1
    port: 1
    timeout: 1s
  - name: job
    kind: heartbeat
"""


def test_validate_ok_and_errors(tmp_path: Path) -> None:
    good = tmp_path / "good.yaml"
    good.write_text(GOOD.format(db=tmp_path / "x.db", url="http://127.0.0.1:9/"))
    ok = tocsin("validate", str(good))
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout.strip() == f"ok: {good} has 3 monitors (1 heartbeat, 1 http, 1 tcp)"

    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "monitors:\n  - name: web\n    kind: http\n    url: ftp://x\n    intervl: 30s\n  - name: w2\n    kind: htp\n"
    )
    result = tocsin("validate", str(bad))
    assert result.returncode == 1
    lines = result.stderr
    assert f"{bad}:4:" in lines
    assert "url" in lines
    assert f"{bad}:5:" in lines
    assert "intervl" in lines
    assert "interval" in lines
    assert f"{bad}:7:" in lines
    assert "htp" in lines


async def atocsin(*args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI without blocking the loop that serves the in-test target."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "tocsin", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())


async def test_check_exit_codes(tmp_path: Path, target: Target) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(GOOD.format(db=tmp_path / "x.db", url=target.url))
    up = await atocsin("check", str(config), "--monitor", "web")
    assert up.returncode == 0, up.stdout + up.stderr
    assert "web" in up.stdout
    assert "up" in up.stdout
    everything = await atocsin("check", str(config))
    assert everything.returncode == 1  # the closed port is down
    assert "closed-port" in everything.stdout
    assert "connect" in everything.stdout
    assert "skipped heartbeat monitors" in everything.stdout
    unknown = await atocsin("check", str(config), "--monitor", "nope")
    assert unknown.returncode == 2
    assert "unknown monitor" in unknown.stderr


def test_db_migrate(tmp_path: Path) -> None:
    config = tmp_path / "c.yaml"
    config.write_text(GOOD.format(db=tmp_path / "m.db", url="http://127.0.0.1:9/"))
    result = tocsin("db", "migrate", "--config", str(config))
    assert result.returncode == 0, result.stderr
    assert (tmp_path / "m.db").exists()


def test_serve_refuses_bad_config_and_unreachable_database(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("monitors:\n  - name: x\n    kind: http\n    url: nope\n")
    result = tocsin("serve", "--config", str(bad), "--port", "0")
    assert result.returncode == 2
    assert f"{bad}:4:" in result.stderr

    good = tmp_path / "good.yaml"
    good.write_text("monitors: []\n")
    url = "postgresql://postgres:s3cret@127.0.0.1:1/tocsin"
    result = tocsin("serve", "--config", str(good), "--port", "0", "--database-url", url)
    assert result.returncode == 1
    assert "s3cret" not in result.stderr
    errors = [line for line in result.stderr.splitlines() if "127.0.0.1:1" in line]
    assert len(errors) == 1
    assert "***" in errors[0]


async def atocsin_input(stdin: str, *args: str) -> subprocess.CompletedProcess[str]:
    """Run the CLI with `stdin` as its input."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "tocsin",
        *args,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    out, err = await asyncio.wait_for(proc.communicate(stdin.encode()), 30)
    return subprocess.CompletedProcess(args, proc.returncode or 0, out.decode(), err.decode())


async def test_users_and_tokens_from_the_command_line(tmp_path: Path) -> None:
    import aiohttp

    from tests.acceptance.conftest import sign_in
    from tocsin.testing import running_server

    config = tmp_path / "c.yaml"
    config.write_text(f'storage: {{url: "sqlite:///{tmp_path / "u.db"}"}}\nmonitors: []\n')
    where = ("--config", str(config))
    made = await atocsin_input(
        "a long admin password\n", "user", "create", "ada", "--role", "admin", "--password-stdin", *where
    )
    assert made.returncode == 0, made.stderr
    assert made.stdout.strip() == "created admin ada"
    weak = await atocsin_input("short\n", "user", "create", "bob", "--password-stdin", *where)
    assert weak.returncode == 1
    assert "at least 10 characters" in weak.stderr
    issued = await atocsin("token", "create", "ci", "--scope", "read", "--scope", "ingest", "--expires", "30d", *where)
    assert issued.returncode == 0, issued.stderr
    token = issued.stdout.strip()
    assert token.startswith("tocsin_")
    assert "not shown again" in issued.stderr
    bad = await atocsin("token", "create", "x", "--scope", "root", *where)
    assert bad.returncode == 2
    assert "root" in bad.stderr
    listing = await atocsin("token", "list", *where)
    assert "ci" in listing.stdout
    assert "ingest,read" in listing.stdout
    assert token not in listing.stdout

    async with running_server(config, bootstrap=False) as server, aiohttp.ClientSession() as http:
        assert "no admin yet" not in server.log_text()
        ada = await sign_in(server.url, "ada", "a long admin password")
        status, _, _ = await ada.request("GET", "/settings/users")
        assert status == 200
        await ada.close()
        bearer = {"Authorization": f"Bearer {token}"}
        async with http.get(server.url + "/api/v1/monitors", headers=bearer) as resp:
            assert resp.status == 200
        revoked = await atocsin("token", "revoke", "ci", *where)
        assert revoked.returncode == 0, revoked.stderr
        async with http.get(server.url + "/api/v1/monitors", headers=bearer) as resp:
            assert resp.status == 401  # revoked from another process: refused on the next request
    last = await atocsin("user", "delete", "ada", *where)
    assert last.returncode == 1
    assert "last admin" in last.stderr
    users = await atocsin("user", "list", *where)
    assert users.stdout.splitlines()[1].split() == ["ada", "admin", "local", "active"]
