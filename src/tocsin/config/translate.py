"""Turn pydantic validation errors into plain-English `ConfigError`s at the right YAML line."""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace
from typing import Any

from pydantic import BaseModel, ValidationError

from tocsin.config.errors import (
    DUPLICATE_NAME_ERROR,
    LOCATED_ERROR,
    ConfigError,
    KeyPath,
    Location,
    Pending,
    locate,
)
from tocsin.config.models import PATTERN_HELP
from tocsin.config.schema import keys_at, kinds_at

ROOT_EXTRA_KEYS = ("include",)  # top-level keys the loader consumes before validation
_DISCRIMINATOR = "kind"
_QUOTED = re.compile(r"'([^']*)'")
_DURATION_HINT = "units are ms, s, m, h, d, w and y; combine them like 1h30m"

_EXPECTED = {  # pydantic type errors -> what the value should have been, in words
    "string_type": "a string",
    "int_type": "a whole number",
    "int_parsing": "a whole number",
    "int_from_float": "a whole number",
    "float_type": "a number",
    "float_parsing": "a number",
    "bool_type": "true or false",
    "bool_parsing": "true or false",
    "dict_type": "a mapping (key: value)",
    "model_type": "a mapping (key: value)",
    "model_attributes_type": "a mapping (key: value)",
    "list_type": "a list",
}

_FIELD_HINTS = {  # shown when a value has none of the shapes a field accepts
    "conditions": 'write a condition as a string like "[STATUS] == 200", or as {condition: ..., severity: degraded}',
    "expected_status": "write status codes like 200 or classes like 2xx",
}

_BOUNDS = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most")}
_BOUNDS |= {"greater_than": ("gt", "greater than"), "less_than": ("lt", "less than")}


@dataclass(frozen=True)
class Issue:
    """One pydantic error, with its location re-expressed as a path in the YAML document."""

    path: KeyPath
    type: str
    input: Any
    message: str
    ctx: dict[str, Any] = field(default_factory=dict)
    branch: bool = False  # raised by one member of a plain union (str | ConditionSpec)
    expected: tuple[str, ...] = ()  # for merged union type errors


Explained = tuple[KeyPath, str, str | None]  # where to point, message, hint


def translate(
    exc: ValidationError,
    root: type[BaseModel],
    data: Any,
    locations: dict[KeyPath, Location],
    skip: set[KeyPath],
) -> list[Pending]:
    """Errors for `data`, validated against `root`, ignoring those under `skip` paths."""
    issues = [_issue(error, data) for error in exc.errors(include_url=False)]
    issues = [i for i in issues if i.type != DUPLICATE_NAME_ERROR and not _under(i.path, skip)]
    pending: list[Pending] = []
    for issue in _merge_union_branches(issues):
        for path, message, hint in explain(issue, root, data):
            location = locate(locations, path)
            file, line = (location.file, location.line) if location else (None, None)
            pending.append(Pending(path, ConfigError(message, file, line, None, "", hint)))
    return pending


def _under(path: KeyPath, skip: set[KeyPath]) -> bool:
    """Whether `path` is one of `skip` or below one."""
    return any(path[: len(prefix)] == prefix for prefix in skip)


def _issue(error: Any, data: Any) -> Issue:
    """Re-express one pydantic error dict as an `Issue`."""
    path, branch = _walk(error["loc"], data, error["type"] == "missing")
    ctx = error.get("ctx") or {}
    return Issue(path, error["type"], error.get("input"), error["msg"], ctx, branch)


def _walk(loc: tuple[str | int, ...], data: Any, missing: bool) -> tuple[KeyPath, bool]:
    """Follow `loc` through `data`, dropping union tags; the path and whether a tag was dropped."""
    path: list[str | int] = []
    node, branch = data, False
    for index, part in enumerate(loc):
        if isinstance(node, dict) and node.get(_DISCRIMINATOR) == part:
            continue  # the tag of a discriminated union: only one member was tried
        if _has(node, part):
            node = node[part]
        elif not (missing and index == len(loc) - 1):
            branch = branch or part != "[key]"
            continue
        path.append(part)
    return tuple(path), branch


