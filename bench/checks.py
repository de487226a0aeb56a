"""Benchmark: tocsin's scheduler vs a bare aiohttp loop vs blackbox_exporter, same targets, same rate.

Run: .venv/bin/python bench/checks.py [--quick] [--scenarios 10000:30,1000:10] [--repeat 3]
Profile tocsin alone: bench/checks.py --profile /tmp/checks.prof --scenarios 10000:30
(cProfile over the tocsin worker's event-loop thread; read it with `python -m pstats`).

Each contender runs in its own process against local HTTP targets served by another
process, with a fresh connection per check. Reported: sustained checks/s, scheduling lag
p50/p99 (tocsin), CPU µs per check (process user+system time / checks), peak RSS, and
ratios against the bare aiohttp loop (the ceiling) and blackbox_exporter (the peer).

tocsin runs on `tocsin.eventloop.run`, the loop `tocsin serve` uses (uvloop unless
TOCSIN_EVENT_LOOP=asyncio). The bare loop runs twice, on uvloop and on asyncio's own loop:
`vs bare` is against bare-uvloop, the like-for-like ceiling (same loop as tocsin);
`vs asyncio` is against bare-asyncio, for reference only. With --repeat N every contender
runs N times, interleaved, and the table shows the mean of each column (per-run µs/check
are printed below it).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Coroutine
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent


# --------------------------------------------------------------------------- targets
def serve_targets(port: int) -> None:
    """A small aiohttp app answering every path with 200 and a tiny JSON body."""
    from aiohttp import web

    async def ok(_: web.Request) -> web.Response:
        return web.Response(body=b'{"status":"UP"}', content_type="application/json")

    app = web.Application()
    app.router.add_get("/{tail:.*}", ok)
    web.run_app(app, host="127.0.0.1", port=port, print=None, access_log=None)


def start_targets(ports: list[int]) -> list[subprocess.Popen[bytes]]:
    procs = [subprocess.Popen([sys.executable, __file__, "--serve-target", str(p)]) for p in ports]
    time.sleep(1.5)
    return procs


def free_port() -> int:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def peak_rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def target_urls(ports: list[int], monitors: int) -> list[str]:
    return [f"http://127.0.0.1:{ports[i % len(ports)]}/m/{i}" for i in range(monitors)]


# --------------------------------------------------------------------------- tocsin
async def run_tocsin(ports: list[int], monitors: int, interval: float, duration: float) -> dict[str, float]:
    """tocsin's real path: Runtime with scheduler, probes, judge, state, batched SQLite writes."""
    import logging

    from tocsin.clock import SystemClock
    from tocsin.runtime import Runtime

    logging.basicConfig(level=logging.WARNING)
    tmp = Path(tempfile.mkdtemp())
    lines = [f"storage: {{url: 'sqlite:///{tmp}/bench.db'}}", "checks: {max_concurrency: 2000}", "monitors:"]
    for i, url in enumerate(target_urls(ports, monitors)):
        lines.append(
            f"  - {{name: m{i}, kind: http, url: '{url}', interval: {interval}s, timeout: 5s,"
            " conditions: ['[STATUS] == 200', '[BODY].status == UP']}"
        )
    (tmp / "bench.yaml").write_text("\n".join(lines))
    runtime = Runtime(tmp / "bench.yaml", SystemClock())
    lags: list[float] = []
    await runtime.start()
    runtime.scheduler.stats.lag_observer = lags.append
    await asyncio.sleep(interval)  # warm-up: one full interval
    lags.clear()
    started, cpu0, t0 = runtime.scheduler.stats.started, cpu_seconds(), time.perf_counter()
    await asyncio.sleep(duration)
    checks = runtime.scheduler.stats.started - started
    cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - t0
    missed = runtime.scheduler.stats.missed
    await runtime.stop()
    shutil.rmtree(tmp, ignore_errors=True)
    lags.sort()
    return {
        "checks_per_s": checks / wall,
        "cpu_us_per_check": cpu / max(checks, 1) * 1e6,
        "lag_p50_ms": statistics.median(lags) * 1000 if lags else float("nan"),
        "lag_p99_ms": lags[int(len(lags) * 0.99)] * 1000 if lags else float("nan"),
        "missed": missed,
        "rss_mb": peak_rss_mb(),
    }


