"""Load `tocsin.yaml` (and its includes) into a validated `TocsinConfig`, or explain every problem."""

from __future__ import annotations

import gc
import os
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from tocsin.config.errors import ConfigError, ConfigErrors, KeyPath, Location, Pending, sort_errors
from tocsin.config.include import Tree, read_tree
from tocsin.config.models import TocsinConfig
from tocsin.config.translate import translate


@dataclass(frozen=True)
class LoadedConfig:
    """A validated configuration and where each part of it was written."""

    config: TocsinConfig
    files: tuple[Path, ...]  # every file read, for change detection
    locations: Mapping[KeyPath, Location]  # keyed by path in the merged document

    def location_of(self, path: KeyPath) -> Location | None:
        """Where the key or list item at `path` (e.g. `("monitors", 0)`) was written."""
        return self.locations.get(tuple(path))

    def monitor_location(self, name: str) -> str | None:
        """`file:line` of the monitor called `name`, or None if there is none."""
        index = self._monitor_index.get(name)
        location = self.location_of(("monitors", index)) if index is not None else None
        return str(location) if location else None

    @cached_property
    def _monitor_index(self) -> dict[str, int]:
        """Monitor name -> position, built on first use."""
        return {monitor.name: index for index, monitor in enumerate(self.config.monitors)}


def load_config(path: str | Path, env: Mapping[str, str] | None = None) -> LoadedConfig:
    """Read, merge, substitute and validate a config file; `ConfigErrors` lists every problem."""
    with _gc_paused():
        tree = read_tree(Path(path), os.environ if env is None else env)
        pending = list(tree.errors)
        config = None
        if not tree.fatal:
            pending.extend(duplicate_names(tree))
            config, problems = _validate(tree)
            pending.extend(problems)
    errors = sort_errors((p.render(tree.data) for p in pending), tree.files)
    if errors or config is None:
        raise ConfigErrors(*errors)
    return LoadedConfig(config, tuple(tree.files), tree.locations)


def validate_file(path: str | Path, env: Mapping[str, str] | None = None) -> list[ConfigError]:
    """Every problem in a config file (empty when it is valid), for `tocsin validate`."""
    try:
        load_config(path, env)
    except ConfigErrors as exc:
        return list(exc.errors)
    return []


@contextmanager
def _gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector while loading.

    A large file builds hundreds of thousands of small dicts and lists that all stay alive;
    the collector would scan them again and again for nothing (about a third of the time
    for 10,000 monitors). Reference counting still frees everything as usual.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _validate(tree: Tree) -> tuple[TocsinConfig | None, list[Pending]]:
    """The validated config, or None and the translated pydantic errors."""
    try:
        return TocsinConfig.model_validate(tree.data), []
    except ValidationError as exc:
        return None, translate(exc, TocsinConfig, tree.data, tree.locations, tree.lost_paths)


def duplicate_names(tree: Tree) -> list[Pending]:
    """An error for each monitor whose name an earlier monitor already uses (both places named)."""
    monitors = tree.data.get("monitors")
    first: dict[str, int] = {}
    errors: list[Pending] = []
    for index, name in enumerate(_names(monitors)):
        if name is None:
            continue
        if name not in first:
            first[name] = index
            continue
        errors.append(_duplicate(tree, name, first[name], index))
    return errors


def _names(monitors: Any) -> list[str | None]:
    """The `name` of each monitor written as a mapping with a string name (else None)."""
    items = monitors if isinstance(monitors, list) else []
    return [
        item.get("name") if isinstance(item, dict) and isinstance(item.get("name"), str) else None for item in items
    ]


def _duplicate(tree: Tree, name: str, first: int, second: int) -> Pending:
    """The error for a monitor name used a second time."""
    path: KeyPath = ("monitors", second, "name")
    here = tree.locations.get(path)
    earlier = tree.locations.get(("monitors", first, "name"))
    error = ConfigError(
        message=f"monitor name {name!r} is already used at {earlier}",
        file=here.file if here else None,
        line=here.line if here else None,
        hint="monitor names must be unique; rename one of them",
    )
    return Pending(path, error)
