"""The shape of `tocsin.yaml`, as pydantic models. Unknown keys are errors (typos matter)."""

from __future__ import annotations

import re
from datetime import timedelta
from functools import lru_cache
from typing import Annotated, Any, ClassVar, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic_core import PydanticCustomError

from tocsin.config.duration import Duration
from tocsin.config.errors import DUPLICATE_NAME_ERROR, KeyPath, located_error

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.\-]{0,127}$"
_TOKEN = r"^[A-Za-z0-9_\-]+$"

PATTERN_HELP = {  # how to read each pattern used below, for error messages
    _NAME: "use letters, digits, '_', '.' and '-', starting with a letter or digit (at most 128)",
    _TOKEN: "use letters, digits, '_' and '-' only",
}


class Strict(BaseModel):
    """Base for config sections: frozen, and unknown keys are rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class TlsFiles(Strict):
    """A certificate and key for serving HTTPS."""

    cert_file: str
    key_file: str


class ServerConfig(Strict):
    """Where tocsin listens and how it is reached from outside."""

    listen: str = "127.0.0.1:8080"
    external_url: str | None = None
    tls: TlsFiles | None = None
    max_body_bytes: int = Field(default=1_048_576, ge=1024)
    metrics_public: bool = False  # serve /metrics without credentials (for a scraper without a token)
    alertmanager_api_public: bool = False  # accept POST /api/v2/alerts without an ingest token
    session_max_age: Duration = timedelta(hours=12)
    session_idle_timeout: Duration = timedelta(hours=2)

    @field_validator("listen")
    @classmethod
    def _listen_has_port(cls, value: str) -> str:
        host, sep, port = value.rpartition(":")
        if not sep or not port.isdigit() or not host:
            raise ValueError(f"listen must be host:port, like 127.0.0.1:8080, not {value!r}")
        return value


class StorageConfig(Strict):
    """The database and how long raw results are kept."""

    url: str = "sqlite:///tocsin.db"
    raw_retention: Duration = timedelta(days=14)

    @field_validator("url")
    @classmethod
    def _known_scheme(cls, value: str) -> str:
        if not value.startswith(("sqlite:", "postgresql:", "postgres:", "postgresql+asyncpg:")):
            raise ValueError("storage.url must start with sqlite:/// or postgresql://")
        return value


class ChecksConfig(Strict):
    """Scheduler-wide settings."""

    max_concurrency: int = Field(default=1000, ge=1, le=100_000)


class ConditionSpec(Strict):
    """A condition with an explicit severity: failing a `degraded` one degrades, not downs."""

    condition: str
    severity: Literal["down", "degraded"] = "down"


Condition = str | ConditionSpec


class MonitorBase(Strict):
    """Settings every monitor kind shares."""

    name: str = Field(pattern=_NAME)
    description: str = ""
    interval: Duration = timedelta(seconds=60)
    timeout: Duration = timedelta(seconds=10)
    conditions: list[Condition] = Field(default_factory=list)
    labels: dict[str, str] = Field(default_factory=dict)
    annotations: dict[str, str] = Field(default_factory=dict)
    failure_threshold: int = Field(default=2, ge=1, le=100)
    success_threshold: int = Field(default=1, ge=1, le=100)
    paused: bool = False

    probes: ClassVar[bool] = True  # runs a probe bounded by `timeout` (a heartbeat only waits)

    @field_validator("labels")
    @classmethod
    def _label_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            if not re.fullmatch(r"[a-zA-Z_][a-zA-Z0-9_]*", key):
                raise ValueError(f"label name {key!r} must match [a-zA-Z_][a-zA-Z0-9_]*")
        return value

    @model_validator(mode="after")
    def _timeout_fits_interval(self) -> MonitorBase:
        if self.interval < timedelta(seconds=1):
            raise located_error([(("interval",), "interval must be at least 1s")])
        if self.timeout <= timedelta(0) or (self.probes and self.timeout > self.interval):
            message = "timeout must be positive and no longer than interval"
            raise located_error([(("timeout",), message)])
        return self

    @model_validator(mode="after")
    def _conditions_compile(self) -> MonitorBase:
        problems = _condition_problems(self.conditions, str(getattr(self, "kind", "")))
        if problems:
            raise located_error(problems)
        return self


def _condition_problems(conditions: list[Condition], kind: str) -> list[tuple[KeyPath, str]]:
    """Each condition that does not compile for `kind`, with where it is and why."""
    problems: list[tuple[KeyPath, str]] = []
    for index, condition in enumerate(conditions):
        problem = _condition_problem(condition, kind)
        if problem is not None:
            where: KeyPath = ("conditions", index)
            if isinstance(condition, ConditionSpec):
                where = (*where, "condition")
            problems.append((where, problem))
    return problems


@lru_cache(maxsize=4096)  # the same few conditions repeat across thousands of monitors
def _condition_problem(condition: Condition, kind: str) -> str | None:
    """Why one condition does not compile for monitors of `kind` (None when it does)."""
    from tocsin.checks.conditions import ConditionError, compile_conditions  # it imports us

    try:
        compile_conditions([condition], kind)
    except ConditionError as exc:  # exc.where would say conditions[0]: the loader adds the path
        return f"invalid condition {exc.text!r} at column {exc.column}: {exc.problem}"
    return None


class BasicAuth(Strict):
    """HTTP basic authentication."""

    username: str
    password: str


class HttpMonitor(MonitorBase):
    """Request a URL and judge the response."""

    kind: Literal["http"]
    url: str
    method: Literal["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"] = "GET"
    headers: dict[str, str] = Field(default_factory=dict)
    body: str | None = None
    follow_redirects: bool = True
    max_redirects: int = Field(default=10, ge=0, le=50)
    basic_auth: BasicAuth | None = None
    bearer_token: str | None = None
    expected_status: list[int | str] = Field(default_factory=lambda: list[int | str](["2xx", "3xx"]))
    ip_version: Literal["any", "4", "6"] = "any"
    tls_verify: bool = True
    max_body_bytes: int = Field(default=1_048_576, ge=0)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        if not re.match(r"^https?://[^/\s]+", value):
            raise ValueError(f"url must start with http:// or https:// and name a host: {value!r}")
        return value

    @field_validator("expected_status")
    @classmethod
    def _status_codes(cls, value: list[int | str]) -> list[int | str]:
        for item in value:
            ok = (isinstance(item, int) and 100 <= item <= 599) or (
                isinstance(item, str) and re.fullmatch(r"[1-5]xx|[1-5]\d\d", item)
            )
            if not ok:
                raise ValueError(f"expected_status entries are codes like 200 or classes like 2xx, not {item!r}")
        return value

    @model_validator(mode="after")
    def _one_auth(self) -> HttpMonitor:
        if self.basic_auth and self.bearer_token:
            raise located_error([(("bearer_token",), "set basic_auth or bearer_token, not both")])
        return self


class TcpMonitor(MonitorBase):
    """Open a TCP connection, optionally send a line and expect a banner."""

    kind: Literal["tcp"]
    host: str
    port: int = Field(ge=1, le=65535)
    send: str | None = None
    expect: str | None = None  # a regular expression searched in what the peer sends
    tls: bool = False
    tls_verify: bool = True
    ip_version: Literal["any", "4", "6"] = "any"

    @field_validator("expect")
    @classmethod
    def _regex(cls, value: str | None) -> str | None:
        if value is not None:
            try:
                re.compile(value)
            except re.error as exc:
                raise ValueError(f"expect is not a valid regular expression: {exc}") from exc
        return value


class DnsMonitor(MonitorBase):
    """Resolve a name and judge the answers."""

    kind: Literal["dns"]
    query: str
    record_type: Literal["A", "AAAA", "CNAME", "MX", "TXT", "NS", "SRV"] = "A"
    expected: list[str] = Field(default_factory=list)  # every one must be among the answers
    resolver: str | None = None  # host or host:port; the system resolver when unset
    transport: Literal["udp", "tcp"] = "udp"


class TlsMonitor(MonitorBase):
    """Handshake with a TLS server and judge its certificate."""

    kind: Literal["tls"]
    host: str
    port: int = Field(default=443, ge=1, le=65535)
    server_name: str | None = None  # SNI and hostname to match; defaults to host
    ca_file: str | None = None  # extra trust anchors, e.g. a private CA
    expiry_warning: Duration = timedelta(days=14)  # degraded when the certificate expires sooner


class HeartbeatMonitor(MonitorBase):
    """Expect pings at /ping/{token}; down when none arrives within period + grace."""

    kind: Literal["heartbeat"]
    period: Duration = timedelta(minutes=5)
    grace: Duration = timedelta(minutes=1)
    token: str | None = Field(default=None, min_length=16, max_length=128, pattern=_TOKEN)
    interval: Duration = timedelta(seconds=30)  # how often the deadline is evaluated

    probes: ClassVar[bool] = False


from tocsin.config.alerting import MaintenanceConfig, check_alerting  # noqa: E402 - builds on Strict above
from tocsin.incidents.config import IncidentsConfig, check_incidents  # noqa: E402
from tocsin.oncall.config import OncallConfig, check_paging  # noqa: E402
from tocsin.slo.config import SloEntry, check_slos  # noqa: E402
from tocsin.statuspage.config import StatusPageConfig, check_status_pages  # noqa: E402
from tocsin.statuspage.subscription_config import check_subscriptions  # noqa: E402
from tocsin.web.ratelimit import IngestLimits  # noqa: E402

MONITOR_KINDS = ("http", "tcp", "dns", "tls", "heartbeat")

Monitor = Annotated[
    HttpMonitor | TcpMonitor | DnsMonitor | TlsMonitor | HeartbeatMonitor,
    Field(discriminator="kind"),
]


class TocsinConfig(Strict):
    """The whole configuration file (after `include:` files are merged)."""

    server: ServerConfig = Field(default_factory=ServerConfig)
    storage: StorageConfig = Field(default_factory=StorageConfig)
    checks: ChecksConfig = Field(default_factory=ChecksConfig)
    monitors: list[Monitor] = Field(default_factory=list)
    alerting: dict[str, Any] = Field(default_factory=dict)
    maintenance: list[MaintenanceConfig] = Field(default_factory=list)
    ingest: IngestLimits = Field(default_factory=IngestLimits)
    oncall: OncallConfig = Field(default_factory=OncallConfig)
    slos: list[SloEntry] = Field(default_factory=list)
    status_pages: list[StatusPageConfig] = Field(default_factory=list)
    incidents: IncidentsConfig = Field(default_factory=IncidentsConfig)

    @model_validator(mode="after")
    def _slos_are_consistent(self) -> TocsinConfig:
        check_slos(self.slos)
        return self

    @model_validator(mode="after")
    def _status_pages_name_known_monitors(self) -> TocsinConfig:
        check_status_pages(self.status_pages, [m.name for m in self.monitors])
        return self

    @model_validator(mode="after")
    def _status_page_subscriptions_can_send(self) -> TocsinConfig:
        check_subscriptions(self.status_pages, self.alerting)
        return self

    @model_validator(mode="after")
    def _incidents_name_known_things(self) -> TocsinConfig:
        check_incidents(self.incidents, self.alerting)
        return self

    @model_validator(mode="after")
    def _alerting_is_alertmanager_yml(self) -> TocsinConfig:
        check_alerting(self.alerting)
        return self

    @model_validator(mode="after")
    def _declare_rules_name_known_severities(self) -> TocsinConfig:
        from tocsin.incidents.declare_rules import check_declare  # after the route tree is known to parse

        check_declare(self.alerting, self.incidents)
        return self

    @model_validator(mode="after")
    def _receivers_page_known_policies(self) -> TocsinConfig:
        check_paging(self.alerting, self.oncall)
        return self

    @model_validator(mode="after")
    def _unique_monitor_names(self) -> TocsinConfig:
        # The loader reports duplicates itself (with both lines, even alongside other errors)
        # and drops this one; it stays for configs built in code.
        seen: set[str] = set()
        for monitor in self.monitors:
            if monitor.name in seen:
                message = "monitor name {name!r} is used twice; names must be unique"
                raise PydanticCustomError(DUPLICATE_NAME_ERROR, message, {"name": monitor.name})
            seen.add(monitor.name)
        return self
