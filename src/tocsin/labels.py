"""Label matchers with Alertmanager's syntax and semantics, shared by routes, silences and inhibits.

A matcher is `name op value` with op one of `=`, `!=`, `=~`, `!~`. Regular expressions use
Go's RE2 syntax and are fully anchored (`^(?:value)$`) exactly like Alertmanager; they are
translated once to Python's `re` and compiled once. A label that is missing from a label
set matches as the empty string.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Literal

MatchOp = Literal["=", "!=", "=~", "!~"]

OPS: tuple[MatchOp, ...] = ("=", "!=", "=~", "!~")
# Longest operator first so that `=~` is never read as `=` followed by a `~` value.
_OPS_BY_LENGTH: tuple[MatchOp, ...] = ("=~", "!=", "!~", "=")
_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
# Go's `\s`: Alertmanager's classic matcher grammar trims exactly these characters.
_GO_SPACE = "\t\n\f\r "


class MatcherError(ValueError):
    """A matcher or regular expression that cannot be used; the message says what and where."""


@dataclass(frozen=True, slots=True)
class Matcher:
    """One label matcher; regular expressions are anchored and compiled once at construction."""

    name: str
    op: MatchOp
    value: str
    _regex: re.Pattern[str] | None = field(default=None, init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.op not in OPS:
            raise MatcherError(f"unknown match operator {self.op!r}; use one of = != =~ !~")
        if not _NAME.fullmatch(self.name):
            raise MatcherError(f"{self.name!r} is not a valid label name")
        if self.is_regex:
            object.__setattr__(self, "_regex", compile_anchored(self.value))

    @property
    def is_regex(self) -> bool:
        """True for `=~` and `!~`."""
        return self.op in ("=~", "!~")

    @property
    def is_equal(self) -> bool:
        """True for the positive operators `=` and `=~` (Alertmanager API v2's `isEqual`)."""
        return self.op in ("=", "=~")

    def matches_value(self, value: str) -> bool:
        """Whether a single label value satisfies this matcher."""
        if self._regex is not None:
            return (self._regex.fullmatch(value) is not None) == self.is_equal
        return (value == self.value) == self.is_equal

    def matches(self, labels: Mapping[str, str]) -> bool:
        """Whether a label set satisfies this matcher; a missing label counts as empty."""
        return self.matches_value(labels.get(self.name, ""))

    def sort_key(self) -> tuple[str, str, int]:
        """Alertmanager's matcher order: by name, then value, then operator."""
        return (self.name, self.value, OPS.index(self.op))

    def __str__(self) -> str:
        return f'{self.name}{self.op}"{escape_value(self.value)}"'


def escape_value(value: str) -> str:
    """OpenMetrics escaping used when printing a matcher value: backslash, newline, quote."""
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


def matches(matchers: Iterable[Matcher], labels: Mapping[str, str]) -> bool:
    """True when every matcher matches `labels` (an empty list matches everything)."""
    return all(m.matches(labels) for m in matchers)


def sort_matchers(matchers: Iterable[Matcher]) -> tuple[Matcher, ...]:
    """The matchers in Alertmanager's canonical order."""
    return tuple(sorted(matchers, key=Matcher.sort_key))


def format_matchers(matchers: Iterable[Matcher]) -> str:
    """Render like Alertmanager's `Matchers.String()`: `{a="b",c=~"d"}`."""
    return "{" + ",".join(str(m) for m in matchers) + "}"


# ---------------------------------------------------------------------------------------
# Parsing (Alertmanager's classic matcher grammar, pkg/labels/parse.go)


def parse_matchers(text: str) -> list[Matcher]:
    """Parse a comma-separated list of matchers, optionally wrapped in `{}`."""
    tokens = _split_tokens(*_strip_braces(text))
    result: list[Matcher] = []
    for index, (token, at) in enumerate(tokens):
        try:
            result.append(parse_matcher(token))
        except MatcherError as exc:
            if len(tokens) == 1:
                raise
            where = f"matcher {index + 1} (from character {at + 1}) of {text!r}"
            raise MatcherError(f"{exc}; in {where}") from None
    return result


def parse_matcher(text: str) -> Matcher:
    """Parse one matcher like `foo="bar"`, `foo=~"a|b"` or `foo!=bar`."""
    pos = _skip_space(text, 0)
    name_match = _NAME.match(text, pos)
    if name_match is None:
        raise _error(text, pos, "expected a label name ([a-zA-Z_:][a-zA-Z0-9_:]*)")
    pos = _skip_space(text, name_match.end())
    op = next((o for o in _OPS_BY_LENGTH if text.startswith(o, pos)), None)
    if op is None:
        raise _error(text, pos, "expected one of = != =~ !~ after the label name")
    start = _skip_space(text, pos + len(op))
    value = _unquote(text, start, len(text.rstrip(_GO_SPACE)))
    try:
        return Matcher(name_match.group(), op, value)
    except MatcherError as exc:
        raise MatcherError(f"{exc} in matcher {text.strip(_GO_SPACE)!r}") from None


def _strip_braces(text: str) -> tuple[str, int]:
    """Drop surrounding whitespace and one optional `{` and `}`; return the body and its offset."""
    offset = _skip_space(text, 0)
    body = text[offset:].rstrip(_GO_SPACE)
    if body.startswith("{"):
        body, offset = body[1:], offset + 1
    return body.removesuffix("}"), offset


def _split_tokens(body: str, offset: int) -> list[tuple[str, int]]:
    """Split on commas outside double quotes, as Alertmanager does; drop a trailing empty one."""
    tokens: list[tuple[str, int]] = []
    start, quoted, escaped = 0, False, False
    for i, ch in enumerate(body):
        if ch == ",":
            if not quoted:
                tokens.append((body[start:i], offset + start))
                start = i + 1
        elif ch == '"':
            quoted, escaped = (not quoted, False) if not escaped else (quoted, False)
        else:
            escaped = not escaped if ch == "\\" else False
    if body[start:].strip(_GO_SPACE):
        tokens.append((body[start:], offset + start))
    return tokens


def _skip_space(text: str, pos: int) -> int:
    while pos < len(text) and text[pos] in _GO_SPACE:
        pos += 1
    return pos


def _unquote(text: str, start: int, end: int) -> str:
    """Undo OpenMetrics escaping of `text[start:end]`, which may be wrapped in double quotes."""
    quoted = text.startswith('"', start) and start < end
    i = start + quoted
    out: list[str] = []
    while i < end:
        ch = text[i]
        if ch == "\\" and i + 1 < end:
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt if nxt in '"\\' else "\\" + nxt)
            i += 2
            continue
        if ch == '"':
            if not quoted or i != end - 1:
                raise _error(text, i, 'unescaped double quote in the value (write \\")')
            quoted = False
        else:
            out.append(ch)
        i += 1
    if quoted:
        raise _error(text, end, "the value is missing its closing double quote")
    return "".join(out)


