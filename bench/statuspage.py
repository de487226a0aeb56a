"""Benchmark: a status page with 100 components and 90 days of history, and 10,000 email subscribers.

Run: .venv/bin/python bench/statuspage.py [--quick] [--render-only] [--postgres postgresql://postgres@127.0.0.1:5432]
(needs `wrk` and `nginx`: apt-get install -y wrk nginx-light)

Setup: 100 heartbeat monitors in 10 groups behind one page; 90 daily rollups per monitor
and 10,000 confirmed email subscribers written directly through the store before start.
Reported, in one run:
- render p50/p99 uncached: the HTML page built from the store and rendered for every
  request (the app in this process, its page cache dropped before each request); twice: with
  nothing changed between renders, and with one new result written through the store before
  each (the next monitor in turn: its component's bars and today's counts must be made again);
- p50/p99 cached: sequential HTTP GETs against `tocsin serve`;
- requests/s under `wrk` (2 threads, 50 connections) against tocsin and against nginx
  (one worker, like tocsin's one process, sendfile on as in Debian's default nginx.conf) serving
  the same HTML as a static file: the ceiling; a run that saw any non-2xx answer or socket error
  is refused rather than reported;
  twice: without `Accept-Encoding` (both send the HTML as it is) and with `Accept-Encoding: gzip`
  (tocsin sends its precompressed variant; nginx `gzip_static` sends the same file gzipped
  beforehand at the same level), so like is compared with like;
- time from a public incident update to 10,000 emails received by a local aiosmtpd.
Targets (issue 8): cached >= 30% of nginx's requests/s, uncached p99 < 50 ms, 10k emails < 60 s.
`--render-only` measures only the uncached render; `--postgres SERVER` also measures it on a fresh
PostgreSQL database on that server (seeded the same way, dropped afterwards). Runs on tocsin's event
loop (uvloop unless TOCSIN_EVENT_LOOP=asyncio), as `tocsin serve` does.
"""

from __future__ import annotations

import argparse
import asyncio
import gzip
import os
import platform
import re
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import asyncpg
import yaml
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP, Envelope, Session
from sqlalchemy import insert

from tocsin import eventloop
from tocsin.checks.result import CheckResult, MonitorStatus, Outcome
from tocsin.clock import SystemClock
from tocsin.config.loader import load_config
from tocsin.runtime import Runtime, definitions
from tocsin.statuspage.subscribers import new_token
from tocsin.store.incident_response_tables import incident_updates, status_subscribers
from tocsin.store.incident_tables import incidents
from tocsin.store.records import MonitorState, ResultWrite
from tocsin.store.rollups import COUNT_COLUMNS, HISTOGRAM_COLUMNS
from tocsin.store.store import Store
from tocsin.store.tables import rollup_day
from tocsin.store.times import to_ms
from tocsin.web.app import create_app

HERE = Path(__file__).resolve().parent
COMPONENTS, GROUPS, DAYS, SUBSCRIBERS = 100, 10, 90, 10_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Counter:
    """aiosmtpd handler that only counts messages (in the controller's thread)."""

    def __init__(self) -> None:
        self.count = 0
        self.lock = threading.Lock()

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        with self.lock:
            self.count += 1
        return "250 OK"


def write_config(tmp: Path, smtp_port: int, url: str | None = None) -> Path:
    monitors = [{"name": f"m{i:03d}", "kind": "heartbeat", "period": "1h"} for i in range(COMPONENTS)]
    components = [
        {"name": f"Component {i:03d}", "group": f"Group {i // (COMPONENTS // GROUPS)}", "monitors": [f"m{i:03d}"]}
        for i in range(COMPONENTS)
    ]
    config = {
        "storage": {"url": url or f"sqlite:///{tmp / 'bench.db'}"},
        "monitors": monitors,
        "alerting": {
            "global": {"smtp_smarthost": f"127.0.0.1:{smtp_port}", "smtp_from": "status@bench.test"},
            "route": {"receiver": "none"},
            "receivers": [{"name": "none"}],
        },
        "status_pages": [
            {
                "slug": "bench",
                "title": "Bench status",
                "components": components,
                "subscriptions": {"smtp": {"require_tls": False}},
            }
        ],
    }
    path = tmp / "tocsin.yaml"
    path.write_text(yaml.safe_dump(config))
    return path


