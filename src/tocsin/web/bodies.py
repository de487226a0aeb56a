"""Request bodies read by hand: malformed JSON is a 400 saying where, invalid fields a 422 naming them."""

from __future__ import annotations

from typing import Any

import orjson
from fastapi import HTTPException, Request
from pydantic import ValidationError

from tocsin.config.errors import LOCATED_ERROR


class InvalidBody(HTTPException):
    """A 422 whose detail lists each field that is wrong and why."""

    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__(422, {"detail": "invalid request", "errors": errors})
        self.errors = errors


def malformed(message: str, position: int | None = None) -> HTTPException:
    """The 400 for a body that is not JSON."""
    where = f" at character {position}" if position is not None else ""
    errors = [{"field": "body", "message": f"{message}{where}", "type": "json_invalid"}]
    return HTTPException(400, {"detail": f"malformed JSON: {message}{where}", "errors": errors})


async def json_object(request: Request) -> dict[str, Any]:
    """The body as a JSON object, or 400 (not JSON) / 422 (not an object)."""
    raw = await request.body()
    try:
        data = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise malformed(exc.msg, exc.pos) from None
    if not isinstance(data, dict):
        raise InvalidBody([{"field": "body", "message": "expected a JSON object", "type": "dict_type"}])
    return data


def field_errors(exc: ValidationError, tag: Any = None) -> list[dict[str, str]]:
    """Pydantic errors as `{field, message, type}`, without the union tag pydantic puts first."""
    out = []
    for error in exc.errors():
        loc = list(error["loc"])
        if tag is not None and loc and loc[0] == tag:
            loc = loc[1:]
        if error["type"] == LOCATED_ERROR:  # a model-level check that names the keys at fault
            for path, message in error.get("ctx", {}).get("problems", ()):
                out.append({"field": _dotted([*loc, *path]), "message": message, "type": "value_error"})
            continue
        field = _dotted(loc) or ("kind" if "union_tag" in error["type"] else "body")
        out.append({"field": field, "message": error["msg"], "type": error["type"]})
    return out


def _dotted(path: list[Any]) -> str:
    return ".".join(str(part) for part in path)
