"""Read a config file and everything it pulls in with `include:`, merged into one document.

`include:` (top level) lists paths or globs relative to the including file; matches are
read in sorted order, depth first, after the including file's own content. `monitors:`
lists are concatenated; any other section may be defined by one file only.
"""

from __future__ import annotations

import glob
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, NamedTuple

from tocsin.config.errors import ConfigError, KeyPath, Location, Pending
from tocsin.config.yaml_lines import ParsedFile, parse_file

CONCATENATED = frozenset({"monitors"})  # sections whose lists are joined across files
INCLUDE_KEY = "include"
PRIVATE_PREFIX = "x-"  # top-level keys tocsin ignores: a place to define YAML anchors


@dataclass
class Tree:
    """The merged document of a config file and its includes."""

    env: Mapping[str, str]
    data: dict[str, Any] = field(default_factory=dict)
    locations: dict[KeyPath, Location] = field(default_factory=dict)
    files: list[Path] = field(default_factory=list)
    errors: list[Pending] = field(default_factory=list)
    lost_paths: set[KeyPath] = field(default_factory=set)  # values already reported as errors
    fatal: bool = False  # something could not be read, so validating the rest would mislead
    _seen: dict[Path, Location | None] = field(default_factory=dict)


def read_tree(path: Path, env: Mapping[str, str]) -> Tree:
    """Read `path` and its includes (recursively) into one merged `Tree`."""
    tree = Tree(env)
    _read(tree, path, (), None)
    return tree


Stack = tuple[tuple[Path, Path], ...]  # (resolved, as written) for each including file


class Origin(NamedTuple):
    """The `include:` item that named a file: where it is, and its key path."""

    location: Location
    key: KeyPath


def _read(tree: Tree, path: Path, stack: Stack, origin: Origin | None) -> None:
    """Read one file into the tree, then the files it includes."""
    real = path.resolve()
    if _refused(tree, path, real, stack, origin):
        return
    tree._seen[real] = origin.location if origin else None
    parsed = _parse(tree, path, origin)
    if parsed is None:
        return
    includes = _merge(tree, parsed, path)
    for target, target_origin in _targets(tree, includes, parsed, path):
        _read(tree, target, (*stack, (real, path)), target_origin)


def _refused(tree: Tree, path: Path, real: Path, stack: Stack, origin: Origin | None) -> bool:
    """Whether `path` closes an include cycle or was already included (an error either way)."""
    reals = [resolved for resolved, _ in stack]
    if real in reals:
        chain = " -> ".join(str(shown) for _, shown in stack[reals.index(real) :])
        message = f"include cycle: {chain} -> {path}"
        _fail_at(tree, origin, message, "remove one of these includes", fatal=True)
        return True
    if real in tree._seen:
        first = tree._seen[real]
        message = f"{path} is already included at {first}"
        _fail_at(tree, origin, message, "include each file once")
        return True
    return False


def _parse(tree: Tree, path: Path, origin: Origin | None) -> ParsedFile | None:
    """Read and parse one file, or record why it could not be and return None."""
    text = _read_text(tree, path, origin)
    if text is None:
        return None
    tree.files.append(path)
    parsed = parse_file(text, path, tree.env)
    if parsed.fatal:
        tree.errors.extend(parsed.errors)
        tree.fatal = True
        return None
    if parsed.data is not None and not isinstance(parsed.data, dict):
        top = parsed.locations[()]
        hint = "start with sections like server:, storage: and monitors:"
        _fail(tree, top, (), "the top level must be a mapping of sections", hint, fatal=True)
        return None
    return parsed


def _read_text(tree: Tree, path: Path, origin: Origin | None) -> str | None:
    """The file's text, or None after recording a clear error."""
    name = path if origin else "the config file"  # the root file's name starts the error line
    try:
        return path.read_bytes().decode("utf-8")
    except FileNotFoundError:
        message, hint = f"{name} does not exist", _missing_hint(origin.location if origin else None)
    except IsADirectoryError:
        message, hint = f"{name} is a directory, not a file", None
    except OSError as exc:
        message, hint = f"cannot read {name}: {exc.strerror}", None
    except UnicodeDecodeError as exc:
        line = path.read_bytes()[: exc.start].count(b"\n") + 1
        _fail(tree, Location(path, line), (), "the file is not UTF-8 text", "save it as UTF-8", fatal=True)
        return None
    if origin is None:
        tree.errors.append(Pending((), ConfigError(message, file=path, hint=hint)))
        tree.fatal = True
    else:
        _fail_at(tree, origin, message, hint, fatal=True)
    return None


def _missing_hint(origin: Location | None) -> str:
    """How to fix a missing file, depending on whether it was the root or an include."""
    if origin is None:
        return "check the path; tocsin reads the file named by --config"
    return f"include paths are relative to the directory of {origin.file}"


