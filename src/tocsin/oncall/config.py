"""The `oncall:` config section: users, teams, schedules, escalation policies and services.

Models validate one item at a time; `OncallConfig` then checks every name one item uses
to refer to another, and reports each problem at its key path. See docs/oncall/config.md.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterator, Mapping, Sequence
from datetime import date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

from pydantic import AfterValidator, BaseModel, BeforeValidator, ConfigDict, Field, PlainSerializer, model_validator

from tocsin.config.duration import Duration
from tocsin.config.errors import KeyPath, located_error
from tocsin.oncall.escalation import EscalationPolicy, Step, Target, TargetKind
from tocsin.oncall.model import (
    OVERRIDE,
    CalendarLength,
    Layer,
    Override,
    Restriction,
    Schedule,
    ShiftLength,
    Unit,
    fixed,
    load_zone,
)
from tocsin.oncall.rotation import local_to_utc

NAME_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"  # the same rule as monitor names
Day = Literal["mon", "tue", "wed", "thu", "fri", "sat", "sun"]
DAYS: tuple[Day, ...] = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
Problem = tuple[KeyPath, str]
T = TypeVar("T")

_CLOCK = re.compile(r"^([01]?\d|2[0-4]):([0-5]\d)$")
_SHIFT = re.compile(r"^([1-9]\d*)([hdw])$")
_UNITS = {"h": Unit.HOURS, "d": Unit.DAYS, "w": Unit.WEEKS}
_EMAIL = r"^[^@\s]+@[^@\s]+\.[^@\s]+$"


def parse_clock(value: Any) -> time:
    """Turn `"09:00"` (or `"24:00"`, the midnight that ends a day) into a local time of day."""
    if isinstance(value, time):
        return value
    if isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 1440:
        text = "{:02}:{:02}".format(*divmod(value, 60))  # YAML 1.1 reads 17:00 as 17 * 60 + 0
        raise ValueError(f"write times of day in quotes, like '{text}': unquoted, YAML reads {text} as {value}")
    match = _CLOCK.match(value) if isinstance(value, str) else None
    if match is None or (match.group(1) == "24" and match.group(2) != "00"):
        raise ValueError(f"{value!r} is not a time of day; write it like '09:00' (24-hour clock)")
    return time(int(match.group(1)) % 24, int(match.group(2)))


def _zone(value: str) -> str:
    """Refuse a time zone that is not an IANA name."""
    load_zone(value)
    return value


def _http(value: str) -> str:
    """Refuse a URL that is not http(s)."""
    if not re.match(r"^https?://\S+$", value):
        raise ValueError("url must start with http:// or https://")
    return value


def _non_empty(value: list[T]) -> list[T]:
    """Refuse an empty list."""
    if not value:
        raise ValueError("needs at least one item")
    return value


def _unique(value: list[T]) -> list[T]:
    """Refuse a list of named items that uses a name twice."""
    problems = _duplicates([getattr(item, "name", "") for item in value])
    if problems:
        raise located_error(problems)
    return value


def _not_negative(value: timedelta) -> timedelta:
    """Refuse a negative duration."""
    if value < timedelta(0):
        raise ValueError("cannot be negative")
    return value


def _positive(value: timedelta) -> timedelta:
    """Refuse a duration that is not longer than zero."""
    if value <= timedelta(0):
        raise ValueError("must be longer than zero")
    return value


def _shift_text(value: Any) -> Any:
    """Refuse a shift string that is not a whole number of h, d or w."""
    if isinstance(value, str) and not _SHIFT.match(value):
        raise ValueError(f"{value!r} is not a shift length; write 12h, 1d or 2w, or {{fixed: 36h}} for elapsed time")
    return value


Name = Annotated[str, Field(pattern=NAME_PATTERN)]
Clock = Annotated[time, BeforeValidator(parse_clock), PlainSerializer(lambda t: t.strftime("%H:%M"), return_type=str)]
TimeZone = Annotated[str, AfterValidator(_zone)]
Url = Annotated[str, AfterValidator(_http)]
NonEmpty = Annotated[list[T], AfterValidator(_non_empty)]
Unique = Annotated[list[T], AfterValidator(_unique)]
Delay = Annotated[Duration, AfterValidator(_not_negative)]
Positive = Annotated[Duration, AfterValidator(_positive)]


class _Strict(BaseModel):
    """Frozen, and unknown keys are errors."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class EmailMethod(_Strict):
    """Page by email."""

    kind: Literal["email"]
    name: Name
    address: str = Field(pattern=_EMAIL)


