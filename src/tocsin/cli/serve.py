"""`tocsin serve`: start the runtime, then uvicorn, log the bound address, reload on SIGHUP."""

from __future__ import annotations

import asyncio
import logging
import os
import signal
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import uvicorn

from tocsin.clock import Clock, FakeClock, SystemClock
from tocsin.config.errors import ConfigErrors
from tocsin.config.loader import LoadedConfig
from tocsin.runtime import Runtime
from tocsin.statuspage.registry import registry
from tocsin.store.access_records import AuditEntry
from tocsin.store.store import StoreUnavailable
from tocsin.web.app import create_app, with_body_limit
from tocsin.web.auth import AccessService
from tocsin.web.fastlane import FastLane, Recorder, protocol_for

log = logging.getLogger("tocsin")


async def run_server(
    config_path: Path,
    host: str | None,
    port: int | None,
    database_url: str | None,
    test_clock: bool,
) -> int:
    """Run until interrupted; returns the process exit code."""
    clock: Clock = FakeClock(round(time.time(), 3)) if test_clock else SystemClock()  # whole ms: exact datetimes
    runtime = Runtime(config_path, clock, database_url=database_url)
    try:
        await runtime.start()
    except ConfigErrors as exc:
        log.error("invalid config, not starting:\n%s", exc.format())
        return 2
    except StoreUnavailable as exc:
        log.error("%s", exc)
        return 1
    try:
        return await _serve(runtime, host, port, test_clock)
    finally:
        await runtime.stop()


async def _serve(runtime: Runtime, host: str | None, port: int | None, test_clock: bool) -> int:
    server_cfg = runtime.loaded.config.server
    cfg_host, _, cfg_port = server_cfg.listen.rpartition(":")
    app = create_app(runtime, manage_lifecycle=False, test_clock=test_clock)
    bootstrap = os.environ.get(BOOTSTRAP_ENV) or None
    setup_token = await app.state.access.prepare(runtime.loaded, bootstrap, runtime.clock.now())
    tls = server_cfg.tls
    lane = FastLane()
    counters = {outcome: runtime.metrics.fastlane_answers.labels(outcome) for outcome in ("hit", "not_modified")}
    lane.on_answer = lambda outcome: counters[outcome].inc()
    config = uvicorn.Config(
        Recorder(with_body_limit(app, server_cfg.max_body_bytes), lane),
        http=protocol_for(lane),
        host=host or cfg_host.strip("[]"),
        port=int(cfg_port) if port is None else port,
        log_level="warning",
        access_log=False,
        lifespan="off",
        timeout_graceful_shutdown=3,  # open event streams (the live overview) must not hold up a stop
        ssl_certfile=tls.cert_file if tls else None,
        ssl_keyfile=tls.key_file if tls else None,
    )
    server = uvicorn.Server(config)
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGHUP, lambda: asyncio.ensure_future(_reload_on_signal(runtime, app.state.access)))
    runtime.reload_hooks.append(lambda loaded: app.state.access.sync_config_users(loaded, runtime.clock.now()))
    runtime.reload_hooks.append(_clearing(lane))
    runtime.runner.change_listeners.append(lambda _: lane.clear())  # a monitor's status shows at once
    registry(app.state, runtime).invalidation_listeners.append(lane.clear)  # incidents, updates, overrides, edits
    task = asyncio.create_task(server.serve())
    # uvicorn exposes only a `started` flag, no event to wait on.
    while not server.started and not task.done():  # noqa: ASYNC110
        await asyncio.sleep(0.01)
    if task.done():
        await task
        log.error("could not listen on %s:%s", config.host, config.port)
        return 1
    bound = server.servers[0].sockets[0].getsockname()
    scheme = "https" if tls else "http"
    shown_host = f"[{bound[0]}]" if ":" in bound[0] else bound[0]
    log.info(
        "tocsin listening on %s://%s:%d%s (%s event loop)",
        scheme,
        shown_host,
        bound[1],
        " (test clock)" if test_clock else "",
        type(loop).__module__.partition(".")[0],
    )
    if setup_token:
        base = (server_cfg.external_url or f"{scheme}://{shown_host}:{bound[1]}").rstrip("/")
        log.warning(SETUP_MESSAGE, f"{base}/setup/{setup_token}")
    await task
    return 0


def _clearing(lane: FastLane) -> Callable[[LoadedConfig], Awaitable[None]]:
    """A reload hook emptying the fast lane: a new config may change any page."""

    async def clear(_: LoadedConfig) -> None:
        lane.clear()

    return clear


async def _reload_on_signal(runtime: Runtime, access: AccessService) -> None:
    """Reload on SIGHUP and record it in the audit log."""
    outcome = await runtime.reload()
    detail = {"ok": outcome.ok, "errors": list(outcome.errors)[:20]}
    entry = AuditEntry(
        runtime.clock.now(), "signal:SIGHUP", "system", "config.reload", str(runtime.config_path), "local", detail
    )
    await access.store.record(entry)


BOOTSTRAP_ENV = "TOCSIN_BOOTSTRAP_TOKEN"
SETUP_MESSAGE = "no admin yet: open %s to create the first admin (the link works once)"
