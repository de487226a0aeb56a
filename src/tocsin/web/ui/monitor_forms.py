"""Creating, editing and deleting database monitors from the console (forms that work without JavaScript)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import RedirectResponse, Response
from pydantic import BaseModel

from tocsin.config.models import MONITOR_KINDS
from tocsin.web.api.monitor_edits import remove, save, validated
from tocsin.web.bodies import InvalidBody
from tocsin.web.deps import monitor_record
from tocsin.web.ui.forms import form_values
from tocsin.web.ui.render import error_page, render

router = APIRouter(include_in_schema=False)

COMMON = ("name", "kind", "description", "interval", "timeout", "failure_threshold", "success_threshold")
KIND_FIELDS: dict[str, tuple[str, ...]] = {
    "http": ("url", "method", "expected_status"),
    "tcp": ("host", "port"),
    "tls": ("host", "port"),
    "dns": ("query", "record_type", "resolver"),
    "heartbeat": ("period", "grace"),
}
_INTEGERS = {"port", "failure_threshold", "success_threshold"}


class MonitorForm(BaseModel):
    """The create or edit form, with the values typed so far and what is wrong with them."""

    editing: str | None = None  # the monitor's name when editing
    values: dict[str, str]
    errors: dict[str, str] = {}
    error: str | None = None
    kinds: list[str] = list(MONITOR_KINDS)


def _scalar(key: str, text: str) -> Any:
    if key in _INTEGERS and text.isdigit():
        return int(text)
    if key == "expected_status":
        return [int(p) if p.isdigit() else p for p in (x.strip() for x in text.split(",")) if p]
    return text


def _lines(text: str) -> list[str]:
    return [line.strip() for line in text.splitlines() if line.strip()]


def spec_from_form(form: Mapping[str, str], base: Mapping[str, Any]) -> dict[str, Any]:
    """The monitor a form describes: the fields of its kind over `base` (other settings are kept)."""
    kind = form.get("kind", "").strip()
    spec = dict(base) if base.get("kind") == kind else {}
    for key in (*COMMON, *KIND_FIELDS.get(kind, ())):
        text = form.get(key, "").strip()
        if text:
            spec[key] = _scalar(key, text)
        else:
            spec.pop(key, None)
    spec["conditions"] = _lines(form.get("conditions", ""))
    pairs = [line.partition("=") for line in _lines(form.get("labels", ""))]
    spec["labels"] = {k.strip(): v.strip() for k, _, v in pairs}
    return spec


def form_from_spec(spec: Mapping[str, Any]) -> dict[str, str]:
    """A stored monitor as form field values."""
    values = {k: _text(v) for k, v in spec.items() if k in COMMON or any(k in f for f in KIND_FIELDS.values())}
    conditions = spec.get("conditions", [])
    values["conditions"] = "\n".join(c if isinstance(c, str) else c.get("condition", "") for c in conditions)
    values["labels"] = "\n".join(f"{k}={v}" for k, v in spec.get("labels", {}).items())
    return values


def _text(value: Any) -> str:
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


async def _submitted(request: Request) -> dict[str, str]:
    form = await form_values(request)
    return {k: v for k, v in form.items() if isinstance(v, str)}


async def _save(request: Request, values: dict[str, str], base: dict[str, Any], editing: str | None) -> Response:
    if editing:
        values["name"] = editing
    try:
        spec = validated(spec_from_form(values, base))
        await save(request, spec, create=editing is None)
    except InvalidBody as exc:
        errors = {e["field"].split(".")[0]: e["message"] for e in exc.errors}
        view = MonitorForm(
            editing=editing, values=values, errors=errors, error="Please correct the fields marked below."
        )
        return render(request, "monitor_form.html", view, 422, active="monitors")
    except HTTPException as exc:
        view = MonitorForm(editing=editing, values=values, error=str(exc.detail))
        return render(request, "monitor_form.html", view, exc.status_code, active="monitors")
    return RedirectResponse(f"/monitors/{spec.name}", 303)


@router.get("/monitors/new")
async def new_monitor_page(request: Request, kind: str = "http") -> Response:
    """The form for a new monitor."""
    view = MonitorForm(values={"kind": kind if kind in MONITOR_KINDS else "http", "interval": "60s"})
    return render(request, "monitor_form.html", view, active="monitors")


@router.post("/monitors/new")
async def create_monitor(request: Request) -> Response:
    """Create the monitor and go to its page; the form again with errors if it is not valid."""
    return await _save(request, await _submitted(request), {}, None)


async def _editable(request: Request, name: str) -> tuple[dict[str, Any], Response | None]:
    record = await monitor_record(request, name)
    if record.source != "api":
        message = f"{name} is defined in the config file ({record.location}); edit it there."
        return {}, error_page(request, 409, message)
    return record.spec, None


@router.get("/monitors/{name}/edit")
async def edit_monitor_page(request: Request, name: str) -> Response:
    """The form to change a database monitor."""
    spec, refused = await _editable(request, name)
    view = MonitorForm(editing=name, values=form_from_spec(spec))
    return refused or render(request, "monitor_form.html", view, active="monitors")


@router.post("/monitors/{name}/edit")
async def edit_monitor(request: Request, name: str) -> Response:
    """Save a changed monitor (its state and history are kept)."""
    spec, refused = await _editable(request, name)
    return refused or await _save(request, await _submitted(request), spec, name)


@router.post("/monitors/{name}/delete")
async def delete_monitor(request: Request, name: str) -> Response:
    """Delete a database monitor."""
    try:
        await remove(request, name)
    except HTTPException as exc:
        return error_page(request, exc.status_code, str(exc.detail))
    return RedirectResponse("/monitors", 303)
