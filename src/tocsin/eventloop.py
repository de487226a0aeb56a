"""The event loop tocsin runs on: uvloop when it is installed (the default), else asyncio's own.

uvloop (libuv, Cython) cuts the loop's share of every check, request and delivery: timers,
socket readiness and transport writes cost a fraction of the pure-Python selector loop's.
`TOCSIN_EVENT_LOOP=asyncio` picks the standard loop (for debugging, or a platform without
uvloop); the choice is logged at start by `tocsin serve`.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")
ENV = "TOCSIN_EVENT_LOOP"


def loop_factory() -> Callable[[], asyncio.AbstractEventLoop] | None:
    """uvloop's loop factory, or None for asyncio's default loop."""
    wanted = os.environ.get(ENV, "uvloop").strip().lower()
    if wanted == "asyncio":
        return None
    if wanted != "uvloop":
        raise SystemExit(f"{ENV}={wanted!r} is not a known event loop: use 'uvloop' (the default) or 'asyncio'")
    try:
        import uvloop
    except ImportError:  # a platform uvloop has no wheel for: run on asyncio's loop
        return None
    return uvloop.new_event_loop


def name() -> str:
    """The loop `run` uses, for the start-up log line."""
    return "asyncio" if loop_factory() is None else "uvloop"


def run(main: Coroutine[Any, Any, T]) -> T:
    """Run `main` to completion on tocsin's event loop (like `asyncio.run`)."""
    with asyncio.Runner(loop_factory=loop_factory()) as runner:
        return runner.run(main)
