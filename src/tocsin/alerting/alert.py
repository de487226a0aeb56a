"""An Alert with Alertmanager semantics and Prometheus's label fingerprint."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEP = 0xFF


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's `LabelSet.Fingerprint()`: FNV-1a 64 over sorted names and values, `%016x`."""
    return _fingerprint(tuple(sorted(labels.items())))


# Why a cache: the hash is a byte-by-byte loop (~8 us for a typical label set) and sources
# re-send the same label sets every evaluation interval.
@lru_cache(maxsize=1 << 17)
def _fingerprint(items: tuple[tuple[str, str], ...]) -> str:
    h = _FNV_OFFSET
    for name, value in items:
        for chunk in (name.encode(), value.encode()):
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
    fingerprint: str = field(init=False, repr=False, compare=False)  # the identity, computed once

    def __post_init__(self) -> None:
        object.__setattr__(self, "fingerprint", _label_fingerprint(self.labels))

    def resolved_at(self, now: datetime) -> bool:
        """True when the alert has ended at `now`."""
        return self.ends_at is not None and self.ends_at <= now


_label_fingerprint = fingerprint  # the class body's `fingerprint` field shadows the function inside the class
