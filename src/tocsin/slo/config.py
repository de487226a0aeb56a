"""The `slos:` config section: SLOs written inline, or references to OpenSLO and Sloth files.

Objectives and targets are percentages (`99.9`), like Sloth and the DESIGN example; the
compiled model (`tocsin.slo.model`) turns them into ratios. See docs/slo/index.md.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import timedelta
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Discriminator, Field, Tag, field_validator, model_validator

from tocsin.config.duration import Duration, format_duration
from tocsin.config.errors import KeyPath, located_error

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
WINDOW_PLACEHOLDER = "{{.window}}"
SLICE_MINUTES = (1, 2, 3, 4, 5, 6, 10, 12, 15, 20, 30, 60)  # divisors of an hour: slices align to hours
LATENCY_BOUNDS_MS = (5, 10, 25, 50, 75, 100, 150, 250, 400, 600, 1000, 1500, 2500, 5000, 10000)  # rollup histogram
MINUTE = timedelta(minutes=1)
RESERVED_NAMES = ("report", "report.csv")  # paths of the monthly report under /slos and /api/v1/slos


class SloStrict(BaseModel):
    """Base of the section's models: frozen, unknown keys rejected (same rules as the rest of the config)."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def _whole_minutes(value: timedelta, what: str) -> timedelta:
    """Reject durations that are not a positive whole number of minutes."""
    if value <= timedelta(0) or value % MINUTE:
        raise ValueError(f"{what} must be a positive whole number of minutes, not {format_duration(value)}")
    return value


class CalendarWindowConfig(SloStrict):
    """A calendar window: ISO week, month or quarter in an IANA time zone."""

    calendar: Literal["week", "month", "quarter"]
    time_zone: str = "UTC"

    @field_validator("time_zone")
    @classmethod
    def _zone(cls, value: str) -> str:
        from tocsin.slo.windows import zone_of

        zone_of(value)
        return value


def _window_kind(value: Any) -> str:
    return "calendar" if isinstance(value, dict | CalendarWindowConfig) else "rolling"


WindowConfig = Annotated[
    Annotated[Duration, Tag("rolling")] | Annotated[CalendarWindowConfig, Tag("calendar")],
    Discriminator(_window_kind),
]


class TimesliceConfig(SloStrict):
    """Timeslices budgeting: slice length and the share of good events a good slice needs (percent)."""

    size: Duration = MINUTE
    target: float = Field(default=99.0, gt=0, le=100)

    @field_validator("size")
    @classmethod
    def _divides_hour(cls, value: timedelta) -> timedelta:
        minutes = _whole_minutes(value, "size") // MINUTE
        if minutes not in SLICE_MINUTES:
            raise ValueError(
                f"size must divide an hour ({', '.join(f'{m}m' for m in SLICE_MINUTES)}), not {format_duration(value)}"
            )
        return value


class MonitorSli(SloStrict):
    """Availability (good results / all results) or latency (results within a threshold / all) of a monitor."""

    monitor: str
    latency_threshold: Duration | None = None

    @field_validator("latency_threshold")
    @classmethod
    def _histogram_bound(cls, value: timedelta | None) -> timedelta | None:
        if value is not None and value.total_seconds() * 1000 not in LATENCY_BOUNDS_MS:
            bounds = ", ".join(f"{b}ms" for b in LATENCY_BOUNDS_MS)
            raise ValueError(
                f"latency_threshold must be a latency histogram bound ({bounds}), not {format_duration(value)}"
            )
        return value


class EventsOptions(SloStrict):
    """Pushed events (`POST /api/v1/slos/{name}/events`); nothing to configure yet."""


class EventsSli(SloStrict):
    """Good and total counts pushed by clients, idempotent by a client key."""

    events: EventsOptions = Field(default_factory=EventsOptions)


class PrometheusQueries(SloStrict):
    """Queries against a Prometheus-compatible HTTP API (Prometheus, Thanos, Mimir, VictoriaMetrics)."""

    url: str
    good: str | None = None
    bad: str | None = None
    total: str
    counter: bool = False  # queries return cumulative counters instead of Sloth-style `{{.window}}` rates
    headers: dict[str, str] = Field(default_factory=dict)  # e.g. X-Scope-OrgID for Mimir, Authorization

    @field_validator("url")
    @classmethod
    def _http(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"url must start with http:// or https:// and name a host: {value!r}")
        return value.rstrip("/")

    @model_validator(mode="after")
    def _queries(self) -> PrometheusQueries:
        if (self.good is None) == (self.bad is None):
            raise located_error([(("good",), "set exactly one of good and bad")])
        problems: list[tuple[KeyPath, str]] = []
        if not self.counter:
            for key in ("good", "bad", "total"):
                query = getattr(self, key)
                if query is not None and WINDOW_PLACEHOLDER not in query:
                    problems.append(((key,), f"the query needs the {WINDOW_PLACEHOLDER} placeholder, like Sloth's"))
        if problems:
            raise located_error(problems)
        return self


class PrometheusSli(SloStrict):
    """An SLI read from a Prometheus-compatible HTTP API."""

    prometheus: PrometheusQueries


def _sli_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return type(value).__name__
    keys = set(value) if isinstance(value, dict) else set()
    for key, tag in (("prometheus", "PrometheusSli"), ("events", "EventsSli")):
        if key in keys:
            return tag
    return "MonitorSli"


SliConfig = Annotated[
    Annotated[MonitorSli, Tag("MonitorSli")]
    | Annotated[EventsSli, Tag("EventsSli")]
    | Annotated[PrometheusSli, Tag("PrometheusSli")],
    Discriminator(_sli_kind),
]


