"""The condition language (`[STATUS] == 200`): parsed once at config load, judged per check.

A condition is `<left> <operator> <right>`, with spaces around the operator. The left side
is a placeholder (`[STATUS]`, `[BODY].items[0].ok`, `[HEADER].content-type`) or a function
of one (`len(...)`, `has(...)`); the right side is a value, `pat(glob)` or `any(a, b, ...)`.
See docs/conditions.md for the reference.

Over the 400-line soft cap on purpose for now: parsing (top half) and evaluation (from
`_holds` down) are one language and were kept in the one file the layout names; they
split cleanly into `parse.py` / `evaluate.py` if the module grows further.
"""

from __future__ import annotations

import functools
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import Enum
from typing import Any, Literal

import orjson

from tocsin.checks.result import ConditionFailure, Observation
from tocsin.config.duration import format_duration, parse_duration
from tocsin.config.models import ConditionSpec

Severity = Literal["down", "degraded"]
PathPart = str | int


class ConditionError(ValueError):
    """A condition that cannot be parsed: says what is wrong, at which column, and how to fix it."""

    def __init__(self, text: str, column: int, problem: str, where: str = "") -> None:
        self.text, self.column, self.problem, self.where = text, column, problem, where
        prefix = f"{where}: " if where else ""
        super().__init__(f"{prefix}invalid condition {text!r} at column {column}: {problem}")


class _Type(Enum):
    """How a placeholder's value compares, which decides how its right side is read."""

    NUMBER = "number"
    MILLISECONDS = "milliseconds"
    DURATION = "duration"
    BOOL = "bool"
    RCODE = "rcode"
    TEXT = "text"


PLACEHOLDERS: dict[str, _Type] = {
    "STATUS": _Type.NUMBER,
    "RESPONSE_TIME": _Type.MILLISECONDS,
    "BODY": _Type.TEXT,
    "HEADER": _Type.TEXT,
    "IP": _Type.TEXT,
    "CONNECTED": _Type.BOOL,
    "CERTIFICATE_EXPIRATION": _Type.DURATION,
    "DNS_RCODE": _Type.RCODE,
}

PLACEHOLDERS_BY_KIND: dict[str, frozenset[str]] = {
    "http": frozenset({"STATUS", "RESPONSE_TIME", "BODY", "HEADER", "IP", "CONNECTED", "CERTIFICATE_EXPIRATION"}),
    "tcp": frozenset({"CONNECTED", "RESPONSE_TIME", "BODY", "IP", "CERTIFICATE_EXPIRATION"}),
    "dns": frozenset({"DNS_RCODE", "BODY", "RESPONSE_TIME", "CONNECTED"}),
    "tls": frozenset({"CERTIFICATE_EXPIRATION", "CONNECTED", "RESPONSE_TIME", "IP"}),
}

_RCODE_NAMES = "NOERROR FORMERR SERVFAIL NXDOMAIN NOTIMP REFUSED YXDOMAIN YXRRSET NXRRSET NOTAUTH"
RCODES = frozenset([*_RCODE_NAMES.split(), "NOTZONE", "BADVERS"])

_OPERATORS = ("==", "!=", "<=", ">=", "<", ">")
_SPACED_OP = re.compile(r"\s(==|!=|<=|>=|<|>)\s")
_BARE_OP = re.compile(r"==|!=|<=|>=|(?<![<>=!])=(?!=)|[<>]")
_LEFT = re.compile(r"(?:(?P<func>[A-Za-z_]+)\()?\[(?P<name>[A-Za-z_]*)\](?P<path>[^()]*)(?P<close>\))?")
_PATH_PART = re.compile(r"\.([^.\[\]]+)|\[(\d+)\]")
_RIGHT_PLACEHOLDER = re.compile(r"\[([A-Za-z_]+)\]")
_HOW = "write it like [STATUS] == 200"


@dataclass(frozen=True, slots=True)
class _Literal:
    """One value on the right side, as text and (when it reads as one) as a number."""

    text: str
    number: float | None


