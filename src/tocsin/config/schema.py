"""Which keys are valid at a place in the document, read from the pydantic models."""

from __future__ import annotations

import types
import typing
from typing import Any

from pydantic import BaseModel

from tocsin.config.errors import KeyPath

_DISCRIMINATOR = "kind"


def keys_at(root: type[BaseModel], path: KeyPath, data: Any) -> list[str]:
    """The field names of the model that validates the mapping at `path` ([] if none)."""
    model = model_at(root, path, data)
    return list(model.model_fields) if model else []


def model_at(root: type[BaseModel], path: KeyPath, data: Any) -> type[BaseModel] | None:
    """The model class that validates the value at `path` in `data`, if it is a model."""
    annotation, node = _annotation_at(root, path, data)
    resolved = _resolve(annotation, node)
    return resolved if _is_model(resolved) else None


def kinds_at(root: type[BaseModel], path: KeyPath, data: Any) -> list[str]:
    """The `kind` values the union at `path` accepts, e.g. http, tcp, ... for a monitor."""
    annotation, _ = _annotation_at(root, path, data)
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    members = typing.get_args(annotation) if _is_union(annotation) else ()
    return [str(kind) for member in members if _is_model(member) for kind in _kind_values(member)]


def _annotation_at(root: type[BaseModel], path: KeyPath, data: Any) -> tuple[Any, Any]:
    """The annotation that validates the value at `path`, and that value."""
    annotation: Any = root
    node = data
    for part in path:
        annotation = _step(_resolve(annotation, node), part)
        node = node.get(part) if isinstance(node, dict) else _item(node, part)
    return annotation, node


def _step(annotation: Any, part: str | int) -> Any:
    """The annotation one key or index below `annotation`, or None."""
    if _is_model(annotation):
        field = annotation.model_fields.get(part) if isinstance(part, str) else None
        return field.annotation if field else None
    args = typing.get_args(annotation)
    if typing.get_origin(annotation) is list and isinstance(part, int):
        return args[0]
    if typing.get_origin(annotation) is dict and args:
        return args[1]
    return None


def _resolve(annotation: Any, node: Any) -> Any:
    """Unwrap `Annotated[...]` and pick the union member that fits `node`."""
    while typing.get_origin(annotation) is typing.Annotated:
        annotation = typing.get_args(annotation)[0]
    if _is_union(annotation):
        return _pick(typing.get_args(annotation), node)
    return annotation


def _pick(members: tuple[Any, ...], node: Any) -> Any:
    """The union member for `node`: the model whose `kind` matches, else the only model."""
    models = [member for member in members if _is_model(member)]
    tag = node.get(_DISCRIMINATOR) if isinstance(node, dict) else None
    for model in models:
        if tag is not None and tag in _kind_values(model):
            return model
    return models[0] if len(models) == 1 else None


def _kind_values(model: type[BaseModel]) -> tuple[Any, ...]:
    """The values a model's `kind: Literal[...]` field accepts (empty when it has none)."""
    field = model.model_fields.get(_DISCRIMINATOR)
    return typing.get_args(field.annotation) if field else ()


def _item(node: Any, part: str | int) -> Any:
    """The list item at `part`, or None."""
    if isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node):
        return node[part]
    return None


def _is_union(annotation: Any) -> bool:
    """Whether `annotation` is `X | Y` (either spelling)."""
    return typing.get_origin(annotation) in (typing.Union, types.UnionType)


def _is_model(annotation: Any) -> bool:
    """Whether `annotation` is a pydantic model class."""
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)
