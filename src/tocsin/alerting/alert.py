"""An Alert with Alertmanager semantics and Prometheus's label fingerprint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEP = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's `LabelSet.Fingerprint()`: FNV-1a 64 over sorted names and values, `%016x`."""
    h = _FNV_OFFSET
    for name in sorted(labels):
        for chunk in (name.encode(), labels[name].encode()):
            for byte in chunk:
                h = ((h ^ byte) * _FNV_PRIME) & _MASK
            h = ((h ^ _SEP) * _FNV_PRIME) & _MASK
    return f"{h:016x}"


@dataclass(frozen=True, slots=True)
class Alert:
    """One labelled condition; firing while `ends_at` is unset or in the future."""

    labels: Mapping[str, str]
    starts_at: datetime
    annotations: Mapping[str, str] = field(default_factory=dict)
    ends_at: datetime | None = None
    generator_url: str = ""

    @property
    def fingerprint(self) -> str:
        """The Prometheus fingerprint of the labels (identity of the alert)."""
        return fingerprint(self.labels)

    def resolved_at(self, now: datetime) -> bool:
        """True when the alert has ended at `now`."""
        return self.ends_at is not None and self.ends_at <= now
