"""Config errors that name the file, line and key, and say how to fix them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, NamedTuple

from pydantic_core import PydanticCustomError

KeyPath = tuple[str | int, ...]

LOCATED_ERROR = "tocsin_located"  # pydantic error type whose ctx names the offending keys
DUPLICATE_NAME_ERROR = "tocsin_duplicate_name"  # reported by the loader with both lines instead


class Location(NamedTuple):
    """Where a key or list item was written: a file and a 1-based line."""

    file: Path
    line: int

    def __str__(self) -> str:
        return f"{self.file}:{self.line}"


@dataclass(frozen=True)
class ConfigError:
    """One problem in the configuration, with where it is and how to fix it."""

    message: str
    file: Path | None = None
    line: int | None = None
    column: int | None = None
    path: str = ""
    hint: str | None = None

    def format(self) -> str:
        """Render as `file:line[:column]: key.path: message`, plus an indented hint line."""
        where = "".join(f"{part}:" for part in (self.file, self.line, self.column) if part is not None)
        head = " ".join(part for part in (where, f"{self.path}:" if self.path else "") if part)
        text = f"{head} {self.message}" if head else self.message
        return f"{text}\n  hint: {self.hint}" if self.hint else text


class ConfigErrors(Exception):
    """Every problem found while loading a configuration, not just the first."""

    def __init__(self, *errors: ConfigError) -> None:
        super().__init__(*errors)
        self.errors: tuple[ConfigError, ...] = errors

    def format(self) -> str:
        """Render one line per error (plus its hint line), in file and line order."""
        return "\n".join(error.format() for error in self.errors)

    def __str__(self) -> str:
        return self.format()


class Pending(NamedTuple):
    """An error whose key path is rendered once the whole merged document is known."""

    key: KeyPath
    error: ConfigError

    def render(self, data: Any) -> ConfigError:
        """The error with its key path rendered against the merged document."""
        return replace(self.error, path=render_path(self.key, data))


def error_at(location: Location | None, path: str, message: str, hint: str | None = None) -> ConfigError:
    """Build a `ConfigError` placed at a location (or nowhere in particular)."""
    file, line = (location.file, location.line) if location else (None, None)
    return ConfigError(message=message, file=file, line=line, path=path, hint=hint)


def render_path(path: KeyPath, data: Any) -> str:
    """Render a key path like `monitors[api].url`, naming list items by their `name` if any."""
    out, node = "", data
    for part in path:
        if isinstance(part, int) and not isinstance(node, dict):  # dict keys may be ints too
            out += f"[{_item_label(node, part)}]"
        else:
            out += f".{part}" if out else str(part)
        node = _child(node, part)
    return out


def _item_label(items: Any, index: int) -> str | int:
    """The item's `name` when it has a usable one, else its index."""
    item = _child(items, index)
    name = item.get("name") if isinstance(item, dict) else None
    return name if isinstance(name, str) and name else index


def _child(node: Any, part: str | int) -> Any:
    """Step into a dict or list without failing on a mismatch."""
    if isinstance(node, dict):
        return node.get(part)
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def locate(locations: dict[KeyPath, Location], path: KeyPath) -> Location | None:
    """The location of `path`, or of its nearest ancestor that has one."""
    for end in range(len(path), -1, -1):
        found = locations.get(path[:end])
        if found is not None:
            return found
    return None


def located_error(problems: Sequence[tuple[KeyPath, str]]) -> PydanticCustomError:
    """A pydantic error that tells the loader which keys inside the model are at fault."""
    text = "; ".join(message for _, message in problems)
    return PydanticCustomError(LOCATED_ERROR, "{text}", {"text": text, "problems": problems})


def sort_errors(errors: Iterable[ConfigError], files: Sequence[Path]) -> list[ConfigError]:
    """Order errors by file (in the order files were read), then line and column."""
    order = {file: index for index, file in enumerate(files)}

    def key(error: ConfigError) -> tuple[int, int, int]:
        """Sort key: file order, then line, then column."""
        return (order.get(error.file, -1) if error.file else -1, error.line or 0, error.column or 0)

    return sorted(errors, key=key)
