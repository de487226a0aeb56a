"""Pure mapping from each SLO's active burn-rate tier to the alerts that fire and resolve.

An SLO has at most one burn-rate alert at a time: the highest firing tier (lower tiers
are suppressed). An alert is sent when its tier becomes active and resolved when the
tier stops being the active one; the tier sent is remembered (`Sent`) so a restart
that finds the same tier active sends nothing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from tocsin.alerting.alert import Alert
from tocsin.config.duration import format_duration
from tocsin.slo.math import BurnTier, SloReport
from tocsin.slo.model import Slo
from tocsin.store.times import from_ms, to_ms

ALERT_SOURCE = "slo"


@dataclass(frozen=True, slots=True)
class Sent:
    """The burn-rate alert an SLO has firing: its tier, labels and start."""

    tier: str
    labels: Mapping[str, str]
    starts_at: datetime

    def to_json(self) -> dict[str, Any]:
        """The stored form."""
        return {"tier": self.tier, "labels": dict(self.labels), "starts_at_ms": to_ms(self.starts_at)}

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Sent:
        """Read the stored form."""
        return cls(str(data["tier"]), dict(data["labels"]), from_ms(int(data["starts_at_ms"])))


def window_label(minutes: int) -> str:
    """`5m`, `1h`, `3d`: a window length as written in labels and rule names."""
    return format_duration(timedelta(minutes=minutes))


def alert_labels(slo: Slo, tier: BurnTier) -> dict[str, str]:
    """User labels first, then the labels every burn-rate alert carries (they win); empty values dropped."""
    labels = {
        **slo.labels,
        **slo.alert_labels,
        **slo.severity_labels.get(tier.severity.value, {}),
        "alertname": slo.alert_name,
        "slo": slo.name,
        "service": slo.service,
        "severity": tier.severity.value,
        "long_window": window_label(tier.long_minutes),
        "short_window": window_label(tier.short_minutes),
    }
    return {k: v for k, v in labels.items() if v != ""}


def alert_annotations(slo: Slo, tier: BurnTier, report: SloReport | None) -> dict[str, str]:
    """A summary and the figures at the time the alert fired, under the user's annotations."""
    out = {
        "summary": f"SLO {slo.name} is burning its error budget too fast ({tier.severity.value})",
        "description": slo.description,
    }
    if report is not None:
        long, short = window_label(tier.long_minutes), window_label(tier.short_minutes)
        out["burn_rate_long"] = f"{report.burn_rates.get(long, float('nan')):.4g}"
        out["burn_rate_short"] = f"{report.burn_rates.get(short, float('nan')):.4g}"
        out["budget_remaining"] = f"{report.budget_remaining:.2%}"
    return {**out, **slo.annotations, **slo.severity_annotations.get(tier.severity.value, {})}


def _alert(sent: Sent, notes: Mapping[str, str], url: str, ends_at: datetime | None) -> Alert:
    return Alert(dict(sent.labels), sent.starts_at, dict(notes), ends_at, url)


def transition(
    slo: Slo,
    active: BurnTier | None,
    previous: Sent | None,
    report: SloReport | None,
    now: datetime,
    external_url: str = "",
) -> tuple[list[Alert], Sent | None]:
    """The alerts to send for one SLO (resolve the old tier, fire the new one) and what is firing after."""
    if previous is not None and active is not None and previous.tier == active.name:
        return [], previous
    url = f"{external_url.rstrip('/')}/slos/{slo.name}" if external_url else ""
    out: list[Alert] = []
    if previous is not None:
        out.append(_alert(previous, {"summary": f"SLO {slo.name} burn rate is back to normal"}, url, now))
    current = None
    if active is not None:
        current = Sent(active.name, alert_labels(slo, active), now)
        out.append(_alert(current, alert_annotations(slo, active, report), url, None))
    return out, current


def resolve_gone(name: str, previous: Sent, now: datetime) -> Alert:
    """The resolution of an alert whose SLO was removed from the config."""
    return Alert(dict(previous.labels), previous.starts_at, {"summary": f"SLO {name} was removed"}, now)
