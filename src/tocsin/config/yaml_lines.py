"""Parse one YAML file into plain Python values, remembering the line of every key and item.

PyYAML composes the node graph (in C when libyaml is available); we build the values
ourselves so that each mapping key and list item gets its line, duplicate keys are caught,
and `${ENV}` references in strings are substituted with the line they came from.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any, cast

import yaml
from yaml.composer import ComposerError
from yaml.events import (
    AliasEvent,
    Event,
    MappingEndEvent,
    MappingStartEvent,
    ScalarEvent,
    SequenceEndEvent,
    SequenceStartEvent,
    StreamEndEvent,
)
from yaml.nodes import ScalarNode

from tocsin.config.env import EnvError, expand_env
from tocsin.config.errors import ConfigError, KeyPath, Location, Pending

_STR = "tag:yaml.org,2002:str"
_SEQ = "tag:yaml.org,2002:seq"
_MAP = "tag:yaml.org,2002:map"
_BAD_KEY = object()  # stands for a key that was an error, so its value is read and dropped
_UNDEFINED = object()
_ANCHOR_HINT = "define the anchor (&name) before the alias (*name), outside the value that uses it"

_SYNTAX_HINTS = (
    (
        "mapping values are not allowed",
        "quote a value that contains ': ', or check the indentation",
    ),
    (
        "could not find expected ':'",
        "every key needs a ':' after it; check this line and the one above",
    ),
    ("expected <block end>", "check the indentation: items of one list or mapping line up exactly"),
    ("did not find expected", "check the indentation: items of one list or mapping line up exactly"),
    ("quoted scalar", "close the quote that starts there"),
    ("single document", "one file holds one document; remove the extra '---'"),
)


@dataclass
class ParsedFile:
    """The values of one YAML file, where each key came from, and what went wrong."""

    data: Any = None
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    errors: list[Pending] = field(default_factory=list)
    lost_paths: set[KeyPath] = field(default_factory=set)  # values already reported as errors
    fatal: bool = False  # the file could not be read as YAML at all


def parse_file(text: str, file: Path, env: Mapping[str, str]) -> ParsedFile:
    """Parse YAML `text` (read from `file`), substituting `${ENV}` references from `env`."""
    loader = _loader()(text)
    builder = _Builder(file, env, loader.get_event)
    try:
        builder.parsed.data = builder.document()
    except yaml.YAMLError as exc:
        return ParsedFile(errors=[Pending((), syntax_error(exc, file, text))], fatal=True)
    except RecursionError:
        error = ConfigError("the document is nested too deeply", file)
        return ParsedFile(errors=[Pending((), error)], fatal=True)
    finally:
        loader.dispose()
    return builder.parsed


@cache
def _loader() -> type[yaml.SafeLoader]:
    """The libyaml-backed safe loader when PyYAML was built with it, else the pure one."""
    loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return loader


@cache
def _scalar_constructors() -> dict[str, Callable[[ScalarNode], Any]]:
    """Constructors for the YAML 1.1 core scalar tags, from PyYAML's safe constructor."""
    safe = yaml.constructor.SafeConstructor()
    names = ("null", "bool", "int", "float", "timestamp", "binary")
    return {f"tag:yaml.org,2002:{name}": getattr(safe, f"construct_yaml_{name}") for name in names}


def _implicit_tag(value: str) -> str:
    """The tag YAML 1.1 gives a plain scalar (`3` is an int, `yes` a bool), as PyYAML does."""
    for tag, regexp in yaml.resolver.Resolver.yaml_implicit_resolvers.get(value[:1], ()):
        if regexp.match(value):
            return str(tag)
    return _STR