# --------------------------------------------------------------------------- bare aiohttp
async def run_bare(ports: list[int], monitors: int, interval: float, duration: float) -> dict[str, float]:
    """The ceiling: the same requests at the same rate, no scheduling, evaluation or storage."""
    import aiohttp

    urls = target_urls(ports, monitors)
    rate = monitors / interval
    connector = aiohttp.TCPConnector(force_close=True, limit=0)
    timeout = aiohttp.ClientTimeout(total=5)
    done = 0
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:

        async def one(url: str) -> None:
            nonlocal done
            async with session.get(url) as resp:
                await resp.read()
            if resp.status != 200:
                raise SystemExit(f"bare loop: {url} answered {resp.status}")
            done += 1

        async def drive(seconds: float) -> None:
            tasks: set[asyncio.Task[None]] = set()
            start = time.perf_counter()
            sent = 0
            while (elapsed := time.perf_counter() - start) < seconds:
                due = int(elapsed * rate)
                while sent < due:
                    task = asyncio.create_task(one(urls[sent % len(urls)]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.sleep(0.005)
            await asyncio.gather(*tasks, return_exceptions=True)

        await drive(min(interval, 5.0))
        done, cpu0, t0 = 0, cpu_seconds(), time.perf_counter()
        await drive(duration)
        cpu, wall = cpu_seconds() - cpu0, time.perf_counter() - t0
    return {"checks_per_s": done / wall, "cpu_us_per_check": cpu / max(done, 1) * 1e6, "rss_mb": peak_rss_mb()}


# --------------------------------------------------------------------------- blackbox_exporter
def proc_cpu_seconds(pid: int) -> float:
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = os.sysconf("SC_CLK_TCK")
    return (int(fields[11]) + int(fields[12])) / ticks


def proc_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


async def run_blackbox(ports: list[int], monitors: int, interval: float, duration: float) -> dict[str, float] | None:
    """The peer: blackbox_exporter's http_2xx module probing the same targets at the same rate."""
    import aiohttp

    binary = shutil.which("prometheus-blackbox-exporter") or shutil.which("blackbox_exporter")
    if binary is None:
        return None
    tmp = Path(tempfile.mkdtemp())
    (tmp / "bb.yml").write_text(
        "modules:\n  http_2xx:\n    prober: http\n    timeout: 5s\n    http:\n      preferred_ip_protocol: ip4\n"
    )
    port = free_port()
    proc = subprocess.Popen(  # noqa: ASYNC220 - started once, before any measurement
        [binary, f"--config.file={tmp / 'bb.yml'}", f"--web.listen-address=127.0.0.1:{port}"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    await asyncio.sleep(1.0)
    urls = target_urls(ports, monitors)
    rate = monitors / interval
    done = 0
    # The driver keeps connections to the exporter alive so its own cost stays out of the exporter's CPU.
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as session:

        async def one(target: str) -> None:
            nonlocal done
            async with session.get(
                f"http://127.0.0.1:{port}/probe", params={"module": "http_2xx", "target": target}
            ) as r:
                body = await r.read()
            if b"\nprobe_success 1" not in body:  # a failing probe is cheaper: never count it as a check
                raise SystemExit(f"blackbox_exporter probe of {target} failed:\n{body.decode(errors='replace')}")
            done += 1

        async def drive(seconds: float) -> None:
            tasks: set[asyncio.Task[None]] = set()
            start, sent = time.perf_counter(), 0
            while (elapsed := time.perf_counter() - start) < seconds:
                while sent < int(elapsed * rate):
                    task = asyncio.create_task(one(urls[sent % len(urls)]))
                    tasks.add(task)
                    task.add_done_callback(tasks.discard)
                    sent += 1
                await asyncio.sleep(0.005)
            await asyncio.gather(*tasks, return_exceptions=True)

        await drive(min(interval, 5.0))
        done, cpu0, t0 = 0, proc_cpu_seconds(proc.pid), time.perf_counter()
        await drive(duration)
        cpu, wall = proc_cpu_seconds(proc.pid) - cpu0, time.perf_counter() - t0
    rss = proc_rss_mb(proc.pid)
    proc.terminate()
    proc.wait()
    shutil.rmtree(tmp, ignore_errors=True)
    return {"checks_per_s": done / wall, "cpu_us_per_check": cpu / max(done, 1) * 1e6, "rss_mb": rss}


# --------------------------------------------------------------------------- orchestration
CONTENDERS = ("tocsin", "bare-uvloop", "bare-asyncio", "blackbox")
RUNNERS = {"tocsin": run_tocsin, "bare-uvloop": run_bare, "bare-asyncio": run_bare, "blackbox": run_blackbox}


def run_on_loop(kind: str, main: Coroutine[Any, Any, dict[str, float] | None]) -> dict[str, float] | None:
    """tocsin on the loop production uses; each bare variant on the loop its name says."""
    if kind == "tocsin":
        from tocsin import eventloop

        return eventloop.run(main)
    if kind == "bare-uvloop":
        import uvloop

        with asyncio.Runner(loop_factory=uvloop.new_event_loop) as runner:
            return runner.run(main)
    return asyncio.run(main)  # bare-asyncio, and the blackbox driver (its own CPU is not measured)


def worker(
    kind: str, ports: list[int], monitors: int, interval: float, duration: float, profile: str = ""
) -> dict[str, float] | None:
    runner = RUNNERS[kind]
    if not profile:
        return run_on_loop(kind, runner(ports, monitors, interval, duration))
    import cProfile

    with cProfile.Profile() as prof:
        result = run_on_loop(kind, runner(ports, monitors, interval, duration))
    prof.dump_stats(profile)
    return result


def run_in_subprocess(
    kind: str, ports: list[int], monitors: int, interval: float, duration: float, profile: str = ""
) -> dict[str, float] | None:
    args = [
        sys.executable,
        __file__,
        "--worker",
        kind,
        "--ports",
        ",".join(map(str, ports)),
        "--monitors",
        str(monitors),
        "--interval",
        str(interval),
        "--duration",
        str(duration),
        "--profile",
        profile,
    ]
    out = subprocess.run(
        args, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONPATH": str(HERE.parent / "src")}
    )
    last = out.stdout.strip().splitlines()[-1]
    result: dict[str, float] | None = json.loads(last)
    return result


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--quick", action="store_true", help="short runs, for a smoke test of the script")
    parser.add_argument("--serve-target", type=int)
    parser.add_argument("--worker")
    parser.add_argument("--ports", default="")
    parser.add_argument("--monitors", type=int, default=1000)
    parser.add_argument("--interval", type=float, default=30)
    parser.add_argument("--duration", type=float, default=60)
    parser.add_argument("--scenarios", default="", help="monitors:interval pairs, e.g. 10000:30,1000:10")
    parser.add_argument("--profile", default="", help="run only tocsin, under cProfile, dumping stats here")
    parser.add_argument("--repeat", type=int, default=1, help="runs per contender (interleaved); the table shows means")
    parser.add_argument("--only", default="", help=f"comma-separated subset of {','.join(CONTENDERS)}")
    args = parser.parse_args()
    if args.serve_target:
        serve_targets(args.serve_target)
        return
    if args.worker:
        ports = [int(p) for p in args.ports.split(",")]
        print(json.dumps(worker(args.worker, ports, args.monitors, args.interval, args.duration, args.profile)))
        return

    scenarios = [(1000, 10.0), (10_000, 30.0), (10_000, 10.0)]
    duration = 60.0
    if args.quick:
        scenarios, duration = [(200, 5.0)], 5.0
    if args.scenarios:
        scenarios = [(int(m), float(i)) for m, i in (pair.split(":") for pair in args.scenarios.split(","))]
    contenders = tuple(args.only.split(",")) if args.only else CONTENDERS
    if args.profile:
        contenders = ("tocsin",)
    unknown = set(contenders) - set(CONTENDERS)
    if unknown:
        parser.error(f"--only: unknown contender(s) {', '.join(sorted(unknown))}; pick from {', '.join(CONTENDERS)}")
    ports = [free_port() for _ in range(2)]
    targets = start_targets(ports)
    rows = []
    try:
        for monitors, interval in scenarios:
            runs: dict[str, list[dict[str, float] | None]] = {k: [] for k in contenders}
            for _ in range(args.repeat):
                for k in contenders:
                    runs[k].append(run_in_subprocess(k, ports, monitors, interval, duration, args.profile))
            rows.append((monitors, interval, {k: mean_result(v) for k, v in runs.items()}, runs))
    finally:
        for t in targets:
            t.terminate()
    print_table(rows)


def mean_result(runs: list[dict[str, float] | None]) -> dict[str, float] | None:
    """Column-wise mean of repeated runs (None when the contender is not installed)."""
    done = [r for r in runs if r is not None]
    if not done:
        return None
    return {key: statistics.fmean(r[key] for r in done) for key in done[0]}


Row = tuple[int, float, dict[str, dict[str, float] | None], dict[str, list[dict[str, float] | None]]]


def print_table(rows: list[Row]) -> None:
    """Means per contender; `vs bare` is against bare-uvloop (same loop as tocsin: like-for-like)."""
    head = (
        f"{'monitors':>8} {'interval':>8} {'who':<12} {'checks/s':>9} {'lag p50':>8} {'lag p99':>8} "
        f"{'µs/check':>9} {'RSS MB':>7} {'vs bare':>8} {'vs asyncio':>10} {'vs bbox':>8}"
    )
    print(head)
    print("-" * len(head))
    for monitors, interval, results, _ in rows:
        bare, bare_asyncio, bbox = results.get("bare-uvloop"), results.get("bare-asyncio"), results.get("blackbox")
        for who, r in results.items():
            if r is None:
                print(f"{monitors:>8} {interval:>7.0f}s {who:<12} {'(not installed)':>9}")
                continue
            cpu = r["cpu_us_per_check"]
            lag50 = f"{r['lag_p50_ms']:.1f}ms" if "lag_p50_ms" in r else "-"
            lag99 = f"{r['lag_p99_ms']:.1f}ms" if "lag_p99_ms" in r else "-"
            vs_bare = f"{cpu / bare['cpu_us_per_check']:.2f}x" if bare else "-"
            vs_asyncio = f"{cpu / bare_asyncio['cpu_us_per_check']:.2f}x" if bare_asyncio else "-"
            vs_bbox = f"{cpu / bbox['cpu_us_per_check']:.2f}x" if bbox else "-"
            print(
                f"{monitors:>8} {interval:>7.0f}s {who:<12} {r['checks_per_s']:>9.0f} {lag50:>8} {lag99:>8} "
                f"{cpu:>9.0f} {r['rss_mb']:>7.0f} {vs_bare:>8} {vs_asyncio:>10} {vs_bbox:>8}"
            )
    print()
    print("vs bare = against bare-uvloop, the like-for-like ceiling (tocsin runs on uvloop too);")
    print("vs asyncio = against the bare loop on asyncio's default loop (slower loop; reference only).")
    for monitors, interval, _, runs in rows:
        per_run = "; ".join(
            f"{who} " + " / ".join(f"{r['cpu_us_per_check']:.0f}" if r else "-" for r in rs) for who, rs in runs.items()
        )
        print(f"per-run µs/check, {monitors} at {interval:.0f}s: {per_run}")


if __name__ == "__main__":
    main()