async def seed(config: Path, now: datetime) -> None:
    """90 daily rollups per monitor and 10k confirmed subscribers, through the store."""
    loaded = load_config(config)
    store = await Store.open(loaded.config.storage.url)
    records = await store.sync_monitors(definitions(loaded))
    today = int(now.timestamp()) // 86400 * 86400
    rows = []
    for name, record in records.items():
        for day in range(DAYS):
            down = 30 if (hash(name) + day) % 23 == 0 else 0
            values = dict.fromkeys(COUNT_COLUMNS, 0) | dict.fromkeys(HISTOGRAM_COLUMNS, 0)
            values |= {"total": 2880, "up": 2880 - down, "down": down, "latency_sum_ms": 0.0}
            rows.append({"monitor_id": record.id, "bucket": today - (DAYS - 1 - day) * 86400, **values})
    created = to_ms(now)
    subscribers = [
        {
            "page": "bench",
            "kind": "email",
            "address": f"user{i}@bench.test",
            "components": [],
            "token": new_token(),
            "created_at_ms": created,
            "confirmed_at_ms": created,
        }
        for i in range(SUBSCRIBERS)
    ]

    async def job(conn: Any) -> None:
        await conn.execute(insert(rollup_day), rows)
        await conn.execute(insert(status_subscribers), subscribers)

    await store.writer.run(job)
    await store.close()


async def asgi_get(app: Any, path: str) -> tuple[int, bytes]:
    """One GET through the ASGI app in this process (no sockets)."""
    scope = {"type": "http", "asgi": {"version": "3.0"}, "http_version": "1.1", "method": "GET", "scheme": "http",
             "path": path, "raw_path": path.encode(), "query_string": b"", "root_path": "",
             "headers": [(b"host", b"127.0.0.1")], "client": ("127.0.0.1", 1), "server": ("127.0.0.1", 80)}  # fmt: skip
    status, body = 0, bytearray()

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: dict[str, Any]) -> None:
        nonlocal status
        if message["type"] == "http.response.start":
            status = message["status"]
        elif message["type"] == "http.response.body":
            body.extend(message.get("body", b""))

    await app(scope, receive, send)
    return status, bytes(body)


def quantiles(samples: list[float]) -> tuple[float, float]:
    cuts = statistics.quantiles(samples, n=100)
    return cuts[49], cuts[98]


Render = tuple[float, float, float, float, float]  # p50, p99, first, p50 and p99 with one new result before each


async def uncached(config: Path, requests: int) -> Render:
    """Render p50/p99 (ms) with the page cache dropped before every request, and the first render's time (the
    page's memo of past days, statuspage/pastdays.py, is empty then: every daily rollup is read and worded); then
    p50/p99 again with one new result written through the store before each render, for the next monitor in turn
    (as after a heartbeat: that component's bars and today's counts change, the rebuild cannot reuse them)."""
    rt = Runtime(config, SystemClock())
    await rt.start()
    try:
        app = create_app(rt, manage_lifecycle=False)
        quiet: list[float] = []
        changed: list[float] = []
        for k in range(2 * requests):
            if k >= requests:
                name, at = f"m{k % COMPONENTS:03d}", rt.clock.now()
                state = MonitorState(MonitorStatus.UP, 1, 0, at, Outcome.UP, at)
                await rt.store.write([ResultWrite(CheckResult(name, at, Outcome.UP, None, None, ""), state)])
            for cache in ("status_page_cache", "status_history_cache"):
                if hasattr(app.state, cache):
                    delattr(app.state, cache)
            started = time.perf_counter()
            status, _ = await asgi_get(app, "/status/bench")
            (quiet if k < requests else changed).append((time.perf_counter() - started) * 1000)
            assert status == 200, status
        return (*quantiles(quiet), quiet[0], *quantiles(changed))
    finally:
        await rt.stop()


def start_tocsin(config: Path, env: dict[str, str]) -> tuple[subprocess.Popen[bytes], str]:
    cmd = [sys.executable, "-m", "tocsin", "serve", "--config", str(config), "--port", "0"]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env)
    assert proc.stdout is not None
    for raw in proc.stdout:
        line = raw.decode(errors="replace")
        if found := re.search(r"tocsin listening on (http://\S+)", line):
            threading.Thread(target=lambda: [None for _ in proc.stdout or ()], daemon=True).start()
            return proc, found.group(1)
    raise RuntimeError("tocsin did not start")


async def cached(base: str, requests: int) -> tuple[tuple[float, float], bytes]:
    samples, body = [], b""
    async with aiohttp.ClientSession() as http:
        for _ in range(requests):
            started = time.perf_counter()
            async with http.get(base + "/status/bench", headers={"Accept-Encoding": "identity"}) as resp:
                body = await resp.read()
            samples.append((time.perf_counter() - started) * 1000)
    return quantiles(samples), body