@dataclass(frozen=True, slots=True)
class _Left:
    """The left side: a placeholder with an optional JSON path or header name and function."""

    name: str
    path: tuple[PathPart, ...] = ()
    header: str | None = None
    func: Literal["len", "has"] | None = None

    @property
    def type(self) -> _Type:
        """How this side's value compares."""
        if self.func == "len":
            return _Type.NUMBER
        return _Type.BOOL if self.func == "has" else PLACEHOLDERS[self.name]


class _Missing:
    """A value that could not be read (no JSON body, no such header), with the reason why."""

    __slots__ = ("reason",)

    def __init__(self, reason: str) -> None:
        self.reason = reason


_NOT_JSON = object()
_NOT_JSON_REASON = "body is not JSON"


class _Facts:
    """One observation seen at one instant, with the body decoded and parsed at most once."""

    __slots__ = ("_json", "_text", "now", "obs")

    def __init__(self, obs: Observation, now: datetime) -> None:
        self.obs, self.now = obs, now
        self._text: str | None = None
        self._json: Any = None

    def text(self) -> str | None:
        """The body as text (undecodable bytes replaced), or None when there is no body."""
        if self._text is None and self.obs.body is not None:
            self._text = self.obs.body.decode("utf-8", "replace")
        return self._text

    def json(self) -> Any:
        """The body parsed as JSON, or `_NOT_JSON`."""
        if self._json is None:
            try:
                self._json = orjson.loads(self.obs.body) if self.obs.body else _NOT_JSON
            except orjson.JSONDecodeError:
                self._json = _NOT_JSON
        return self._json


@dataclass(frozen=True, slots=True)
class ParsedCondition:
    """A parsed condition that can be judged against an observation."""

    text: str
    left: _Left
    operator: str
    right_text: str
    literals: tuple[_Literal, ...] = ()
    pattern: re.Pattern[str] | None = None
    # `[STATUS] == 200` (or `== any(200, 204)`): the status codes that satisfy it outright.
    statuses: frozenset[float] = frozenset()

    @property
    def placeholder(self) -> str:
        """The placeholder the condition reads, like STATUS or BODY."""
        return self.left.name

    @property
    def expected(self) -> str:
        """What the condition wants, as shown to users (`== 200`)."""
        return f"{self.operator} {self.right_text}"

    def evaluate(self, obs: Observation, now: datetime) -> ConditionFailure | None:
        """Judge the observation at `now`: None when the condition holds, else why not."""
        return self.judge(_Facts(obs, now))

    def judge(self, facts: _Facts) -> ConditionFailure | None:
        """Judge already-wrapped facts, sharing their parsed body with other conditions."""
        if facts.obs.status in self.statuses:  # the common case, without resolving or formatting
            return None
        value = _resolve(self.left, facts)
        if isinstance(value, _Missing):
            return ConditionFailure(self.text, value.reason, self.expected)
        text, number = value
        if _holds(self, text, number):
            return None
        return ConditionFailure(self.text, _show(self.left, text, number), self.expected)


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """A parsed condition with its severity: failing a `degraded` one degrades, not downs."""

    condition: ParsedCondition
    severity: Severity = "down"

    @property
    def text(self) -> str:
        """The condition as written."""
        return self.condition.text


def parse_condition(text: str) -> ParsedCondition:
    """Parse one condition, raising ConditionError that names the column and the fix."""
    stripped = text.strip()
    if not stripped:
        raise ConditionError(text, 1, f"the condition is empty; {_HOW}")
    match = _SPACED_OP.search(text)
    if match is None:
        raise _no_operator(text)
    left_text, right_text = text[: match.start()], text[match.end() :]
    left = _parse_left(text, left_text)
    operator = match.group(1)
    return _parse_right(text, left, operator, right_text, match.end())


