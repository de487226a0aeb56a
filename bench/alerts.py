"""Benchmark: alert ingest and POST -> webhook latency, tocsin vs Alertmanager 0.25, same machine and load.

Run: flock /tmp/bench.lock .venv/bin/python bench/alerts.py [--quick] [--only tocsin] [--profile FILE] [--log FILE]

Both servers get the same routing (group_by [group], group_wait 0s) and a webhook
receiver pointing at a sink in this process. Reported per server: ingest rate for 100k
alerts over 1000 groups posted to /api/v2/alerts in batches of 100 and of 1000 by 4
concurrent clients; CPU µs per alert and peak RSS of the server process; then p50/p99
latency from POST to webhook delivery for 1000 new groups, one alert at a time. tocsin
commits every accepted batch before answering; Alertmanager keeps alerts in memory.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import aiohttp
import orjson
from aiohttp import web

HERE = Path(__file__).resolve().parent
ROUTE = {"receiver": "sink", "group_by": ["group"], "group_wait": "0s", "group_interval": "1m", "repeat_interval": "4h"}


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def proc_cpu(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


@dataclass
class Sink:
    """The webhook receiver both servers notify; records when each group first arrived."""

    url: str = ""
    first_seen: dict[str, float] = field(default_factory=dict)
    count: int = 0


async def start_sink() -> tuple[Sink, web.AppRunner]:
    sink = Sink()

    async def hook(request: web.Request) -> web.Response:
        body = orjson.loads(await request.read())
        sink.count += 1
        group = body.get("groupLabels", {}).get("group", "")
        sink.first_seen.setdefault(group, time.perf_counter())
        return web.Response(text="ok")

    app = web.Application(client_max_size=64 * 1024 * 1024)
    app.router.add_post("/hook", hook)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    sink.url = f"http://127.0.0.1:{site._server.sockets[0].getsockname()[1]}/hook"  # type: ignore[union-attr]
    return sink, runner


def start_alertmanager(tmp: Path, sink: Sink) -> tuple[subprocess.Popen[bytes], str] | None:
    binary = shutil.which("prometheus-alertmanager") or shutil.which("alertmanager")
    if binary is None:
        return None
    import yaml

    config = {"route": ROUTE, "receivers": [{"name": "sink", "webhook_configs": [{"url": sink.url}]}]}
    (tmp / "am.yml").write_text(yaml.safe_dump(config))
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            f"--config.file={tmp / 'am.yml'}",
            f"--storage.path={tmp / 'am-data'}",
            f"--web.listen-address=127.0.0.1:{port}",
            "--cluster.listen-address=",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    return proc, f"http://127.0.0.1:{port}"


def start_tocsin(tmp: Path, sink: Sink, profile: str = "", log: str = "") -> tuple[subprocess.Popen[bytes], str]:
    import yaml

    config = {
        "server": {"listen": "127.0.0.1:0", "alertmanager_api_public": True},
        "storage": {"url": f"sqlite:///{tmp / 'tocsin.db'}"},
        "alerting": {"route": ROUTE, "receivers": [{"name": "sink", "webhook_configs": [{"url": sink.url}]}]},
    }
    (tmp / "tocsin.yaml").write_text(yaml.safe_dump(config))
    # uvicorn re-raises SIGTERM after its shutdown; exiting from a handler lets cProfile write its file.
    profiler = (
        "import cProfile, runpy, signal, sys; signal.signal(signal.SIGTERM, lambda *_: sys.exit(0)); "
        f"sys.argv[0] = 'tocsin'; cProfile.run('runpy.run_module(\\'tocsin\\', run_name=\\'__main__\\')', {profile!r})"
    )
    proc = subprocess.Popen(
        [
            sys.executable,
            *(["-c", profiler] if profile else ["-m", "tocsin"]),
            "serve",
            "--config",
            str(tmp / "tocsin.yaml"),
            "--port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")},
    )
    assert proc.stdout is not None
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        line = proc.stdout.readline().decode()
        if match := re.search(r"listening on (http://\S+)", line):
            threading.Thread(target=_drain, args=(proc, log), daemon=True).start()  # a full pipe would stall it
            return proc, match.group(1)
    raise RuntimeError("tocsin did not start")


def _drain(proc: subprocess.Popen[bytes], log: str) -> None:
    assert proc.stdout is not None
    with open(log or os.devnull, "wb") as out:
        for line in proc.stdout:
            out.write(line)


async def wait_ready(base: str) -> None:
    async with aiohttp.ClientSession() as session:
        for _ in range(200):
            try:
                async with session.get(f"{base}/-/ready") as resp:
                    if resp.status == 200:
                        return
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(0.05)
    raise RuntimeError(f"{base} never became ready")


def batch(start: int, size: int, run: str) -> bytes:
    ends = (datetime.now(UTC) + timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return orjson.dumps(
        [
            {
                "labels": {"alertname": "Bench", "run": run, "group": f"g{i % 1000}", "instance": f"i{i}"},
                "annotations": {"summary": "benchmark alert"},
                "endsAt": ends,
            }
            for i in range(start, start + size)
        ]
    )


async def ingest(base: str, pid: int, total: int, size: int, run: str) -> dict[str, float]:
    """Post `total` alerts in batches of `size` from 4 concurrent clients; rate, CPU per alert."""
    bodies = [batch(i, size, run) for i in range(0, total, size)]
    queue: asyncio.Queue[bytes] = asyncio.Queue()
    for body in bodies:
        queue.put_nowait(body)
    cpu0, t0 = proc_cpu(pid), time.perf_counter()

    async def client() -> None:
        async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as session:
            while not queue.empty():
                body = queue.get_nowait()
                async with session.post(f"{base}/api/v2/alerts", data=body) as resp:
                    if resp.status != 200:
                        raise RuntimeError(f"{resp.status}: {await resp.text()}")

    await asyncio.gather(*(client() for _ in range(4)))
    wall, cpu = time.perf_counter() - t0, proc_cpu(pid) - cpu0
    return {"alerts_per_s": total / wall, "cpu_us_per_alert": cpu / total * 1e6}


async def quiet(sink: Sink, idle: float = 1.0, limit: float = 120.0) -> None:
    """Wait until the ingest's notifications are delivered (no webhook for `idle` s), so latency starts clean."""
    deadline, last = time.perf_counter() + limit, -1
    while time.perf_counter() < deadline and sink.count != last:
        last = sink.count
        await asyncio.sleep(idle)