def start_nginx(tmp: Path, html: bytes) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("nginx") or ("/usr/sbin/nginx" if Path("/usr/sbin/nginx").exists() else None)
    if binary is None:
        return None
    root, port = tmp / "www", free_port()
    (root / "status").mkdir(parents=True)
    (root / "status" / "bench.html").write_bytes(html)
    (root / "status" / "bench.html.gz").write_bytes(gzip.compress(html, 6, mtime=0))
    # nginx started as root runs its worker as `nobody`, and mkdtemp makes the directory 0700:
    # without this every request was a 404 (see wrk's check below).
    for path in (tmp, root, root / "status"):
        path.chmod(0o755)
    for path in (root / "status").iterdir():
        path.chmod(0o644)
    conf = tmp / "nginx.conf"
    conf.write_text(f"""
worker_processes 1;
pid {tmp}/nginx.pid;
error_log {tmp}/nginx-error.log;
events {{ worker_connections 1024; }}
http {{
  access_log off;
  client_body_temp_path {tmp}/cb; proxy_temp_path {tmp}/px; fastcgi_temp_path {tmp}/fc;
  uwsgi_temp_path {tmp}/uw; scgi_temp_path {tmp}/sc;
  sendfile on; tcp_nopush on; gzip_static on; gzip_vary on;
  server {{ listen 127.0.0.1:{port}; root {root}; default_type text/html;
           location = /status/bench {{ try_files /status/bench.html =404; }} }}
}}
""")
    proc = subprocess.Popen([binary, "-c", str(conf), "-p", str(tmp), "-g", "daemon off;"])
    time.sleep(0.5)
    return proc, f"http://127.0.0.1:{port}"


def wrk(url: str, seconds: int, *headers: str) -> float:
    if shutil.which("wrk") is None:
        return float("nan")
    extra = [arg for h in headers for arg in ("-H", h)]
    cmd = ["wrk", "-t2", "-c50", f"-d{seconds}s", *extra, url]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True)
    if "Non-2xx" in out.stdout or "Socket errors" in out.stdout:
        # A server answering errors fast is not a ceiling: refuse to report it.
        raise SystemExit(f"wrk against {url} saw errors, not counting it:\n{out.stdout}")
    found = re.search(r"Requests/sec:\s+([\d.]+)", out.stdout)
    return float(found.group(1)) if found else float("nan")


async def notify(db: str, counter: Counter, now: datetime) -> float:
    """Post a public update straight into the store (as the incidents API does) and time 10k emails."""
    store = await Store.open(db, migrate=False)
    before, started = counter.count, time.perf_counter()

    async def job(conn: Any) -> None:
        row = {"title": "Bench outage", "severity": "SEV1", "status": "identified", "summary": "", "version": 1,
               "created_by": "bench", "created_at_ms": to_ms(now), "updated_at_ms": to_ms(now)}  # fmt: skip
        incident_id = (await conn.execute(insert(incidents).returning(incidents.c.id), row)).scalar_one()
        update = {"incident_id": incident_id, "at_ms": to_ms(now), "actor": "bench", "audience": "public",
                  "status": "identified", "body": "Everything is slow.", "pages": ["bench"],
                  "components": {"bench/Component 000": "major_outage"}}  # fmt: skip
        await conn.execute(insert(incident_updates), update)

    await store.writer.run(job)
    await store.close()
    while counter.count - before < SUBSCRIBERS:
        await asyncio.sleep(0.05)
        if time.perf_counter() - started > 600:
            raise RuntimeError(f"only {counter.count - before} emails after 600 s")
    return time.perf_counter() - started


async def on_postgres(server: str, now: datetime, renders: int) -> Render:
    """Uncached render p50/p99 (ms) with the store on a fresh PostgreSQL database of `server`."""
    name = f"tocsin_bench_statuspage_{os.getpid()}"
    admin = await asyncpg.connect(server.rstrip("/") + "/postgres")
    await admin.execute(f'CREATE DATABASE "{name}"')
    tmp = Path(tempfile.mkdtemp(prefix="tocsin-bench-statuspage-pg-"))
    try:
        config = write_config(tmp, free_port(), server.rstrip("/") + "/" + name)
        await seed(config, now)
        return await uncached(config, renders)
    finally:
        await admin.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        await admin.close()
        shutil.rmtree(tmp, ignore_errors=True)


