"""The declare stage: lets incident automation see each flush after the mute stages; never stops one.

It sits after maintenance, time intervals, inhibition and silences, so a muted alert never
declares an incident, and before dedup, so the decision does not depend on whether anyone is
notified this time. Without a hook (no incident automation) flushes pass unchanged.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol

from tocsin.pipeline.stage import Flush


class DeclareHook(Protocol):
    """Declares an incident for a flushed group when a rule asks for one (and none is open)."""

    async def __call__(self, flush: Flush) -> None:
        """Look at the flush; never raise."""
        ...


def no_hook() -> DeclareHook | None:
    """The hook source of a pipeline without incident automation."""
    return None


class Declare:
    """Runs the current declare hook, if any, on flushes that still have firing alerts."""

    def __init__(self, hook: Callable[[], DeclareHook | None] = no_hook) -> None:
        self._hook = hook

    async def __call__(self, flush: Flush) -> Flush | None:
        """Pass the flush on unchanged, after the hook (when set) had a look."""
        hook = self._hook()
        if hook is not None and flush.firing():
            await hook(flush)
        return flush