def _has(node: Any, part: str | int) -> bool:
    """Whether `node` is a dict with key `part` or a list with index `part`."""
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def _merge_union_branches(issues: list[Issue]) -> list[Issue]:
    """Drop type errors of union members the value was not meant for; merge the rest per path."""
    others = [issue for issue in issues if not _is_branch_mismatch(issue)]
    out: list[Issue] = []
    groups: dict[KeyPath, int] = {}  # path -> index in out of its merged union error
    for issue in issues:
        if not _is_branch_mismatch(issue):
            out.append(issue)
        elif not any(o.branch and o.path[: len(issue.path)] == issue.path for o in others):
            at = groups.setdefault(issue.path, len(out))
            if at == len(out):
                out.append(Issue(issue.path, "union_type", issue.input, ""))
            out[at] = replace(out[at], expected=(*out[at].expected, _EXPECTED[issue.type]))
    return out


def _is_branch_mismatch(issue: Issue) -> bool:
    """Whether a union member rejected the value for its type alone."""
    return issue.branch and issue.type in _EXPECTED


def explain(issue: Issue, root: type[BaseModel], data: Any) -> list[Explained]:
    """Plain-English messages (and hints) for one issue, each with the path to point at."""
    if issue.type == LOCATED_ERROR:
        return [_own_message((*issue.path, *sub), text) for sub, text in issue.ctx["problems"]]
    handler = _HANDLERS.get(issue.type)
    if handler is not None:
        return [handler(issue, root, data)]
    if issue.type in _EXPECTED:
        return [_wrong_type(issue, root, data)]
    if issue.type in _BOUNDS:
        return [_bound(issue, root, data)]
    text = issue.message.removeprefix("Value error, ").removeprefix("Assertion failed, ")
    return [_own_message(issue.path, text)]


def _own_message(path: KeyPath, text: str) -> Explained:
    """A message from our own validators, without a `url must ...` that repeats the key path."""
    keys = [part for part in path if isinstance(part, str)]
    for prefix in (".".join(keys[-2:]), keys[-1] if keys else ""):
        if prefix and text.startswith(f"{prefix} must "):
            text = text[len(prefix) + 1 :]
            break
    hint = _DURATION_HINT if "is not a duration" in text or "a duration is" in text else None
    return path, text, hint