def syntax_error(exc: yaml.YAMLError, file: Path, text: str) -> ConfigError:
    """Turn a PyYAML error into a `ConfigError` with file, line, column and a hint."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc)
    context = getattr(exc, "context", None)
    message = f"invalid YAML: {problem}" + (f" ({context}{_started(exc, mark)})" if context else "")
    line, column = (mark.line + 1, mark.column + 1) if mark is not None else (None, None)
    hint = _syntax_hint(problem + " " + (context or ""), text, mark)
    return ConfigError(message=message, file=file, line=line, column=column, hint=hint)


def _started(exc: yaml.YAMLError, mark: Any) -> str:
    """` that starts at line 2, column 11` when the context began elsewhere than the problem."""
    start = getattr(exc, "context_mark", None)
    if start is None or mark is None or start.line == mark.line:
        return ""
    return f" that starts at line {start.line + 1}, column {start.column + 1}"


def _syntax_hint(problem: str, text: str, mark: Any) -> str | None:
    """A suggestion for the common YAML mistakes, including tabs used for indentation."""
    if mark is not None and text[mark.index : mark.index + 1] == "\t":
        return "YAML indents with spaces; replace the tab on this line"
    return next((hint for needle, hint in _SYNTAX_HINTS if needle in problem), None)


def _short(tag: str | None) -> str:
    """A tag the way it is usually written: `!!set` rather than `tag:yaml.org,2002:set`."""
    return f"'{str(tag).replace('tag:yaml.org,2002:', '!!')}'"


def _line(event: Event) -> int:
    """The 1-based line an event starts on."""
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 0


class _Builder:
    """Builds dicts, lists and scalars from parser events, recording lines and errors."""

    def __init__(self, file: Path, env: Mapping[str, str], next_event: Callable[[], Event]) -> None:
        self.file = file
        self.env = env
        self.next_event = next_event
        self.parsed = ParsedFile()
        self.anchors: dict[str, Any] = {}
        self.tags: dict[str, str] = {}
        self.dispatch: dict[type[Event], Callable[[Any, KeyPath], Any]] = {
            ScalarEvent: self.scalar,
            SequenceStartEvent: self.sequence,
            MappingStartEvent: self.mapping,
            AliasEvent: self.alias,
        }

    def document(self) -> Any:
        """The value of the only document in the stream (None when there is none)."""
        self.next_event()  # StreamStartEvent
        event = self.next_event()
        if isinstance(event, StreamEndEvent):
            return None
        root = self.next_event()
        self.parsed.locations[()] = Location(self.file, _line(root))
        value = self.value(root, ())
        self.next_event()  # DocumentEndEvent
        extra = self.next_event()
        if not isinstance(extra, StreamEndEvent):
            problem = "but found another document"
            raise ComposerError("expected a single document in the stream", None, problem, cast(Any, extra.start_mark))
        return value

    def value(self, event: Event, path: KeyPath) -> Any:
        """The value that starts with `event`, found at `path` in the document."""
        return self.dispatch[type(event)](event, path)

    def sequence(self, start: SequenceStartEvent, path: KeyPath) -> list[Any]:
        """A list, recording the line of each item."""
        items: list[Any] = []
        event = self.next_event()
        while not isinstance(event, SequenceEndEvent):
            item_path = (*path, len(items))
            self.parsed.locations[item_path] = Location(self.file, _line(event))
            items.append(self.value(event, item_path))
            event = self.next_event()
        self.check_tag(start, _SEQ, path)
        self.anchor(start, items)  # only now: an alias inside its own anchor is an error
        return items

    def mapping(self, start: MappingStartEvent, path: KeyPath) -> dict[Any, Any]:
        """A dict, recording the line of each key; `<<` merge keys fill in missing keys."""
        out: dict[Any, Any] = {}
        merged: dict[Any, Any] = {}
        lines: dict[Any, int] = {}
        event = self.next_event()
        while not isinstance(event, MappingEndEvent):
            if self.is_merge(event):
                self.merge_into(merged, self.next_event(), path)
            else:
                self.entry(out, lines, event, path)
            event = self.next_event()
        self.check_tag(start, _MAP, path)
        for key, val in merged.items():
            out.setdefault(key, val)
        self.anchor(start, out)  # only now: an alias inside its own anchor is an error
        return out

    def entry(self, out: dict[Any, Any], lines: dict[Any, int], key_event: Event, path: KeyPath) -> None:
        """Read one `key: value` into `out`, refusing keys that are not scalars or are repeated."""
        line = _line(key_event)
        key = self.key(key_event, path)
        value_event = self.next_event()
        if key is _BAD_KEY or key in lines:
            if key is not _BAD_KEY:
                self.duplicate(key, lines[key], line, path)
            self.value(value_event, (*path, "<dropped>"))  # read past it; the first one stays
            return
        lines[key] = line
        self.parsed.locations[(*path, key)] = Location(self.file, line)
        out[key] = self.value(value_event, (*path, key))

    def key(self, event: Event, path: KeyPath) -> Any:
        """A mapping key: a scalar, never substituted; anything else is an error."""
        if isinstance(event, ScalarEvent):
            return self.scalar(event, path, substitute=False)
        value = self.value(event, path)
        if isinstance(value, dict | list):
            self.fail(event, path, "a key must be a plain value, not a list or mapping", lost=False)
            return _BAD_KEY
        return value

    def is_merge(self, event: Event) -> bool:
        """Whether `event` is the `<<` merge key."""
        return isinstance(event, ScalarEvent) and event.value == "<<" and event.implicit[0] and event.tag is None

    def merge_into(self, merged: dict[Any, Any], event: Event, path: KeyPath) -> None:
        """Apply `<<: *anchor` (or a list of them; earlier ones win) to `merged`."""
        value = self.value(event, (*path, "<<"))
        for source in value if isinstance(value, list) else [value]:
            if not isinstance(source, dict):
                self.fail(event, path, "'<<' must be followed by a mapping or a list of mappings")
                return
            for key, val in source.items():
                merged.setdefault(key, val)

    def alias(self, event: AliasEvent, path: KeyPath) -> Any:
        """The value of the anchor an alias (`*name`) refers to."""
        value = self.anchors.get(event.anchor or "", _UNDEFINED)
        if value is _UNDEFINED:
            message = f"alias *{event.anchor} refers to no anchor defined before it"
            return self.fail(event, path, message, _ANCHOR_HINT)
        return value

    def anchor(self, event: Any, value: Any) -> None:
        """Remember a value under its anchor (`&name`), if it has one."""
        if event.anchor is not None:
            self.anchors[event.anchor] = value

    def check_tag(self, event: Any, default: str, path: KeyPath) -> None:
        """Refuse explicit tags on collections (`!!set`, `!custom`), which tocsin does not use."""
        if event.tag not in (None, "!", default):
            self.fail(event, path, f"unsupported YAML tag {_short(event.tag)}")

    def scalar(self, event: ScalarEvent, path: KeyPath, *, substitute: bool = True) -> Any:
        """A string (with `${ENV}` substituted when asked), number, boolean, null or date."""
        tag, value = event.tag, event.value
        if tag is None or tag == "!":
            tag = self.implicit_tag(value) if event.implicit[0] else _STR
        if tag != _STR:
            value = self.construct(event, tag, path)
        elif substitute and "$" in value:
            value = self.substitute(event, path)
        if event.anchor is not None:
            self.anchors[event.anchor] = value
        return value

    def implicit_tag(self, value: str) -> str:
        """`_implicit_tag`, remembered per value: keys and common values repeat thousands of times."""
        tag = self.tags.get(value)
        if tag is None:
            tag = self.tags[value] = _implicit_tag(value)
        return tag

    def construct(self, event: ScalarEvent, tag: str, path: KeyPath) -> Any:
        """A non-string scalar, built by PyYAML's safe constructor for its tag."""
        construct = _scalar_constructors().get(tag)
        if construct is None:
            return self.fail(event, path, f"unsupported YAML tag {_short(tag)}")
        try:
            return construct(ScalarNode(tag, event.value))
        except (ValueError, TypeError, yaml.YAMLError):
            return self.fail(event, path, f"{event.value!r} cannot be read as {_short(tag)}")

    def substitute(self, event: ScalarEvent, path: KeyPath) -> str:
        """The string with environment references replaced; problems become errors."""
        try:
            return expand_env(event.value, self.env)
        except EnvError as exc:
            for problem in exc.problems:
                self.fail(event, path, problem.message, problem.hint)
            return str(event.value)

    def duplicate(self, key: Any, first: int, second: int, path: KeyPath) -> None:
        """Record a key written twice in the same mapping, naming both lines."""
        error = ConfigError(
            message=f"duplicate key {key!r} (first on line {first}, again on line {second})",
            file=self.file,
            line=second,
            hint="remove one of them; a key may appear only once in a mapping",
        )
        self.parsed.errors.append(Pending((*path, key), error))

    def fail(self, event: Event, path: KeyPath, message: str, hint: str | None = None, *, lost: bool = True) -> None:
        """Record an error at the event's line; a `lost` value is not validated any further."""
        if lost:
            self.parsed.lost_paths.add(path)
        line = _line(event)
        error = ConfigError(message=message, file=self.file, line=line, hint=hint)
        self.parsed.errors.append(Pending(path, error))