class MatrixMethod(_Strict):
    """Page a Matrix user (`@alice:example.org`) or room (`!room:example.org`)."""

    kind: Literal["matrix"]
    name: Name
    address: str = Field(pattern=r"^[@!][^:\s]+:\S+$")


class UrlMethod(_Strict):
    """Page through a URL: a Slack incoming webhook, an ntfy topic, or a generic webhook."""

    kind: Literal["slack", "ntfy", "webhook"]
    name: Name
    url: Url


class PhoneMethod(_Strict):
    """Page by SMS or voice call, through the HTTP gateway, to an E.164 number."""

    kind: Literal["sms", "voice"]
    name: Name
    number: str = Field(pattern=r"^\+[1-9]\d{6,14}$")


ContactMethod = Annotated[EmailMethod | MatrixMethod | UrlMethod | PhoneMethod, Field(discriminator="kind")]


class NotificationRule(_Strict):
    """Use `contact_method` once the page is `delay` old."""

    contact_method: str
    delay: Delay = timedelta(0)


class NotificationRules(_Strict):
    """Separate rules for high- and low-urgency pages; low may be empty, high may not."""

    high: NonEmpty[NotificationRule]  # without one, high-urgency pages would reach nobody
    low: list[NotificationRule] = Field(default_factory=list)


class UserConfig(_Strict):
    """A person who can be paged."""

    name: Name
    email: str | None = Field(default=None, pattern=_EMAIL)
    time_zone: TimeZone = "UTC"
    contact_methods: Unique[ContactMethod] = Field(default_factory=list)
    notification_rules: NotificationRules | None = None

    def methods(self) -> tuple[ContactMethod, ...]:
        """The contact methods, or one called `email` at `email` when none are listed."""
        if self.contact_methods or self.email is None:
            return tuple(self.contact_methods)
        return (EmailMethod(kind="email", name="email", address=self.email),)

    def rules(self, urgency: Literal["high", "low"]) -> tuple[NotificationRule, ...]:
        """The rules for `urgency`; without `notification_rules`, every method at once."""
        if self.notification_rules is None:
            return tuple(NotificationRule(contact_method=m.name) for m in self.methods())
        return tuple(getattr(self.notification_rules, urgency))

    @model_validator(mode="after")
    def _reachable(self) -> UserConfig:
        names = [method.name for method in self.methods()]
        if not names:
            raise located_error([((), f"user {self.name!r} cannot be paged: give an email or contact_methods")])
        problems = [
            problem
            for urgency in ("high", "low")
            for index, rule in enumerate(self.rules(urgency))
            for problem in _unknown(
                rule.contact_method, names, ("notification_rules", urgency, index, "contact_method"), "contact method"
            )
        ]
        if problems:
            raise located_error(problems)
        return self


class TeamConfig(_Strict):
    """A named group of users, paged together by an escalation step."""

    name: Name
    members: NonEmpty[str]


class FixedShift(_Strict):
    """A shift of exactly this much elapsed time, whatever the wall clock says."""

    fixed: Positive


class RestrictionConfig(_Strict):
    """A window on each of `days`, from `from` to the next `to` (an earlier `to` crosses midnight)."""

    days: NonEmpty[Day] = Field(default_factory=lambda: list(DAYS))
    start: Clock = Field(alias="from")
    end: Clock = Field(alias="to")