def _error(text: str, pos: int, what: str) -> MatcherError:
    return MatcherError(f"{what} at character {pos + 1} of {text!r}")


# ---------------------------------------------------------------------------------------
# Go RE2 → Python re translation. Alertmanager compiles `^(?:value)$` with Go's regexp;
# the rewrites below keep Python's answers identical for the RE2 syntax people write.

_POSIX = {
    "alnum": "0-9A-Za-z",
    "alpha": "A-Za-z",
    "ascii": "\\x00-\\x7f",
    "blank": "\\t ",
    "cntrl": "\\x00-\\x1f\\x7f",
    "digit": "0-9",
    "graph": "!-~",
    "lower": "a-z",
    "print": " -~",
    "punct": "!-/:-@\\[-`{-~",
    "space": "\\t\\n\\v\\f\\r ",
    "upper": "A-Z",
    "word": "0-9A-Za-z_",
    "xdigit": "0-9A-Fa-f",
}
# Go's \d \w \s are ASCII-only (and \s excludes \v); Python's are Unicode-aware.
_OUTER_ESCAPES = {
    "d": "[0-9]",
    "D": "[^0-9]",
    "w": "[0-9A-Za-z_]",
    "W": "[^0-9A-Za-z_]",
    "s": "[\\t\\n\\f\\r ]",
    "S": "[^\\t\\n\\f\\r ]",
    "b": "(?a:\\b)",
    "B": "(?a:\\B)",
    "z": "\\Z",
}
_CLASS_ESCAPES = {"d": "0-9", "w": "0-9A-Za-z_", "s": "\\t\\n\\f\\r "}
_REJECTED_ESCAPES = {
    "Z": "\\Z is not RE2 syntax; use \\z",
    "p": "Unicode classes \\p{...} are not supported",
    "P": "Unicode classes \\P{...} are not supported",
}
_POSIX_CLASS = re.compile(r"\[:(\^?[a-z]+):\]")
_REPEAT = re.compile(r"\{\d+(,\d*)?\}")
_FLAGS = re.compile(r"\(\?([imsU]*(?:-[imsU]*)?)([:)])")


