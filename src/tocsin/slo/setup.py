"""What the runtime needs to run SLOs: the evaluator's inputs from a loaded config, and its alert callback.

Build the inputs while validating a (re)load, so a bad SLO file keeps the old config;
then hand them to `SloEvaluator.configure` after the swap.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

from tocsin.alerting.alert import Alert
from tocsin.alerting.maintenance import MaintenanceWindow
from tocsin.config.loader import LoadedConfig
from tocsin.slo.alerts import ALERT_SOURCE
from tocsin.slo.catalog import load_slos
from tocsin.slo.evaluator import Ingest, SloEvaluator
from tocsin.slo.model import Slo


class InternalIngest(Protocol):
    """The alert engine's entry for tocsin's own sources (`AlertEngine.ingest_internal`)."""

    async def ingest_internal(self, alerts: Sequence[Alert], source: str) -> None:
        """Ingest alerts that fire until they say they ended."""
        ...


@dataclass(frozen=True)
class SloInputs:
    """Everything `SloEvaluator.configure` takes, built from one loaded config."""

    slos: tuple[Slo, ...]
    maintenance: tuple[MaintenanceWindow, ...] = ()
    monitor_labels: Mapping[str, Mapping[str, str]] = field(default_factory=dict)

    async def apply(self, evaluator: SloEvaluator) -> None:
        """Hand these inputs to the evaluator (it rebuilds only when the SLOs changed)."""
        await evaluator.configure(self.slos, self.maintenance, self.monitor_labels)


def slo_inputs(loaded: LoadedConfig) -> SloInputs:
    """The SLOs (inline and from referenced files), maintenance windows and monitor labels; ConfigErrors if invalid."""
    from tocsin.pipeline.setup import maintenance_window

    return SloInputs(
        slos=tuple(load_slos(loaded)),
        maintenance=tuple(maintenance_window(m) for m in loaded.config.maintenance),
        monitor_labels={m.name: dict(m.labels) for m in loaded.config.monitors},
    )


def ingest_via(engine: InternalIngest) -> Ingest:
    """The evaluator's alert callback: the engine's internal ingest, with source `slo`."""

    async def ingest(alerts: Sequence[Alert]) -> None:
        await engine.ingest_internal(alerts, ALERT_SOURCE)

    return ingest