class LayerConfig(_Strict):
    """A rotation of participants taking turns of `shift`, handing off at `handoff` local time."""

    name: Name
    participants: NonEmpty[str]
    shift: Annotated[str | FixedShift, BeforeValidator(_shift_text)]
    start: date
    handoff: Clock = time(9, 0)
    time_zone: TimeZone | None = None
    restrictions: list[RestrictionConfig] = Field(default_factory=list)

    @model_validator(mode="after")
    def _not_reserved(self) -> LayerConfig:
        if self.name == OVERRIDE:
            raise located_error([(("name",), f"{OVERRIDE!r} is reserved for overrides; name the layer otherwise")])
        return self


class OverrideConfig(_Strict):
    """`user` is on call from `start` to `end` (wall times in the schedule's zone without an offset)."""

    user: str
    start: datetime
    end: datetime
    replaces: str | None = None

    @model_validator(mode="after")
    def _ordered(self) -> OverrideConfig:
        if (self.start.tzinfo is None) != (self.end.tzinfo is None):
            raise located_error([(("end",), "give both start and end a UTC offset, or neither")])
        if self.end <= self.start:
            raise located_error([(("end",), "an override must end after it starts")])
        return self


class ScheduleConfig(_Strict):
    """Layers lowest to highest priority, then overrides; shown in `time_zone`."""

    name: Name
    time_zone: TimeZone = "UTC"
    layers: Unique[LayerConfig] = Field(default_factory=list)
    overrides: list[OverrideConfig] = Field(default_factory=list)


class TargetConfig(_Strict):
    """Exactly one of: a user, a schedule (whoever is on call), or a whole team."""

    user: str | None = None
    schedule: str | None = None
    team: str | None = None

    @model_validator(mode="after")
    def _exactly_one(self) -> TargetConfig:
        if sum(value is not None for value in (self.user, self.schedule, self.team)) != 1:
            raise ValueError("a target names exactly one of user, schedule or team, like {schedule: primary}")
        return self

    def target(self) -> Target:
        """The escalation target this names."""
        kind = next(kind for kind in TargetKind if getattr(self, kind.value) is not None)
        return Target(kind, getattr(self, kind.value))


class StepConfig(_Strict):
    """Page `targets`, then wait `delay` before the next step."""

    targets: NonEmpty[TargetConfig]
    delay: Delay = timedelta(minutes=30)


class EscalationPolicyConfig(_Strict):
    """Steps in order, `repeat` more passes; an acknowledgement lapses after `ack_timeout`."""

    name: Name
    steps: NonEmpty[StepConfig]
    repeat: int = Field(default=0, ge=0, le=100)
    ack_timeout: Positive | None = None


class IntegrationKey(_Strict):
    """A secret that routes events sent with it to the service."""

    name: Name
    key: str = Field(min_length=16, repr=False)
    kind: Literal["pagerduty", "generic", "alertmanager"]


class ServiceConfig(_Strict):
    """Something that breaks: paged through `escalation_policy`, quiet while in maintenance."""

    name: Name
    escalation_policy: str
    integration_keys: Unique[IntegrationKey] = Field(default_factory=list)
    maintenance: bool = False


class PhoneGateway(_Strict):
    """The HTTP gateway that sends SMS and voice pages: tocsin POSTs JSON to `url` with `headers`."""

    url: Url
    headers: dict[str, str] = Field(default_factory=dict, repr=False)  # e.g. Authorization; may hold secrets
    timeout: Positive = timedelta(seconds=10)


class MatrixAccount(_Strict):
    """The Matrix account that sends pages to users' `matrix` contact methods."""

    homeserver: Url
    access_token: str = Field(min_length=1, repr=False)