def _merge(tree: Tree, parsed: ParsedFile, path: Path) -> Any:
    """Merge one parsed file into the tree; returns its `include:` value."""
    doc: dict[str, Any] = dict(parsed.data or {})
    includes = doc.pop(INCLUDE_KEY, None)
    for key in [key for key in doc if isinstance(key, str) and key.startswith(PRIVATE_PREFIX)]:
        del doc[key]
    offsets, skipped = {}, set()
    for key, value in doc.items():
        offset = _merge_section(tree, key, value, parsed.locations, path)
        if offset is None:
            skipped.add(key)
        else:
            offsets[key] = offset
    _rebase(tree, parsed, offsets, skipped)
    return includes


def _merge_section(tree: Tree, key: str, value: Any, locations: dict[KeyPath, Location], path: Path) -> int | None:
    """Add one top-level section; the index its items start at, or None if refused."""
    if key not in tree.data:
        tree.data[key] = list(value) if key in CONCATENATED and isinstance(value, list) else value
        return 0
    if key in CONCATENATED and isinstance(value, list) and isinstance(tree.data[key], list):
        offset = len(tree.data[key])
        tree.data[key].extend(value)
        return offset
    here = locations.get((key,))
    if key in CONCATENATED:
        _fail(tree, here, (key,), "must be a list (items start with '- ') to be combined with the other files")
    else:
        message = f"section '{key}' is defined in both {tree.locations.get((key,))} and {here}"
        _fail(tree, here, (key,), message, f"keep '{key}' in one file")
    return None


def _rebase(tree: Tree, parsed: ParsedFile, offsets: dict[str, int], skipped: set[str]) -> None:
    """Copy a file's key locations into the tree, shifting concatenated list items."""
    if skipped or any(offsets.values()):
        for key_path, location in parsed.locations.items():
            if not key_path or key_path[0] not in skipped:
                tree.locations.setdefault(_shift(key_path, offsets), location)
    else:  # nothing moves (always so for the first file): let C copy the dict
        tree.locations = {**parsed.locations, **tree.locations}
    tree.lost_paths.update(_shift(key_path, offsets) for key_path in parsed.lost_paths)
    tree.errors.extend(Pending(_shift(p.key, offsets), p.error) for p in parsed.errors)


def _shift(key_path: KeyPath, offsets: dict[str, int]) -> KeyPath:
    """The key path moved to where a concatenated list item landed in the merged list."""
    if len(key_path) > 1 and isinstance(key_path[1], int) and offsets.get(str(key_path[0])):
        return (key_path[0], key_path[1] + offsets[str(key_path[0])], *key_path[2:])
    return key_path


def _targets(tree: Tree, includes: Any, parsed: ParsedFile, path: Path) -> list[tuple[Path, Origin]]:
    """The files an `include:` value names, in order, each with the line that named it."""
    if includes is None:
        return []
    patterns = includes if isinstance(includes, list) else [includes]
    targets: list[tuple[Path, Origin]] = []
    for index, pattern in enumerate(patterns):
        key_path: KeyPath = (INCLUDE_KEY, index) if isinstance(includes, list) else (INCLUDE_KEY,)
        where = parsed.locations.get(key_path) or parsed.locations[(INCLUDE_KEY,)]
        matches = _expand(tree, pattern, path, where, key_path)
        targets.extend((match, Origin(where, key_path)) for match in matches)
    return targets


def _expand(tree: Tree, pattern: Any, path: Path, where: Location, key_path: KeyPath) -> list[Path]:
    """The files one include pattern matches (sorted), or [] after recording an error."""
    if not isinstance(pattern, str) or not pattern:
        hint = "write include: [monitors/*.yaml, other.yaml]"
        _fail(tree, where, key_path, "each include must be a file path or glob", hint)
        return []
    if not glob.has_magic(pattern):
        return [_join(path.parent, pattern)]
    matches = sorted(_join(path.parent, m) for m in glob.glob(pattern, root_dir=path.parent))
    matches = [match for match in matches if match.is_file()]
    if not matches:
        hint = _missing_hint(where)
        _fail(tree, where, key_path, f"no file matches {pattern!r}", hint, fatal=True)
    return matches


def _join(directory: Path, relative: str) -> Path:
    """`directory/relative` with `..` and `.` folded away, as Go's filepath.Join does."""
    return Path(os.path.normpath(directory / relative))


def _fail_at(tree: Tree, origin: Origin | None, message: str, hint: str | None, *, fatal: bool = False) -> None:
    """Record an error at the `include:` item that named the file."""
    where, key_path = origin if origin else (None, ())
    _fail(tree, where, key_path, message, hint, fatal=fatal)


def _fail(
    tree: Tree,
    where: Location | None,
    key_path: KeyPath,
    message: str,
    hint: str | None = None,
    *,
    fatal: bool = False,
) -> None:
    """Record an error at a location; a fatal one stops validation of the merged document."""
    file, line = (where.file, where.line) if where else (None, None)
    tree.errors.append(Pending(key_path, ConfigError(message, file, line, None, "", hint)))
    tree.fatal = tree.fatal or fatal