class TierConfig(SloStrict):
    """A multiwindow burn-rate tier: `budget` percent spent in `long_window`, or a `burn_rate` factor."""

    long_window: Duration
    short_window: Duration
    budget: float | None = Field(default=None, gt=0, le=100)
    burn_rate: float | None = Field(default=None, gt=0)

    @model_validator(mode="after")
    def _shape(self) -> TierConfig:
        problems: list[tuple[KeyPath, str]] = []
        for key in ("long_window", "short_window"):
            value = getattr(self, key)
            if value <= timedelta(0) or value % MINUTE:
                problems.append(((key,), f"must be a positive whole number of minutes, not {format_duration(value)}"))
        if not problems and self.short_window >= self.long_window:
            problems.append((("short_window",), "must be shorter than long_window"))
        if (self.budget is None) == (self.burn_rate is None):
            problems.append((("budget",), "set exactly one of budget (percent) and burn_rate"))
        if problems:
            raise located_error(problems)
        return self


class SeverityConfig(SloStrict):
    """The page or ticket alert: its tiers (the workbook's by default), extra labels and annotations."""

    disabled: bool = False
    tiers: list[TierConfig] | None = None
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)


class BurnAlertsConfig(SloStrict):
    """Burn-rate alerts of one SLO (SRE Workbook ch. 5): page and ticket tiers, low-traffic guard."""

    disabled: bool = False
    name: str = "SLOBurnRate"
    min_events: float = Field(default=0, ge=0)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    page: SeverityConfig = Field(default_factory=SeverityConfig)
    ticket: SeverityConfig = Field(default_factory=SeverityConfig)


Budgeting = Literal["Occurrences", "Timeslices", "RatioTimeslices"]


class SloConfig(SloStrict):
    """One SLO: an objective over an SLI in a window, with burn-rate alerts."""

    name: str = Field(pattern=NAME_PATTERN)
    service: str = ""
    description: str = ""
    objective: float = Field(gt=0, lt=100)
    window: WindowConfig = timedelta(days=30)
    budgeting: Budgeting = "Occurrences"
    timeslice: TimesliceConfig | None = None
    sli: SliConfig
    alerting: BurnAlertsConfig = Field(default_factory=BurnAlertsConfig)
    exclude_maintenance: bool = True
    labels: dict[str, str] = Field(default_factory=dict)

    @field_validator("name")
    @classmethod
    def _free_name(cls, value: str) -> str:
        if value in RESERVED_NAMES or value.endswith(".json"):
            raise ValueError(f"{value!r} is taken by a console or API path; choose another name")
        return value

    @field_validator("window")
    @classmethod
    def _rolling_minutes(cls, value: timedelta | CalendarWindowConfig) -> timedelta | CalendarWindowConfig:
        if isinstance(value, timedelta):
            _whole_minutes(value, "window")
            if value < timedelta(hours=1):
                raise ValueError(f"window must be at least 1h, not {format_duration(value)}")
        return value

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                raise ValueError(f"label name {key!r} must match [a-zA-Z_][a-zA-Z0-9_]*")
        return value

    @model_validator(mode="after")
    def _timeslices(self) -> SloConfig:
        if self.budgeting != "Occurrences" and self.timeslice is None:
            raise located_error([(("timeslice",), f"{self.budgeting} budgeting needs timeslice: {{size, target}}")])
        if self.budgeting == "Occurrences" and self.timeslice is not None:
            raise located_error([(("timeslice",), "timeslice applies to Timeslices and RatioTimeslices only")])
        return self


class OpenSloRef(SloStrict):
    """SLOs read from OpenSLO v1 files (a path or glob, relative to the config file)."""

    openslo: str
    url: str | None = None  # Prometheus URL for DataSources that do not give one


class SlothRef(SloStrict):
    """SLOs read from Sloth `prometheus/v1` spec files (a path or glob, relative to the config file)."""

    sloth: str
    url: str = "http://localhost:9090"  # Sloth specs name no Prometheus: tocsin queries this one
    window: WindowConfig = timedelta(days=30)  # Sloth's --default-slo-period


def _entry_kind(value: Any) -> str:
    if isinstance(value, BaseModel):
        return type(value).__name__
    keys = set(value) if isinstance(value, dict) else set()
    return "OpenSloRef" if "openslo" in keys else "SlothRef" if "sloth" in keys else "SloConfig"


SloEntry = Annotated[
    Annotated[SloConfig, Tag("SloConfig")]
    | Annotated[OpenSloRef, Tag("OpenSloRef")]
    | Annotated[SlothRef, Tag("SlothRef")],
    Discriminator(_entry_kind),
]


def check_slos(entries: Sequence[SloEntry], monitors: Sequence[str] | None = None, path: KeyPath = ("slos",)) -> None:
    """Raise a located error for duplicate inline SLO names and, given `monitors`, monitor SLIs naming none."""
    seen: set[str] = set()
    problems: list[tuple[KeyPath, str]] = []
    for index, entry in enumerate(entries):
        if not isinstance(entry, SloConfig):
            continue
        if entry.name in seen:
            problems.append(((*path, index, "name"), f"SLO name {entry.name!r} is used twice; names must be unique"))
        seen.add(entry.name)
        if monitors is not None and isinstance(entry.sli, MonitorSli) and entry.sli.monitor not in monitors:
            problems.append(((*path, index, "sli", "monitor"), f"no monitor is called {entry.sli.monitor!r}"))
    if problems:
        raise located_error(problems)