class OncallConfig(_Strict):
    """The `oncall:` section; every name it refers to is checked to exist."""

    users: Unique[UserConfig] = Field(default_factory=list)
    teams: Unique[TeamConfig] = Field(default_factory=list)
    schedules: Unique[ScheduleConfig] = Field(default_factory=list)
    escalation_policies: Unique[EscalationPolicyConfig] = Field(default_factory=list)
    services: Unique[ServiceConfig] = Field(default_factory=list)
    ack_secret: str | None = Field(default=None, min_length=32, repr=False)  # else generated and kept in the DB
    ack_link_ttl: Positive = timedelta(hours=24)
    handoff_notice: Delay | None = timedelta(hours=1)  # None: no handoff notifications
    phone_gateway: PhoneGateway | None = None
    matrix: MatrixAccount | None = None

    @model_validator(mode="after")
    def _references(self) -> OncallConfig:
        problems = [*_dangling(self), *_shared_keys(self)]
        if problems:
            raise located_error(problems)
        return self


def _duplicates(names: Sequence[str]) -> list[Problem]:
    """A problem at each name that an earlier item of the same list already uses."""
    first: dict[str, int] = {}
    problems: list[Problem] = []
    for index, name in enumerate(names):
        if name in first:
            problems.append(
                ((index, "name"), f"{name!r} is already the name of item {first[name]}; names must be unique")
            )
        first.setdefault(name, index)
    return problems


_SECTIONS = {
    "user": "users",
    "team": "teams",
    "schedule": "schedules",
    "escalation policy": "escalation_policies",
    "service": "services",
}
Reference = tuple[KeyPath, str, str]  # where, the name used there, what kind of thing it names


def _unknown(name: str, known: Sequence[str], path: KeyPath, noun: str) -> list[Problem]:
    """A problem when `name` is not one of `known`, suggesting the closest."""
    if name in known:
        return []
    close = difflib.get_close_matches(name, known, n=1)
    where = f"oncall.{_SECTIONS[noun]}" if noun in _SECTIONS else "this user's contact_methods"
    hint = f"did you mean {close[0]!r}?" if close else f"define it under {where}"
    return [(path, f"unknown {noun} {name!r}; {hint}")]


def _dangling(cfg: OncallConfig) -> list[Problem]:
    """A problem at each reference to a user, team, schedule or policy that is not defined."""
    known = {noun: [item.name for item in getattr(cfg, key)] for noun, key in _SECTIONS.items()}
    return [problem for path, name, noun in _references(cfg) for problem in _unknown(name, known[noun], path, noun)]


def _references(cfg: OncallConfig) -> Iterator[Reference]:
    """Every name the section uses to refer to another item of it."""
    for t, team in enumerate(cfg.teams):
        yield from ((("teams", t, "members", m), member, "user") for m, member in enumerate(team.members))
    for s, schedule in enumerate(cfg.schedules):
        for i, layer in enumerate(schedule.layers):
            where: KeyPath = ("schedules", s, "layers", i, "participants")
            yield from (((*where, p), name, "user") for p, name in enumerate(layer.participants))
        for i, override in enumerate(schedule.overrides):
            names = {"user": override.user, "replaces": override.replaces}
            yield from ((("schedules", s, "overrides", i, k), v, "user") for k, v in names.items() if v is not None)
    for p, policy in enumerate(cfg.escalation_policies):
        for s, step in enumerate(policy.steps):
            for t, target in enumerate(config.target() for config in step.targets):
                kind = target.kind.value
                yield ("escalation_policies", p, "steps", s, "targets", t, kind), target.name, kind
    for s, service in enumerate(cfg.services):
        yield ("services", s, "escalation_policy"), service.escalation_policy, "escalation policy"


def _shared_keys(cfg: OncallConfig) -> list[Problem]:
    """Integration keys used twice: a key must say which service an event is for."""
    owner: dict[str, tuple[str, str]] = {}
    problems: list[Problem] = []
    for s, service in enumerate(cfg.services):
        for k, key in enumerate(service.integration_keys):
            if key.key in owner:
                message = "this key is already used by service {!r} (integration key {!r})".format(*owner[key.key])
                problems.append((("services", s, "integration_keys", k, "key"), message))
            owner.setdefault(key.key, (service.name, key.name))
    return problems