async def latency(base: str, sink: Sink, groups: int, run: str) -> dict[str, float]:
    """One new group at a time: POST one alert, wait for its webhook."""
    samples = []
    async with aiohttp.ClientSession(headers={"Content-Type": "application/json"}) as session:
        for i in range(groups):
            group = f"{run}-{i}"
            body = orjson.dumps([{"labels": {"alertname": "Latency", "group": group}}])
            t0 = time.perf_counter()
            async with session.post(f"{base}/api/v2/alerts", data=body) as resp:
                if resp.status != 200:
                    raise RuntimeError(f"{resp.status}: {await resp.text()}")
            while group not in sink.first_seen:
                await asyncio.sleep(0.0002)
                if time.perf_counter() - t0 > float(os.environ.get("BENCH_LATENCY_TIMEOUT", "10")):
                    raise RuntimeError(f"no webhook for {group} in time; {sink.count} webhooks so far")
            samples.append((sink.first_seen[group] - t0) * 1000)
    samples.sort()
    return {"p50_ms": statistics.median(samples), "p99_ms": samples[int(len(samples) * 0.99) - 1]}


async def measure(
    name: str, proc: subprocess.Popen[bytes], base: str, sink: Sink, total: int, groups: int
) -> dict[str, Any]:
    await wait_ready(base)
    result: dict[str, Any] = {"server": name}
    for size in (100, 1000):
        r = await ingest(base, proc.pid, total, size, f"{name}-b{size}")
        result[f"rate_b{size}"], result[f"cpu_b{size}"] = r["alerts_per_s"], r["cpu_us_per_alert"]
        print(
            f"{name} b{size}: {r['alerts_per_s']:.0f} alerts/s, {r['cpu_us_per_alert']:.1f} µs/alert", file=sys.stderr
        )
    await quiet(sink)
    lat = await latency(base, sink, groups, f"{name}-lat")
    result.update(lat)
    result["rss_mb"] = proc_rss_mb(proc.pid)
    return result


async def main(args: argparse.Namespace) -> None:
    total, groups = (5000, 50) if args.quick else (100_000, 1000)
    sink, runner = await start_sink()
    rows = []
    for name in args.only or ("alertmanager", "tocsin"):
        tmp = Path(tempfile.mkdtemp())
        started = (
            start_alertmanager(tmp, sink) if name == "alertmanager" else start_tocsin(tmp, sink, args.profile, args.log)
        )
        if started is None:
            print(f"{name}: not installed, skipped")
            continue
        proc, base = started
        try:
            rows.append(await measure(name, proc, base, sink, total, groups))
        finally:
            proc.terminate()
            proc.wait(60)
            shutil.rmtree(tmp, ignore_errors=True)
    await runner.cleanup()
    print_table(rows, total)


def print_table(rows: list[dict[str, Any]], total: int) -> None:
    print(f"{total} alerts over 1000 groups, 4 clients; latency over new groups one at a time")
    head = (
        f"{'server':<13} {'b100 /s':>9} {'µs/alert':>9} {'b1000 /s':>9} {'µs/alert':>9} "
        f"{'p50 ms':>7} {'p99 ms':>7} {'RSS MB':>7}"
    )
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['server']:<13} {r['rate_b100']:>9.0f} {r['cpu_b100']:>9.1f} {r['rate_b1000']:>9.0f} "
            f"{r['cpu_b1000']:>9.1f} {r['p50_ms']:>7.2f} {r['p99_ms']:>7.2f} {r['rss_mb']:>7.0f}"
        )
    if len(rows) == 2:
        am, us = rows
        print(
            f"ratios tocsin/alertmanager: ingest b100 {us['rate_b100'] / am['rate_b100']:.2f}x, "
            f"b1000 {us['rate_b1000'] / am['rate_b1000']:.2f}x, CPU/alert {us['cpu_b1000'] / am['cpu_b1000']:.2f}x, "
            f"p99 latency {us['p99_ms'] / am['p99_ms']:.2f}x, RSS {us['rss_mb'] / am['rss_mb']:.2f}x"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true")
    parser.add_argument("--only", action="append", choices=["alertmanager", "tocsin"], help="run only this server")
    parser.add_argument("--profile", default="", help="run tocsin under cProfile, stats written to this file")
    parser.add_argument("--log", default="", help="write tocsin's log to this file")
    asyncio.run(main(parser.parse_args()))
