"""What flows through the pipeline (`Flush`) and the one-method `Stage` protocol."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Protocol

from tocsin.alerting.alert import Alert
from tocsin.alerting.route import Route


@dataclass(frozen=True, slots=True)
class Flush:
    """One aggregation group flushed towards one integration (channel) of its receiver."""

    now: datetime
    group_key: str
    group_labels: Mapping[str, str]
    receiver: str
    integration: int
    channel: str
    send_resolved: bool
    route: Route
    alerts: tuple[Alert, ...]
    reason: str = ""  # set by the dedup stage: new, update, resolved or repeat
    muted: Mapping[str, str] = field(default_factory=dict)  # fingerprint -> why (for history)

    @property
    def repeat_interval(self) -> timedelta:
        """How long before an unchanged group is notified again."""
        return self.route.opts.notify_repeat_interval

    def firing(self) -> tuple[Alert, ...]:
        """Alerts still firing at `now`."""
        return tuple(a for a in self.alerts if not a.resolved_at(self.now))

    def resolved(self) -> tuple[Alert, ...]:
        """Alerts resolved at `now`."""
        return tuple(a for a in self.alerts if a.resolved_at(self.now))

    def keep(self, alerts: Sequence[Alert], why: str = "") -> Flush:
        """The same flush with only `alerts`; the dropped ones are remembered with `why`."""
        kept = {a.fingerprint for a in alerts}
        dropped = {a.fingerprint: why for a in self.alerts if a.fingerprint not in kept}
        return replace(self, alerts=tuple(alerts), muted={**self.muted, **dropped})


class Stage(Protocol):
    """A pipeline step: returns the flush to pass on, or None to stop here."""

    async def __call__(self, flush: Flush) -> Flush | None:
        """Run the stage."""
        ...


async def run_stages(stages: Sequence[Stage], flush: Flush) -> Flush | None:
    """Pass a flush through the stages in order, stopping at the first None."""
    current: Flush | None = flush
    for stage in stages:
        if current is None:
            return None
        current = await stage(current)
    return current
