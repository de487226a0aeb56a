"""Hostile targets never crash or stall the scheduler: a healthy monitor keeps its rhythm."""

from __future__ import annotations

import asyncio
from contextlib import AsyncExitStack
from pathlib import Path

from tests.component import hostile
from tocsin.checks.result import MonitorStatus
from tocsin.clock import FakeClock
from tocsin.runtime import Runtime

HOSTILE = {
    "hang": (hostile.hang, "timeout"),
    "reset": (hostile.reset, "connect"),
    "garbage": (hostile.garbage, "protocol"),
    "endless": (hostile.endless_body, None),  # a 200 with an endless body is read up to the cap
    "loris": (hostile.slow_loris, "timeout"),
}


async def test_hostile_targets_do_not_stall_healthy_checks(tmp_path: Path) -> None:
    async with AsyncExitStack() as stack:
        ports = {name: await stack.enter_async_context(hostile.serve(h)) for name, (h, _) in HOSTILE.items()}
        healthy = await stack.enter_async_context(hostile.serve(hostile.respond(200, b'{"status":"UP"}')))
        lines = [f"storage: {{url: 'sqlite:///{tmp_path}/h.db'}}", "monitors:"]
        for name, port in {**ports, "healthy": healthy}.items():
            lines.append(
                f"  - {{name: {name}, kind: http, url: 'http://127.0.0.1:{port}/', interval: 10s, timeout: 1s,"
                " failure_threshold: 1, max_body_bytes: 65536}"
            )
        (tmp_path / "c.yaml").write_text("\n".join(lines))
        clock = FakeClock()
        runtime = Runtime(tmp_path / "c.yaml", clock)
        await runtime.start()
        try:
            for _ in range(3):
                await clock.advance(10)
                async with asyncio.timeout(5):  # every probe is bounded by its 1 s timeout
                    await runtime.scheduler.drain()
            await runtime.store.flush()
            healthy_results = await runtime.store.recent_results("healthy", limit=10)
            assert len(healthy_results) == 3  # one per interval, none skipped
            assert runtime.runner.state("healthy").status is MonitorStatus.UP
            for name, (_, reason) in HOSTILE.items():
                [last] = await runtime.store.recent_results(name, limit=1)
                if reason is None:
                    assert last.latency_ms is not None
                    assert last.latency_ms < 1100
                else:
                    assert last.reason is not None
                    assert last.reason.value == reason, (name, last)
            assert runtime.scheduler.stats.missed == 0
        finally:
            await runtime.stop()
