"""The one place the order of the notification pipeline is written.

maintenance -> time intervals -> inhibit -> silence -> declare -> dedup -> escalate -> enqueue
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime

from tocsin.alerting.alert import Alert
from tocsin.alerting.inhibit import InhibitRule
from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.alerting.silence import Silence
from tocsin.alerting.timeinterval import NamedTimeInterval
from tocsin.notify.outbox import Wake
from tocsin.pipeline.declare import Declare, DeclareHook, no_hook
from tocsin.pipeline.dedup import Dedup, LookUp
from tocsin.pipeline.enqueue import Enqueue
from tocsin.pipeline.escalate import Escalate, EscalationHook
from tocsin.pipeline.mute import Inhibit, Maintenance, Silences, TimeIntervals
from tocsin.pipeline.stage import Stage
from tocsin.store.alerting import AlertStore


@dataclass(frozen=True, slots=True)
class Sources:
    """Where the stages read their current inputs; each is called at flush time."""

    maintenance: Callable[[], Sequence[MaintenanceWindow]]
    time_intervals: Callable[[], Mapping[str, NamedTimeInterval]]
    inhibit_rules: Callable[[], Sequence[InhibitRule]]
    firing_alerts: Callable[[], Iterable[Alert]]
    silences: Callable[[], Sequence[Silence]]
    log: LookUp
    external_url: Callable[[], str]
    wake_outbox: Wake
    now: Callable[[], datetime]  # the clock, for claims that must run from when a row is written
    declare: Callable[[], DeclareHook | None] = no_hook  # incident automation, bound late by the runtime


def build_pipeline(sources: Sources, store: AlertStore, escalation: EscalationHook | None = None) -> list[Stage]:
    """The stages in the order they run."""
    return [
        Maintenance(sources.maintenance),
        TimeIntervals(sources.time_intervals),
        Inhibit(sources.inhibit_rules, sources.firing_alerts),
        Silences(sources.silences),
        Declare(sources.declare),
        Dedup(sources.log),
        Escalate(escalation),
        Enqueue(store, sources.external_url, sources.wake_outbox, sources.now),
    ]