def compile_conditions(conds: Sequence[str | ConditionSpec], kind: str) -> list[CompiledCondition]:
    """Parse a monitor's conditions, rejecting placeholders its kind cannot observe."""
    allowed = PLACEHOLDERS_BY_KIND.get(kind)
    compiled: list[CompiledCondition] = []
    for index, cond in enumerate(conds):
        text = cond if isinstance(cond, str) else cond.condition
        severity: Severity = "down" if isinstance(cond, str) else cond.severity
        where = f"conditions[{index}]"
        if allowed is None:
            raise ConditionError(text, 1, f"{kind} monitors take no conditions; remove them", where)
        try:
            parsed = parse_condition(text)
        except ConditionError as exc:
            raise ConditionError(exc.text, exc.column, exc.problem, where) from None
        _check_kind(parsed, kind, allowed, where)
        compiled.append(CompiledCondition(parsed, severity))
    return compiled


def evaluate_all(conditions: Sequence[CompiledCondition], obs: Observation, now: datetime) -> list[ConditionFailure]:
    """Judge every condition against one observation; the failures, marked degraded-only or not."""
    facts = _Facts(obs, now)
    failures: list[ConditionFailure] = []
    for compiled in conditions:
        failure = compiled.condition.judge(facts)
        if failure is not None:
            degraded = compiled.severity == "degraded"
            failures.append(ConditionFailure(failure.condition, failure.actual, failure.expected, degraded))
    return failures


@functools.lru_cache(maxsize=1024)
def compiled_regex(pattern: str) -> re.Pattern[str]:
    """Compile a monitor's regular expression once, however many checks use it."""
    return re.compile(pattern)


def _check_kind(parsed: ParsedCondition, kind: str, allowed: frozenset[str], where: str) -> None:
    """Reject a placeholder that this monitor kind never observes."""
    if parsed.placeholder in allowed:
        return
    names = ", ".join(f"[{name}]" for name in sorted(allowed))
    column = parsed.text.find(f"[{parsed.placeholder}]") + 1
    problem = f"[{parsed.placeholder}] does not apply to {kind} monitors; use one of {names}"
    raise ConditionError(parsed.text, column, problem, where)


def _no_operator(text: str) -> ConditionError:
    """Explain why no spaced operator was found."""
    bare = _BARE_OP.search(text)
    if bare is None:
        ops = ", ".join(_OPERATORS)
        return ConditionError(text, 1, f"no comparison operator ({ops}); {_HOW}")
    op, column = bare.group(0), bare.start() + 1
    if op == "=":
        return ConditionError(text, column, "'=' is not an operator; use == to compare, like [STATUS] == 200")
    return ConditionError(text, column, f"put spaces around {op!r}, like [STATUS] {op} 200")


def _parse_left(text: str, left_text: str) -> _Left:
    """Read the left side: a placeholder, maybe with a path, maybe inside len()/has()."""
    offset = len(left_text) - len(left_text.lstrip())
    body = left_text.strip()
    match = _LEFT.fullmatch(body)
    if match is None or bool(match.group("func")) != bool(match.group("close")):
        raise _bad_left(text, body, offset + 1)
    name, column = match.group("name").upper(), offset + 1 + match.start("name") - 1
    if name not in PLACEHOLDERS:
        known = ", ".join(f"[{p}]" for p in PLACEHOLDERS)
        raise ConditionError(text, column, f"unknown placeholder [{match.group('name')}]; use one of {known}")
    func = _parse_func(text, match.group("func"), offset + 1)
    path_column = offset + 1 + match.start("path")
    left = _with_path(text, name, match.group("path"), path_column)
    return _Left(left.name, left.path, left.header, func)


def _bad_left(text: str, body: str, column: int) -> ConditionError:
    """Explain a left side that is not a placeholder expression."""
    if body.startswith("[") or "(" not in body:
        problem = (
            f"the left side must be a placeholder like [STATUS] or a function like "
            f"len([BODY].items), not {body!r}; put the value on the right"
        )
    else:
        problem = f"{body!r} is not a function of one placeholder; write it like len([BODY].items)"
    return ConditionError(text, column, problem)


