"""Shared by the OpenSLO and Sloth importers: YAML documents, field paths in errors, building SloConfigs.

An importer reads plain YAML documents and builds the mapping of one tocsin SLO while
remembering, for each tocsin key, which field of the source document it came from; a
validation error on a tocsin key is then reported against that source field.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from pydantic import ValidationError

from tocsin.slo.config import SloConfig

_LABEL_CHARS = re.compile(r"[^a-zA-Z0-9_]")


class SpecError(Exception):
    """An SLO file that cannot be imported: which file and document, which field, and why."""

    def __init__(self, field: str, message: str, *, file: str | None = None, document: int | None = None) -> None:
        self.field, self.message, self.file, self.document = field, message, file, document
        super().__init__(self.format())

    def format(self) -> str:
        """`file: document N: field: message`."""
        where = [p for p in (self.file, None if self.document is None else f"document {self.document + 1}") if p]
        return ": ".join([*where, self.field, self.message] if self.field else [*where, self.message])

    def located(self, file: str, document: int | None = None) -> SpecError:
        """The same error, placed in a file (and document)."""
        return SpecError(self.field, self.message, file=file, document=self.document if document is None else document)


def read_documents(path: Path) -> list[Any]:
    """Every YAML document of a file (a document may also be a list of objects)."""
    try:
        loaded = list(yaml.safe_load_all(path.read_text()))
    except OSError as exc:
        raise SpecError("", f"cannot read: {exc.strerror or exc}", file=str(path)) from exc
    except yaml.YAMLError as exc:
        raise SpecError("", f"not valid YAML: {exc}", file=str(path)) from exc
    out: list[Any] = []
    for doc in loaded:
        out.extend(doc if isinstance(doc, list) else [doc] if doc is not None else [])
    return out


def field(doc: Mapping[str, Any], path: str, key: str, kind: type | tuple[type, ...], required: bool = True) -> Any:
    """`doc[key]` checked for type; SpecError naming `path.key` when missing or mistyped."""
    where = f"{path}.{key}" if path else key
    if key not in doc or doc[key] is None:
        if required:
            raise SpecError(where, "is required")
        return None
    value = doc[key]
    if not isinstance(value, kind) or (isinstance(value, bool) and bool not in _as_tuple(kind)):
        raise SpecError(where, f"must be {_kind_name(kind)}, not {type(value).__name__}")
    return value


def _as_tuple(kind: type | tuple[type, ...]) -> tuple[type, ...]:
    return kind if isinstance(kind, tuple) else (kind,)


def _kind_name(kind: type | tuple[type, ...]) -> str:
    names = {
        dict: "a mapping",
        list: "a list",
        str: "a string",
        int: "a number",
        float: "a number",
        bool: "true or false",
    }
    return " or ".join(dict.fromkeys(names.get(k, k.__name__) for k in _as_tuple(kind)))


def percent(ratio: float) -> float:
    """0.999 -> 99.9 without floating-point noise."""
    return float(Decimal(repr(float(ratio))) * 100)


def label_name(key: str) -> str:
    """A Prometheus label name from any key (`team.name` -> `team_name`)."""
    name = _LABEL_CHARS.sub("_", key)
    return name if re.match(r"[a-zA-Z_]", name) else f"_{name}"


def labels_of(raw: Any, where: str) -> dict[str, str]:
    """Labels from a mapping whose values are strings or lists of strings (OpenSLO allows both)."""
    if raw is None:
        return {}
    if not isinstance(raw, dict):
        raise SpecError(where, "must be a mapping")
    out: dict[str, str] = {}
    for key, value in raw.items():
        out[label_name(str(key))] = ",".join(map(str, value)) if isinstance(value, list) else str(value)
    return out


def build(data: dict[str, Any], origins: Mapping[str, str]) -> SloConfig:
    """Validate a tocsin SLO mapping; errors name the source field its key came from."""
    try:
        return SloConfig.model_validate(data)
    except ValidationError as exc:
        error = exc.errors(include_url=False)[0]
        loc = [str(part) for part in error["loc"] if not str(part)[:1].isupper()]  # drop union tags
        key = ".".join(loc)
        source = next((origins[k] for k in _prefixes(key) if k in origins), key)
        message = str(error["msg"]).removeprefix("Value error, ")
        raise SpecError(source, message) from exc


def _prefixes(key: str) -> list[str]:
    parts = key.split(".")
    return [".".join(parts[:n]) for n in range(len(parts), 0, -1)]
