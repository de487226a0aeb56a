"""The escalate stage: a hook the on-call capability fills; without it, flushes pass unchanged."""

from __future__ import annotations

from typing import Protocol

from tocsin.pipeline.stage import Flush


class EscalationHook(Protocol):
    """Starts, continues or stops paging people for a flushed group."""

    async def __call__(self, flush: Flush) -> Flush | None:
        """Return the flush to notify channels with, or None to stop (e.g. acknowledged)."""
        ...


class Escalate:
    """Runs the configured escalation hook, if any."""

    def __init__(self, hook: EscalationHook | None = None) -> None:
        self.hook = hook

    async def __call__(self, flush: Flush) -> Flush | None:
        """Pass through, or let the hook decide."""
        return flush if self.hook is None else await self.hook(flush)