def _parse_func(text: str, func: str | None, column: int) -> Literal["len", "has"] | None:
    """Accept len()/has() on the left; explain pat()/any() and unknown names."""
    if func is None:
        return None
    lowered = func.lower()
    if lowered == "len":
        return "len"
    if lowered == "has":
        return "has"
    if lowered in ("pat", "any"):
        problem = f"{lowered}(...) belongs on the right side, like [BODY] == {lowered}(...)"
    else:
        problem = f"unknown function {func!r}; use len(...) or has(...) on the left"
    raise ConditionError(text, column, problem)


def _with_path(text: str, name: str, raw: str, column: int) -> _Left:
    """Attach a JSON path to [BODY] or a header name to [HEADER]; others take none."""
    if name == "HEADER":
        header = raw[1:].strip().lower() if raw.startswith(".") else ""
        if not header:
            raise ConditionError(text, column, "[HEADER] needs a header name, like [HEADER].content-type")
        return _Left(name, header=header)
    if not raw:
        return _Left(name)
    if name != "BODY":
        raise ConditionError(text, column, f"[{name}] takes no path; remove {raw!r}")
    return _Left(name, path=_parse_path(text, raw, column))


def _parse_path(text: str, raw: str, column: int) -> tuple[PathPart, ...]:
    """Split `.items[0].ok` into ("items", 0, "ok")."""
    parts: list[PathPart] = []
    pos = 0
    while pos < len(raw):
        match = _PATH_PART.match(raw, pos)
        if match is None:
            problem = f"bad JSON path at {raw[pos:]!r}; write keys as .name and indexes as [0], like [BODY].items[0].ok"
            raise ConditionError(text, column + pos, problem)
        parts.append(match.group(1) if match.group(1) is not None else int(match.group(2)))
        pos = match.end()
    return tuple(parts)


def _parse_right(text: str, left: _Left, op: str, raw: str, start: int) -> ParsedCondition:
    """Read the right side according to the left side's type."""
    right = raw.strip()
    column = start + 1 + (len(raw) - len(raw.lstrip()))
    if not right:
        raise ConditionError(text, start, f"nothing to compare with after {op!r}; {_HOW}")
    named = _RIGHT_PLACEHOLDER.match(right)
    if named is not None and named.group(1).upper() in PLACEHOLDERS:
        raise ConditionError(text, column, "compare a placeholder with a value, not with another placeholder")
    if left.func == "has" and left.name not in ("BODY", "HEADER"):
        raise ConditionError(text, 1, "has(...) works on [BODY] paths and [HEADER] names")
    func = _right_func(right)
    if func is not None and op not in ("==", "!="):
        raise ConditionError(text, column, f"{func}(...) only works with == or !=, not {op!r}")
    if func == "pat":
        return ParsedCondition(text, left, op, right, pattern=_glob(text, right, column))
    items = _split_any(text, right, column) if func == "any" else [right]
    literals = tuple(_literal(text, left, op, item, column) for item in items)
    plain_status = left.name == "STATUS" and left.func is None and op == "=="
    statuses = frozenset(lit.number for lit in literals if lit.number is not None) if plain_status else frozenset()
    return ParsedCondition(text, left, op, right, literals, statuses=statuses)


def _right_func(right: str) -> str | None:
    """Return "pat" or "any" when the right side calls one of them."""
    head = right[:4].lower()
    return head[:3] if head in ("pat(", "any(") else None


def _inner(text: str, right: str, column: int) -> str:
    """The argument text of `pat(...)` / `any(...)`, requiring the closing parenthesis."""
    if not right.endswith(")"):
        raise ConditionError(text, column, f"{right[:3]}( is not closed; add ')' at the end")
    return right[4:-1]


def _glob(text: str, right: str, column: int) -> re.Pattern[str]:
    """Compile `pat(*ready*)`: `*` is any text, `?` any one character, the rest literal."""
    inner = _inner(text, right, column)
    regex = "".join(".*" if ch == "*" else "." if ch == "?" else re.escape(ch) for ch in inner)
    return re.compile(regex, re.DOTALL)


