"""Reading HTML form posts."""

from __future__ import annotations

from fastapi import Request
from starlette.datastructures import FormData


async def form_values(request: Request) -> FormData:
    """The posted form (urlencoded; the body limit already applies)."""
    return await request.form()


def form_text(form: FormData, key: str) -> str:
    """A text field's value, or "" when absent or a file."""
    value = form.get(key)
    return value if isinstance(value, str) else ""


def form_list(form: FormData, key: str) -> list[str]:
    """Every value of a repeated field (checkboxes)."""
    return [v for v in form.getlist(key) if isinstance(v, str)]