def check_paging(alerting: Mapping[str, Any], cfg: OncallConfig) -> None:
    """Raise a located error for a receiver whose `escalation_policy` or `service` is not under `oncall:`."""
    known = {
        "escalation_policy": ([p.name for p in cfg.escalation_policies], "escalation policy"),
        "service": ([s.name for s in cfg.services], "service"),
    }
    receivers = alerting.get("receivers") if isinstance(alerting, Mapping) else None
    problems: list[Problem] = []
    for index, receiver in enumerate(receivers if isinstance(receivers, list) else []):
        for key, (names, noun) in known.items():
            value = receiver.get(key) if isinstance(receiver, Mapping) else None
            if value is not None:
                path: KeyPath = ("alerting", "receivers", index, key)
                problems += (
                    _unknown(str(value), names, path, noun) if isinstance(value, str) else [(path, "must be a name")]
                )
    if problems:
        raise located_error(problems)


def shift_length(spec: str | FixedShift) -> ShiftLength:
    """The core shift length for `1d`, `12h`, `2w` or `{fixed: 36h}`."""
    if isinstance(spec, FixedShift):
        return fixed(spec.fixed)
    match = _SHIFT.fullmatch(spec)
    if match is None:
        raise ValueError(f"{spec!r} is not a shift length")
    return CalendarLength(int(match.group(1)), _UNITS[match.group(2)])


def to_restriction(cfg: RestrictionConfig) -> Restriction:
    """The core restriction for one `restrictions:` item."""
    return Restriction(cfg.start, cfg.end, frozenset(DAYS.index(day) for day in cfg.days))


def to_layer(cfg: LayerConfig, default_zone: str) -> Layer:
    """The core layer for one `layers:` item; without its own zone it uses `default_zone`."""
    return Layer(
        name=cfg.name,
        participants=tuple(cfg.participants),
        length=shift_length(cfg.shift),
        start=cfg.start,
        handoff=cfg.handoff,
        time_zone=cfg.time_zone or default_zone,
        restrictions=tuple(map(to_restriction, cfg.restrictions)),
    )


def _instant(value: datetime, zone: str) -> datetime:
    """`value` as an aware instant; a naive one is a wall time in `zone`, read like a handoff."""
    return value if value.tzinfo is not None else local_to_utc(value, load_zone(zone))


def to_override(cfg: OverrideConfig, zone: str) -> Override:
    """The core override; naive times are read in the schedule's `zone`."""
    return Override(cfg.user, _instant(cfg.start, zone), _instant(cfg.end, zone), cfg.replaces)


def to_schedule(cfg: ScheduleConfig) -> Schedule:
    """The core schedule that `who_is_on_call`, `shifts` and the calendars compute with."""
    return Schedule(
        name=cfg.name,
        time_zone=cfg.time_zone,
        layers=tuple(to_layer(layer, cfg.time_zone) for layer in cfg.layers),
        overrides=tuple(to_override(override, cfg.time_zone) for override in cfg.overrides),
    )


def to_policy(cfg: EscalationPolicyConfig) -> EscalationPolicy:
    """The core escalation policy whose timeline decides who is paged when."""
    steps = tuple(Step(tuple(t.target() for t in step.targets), step.delay) for step in cfg.steps)
    return EscalationPolicy(cfg.name, steps, cfg.repeat, cfg.ack_timeout)


def schedules_by_name(cfg: OncallConfig) -> dict[str, Schedule]:
    """Every schedule converted, by name, as `expand_targets` wants them."""
    return {schedule.name: to_schedule(schedule) for schedule in cfg.schedules}


def teams_by_name(cfg: OncallConfig) -> dict[str, tuple[str, ...]]:
    """Every team's members, by team name, as `expand_targets` wants them."""
    return {team.name: tuple(team.members) for team in cfg.teams}