def _split_any(text: str, right: str, column: int) -> list[str]:
    """The comma-separated values of `any(a, b)`."""
    items = [item.strip() for item in _inner(text, right, column).split(",")]
    if not all(items):
        raise ConditionError(text, column, "any(...) needs values separated by commas, like any(200, 204)")
    return items


def _literal(text: str, left: _Left, op: str, raw: str, column: int) -> _Literal:
    """Read one right-side value the way the left side's type needs it."""
    value = raw[1:-1] if len(raw) >= 2 and raw[0] == raw[-1] == '"' else raw
    kind = left.type
    if kind in (_Type.BOOL, _Type.RCODE) and op not in ("==", "!="):
        raise ConditionError(text, column, f"{_describe(left)} can only be compared with == or !=")
    if kind is _Type.BOOL:
        return _bool_literal(text, left, value, column)
    if kind is _Type.RCODE:
        return _rcode_literal(text, value, column)
    if kind is _Type.DURATION:
        return _duration_literal(text, value, column)
    if kind is _Type.MILLISECONDS:
        return _ms_literal(text, value, column)
    number = _number(value)
    if kind is _Type.NUMBER and number is None:
        problem = f"{_describe(left)} is a number, not {value!r}; write it like {_describe(left)} == 200"
        raise ConditionError(text, column, problem)
    return _Literal(value, number)


def _describe(left: _Left) -> str:
    """The left side as users write it, for error messages."""
    base = f"[{left.name}]"
    return f"{left.func}({base}...)" if left.func else base


def _bool_literal(text: str, left: _Left, value: str, column: int) -> _Literal:
    """true or false, case-insensitively."""
    lowered = value.lower()
    if lowered not in ("true", "false"):
        raise ConditionError(text, column, f"{_describe(left)} is true or false, not {value!r}")
    return _Literal(lowered, None)


def _rcode_literal(text: str, value: str, column: int) -> _Literal:
    """A DNS response code name such as NOERROR or NXDOMAIN."""
    upper = value.upper()
    if upper not in RCODES:
        known = ", ".join(sorted(RCODES))
        raise ConditionError(text, column, f"unknown DNS rcode {value!r}; use one of {known}")
    return _Literal(upper, None)


def _duration_literal(text: str, value: str, column: int) -> _Literal:
    """A duration such as 72h or 30d, kept as seconds."""
    try:
        seconds = parse_duration(value).total_seconds()
    except ValueError:
        problem = f"[CERTIFICATE_EXPIRATION] compares with a duration like 72h or 30d, not {value!r}"
        raise ConditionError(text, column, problem) from None
    return _Literal(value, seconds)


def _ms_literal(text: str, value: str, column: int) -> _Literal:
    """Milliseconds as a bare number (300) or a duration (300ms, 2s)."""
    number = _number(value)
    if number is not None:
        return _Literal(value, number)
    try:
        return _Literal(value, parse_duration(value).total_seconds() * 1000)
    except ValueError:
        problem = f"[RESPONSE_TIME] is milliseconds like 300 or a duration like 2s, not {value!r}"
        raise ConditionError(text, column, problem) from None


def _number(value: str) -> float | None:
    """The value as a finite number, or None when it does not read as one."""
    try:
        number = float(value)
    except ValueError:
        return None
    return number if math.isfinite(number) else None


def _holds(cond: ParsedCondition, text: str, number: float | None) -> bool:
    """Whether the resolved value satisfies the operator and right side."""
    op = cond.operator
    if cond.pattern is not None:
        return (cond.pattern.fullmatch(text) is not None) == (op == "==")
    if op in ("==", "!="):
        equal = any(_equal(lit, text, number) for lit in cond.literals)
        return equal == (op == "==")
    lit = cond.literals[0]
    if number is not None and lit.number is not None:
        return _ordered(op, number, lit.number)
    return _ordered(op, text, lit.text)


def _equal(lit: _Literal, text: str, number: float | None) -> bool:
    """Numeric equality when both sides are numbers, text equality otherwise."""
    if number is not None and lit.number is not None:
        return number == lit.number
    return text == lit.text


