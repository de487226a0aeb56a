"""The `alerting:` and `maintenance:` sections: alertmanager.yml syntax, validated at load.

The alerting section stays a raw mapping in the model (it is alertmanager.yml, unchanged)
and is parsed by `tocsin.alerting.amconfig`; its errors are mapped back to key paths so
the loader can name the file and line.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from pydantic import Field, field_validator, model_validator

from tocsin.config.duration import Duration
from tocsin.config.errors import KeyPath, located_error
from tocsin.config.models import Strict

_PART = re.compile(r"([^.\[\]]+)|\[(\d+)\]")


def key_path(dotted: str) -> KeyPath:
    """`route.routes[2].group_by[1]` -> ("route", "routes", 2, "group_by", 1)."""
    parts: list[str | int] = []
    for name, index in _PART.findall(dotted):
        parts.append(int(index) if index else name)
    return tuple(parts)


def check_alerting(section: dict[str, Any]) -> None:
    """Raise a located error when the alerting section is not a valid alertmanager.yml."""
    from tocsin.alerting.amconfig import ConfigError, parse_alerting_config

    if not section:
        return
    from tocsin.notify.config import build_channels

    try:
        parsed = parse_alerting_config(section, path="alerting")
        for i, receiver in enumerate(parsed.receivers):
            build_channels(receiver.raw, f"alerting.receivers[{i}]", parsed.global_settings)
    except ConfigError as exc:
        raise located_error([(key_path(exc.path), exc.message)]) from exc


class MaintenanceConfig(Strict):
    """A maintenance window: one-off (`start`, `end`) or recurring (`rrule`, `duration`, `time_zone`)."""

    name: str
    description: str = ""
    matchers: list[str] = Field(default_factory=list)
    monitors: list[str] = Field(default_factory=list)
    start: datetime | None = None
    end: datetime | None = None
    rrule: str | None = None
    duration: Duration = timedelta(0)
    time_zone: str = "UTC"

    @field_validator("matchers")
    @classmethod
    def _matchers(cls, value: list[str]) -> list[str]:
        from tocsin.labels import MatcherError, parse_matchers

        for text in value:
            try:
                parse_matchers(text)
            except MatcherError as exc:
                raise ValueError(f"bad matcher {text!r}: {exc}") from exc
        return value

    @model_validator(mode="after")
    def _shape(self) -> MaintenanceConfig:
        if not self.matchers and not self.monitors:
            raise located_error([(("matchers",), "a maintenance window needs matchers or monitors to scope it")])
        if self.rrule is None:
            if self.start is None or self.end is None or self.end <= self.start:
                raise located_error([(("end",), "a one-off window needs start and end, end after start")])
            return self
        return self._recurring()

    def _recurring(self) -> MaintenanceConfig:
        from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

        from dateutil.rrule import rrulestr

        if self.duration <= timedelta(0):
            raise located_error([(("duration",), "a recurring window needs a positive duration, like 2h")])
        try:
            ZoneInfo(self.time_zone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise located_error([(("time_zone",), f"unknown time zone {self.time_zone!r}")]) from exc
        try:
            rrulestr(self.rrule or "", dtstart=datetime(2026, 1, 1))
        except (ValueError, TypeError) as exc:
            raise located_error([(("rrule",), f"not an RFC 5545 RRULE: {exc}")]) from exc
        return self