def _unknown_key(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`unknown key 'intervl'`, suggesting the closest valid key."""
    key, parent = issue.path[-1], issue.path[:-1]
    valid = keys_at(root, parent, data) + (list(ROOT_EXTRA_KEYS) if not parent else [])
    return issue.path, f"unknown key {key!r}", _closest(str(key), valid, "valid keys here")


def _missing(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`missing required key 'url'`, pointing at the mapping that lacks it."""
    return issue.path[:-1], f"missing required key {issue.path[-1]!r}", None


def _bad_kind(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`unknown monitor kind 'htp'; use one of http, tcp, ...`, at the `kind:` line."""
    kinds = _QUOTED.findall(str(issue.ctx.get("expected_tags", "")))
    tag = str(issue.ctx.get("tag"))
    message = f"unknown {_noun(issue.path)} kind {tag!r}; use one of {', '.join(kinds)}"
    return (*issue.path, _DISCRIMINATOR), message, _closest(tag, kinds, None)


def _no_kind(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`missing required key 'kind'` for a union member, listing the kinds."""
    kinds = ", ".join(kinds_at(root, issue.path, data))
    return issue.path, f"missing required key {_DISCRIMINATOR!r}; use one of {kinds}", None


def _noun(path: KeyPath) -> str:
    """`monitor` for an item of `monitors`, to name what kind of thing has a bad kind."""
    parent = next((part for part in reversed(path) if isinstance(part, str)), "")
    return parent.removesuffix("s") or "item"


def _wrong_type(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`must be a whole number, not 'abc'`; dict keys that are not strings get their own text."""
    if issue.type == "string_type" and issue.branch is False and _is_key_error(issue, data):
        return issue.path, f"key {_show(issue.input)} must be a string", f"write it in quotes: '{issue.input}'"
    return issue.path, f"must be {_EXPECTED[issue.type]}, not {_show(issue.input)}", _empty_hint(issue)


def _union_type(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`must be a string or a mapping, not 5` for a value no union member accepts."""
    expected = " or ".join(dict.fromkeys(issue.expected))
    key = next((part for part in reversed(issue.path) if isinstance(part, str)), "")
    return issue.path, f"must be {expected}, not {_show(issue.input)}", _FIELD_HINTS.get(key)


def _is_key_error(issue: Issue, data: Any) -> bool:
    """Whether a string_type error is about a mapping key (the loc ended in `[key]`)."""
    return bool(issue.path) and not isinstance(issue.input, str) and issue.input == issue.path[-1]


def _empty_hint(issue: Issue) -> str | None:
    """A hint for a key written with nothing after it, which YAML reads as null."""
    return "a key with nothing after it is null; remove the key or give it a value" if issue.input is None else None


def _literal(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`must be one of GET, HEAD, ..., not 'GETT'`, suggesting the closest choice."""
    choices = _QUOTED.findall(str(issue.ctx.get("expected", "")))
    text = f"must be one of {', '.join(choices)}, not {_show(issue.input)}"
    if not isinstance(issue.input, str) and str(issue.input) in choices:
        return issue.path, text, f"write it in quotes: '{issue.input}'"
    return issue.path, text, _closest(str(issue.input), choices, None)


def _bound(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`must be at least 1024, not 10`."""
    name, words = _BOUNDS[issue.type]
    return issue.path, f"must be {words} {issue.ctx.get(name)}, not {_show(issue.input)}", None


def _pattern(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`'my api' is not a valid name`, with how such values are written."""
    pattern = str(issue.ctx.get("pattern"))
    key = next((part for part in reversed(issue.path) if isinstance(part, str)), "value")
    hint = PATTERN_HELP.get(pattern, f"it must match {pattern}")
    return issue.path, f"{_show(issue.input)} is not a valid {key}", hint


def _length(issue: Issue, root: type[BaseModel], data: Any) -> Explained:
    """`must be at least 16 characters long, not 5`."""
    short = issue.type == "string_too_short"
    limit = issue.ctx.get("min_length" if short else "max_length")
    words = "at least" if short else "at most"
    return issue.path, f"must be {words} {limit} characters long, not {len(str(issue.input))}", None


def _show(value: Any) -> str:
    """A short description of a value as the user wrote it."""
    if isinstance(value, dict):
        return "a mapping"
    if isinstance(value, list):
        return "a list"
    if value is None:
        return "empty (null)"
    if isinstance(value, bool):
        return "true" if value else "false"
    return repr(value)


def _closest(word: str, choices: Iterable[str], listing: str | None) -> str | None:
    """`did you mean 'interval'?`, or a list of the valid choices when nothing is close."""
    options = sorted(set(choices))
    folded = {choice.lower(): choice for choice in options}
    match = folded.get(word.lower()) or next(iter(difflib.get_close_matches(word, options, n=1)), None)
    if match is not None:
        return f"did you mean {match!r}?"
    return f"{listing}: {', '.join(options)}" if listing and options else None


_HANDLERS: dict[str, Callable[[Issue, type[BaseModel], Any], Explained]] = {
    "extra_forbidden": _unknown_key,
    "missing": _missing,
    "union_tag_invalid": _bad_kind,
    "union_tag_not_found": _no_kind,
    "union_type": _union_type,
    "literal_error": _literal,
    "string_pattern_mismatch": _pattern,
    "string_too_short": _length,
    "string_too_long": _length,
}