async def main(quick: bool, render_only: bool, postgres: str | None) -> None:
    counter = Counter()
    smtp_port = free_port()
    controller = Controller(counter, hostname="127.0.0.1", port=smtp_port)
    controller.start()
    tmp = Path(tempfile.mkdtemp(prefix="tocsin-bench-statuspage-"))
    now = datetime.now(UTC)
    config = write_config(tmp, smtp_port)
    await seed(config, now)
    renders = 100 if quick else 500
    un = await uncached(config, renders)
    pg = await on_postgres(postgres, now, renders) if postgres else None
    if render_only:
        controller.stop()
        shutil.rmtree(tmp, ignore_errors=True)
        report_render(un, pg)
        return
    env = dict(os.environ, TOCSIN_BOOTSTRAP_TOKEN="tocsin_" + "b" * 43)
    proc, base = start_tocsin(config, env)
    nginx = None
    try:
        (c_p50, c_p99), html = await cached(base, 500 if quick else 2000)
        seconds = 5 if quick else 15
        gz = "Accept-Encoding: gzip"
        tocsin_rps = (wrk(base + "/status/bench", seconds), wrk(base + "/status/bench", seconds, gz))
        nginx = start_nginx(tmp, html)
        nan = float("nan")
        nginx_rps = (
            (wrk(nginx[1] + "/status/bench", seconds), wrk(nginx[1] + "/status/bench", seconds, gz))
            if nginx
            else (nan, nan)
        )
        took = await notify(f"sqlite:///{tmp / 'bench.db'}", counter, now + timedelta(seconds=1))
    finally:
        proc.terminate()
        proc.wait(10)
        if nginx:
            nginx[0].terminate()
            nginx[0].wait(10)
        controller.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    report(len(html), len(gzip.compress(html, 6)), un, (c_p50, c_p99), tocsin_rps, nginx_rps, took)
    if pg:
        report_render(None, pg)


def report(
    size: int,
    gz_size: int,
    un: Render,
    ca: tuple[float, float],
    t_rps: tuple[float, float],
    n_rps: tuple[float, float],
    took: float,
) -> None:
    print(f"{COMPONENTS} components in {GROUPS} groups, {DAYS} days of daily rollups, page {size / 1024:.0f} KiB"
          f" ({gz_size / 1024:.0f} KiB gzipped)")  # fmt: skip
    print(f"{'what':44} {'result':>14}  target")
    print("-" * 72)
    for what, (p50, p99) in (("", un[:2]), (", 1 new result", un[3:])):
        verdict = "met" if p99 < 50 else "MISSED"
        print(f"{'render uncached p50 / p99 (ms)' + what:44} {p50:6.1f} / {p99:5.1f}  p99 < 50 ms: {verdict}")
    print(f"{'render uncached, first after start (ms)':44} {un[2]:14.1f}")
    print(f"{'cached HTTP GET p50 / p99 (ms)':44} {ca[0]:6.2f} / {ca[1]:5.2f}")
    for label, t, n in (("identity", t_rps[0], n_rps[0]), ("gzip", t_rps[1], n_rps[1])):
        ratio = t / n if n > 0 else float("nan")  # nan (no nginx) compares False
        print(f"{'wrk requests/s tocsin (cached), ' + label:44} {t:14.0f}")
        print(f"{'wrk requests/s nginx, static file, ' + label:44} {n:14.0f}")
        print(f"{'tocsin / nginx, ' + label:44} {ratio:13.1%}  >= 30%: {'met' if ratio >= 0.3 else 'MISSED'}")
    print(f"{'10,000 subscriber emails to aiosmtpd (s)':44} {took:14.1f}  < 60 s: {'met' if took < 60 else 'MISSED'}")
    machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores"
    print(f"machine: {machine}, python {platform.python_version()}, {eventloop.name()} loop")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


def report_render(sqlite: Render | None, postgres: Render | None) -> None:
    """The uncached render lines alone (`--render-only`, and PostgreSQL's line after the full report)."""
    for label, found in (("SQLite", sqlite), ("PostgreSQL", postgres)):
        if found:
            for what, (p50, p99) in (("", found[:2]), (", 1 new result", found[3:])):
                verdict = "met" if p99 < 50 else "MISSED"
                print(f"{'render uncached p50 / p99 (ms), ' + label + what:52} {p50:6.1f} / {p99:5.1f}  "
                      f"p99 < 50 ms: {verdict}")  # fmt: skip
            print(f"{'render uncached, first after start (ms), ' + label:44} {found[2]:14.1f}")
    if sqlite:
        machine = f"{platform.node()} {platform.machine()} {os.cpu_count()} cores"
        print(f"machine: {machine}, python {platform.python_version()}, {eventloop.name()} loop")
        print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--quick", action="store_true", help="fewer requests and shorter wrk runs")
    parser.add_argument("--render-only", action="store_true", help="measure only the uncached render")
    parser.add_argument("--postgres", metavar="SERVER", help="also render on PostgreSQL at this server URL")
    args = parser.parse_args()
    eventloop.run(main(args.quick, args.render_only, args.postgres))