@lru_cache(maxsize=4096)
def compile_anchored(pattern: str) -> re.Pattern[str]:
    """Compile an RE2 pattern the way Alertmanager does (`^(?:pattern)$`), for `fullmatch`."""
    try:
        translated = _translate(pattern)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            return re.compile(f"(?:{translated})")
    except re.error as exc:
        raise MatcherError(f"invalid regular expression {pattern!r}: {exc.msg}") from None
    except MatcherError as exc:
        raise MatcherError(f"invalid regular expression {pattern!r}: {exc}") from None


def _translate(pattern: str) -> str:
    out: list[str] = []
    groups: list[list[str]] = [[]]  # per open group: flags set by `(?flags)` inside it
    i = 0
    while i < len(pattern):
        i = _translate_at(pattern, i, out, groups)
    out.append(")" * len(groups[-1]))
    return "".join(out)


def _translate_at(p: str, i: int, out: list[str], groups: list[list[str]]) -> int:
    ch = p[i]
    if ch == "\\":
        return _outer_escape(p, i, out)
    if ch == "[":
        return _char_class(p, i, out)
    if ch == "(":
        return _open_group(p, i, out, groups)
    if ch == ")" and len(groups) > 1:
        out.append(")" * len(groups.pop()) + ")")
    elif ch == "|":
        flags = groups[-1]
        out.append(")" * len(flags) + "|" + "".join(f"(?{f}:" for f in flags))
    elif ch == "{" and not _REPEAT.match(p, i):
        out.append("\\{")  # RE2 reads `{` that does not start a repeat as a literal
    else:
        out.append(ch)
    return i + 1


def _outer_escape(p: str, i: int, out: list[str]) -> int:
    if i + 1 >= len(p):
        raise MatcherError("trailing backslash")
    c = p[i + 1]
    if c in _REJECTED_ESCAPES:
        raise MatcherError(_REJECTED_ESCAPES[c])
    if c.isdigit() and c != "0":
        raise MatcherError(f"backreference \\{c} is not RE2 syntax")
    if c == "Q":
        end = p.find("\\E", i + 2)
        literal = p[i + 2 :] if end < 0 else p[i + 2 : end]
        out.append(re.escape(literal))
        return len(p) if end < 0 else end + 2
    out.append(_OUTER_ESCAPES.get(c, "\\" + c))
    return i + 2


def _char_class(p: str, i: int, out: list[str]) -> int:
    out.append("[")
    i += 1
    if i < len(p) and p[i] == "^":
        out.append("^")
        i += 1
    if i < len(p) and p[i] == "]":
        out.append("\\]")
        i += 1
    while i < len(p) and p[i] != "]":
        i = _class_item(p, i, out)
    if i >= len(p):
        raise MatcherError("missing closing ]")
    out.append("]")
    return i + 1


def _class_item(p: str, i: int, out: list[str]) -> int:
    posix = _POSIX_CLASS.match(p, i)
    if posix:
        if posix.group(1) not in _POSIX:
            raise MatcherError(f"unsupported character class {posix.group()!r}")
        out.append(_POSIX[posix.group(1)])
        return posix.end()
    if p[i] == "\\" and i + 1 < len(p):
        c = p[i + 1]
        if c in "pP":
            raise MatcherError(_REJECTED_ESCAPES[c])
        out.append(_CLASS_ESCAPES.get(c, "\\" + c))
        return i + 2
    # `[`, `&`, `|`, `~` are plain characters in RE2 sets; escape them for Python.
    out.append("\\" + p[i] if p[i] in "[&|~" else p[i])
    return i + 1


def _open_group(p: str, i: int, out: list[str], groups: list[list[str]]) -> int:
    if not p.startswith("(?", i) or p.startswith("(?P<", i):
        out.append("(?P<" if p.startswith("(?P<", i) else "(")
        groups.append([])
        return i + (4 if p.startswith("(?P<", i) else 1)
    flags = _FLAGS.match(p, i)
    if flags is None or (flags.group(2) == ")" and flags.group(1) in ("", "-")):
        raise MatcherError(f"invalid or unsupported Perl syntax at {p[i : i + 4]!r}")
    if flags.group(1).endswith("-"):
        raise MatcherError(f"invalid or unsupported Perl syntax at {p[i : i + 4]!r}")
    if "U" in flags.group(1):
        raise MatcherError("the ungreedy flag (?U) is not supported")
    if flags.group(2) == ":":
        out.append(flags.group(0))
        groups.append([])
    else:  # `(?i)` applies to the rest of the enclosing group, alternative by alternative
        out.append(f"(?{flags.group(1)}:")
        groups[-1].append(flags.group(1))
    return flags.end()


def parse_op(op: str) -> MatchOp:
    """Check an operator string and narrow its type."""
    if op not in OPS:
        raise MatcherError(f"unknown match operator {op!r}; use one of = != =~ !~")
    return op
