"""The escalate stage: a hook the on-call capability fills; without it, flushes pass unchanged.

A receiver that names an `escalation_policy` or a `service` gets one more integration of
kind `oncall` (see `pipeline.setup`): its flushes are the hook's cue to start paging and are
never sent anywhere themselves.
"""

from __future__ import annotations

from typing import Protocol

import aiohttp

from tocsin.notify.model import SKIPPED, DeliveryResult, Notification
from tocsin.pipeline.stage import Flush

PAGING_CHANNEL = "oncall"
PAGING_KEYS = ("escalation_policy", "service")  # receiver keys that make it page through on-call


class EscalationHook(Protocol):
    """Starts, continues or stops paging people for a flushed group."""

    async def __call__(self, flush: Flush) -> Flush | None:
        """Return the flush to notify channels with, or None to stop (e.g. acknowledged)."""
        ...


class PagingOnly:
    """The channel of a receiver's `oncall` integration: nothing to deliver, the hook pages people."""

    key = "oncall"

    async def send(self, n: Notification, http: aiohttp.ClientSession) -> DeliveryResult:
        """Deliver nothing."""
        return SKIPPED


class Escalate:
    """Runs the configured escalation hook, if any."""

    def __init__(self, hook: EscalationHook | None = None) -> None:
        self.hook = hook

    async def __call__(self, flush: Flush) -> Flush | None:
        """Pass through (dropping paging cues when nobody pages), or let the hook decide."""
        if self.hook is None:
            return None if flush.channel == PAGING_CHANNEL else flush
        return await self.hook(flush)