def _ordered(op: str, a: Any, b: Any) -> bool:
    """Apply an ordering operator."""
    if op == "<":
        return bool(a < b)
    if op == "<=":
        return bool(a <= b)
    return bool(a > b) if op == ">" else bool(a >= b)


def _show(left: _Left, text: str, number: float | None) -> str:
    """The actual value as shown in a failure: durations formatted, long text cut."""
    if left.type is _Type.DURATION and number is not None:
        if number < 0:
            return f"expired {format_duration(timedelta(seconds=-number))} ago"
        return format_duration(timedelta(seconds=number))
    if left.type is _Type.MILLISECONDS:
        return f"{text}ms"
    return text if len(text) <= 200 else text[:200] + "…"


def _resolve(left: _Left, facts: _Facts) -> tuple[str, float | None] | _Missing:
    """Read the left side's value from the facts: (text, number-or-None) or why it is missing."""
    if left.func is not None:
        return _resolve_func(left, facts)
    value = _raw(left, facts)
    if isinstance(value, _Missing):
        return value
    return _scalar(value)


def _resolve_func(left: _Left, facts: _Facts) -> tuple[str, float | None] | _Missing:
    """Evaluate len(...) or has(...)."""
    value = _raw(left, facts)
    if isinstance(value, _Missing):
        if left.func == "has" and value.reason != _NOT_JSON_REASON:
            return "false", None
        return value
    if left.func == "has":
        return "true", None
    if isinstance(value, str | list | dict):
        return str(len(value)), float(len(value))
    return _Missing(f"len() needs text, a list or an object, got {_scalar(value)[0]}")


def _scalar(value: Any) -> tuple[str, float | None]:
    """Render a raw value as comparable text plus its number, when it is one."""
    if value is True or value is False:
        return ("true" if value else "false"), None
    if value is None:
        return "null", None
    if isinstance(value, int | float):
        return (str(int(value)) if float(value).is_integer() else str(value)), float(value)
    if isinstance(value, str):
        return value, _number(value)
    return orjson.dumps(value).decode(), None


_ATTRIBUTES = {
    "STATUS": ("status", "no HTTP status"),
    "RESPONSE_TIME": ("latency_ms", "no response time"),
    "IP": ("ip", "no IP address"),
    "CONNECTED": ("connected", ""),
    "CERTIFICATE_EXPIRATION": ("certificate_expires_at", "no certificate"),
    "DNS_RCODE": ("dns_rcode", "no DNS response"),
}


def _raw(left: _Left, facts: _Facts) -> Any:
    """The placeholder's raw value (JSON values stay JSON) or a _Missing."""
    if left.name == "BODY":
        return _body(left, facts)
    if left.name == "HEADER":
        value = facts.obs.headers.get(left.header or "")
        return value if value is not None else _Missing(f"no {left.header} header")
    attribute, absent = _ATTRIBUTES[left.name]
    value = getattr(facts.obs, attribute)
    if value is None:
        return _Missing(absent)
    if isinstance(value, datetime):
        return (value - facts.now).total_seconds()
    return round(value, 3) if isinstance(value, float) else value


def _body(left: _Left, facts: _Facts) -> Any:
    """The body as text (stripped when compared whole) or the value at its JSON path."""
    text = facts.text()
    if text is None:
        return _Missing("no body")
    if not left.path:
        return text if left.func else text.strip()
    return _walk(facts.json(), left.path)


def _walk(doc: Any, path: tuple[PathPart, ...]) -> Any:
    """Follow a JSON path, or say where it stopped."""
    if doc is _NOT_JSON:
        return _Missing(_NOT_JSON_REASON)
    walked = ""
    for part in path:
        walked += f"[{part}]" if isinstance(part, int) else f".{part}"
        found = isinstance(doc, list) if isinstance(part, int) else isinstance(doc, dict)
        if not found or (isinstance(part, int) and part >= len(doc)) or (isinstance(part, str) and part not in doc):
            return _Missing(f"no value at [BODY]{walked}")
        doc = doc[part]
    return doc
