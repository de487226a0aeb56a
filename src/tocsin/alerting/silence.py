"""Silences: matchers plus a time range, with Alertmanager's states and validation."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from tocsin.labels import Matcher, matches

SilenceState = Literal["pending", "active", "expired"]


@dataclass(frozen=True, slots=True)
class Silence:
    """A silence mutes matching alerts from `starts_at` through `ends_at` (both inclusive)."""

    id: str
    matchers: tuple[Matcher, ...]
    starts_at: datetime
    ends_at: datetime
    created_by: str = ""
    comment: str = ""

    def __post_init__(self) -> None:
        problem = silence_problem(self)
        if problem:
            raise ValueError(problem)

    def state(self, now: datetime) -> SilenceState:
        """`pending` before `starts_at`, `expired` from `ends_at` on (Alertmanager's CalcSilenceState)."""
        if now < self.starts_at:
            return "pending"
        if now >= self.ends_at:
            return "expired"
        return "active"

    def mutes(self, labels: Mapping[str, str], now: datetime) -> bool:
        """Whether this silence is active at `now` and matches `labels`."""
        return self.state(now) == "active" and matches(self.matchers, labels)


def silence_problem(silence: Silence) -> str | None:
    """Why Alertmanager would refuse this silence, or None when it is valid."""
    if not silence.id:
        return "a silence needs an id"
    if not silence.matchers:
        return "at least one matcher required"
    if all(_matches_empty(m) for m in silence.matchers):
        return "at least one matcher must not match the empty string"
    if silence.starts_at.tzinfo is None or silence.ends_at.tzinfo is None:
        return "starts_at and ends_at must be timezone-aware"
    if silence.ends_at < silence.starts_at:
        return "end time must not be before start time"
    return None


def _matches_empty(matcher: Matcher) -> bool:
    """Alertmanager's rule: only `=` and `=~` can match everything by matching ''."""
    return matcher.is_equal and matcher.matches_value("")


def silenced_by(silences: Iterable[Silence], labels: Mapping[str, str], now: datetime) -> list[str]:
    """Ids of the silences that mute `labels` at `now`, in the order given."""
    return [silence.id for silence in silences if silence.mutes(labels, now)]
