"""The authorization decision and the route table's rules, from tables."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi import APIRouter, FastAPI

from tocsin.auth.model import (
    ANONYMOUS,
    Access,
    Decision,
    Role,
    Scope,
    authorize,
    needed_for,
    parse_scopes,
    token_principal,
    user_principal,
)
from tocsin.web.access import (
    ADMIN,
    PUBLIC,
    READ,
    RULES,
    Rule,
    UnprotectedRoutes,
    answers_json,
    check_routes,
    expand,
    route_contexts,
    rule_for,
)

A, D = Decision.ALLOW, Decision
viewer, responder, admin = (user_principal(n, Role(n)) for n in ("viewer", "responder", "admin"))
reader = token_principal("r", [Scope.READ])
writer = token_principal("w", [Scope.WRITE])
boss = token_principal("a", [Scope.ADMIN])
pusher = token_principal("p", [Scope.INGEST])
both = token_principal("rp", [Scope.READ, Scope.INGEST])


@pytest.mark.parametrize(
    ("principal", "access", "expected"),
    [
        (ANONYMOUS, Access.PUBLIC, A),  # public routes need nothing
        (ANONYMOUS, Access.READ, D.UNAUTHENTICATED),  # no credentials: 401 / login
        (ANONYMOUS, Access.INGEST, D.UNAUTHENTICATED),
        (viewer, Access.READ, A),
        (viewer, Access.WRITE, D.FORBIDDEN),  # wrong role: 403
        (responder, Access.WRITE, A),
        (responder, Access.ADMIN, D.FORBIDDEN),
        (admin, Access.ADMIN, A),
        (admin, Access.INGEST, D.FORBIDDEN),  # people do not push alerts; tokens do
        (reader, Access.READ, A),
        (reader, Access.WRITE, D.FORBIDDEN),
        (writer, Access.WRITE, A),  # write implies read
        (writer, Access.READ, A),
        (writer, Access.ADMIN, D.FORBIDDEN),
        (boss, Access.ADMIN, A),  # admin implies write and read
        (boss, Access.INGEST, D.FORBIDDEN),  # but not ingest
        (pusher, Access.INGEST, A),
        (pusher, Access.READ, D.FORBIDDEN),  # a Prometheus token reads nothing
        (both, Access.READ, A),  # scopes add up
        (both, Access.INGEST, A),
        (pusher, Access.PUBLIC, A),
    ],
)
def test_authorize(principal: object, access: Access, expected: Decision) -> None:
    assert authorize(principal, access) is expected  # type: ignore[arg-type]


def test_principal_names_and_grants() -> None:
    assert viewer.actor == "viewer"
    assert pusher.actor == "token:p"
    assert ANONYMOUS.actor == "anonymous"
    assert not ANONYMOUS.can(Access.READ)
    assert admin.can(Access.WRITE)


def test_parse_scopes() -> None:
    assert parse_scopes(["read,ingest", "write"]) == {Scope.READ, Scope.INGEST, Scope.WRITE}
    with pytest.raises(ValueError, match="unknown scope 'raed'"):
        parse_scopes(["raed"])
    with pytest.raises(ValueError, match="at least one"):
        parse_scopes([""])


def test_needed_for_names_roles_and_scopes() -> None:
    assert needed_for(Access.WRITE) == "role responder or admin, or a token with scope write or admin"
    assert needed_for(Access.INGEST) == "no role (API tokens only), or a token with scope ingest"


def test_rules_expand_and_fall_back() -> None:
    rules = expand({"GET,POST /x": READ, "* /static": PUBLIC})
    assert rules == {("GET", "/x"): READ, ("POST", "/x"): READ, ("*", "/static"): PUBLIC}
    assert rule_for("HEAD", "/x", rules) is READ  # HEAD answers like GET
    assert rule_for("GET", "/static", rules) is PUBLIC  # a mount covers every method
    assert rule_for("DELETE", "/x", rules) is None


def test_public_if_follows_a_setting() -> None:
    rule = Rule(Access.INGEST, public_if="alertmanager_api_public")
    assert rule.effective(SimpleNamespace(alertmanager_api_public=False)) is Access.INGEST
    assert rule.effective(SimpleNamespace(alertmanager_api_public=True)) is Access.PUBLIC
    assert RULES[("POST", "/api/v2/alerts")] == rule
    assert RULES[("GET", "/metrics")].public_if == "metrics_public"


def test_a_route_missing_from_the_table_stops_the_app() -> None:
    app = FastAPI()
    router = APIRouter(prefix="/api/v1")

    @router.get("/secret")
    async def secret() -> None:
        """Not in the table."""

    @router.post("/monitors")
    async def listed() -> None:
        """In the table."""

    app.include_router(router)
    with pytest.raises(UnprotectedRoutes, match=r"GET /api/v1/secret") as caught:
        check_routes(route_contexts(app.routes))
    assert "/api/v1/monitors" not in str(caught.value)
    assert "/openapi.json" not in str(caught.value)


def test_every_public_route_is_on_the_short_list() -> None:
    public = sorted(f"{m} {p}" for (m, p), rule in RULES.items() if rule.access is Access.PUBLIC)
    assert public == [
        "* /static",
        "GET /-/healthy",
        "GET /-/ready",
        "GET /ack/{token}",
        "GET /calendars/{secret}.ics",
        "GET /healthz",
        "GET /login",
        "GET /ping/{token}",
        "GET /ping/{token}/fail",
        "GET /ping/{token}/start",
        "GET /readyz",
        "GET /setup/{token}",
        "GET /status/{slug}",  # public status pages and their Statuspage-compatible API and badges
        "GET /status/{slug}.json",
        "GET /status/{slug}/api/v2/components.json",
        "GET /status/{slug}/api/v2/incidents.json",
        "GET /status/{slug}/api/v2/incidents/unresolved.json",
        "GET /status/{slug}/api/v2/scheduled-maintenances.json",
        "GET /status/{slug}/api/v2/scheduled-maintenances/active.json",
        "GET /status/{slug}/api/v2/scheduled-maintenances/upcoming.json",
        "GET /status/{slug}/api/v2/status.json",
        "GET /status/{slug}/api/v2/summary.json",
        "GET /status/{slug}/badge/status.svg",
        "GET /status/{slug}/badge/uptime-30d.svg",
        "GET /status/{slug}/feed.atom",
        "GET /status/{slug}/feed.rss",
        "GET /status/{slug}/history",
        "GET /status/{slug}/history.json",
        "GET /status/{slug}/subscribe",  # subscriptions: a signed form token and a rate limit guard signups
        "GET /status/{slug}/subscribe.json",
        "GET /status/{slug}/subscriptions/confirm",  # the subscriber's token in the link is the key
        "GET /status/{slug}/unsubscribe",
        "HEAD /-/healthy",
        "HEAD /-/ready",
        "HEAD /ping/{token}",
        "HEAD /ping/{token}/fail",
        "HEAD /ping/{token}/start",
        "POST /ack/{token}",
        "POST /api/v1/ingest/generic/{key}",
        "POST /login",
        "POST /ping/{token}",
        "POST /ping/{token}/fail",
        "POST /ping/{token}/start",
        "POST /setup/{token}",
        "POST /status/{slug}/subscribe",
        "POST /status/{slug}/subscriptions/confirm",
        "POST /status/{slug}/unsubscribe",
        "POST /v2/change/enqueue",
        "POST /v2/enqueue",
    ]
    assert RULES[("GET", "/api/v1/audit")] is ADMIN


@pytest.mark.parametrize(
    ("path", "accept", "expected"),
    [
        ("/api/v1/monitors", "text/html", True),  # the API always answers JSON
        ("/monitors.json", "", True),  # twins too
        ("/-/reload", "", True),
        ("/monitors", "text/html,application/xhtml+xml", False),  # a page: redirect to login
        ("/overview/stream", "text/event-stream", True),  # EventSource gets a 401
        ("/monitors", "application/json", True),  # a script asking for JSON
        ("/", "*/*", False),
    ],
)
def test_refusals_answer_json_or_redirect(path: str, accept: str, expected: bool) -> None:
    assert answers_json(path, accept) is expected


def test_secrets_need_admin_and_writes_need_write() -> None:
    for (method, path), rule in RULES.items():
        if path.startswith(("/api/v1/users", "/api/v1/tokens", "/api/v1/audit", "/settings/", "/-/")):
            assert rule.access is Access.ADMIN or path.startswith("/-/healthy") or path.startswith("/-/ready"), path
        reads_only = {"/logout", "/account/password", "/account/theme", "/api/v1/silences/preview"}
        if method in ("POST", "PUT", "PATCH", "DELETE") and rule.access is Access.READ:
            assert path in reads_only, f"{method} {path} changes something with only read access"
