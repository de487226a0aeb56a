"""An Alert with Alertmanager semantics and Prometheus's label fingerprint."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

import numpy as np

_FNV_OFFSET = 0xCBF29CE484222325
_FNV_PRIME = 0x100000001B3
_MASK = 0xFFFFFFFFFFFFFFFF
_SEP = b"\xff"
_PAIR_CACHE_MAX = 1 << 16  # (name, value, low byte) transitions kept; cleared whole when full
_pairs: dict[tuple[str, str, int], tuple[int, int]] = {}
_seen: set[tuple[str, str]] = set()
_POWERS = tuple(pow(_FNV_PRIME, n, 1 << 64) for n in range(256))  # prime**n mod 2**64
_KNOWN_MAX = 1 << 17  # label sets whose fingerprint is remembered; cleared whole when full
_known: dict[tuple[tuple[str, str], ...], str] = {}
VECTOR_MIN = 32  # new label sets in one call from which `prime_fingerprints` hashes them together


def fingerprint(labels: Mapping[str, str]) -> str:
    """Prometheus's `LabelSet.Fingerprint()`: FNV-1a 64 over sorted names and values, `%016x`."""
    items = tuple(sorted(labels.items()))
    # Why remembered: sources re-send the same label sets every evaluation interval.
    known = _known.get(items)
    if known is None:
        known = _remember(items, _fingerprint(items))
    return known


def _remember(items: tuple[tuple[str, str], ...], value: str) -> str:
    if len(_known) >= _KNOWN_MAX:
        _known.clear()
    _known[items] = value
    return value


def prime_fingerprints(label_sets: Iterable[Mapping[str, str]]) -> None:
    """Hash the label sets not remembered yet all at once, so `fingerprint` finds them (a batch of alerts).

    Why: FNV-1a is a byte loop, slow in Python; with many new label sets (a batch of new
    alerts) numpy runs the same step for all of them, one byte column at a time (uint64
    arithmetic wraps modulo 2**64, as FNV does). Few new sets go the per-pair cached way.
    """
    new = {items for items in (tuple(sorted(labels.items())) for labels in label_sets) if items not in _known}
    if len(new) < VECTOR_MIN:
        return
    ordered = list(new)
    # "\udcff" is how surrogateescape writes the byte 0xff: one join and one encode per set.
    # JSON input cannot carry lone surrogates (orjson refuses them), so none is mistaken for one.
    data = [
        ("\udcff".join([part for pair in items for part in pair]) + "\udcff").encode("utf-8", "surrogateescape")
        if items
        else b""
        for items in ordered
    ]
    for items, value in zip(ordered, fnv1a_64_many(data), strict=True):
        _remember(items, f"{value:016x}")


def fnv1a_64_many(data: list[bytes]) -> list[int]:
    """FNV-1a 64 of each byte string, computed column by column with numpy."""
    order = sorted(range(len(data)), key=lambda i: -len(data[i]))  # longest first: live rows are a prefix
    lengths = [len(data[i]) for i in order]
    width = lengths[0] if lengths else 0
    if width == 0:
        return [_FNV_OFFSET] * len(data)
    rows = np.frombuffer(b"".join(data[i].ljust(width, b"\0") for i in order), dtype=np.uint8)
    columns = np.ascontiguousarray(rows.reshape(len(order), width).T).astype(np.uint64)
    h = np.full(len(order), _FNV_OFFSET, dtype=np.uint64)
    prime, live = np.uint64(_FNV_PRIME), len(order)
    for j in range(width):
        while lengths[live - 1] <= j:
            live -= 1
        h[:live] = (h[:live] ^ columns[j, :live]) * prime
    out = [0] * len(data)
    for position, value in zip(order, h.tolist(), strict=True):
        out[position] = value
    return out


def _fingerprint(items: tuple[tuple[str, str], ...]) -> str:
    h = _FNV_OFFSET
    for name, value in items:
        key = (name, value, h & 0xFF)
        step = _pairs.get(key)
        if step is not None:
            h = (h * step[0] + step[1]) & _MASK
        elif (name, value) in _seen:  # a pair that repeats: worth its affine step
            if len(_pairs) >= _PAIR_CACHE_MAX:
                _pairs.clear()
            step = _pairs[key] = _pair_step(name, value, h & 0xFF)
            h = (h * step[0] + step[1]) & _MASK
        else:  # a pair seen once (an instance, an id): hash it directly and remember it
            if len(_seen) >= _PAIR_CACHE_MAX:
                _seen.clear()
            _seen.add((name, value))
            h = _fnv1a_64(b"".join((name.encode(), _SEP, value.encode(), _SEP)), h)
    return f"{h:016x}"


def _pair_step(name: str, value: str, low: int) -> tuple[int, int]:
    """`(m, a)` such that FNV-1a 64 over `name 0xff value 0xff` takes any state `h` with low byte `low` to `h*m + a`.

    Why this is exact: `h ^ b == h + ((low ^ b) - low)` for a byte `b`, and the low byte of
    `(h ^ b) * prime` depends only on `low` and `b`; so the bytes' effect is an affine map of
    `h` fixed by the low byte alone. Label pairs repeat across alerts (same names, same
    values) while full label sets often do not, so most pairs of a new set are cached.
    """
    data = b"".join((name.encode(), _SEP, value.encode(), _SEP))
    add = 0
    for byte in data:
        mixed = low ^ byte
        add = ((add + mixed - low) * _FNV_PRIME) & _MASK
        low = (mixed * _FNV_PRIME) & 0xFF
    n = len(data)
    return (_POWERS[n] if n < len(_POWERS) else pow(_FNV_PRIME, n, 1 << 64)), add


def fnv1a_64(data: bytes) -> int:
    """Plain FNV-1a 64 of `data`: the reference the cached version is tested against."""
    return _fnv1a_64(data, _FNV_OFFSET)


def _fnv1a_64(data: bytes, h: int) -> int:
    # Why masking only every 8 bytes: the low byte (all that XOR touches) of an unmasked
    # product equals that of the masked one; the integer just grows ~41 bits a step.
    for start in range(0, len(data), 8):
        for byte in data[start : start + 8]:
            h = (h ^ byte) * _FNV_PRIME
        h &= _MASK
    return h


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


def restore(
    labels: Mapping[str, str],
    starts_at: datetime,
    annotations: Mapping[str, str],
    ends_at: datetime | None,
    generator_url: str,
    fingerprint: str,
) -> Alert:
    """An alert read back with the fingerprint computed when it was stored (no re-hashing).

    Why: a notification's alerts are decoded from the outbox for every delivery; hashing
    their label sets again cost as much as the rest of the decoding.
    """
    alert: Alert = object.__new__(Alert)
    for name, value in (
        ("labels", labels),
        ("starts_at", starts_at),
        ("annotations", annotations),
        ("ends_at", ends_at),
        ("generator_url", generator_url),
        ("fingerprint", fingerprint),
    ):
        object.__setattr__(alert, name, value)
    return alert
