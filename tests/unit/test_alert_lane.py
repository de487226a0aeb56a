"""The alerts lane runs the route's own handler for `POST /api/v2/alerts` and passes everything else on."""

from __future__ import annotations

from typing import Any

import pytest
from starlette.requests import Request
from starlette.responses import Response

import tocsin.web.app  # noqa: F401  (first: the API modules import the runtime, which needs the app's imports)
from tocsin.web import alert_lane
from tocsin.web.alert_lane import AlertPosts


async def call(app: AlertPosts, method: str, path: str, root_path: str = "") -> list[dict[str, Any]]:
    scope = {"type": "http", "method": method, "path": path, "root_path": root_path, "headers": [], "query_string": b""}
    sent: list[dict[str, Any]] = []

    async def receive() -> dict[str, Any]:
        return {"type": "http.request", "body": b"[]", "more_body": False}

    async def send(message: Any) -> None:
        sent.append(message)

    await app(scope, receive, send)
    return sent


@pytest.fixture
def lane(monkeypatch: pytest.MonkeyPatch) -> AlertPosts:
    async def handler(request: Request) -> Response:
        assert await request.body() == b"[]"
        return Response(status_code=200)

    async def router(scope: Any, receive: Any, send: Any) -> None:
        await send({"type": "http.response.start", "status": 404, "headers": []})

    monkeypatch.setattr(alert_lane, "post_alerts", handler)
    return AlertPosts(router)


async def test_a_post_of_alerts_is_answered_by_the_handler(lane: AlertPosts) -> None:
    sent = await call(lane, "POST", "/api/v2/alerts")
    assert sent[0]["status"] == 200


@pytest.mark.parametrize(
    ("method", "path", "root_path"),
    [
        ("GET", "/api/v2/alerts", ""),  # the list: routed as usual
        ("POST", "/api/v2/alerts/", ""),  # the router answers (redirect) as before
        ("POST", "/api/v2/silences", ""),
        ("POST", "/api/v2/alerts", "/tocsin"),  # mounted under a root path: leave it to the router
    ],
)
async def test_anything_else_goes_to_the_router(lane: AlertPosts, method: str, path: str, root_path: str) -> None:
    assert (await call(lane, method, path, root_path))[0]["status"] == 404
