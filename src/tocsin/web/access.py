"""THE table of who may call which route. Every route of the app must be listed here.

`create_app` refuses to start when a route is missing (`UnprotectedRoutes`), so nobody can
add an endpoint that is reachable without credentials by accident. To add routes, add a
line `"METHOD[,METHOD] /path/{param}": ACCESS` (the path exactly as the router declares
it). PUBLIC is an explicit, short allow-list: health, heartbeat pings, the login and
setup pages, static files, keyed ingest endpoints and (later) public status pages.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from fastapi.routing import RouteContext, iter_route_contexts
from starlette.routing import BaseRoute, Mount

from tocsin.auth.model import Access


@dataclass(frozen=True, slots=True)
class Rule:
    """The access a route needs; `public_if` names a boolean `server.*` setting that makes it public."""

    access: Access
    public_if: str | None = None

    def effective(self, settings: object) -> Access:
        """The access needed under the current server settings."""
        if self.public_if and getattr(settings, self.public_if, False):
            return Access.PUBLIC
        return self.access


PUBLIC = Rule(Access.PUBLIC)
INGEST = Rule(Access.INGEST)
READ = Rule(Access.READ)
WRITE = Rule(Access.WRITE)
ADMIN = Rule(Access.ADMIN)

ROUTES: dict[str, Rule] = {
    # operations
    "GET /healthz": PUBLIC,
    "GET /readyz": PUBLIC,
    "GET /metrics": Rule(Access.READ, public_if="metrics_public"),
    "POST /-/reload": ADMIN,
    "GET,POST /-/clock": ADMIN,  # exists only with --test-clock
    "GET /docs": READ,
    "GET /docs/oauth2-redirect": READ,
    "GET /redoc": READ,
    "GET /openapi.json": READ,
    "* /static": PUBLIC,
    # heartbeat pings: the token in the path is the key
    "GET,POST,HEAD /ping/{token}": PUBLIC,
    "GET,POST,HEAD /ping/{token}/start": PUBLIC,
    "GET,POST,HEAD /ping/{token}/fail": PUBLIC,
    # Alertmanager API v2 (Prometheus, amtool) and other ingest
    "GET,HEAD /-/healthy": PUBLIC,
    "GET,HEAD /-/ready": PUBLIC,
    "POST /api/v2/alerts": Rule(Access.INGEST, public_if="alertmanager_api_public"),
    "GET /api/v2/alerts": READ,
    "GET /api/v2/alerts/groups": READ,
    "GET /api/v2/status": READ,
    "GET /api/v2/receivers": READ,
    "GET /api/v2/silences": READ,
    "POST /api/v2/silences": WRITE,
    "GET /api/v2/silence/{silenceID}": READ,
    "DELETE /api/v2/silence/{silenceID}": WRITE,
    "POST /api/v1/ingest/alertmanager": INGEST,  # Alertmanager webhook_configs: credentials in http_config
    "POST /api/v1/ingest/generic/{key}": PUBLIC,  # the integration key in the path is the key
    "POST /v2/enqueue": PUBLIC,  # PagerDuty Events API: the routing key in the body is the key
    "POST /v2/change/enqueue": PUBLIC,  # PagerDuty change events: the routing key in the body is the key
    # on-call: calendar feeds and one-click links carry their own secret (see docs/oncall/acknowledge.md)
    "GET /calendars/{secret}.ics": PUBLIC,
    "GET,POST /ack/{token}": PUBLIC,  # GET only shows a confirmation page; the signed single-use token is the key
    "GET /api/v1/oncall/now": READ,
    "GET /api/v1/oncall/calendars": READ,
    "GET /api/v1/oncall/schedules/{name}": READ,
    "GET /api/v1/oncall/shifts": READ,
    "GET /api/v1/oncall/policies/{name}/simulate": READ,
    "GET /api/v1/oncall/escalations": READ,
    "GET /api/v1/oncall/changes": READ,
    "GET /api/v1/oncall/integration-keys": ADMIN,
    "POST /api/v1/oncall/services/{name}/integration-keys": ADMIN,
    "DELETE /api/v1/oncall/services/{name}/integration-keys/{key_name}": ADMIN,
    "GET /api/v1/oncall/overrides": READ,
    "POST /api/v1/oncall/schedules/{name}/overrides": WRITE,
    "DELETE /api/v1/oncall/overrides/{override_id}": WRITE,
    "GET /api/v1/oncall/swaps": READ,
    "POST /api/v1/oncall/schedules/{name}/swaps": WRITE,
    "POST /api/v1/oncall/swaps/{swap_id}/accept": WRITE,
    "POST /api/v1/oncall/swaps/{swap_id}/cancel": WRITE,
    "POST /api/v1/alerts/group/ack": WRITE,
    "POST /api/v1/alerts/group/resolve": WRITE,
    # tocsin API v1
    "GET /api/v1/me": READ,
    "GET /api/v1/monitors": READ,
    "POST /api/v1/monitors": WRITE,
    "GET /api/v1/monitors/{name}": READ,
    "PUT,DELETE /api/v1/monitors/{name}": WRITE,
    "GET /api/v1/monitors/{name}/results": READ,
    "POST /api/v1/monitors/{name}/pause": WRITE,
    "POST /api/v1/monitors/{name}/resume": WRITE,
    "GET /api/v1/events": READ,
    "GET /api/v1/alerts/groups": READ,
    "GET /api/v1/alerts/group": READ,
    # incidents (docs/incidents.md)
    "GET /api/v1/incidents": READ,
    "POST /api/v1/incidents": WRITE,
    "GET /api/v1/incidents/{incident_id}": READ,
    "PATCH /api/v1/incidents/{incident_id}": WRITE,
    "POST /api/v1/incidents/{incident_id}/notes": WRITE,
    "GET /api/v1/incidents/{incident_id}/timeline.md": READ,
    "GET /api/v1/incidents/{incident_id}/timeline.json": READ,
    "PATCH /api/v1/incidents/{incident_id}/timeline/{entry_id}": WRITE,
    "GET /api/v1/incidents/{incident_id}/actions": READ,
    "POST /api/v1/incidents/{incident_id}/actions": WRITE,
    "PATCH /api/v1/incidents/{incident_id}/actions/{action_id}": WRITE,
    "GET /api/v1/actions": READ,
    "GET /api/v1/incidents/templates": READ,  # update templates (docs/incidents.md#updates-and-reminders)
    "GET /api/v1/incidents/{incident_id}/updates": READ,
    "POST /api/v1/incidents/{incident_id}/updates": WRITE,
    "GET /api/v1/reports/incidents": READ,  # docs/reports.md
    # postmortems (docs/incidents.md#postmortems)
    "GET /api/v1/postmortems": READ,
    "GET /api/v1/incidents/{incident_id}/postmortem": READ,
    "PUT,POST /api/v1/incidents/{incident_id}/postmortem": WRITE,
    "GET /api/v1/incidents/{incident_id}/postmortem.md": READ,
    "GET /api/v1/incidents/{incident_id}/postmortem/versions": READ,
    "GET /api/v1/incidents/{incident_id}/postmortem/versions/{version}": READ,
    "POST /api/v1/incidents/{incident_id}/postmortem/state": WRITE,
    "POST /api/v1/incidents/{incident_id}/postmortem/regenerate": WRITE,
    "GET /api/v1/notifications": READ,
    "POST /api/v1/notifications/{delivery_id}/retry": WRITE,
    "GET /api/v1/silences": READ,
    "POST /api/v1/silences/preview": READ,
    "GET /api/v1/maintenance": READ,
    "GET /api/v1/slos": READ,
    "GET /api/v1/slos/report": READ,
    "GET /api/v1/slos/report.csv": READ,
    "GET /api/v1/slos/{name}": READ,
    "GET /api/v1/slos/{name}/consumed": READ,
    "POST /api/v1/slos/{name}/events": INGEST,  # pushed SLI counts are machine data, like alerts: ingest tokens
    # alert pipeline pages and their JSON twins
    "GET /alerts": READ,
    "GET /alerts.json": READ,
    "GET /alerts/group": READ,
    "GET /alerts/group.json": READ,
    "POST /alerts/group/ack": WRITE,
    "POST /alerts/group/resolve": WRITE,
    "GET /silences": READ,
    "GET /silences.json": READ,
    "GET /silences/new": WRITE,
    "POST /silences": WRITE,
    "POST /silences/{silence_id}/expire": WRITE,
    "GET /maintenance": READ,
    "GET /maintenance.json": READ,
    "GET /notifications": READ,
    "GET /notifications.json": READ,
    "POST /notifications/{delivery_id}/retry": WRITE,
    "GET,POST /api/v1/users": ADMIN,
    "PATCH,DELETE /api/v1/users/{name}": ADMIN,
    "GET,POST /api/v1/tokens": ADMIN,
    "DELETE /api/v1/tokens/{token_id}": ADMIN,
    "GET /api/v1/audit": ADMIN,
    # console: signing in
    "GET,POST /login": PUBLIC,
    "POST /logout": READ,
    "GET,POST /setup/{token}": PUBLIC,  # the one-time setup token in the path is the key
    # console pages (each .json is the page's twin)
    "GET /": READ,
    "GET /overview.json": READ,
    "GET /overview/stream": READ,
    "GET /monitors": READ,
    "GET /monitors.json": READ,
    "GET,POST /monitors/new": WRITE,
    "GET /monitors/{name}": READ,
    "GET /monitors/{name}.json": READ,
    "GET,POST /monitors/{name}/edit": WRITE,
    "POST /monitors/{name}/delete": WRITE,
    "POST /monitors/{name}/pause": WRITE,
    "POST /monitors/{name}/resume": WRITE,
    "GET /oncall": READ,
    "GET /oncall.json": READ,
    "GET /oncall/schedules/{name}": READ,
    "GET /oncall/schedules/{name}.json": READ,
    "GET /oncall/policies/{name}": READ,
    "GET /oncall/policies/{name}.json": READ,
    "POST /oncall/schedules/{name}/overrides": WRITE,
    "POST /oncall/overrides/{override_id}/delete": WRITE,
    "POST /oncall/schedules/{name}/swaps": WRITE,
    "POST /oncall/swaps/{swap_id}/accept": WRITE,
    "POST /oncall/swaps/{swap_id}/cancel": WRITE,
    "GET /incidents": READ,
    "GET /incidents.json": READ,
    "GET /incidents/new": WRITE,
    "POST /incidents": WRITE,
    "GET /incidents/{incident_id}": READ,
    "GET /incidents/{incident_id}.json": READ,
    "POST /incidents/{incident_id}/change": WRITE,
    "POST /incidents/{incident_id}/notes": WRITE,
    "POST /incidents/{incident_id}/edit": WRITE,
    "POST /incidents/{incident_id}/impacts": WRITE,
    "POST /incidents/{incident_id}/timeline/{entry_id}": WRITE,
    "POST /incidents/{incident_id}/actions": WRITE,
    "POST /incidents/{incident_id}/actions/{action_id}": WRITE,
    "GET /incidents/{incident_id}/updates": READ,
    "GET /incidents/{incident_id}/updates.json": READ,
    "POST /incidents/{incident_id}/updates": WRITE,
    "GET /incidents/{incident_id}/postmortem": READ,
    "GET /incidents/{incident_id}/postmortem.json": READ,
    "POST /incidents/{incident_id}/postmortem": WRITE,
    "POST /incidents/{incident_id}/postmortem/edit": WRITE,
    "POST /incidents/{incident_id}/postmortem/state": WRITE,
    "POST /incidents/{incident_id}/postmortem/regenerate": WRITE,
    "GET /incidents/{incident_id}/postmortem/versions/{version}": READ,
    "GET /incidents/{incident_id}/postmortem/versions/{version}.json": READ,
    "GET /slos": READ,
    "GET /slos.json": READ,
    "GET /slos/report": READ,
    "GET /slos/report.json": READ,
    "GET /slos/{name}": READ,
    "GET /slos/{name}.json": READ,
    "GET /reports": READ,
    "GET /reports.json": READ,
    "GET /status-pages": READ,
    "GET /status-pages.json": READ,
    "GET /status-pages/new": WRITE,
    "POST /status-pages": WRITE,
    "GET /status-pages/{slug}": READ,
    "GET /status-pages/{slug}.json": READ,
    "GET,POST /status-pages/{slug}/edit": WRITE,
    "POST /status-pages/{slug}/delete": WRITE,
    "POST /status-pages/{slug}/components": WRITE,
    "GET /api/v1/status-pages": READ,
    "POST /api/v1/status-pages": WRITE,
    "GET /api/v1/status-pages/{slug}": READ,
    "PUT,DELETE /api/v1/status-pages/{slug}": WRITE,
    "PUT,DELETE /api/v1/status-pages/{slug}/components/{component}/status": WRITE,
    # public status pages: anyone may read them (docs/statuspages.md)
    "GET /status/{slug}": PUBLIC,
    "GET /status/{slug}.json": PUBLIC,
    "GET /status/{slug}/api/v2/summary.json": PUBLIC,
    "GET /status/{slug}/api/v2/status.json": PUBLIC,
    "GET /status/{slug}/api/v2/components.json": PUBLIC,
    "GET /status/{slug}/api/v2/incidents.json": PUBLIC,
    "GET /status/{slug}/api/v2/incidents/unresolved.json": PUBLIC,
    "GET /status/{slug}/api/v2/scheduled-maintenances.json": PUBLIC,
    "GET /status/{slug}/api/v2/scheduled-maintenances/upcoming.json": PUBLIC,
    "GET /status/{slug}/api/v2/scheduled-maintenances/active.json": PUBLIC,
    "GET /status/{slug}/history": PUBLIC,
    "GET /status/{slug}/history.json": PUBLIC,
    "GET /status/{slug}/badge/status.svg": PUBLIC,
    "GET /status/{slug}/badge/uptime-30d.svg": PUBLIC,
    "GET /status/{slug}/feed.atom": PUBLIC,
    "GET /status/{slug}/feed.rss": PUBLIC,
    # status page subscriptions (docs/statuspages.md#subscribers): a signed form token guards the public
    # signup (rate limited per address); the subscriber's token in the link is the key to confirm/unsubscribe
    "GET,POST /status/{slug}/subscribe": PUBLIC,
    "GET /status/{slug}/subscribe.json": PUBLIC,
    "GET,POST /status/{slug}/subscriptions/confirm": PUBLIC,
    "GET,POST /status/{slug}/unsubscribe": PUBLIC,
    "GET /api/v1/status-pages/{slug}/subscribers": ADMIN,  # addresses are personal data
    "DELETE /api/v1/status-pages/{slug}/subscribers/{subscriber_id}": ADMIN,
    "GET /settings": READ,
    "POST /settings/reload": ADMIN,
    "GET,POST /settings/users": ADMIN,
    "POST /settings/users/{name}": ADMIN,
    "POST /settings/users/{name}/delete": ADMIN,
    "GET,POST /settings/tokens": ADMIN,
    "POST /settings/tokens/{token_id}/revoke": ADMIN,
    "GET /settings/audit": ADMIN,
    "GET /settings/audit.json": ADMIN,
    "GET /account": READ,
    "POST /account/password": READ,
    "POST /account/theme": READ,
}

# Responses for these answer in JSON (401/403); everything else is a page (redirect to login).
_API_PREFIXES = ("/api/", "/-/", "/v2/", "/ping/", "/healthz", "/readyz", "/metrics", "/openapi.json")


class UnprotectedRoutes(RuntimeError):
    """Routes exist that the access table does not mention."""


def expand(table: Mapping[str, Rule]) -> dict[tuple[str, str], Rule]:
    """`{"GET,POST /x": rule}` as `{("GET", "/x"): rule, ("POST", "/x"): rule}`."""
    out: dict[tuple[str, str], Rule] = {}
    for key, rule in table.items():
        methods, _, path = key.partition(" ")
        for method in methods.split(","):
            out[(method.strip().upper(), path)] = rule
    return out


RULES = expand(ROUTES)


def route_contexts(routes: Sequence[BaseRoute]) -> list[RouteContext]:
    """Every route of the app, with included routers flattened and their prefixes applied."""
    return list(iter_route_contexts(routes))


def route_keys(contexts: Iterable[RouteContext]) -> list[tuple[str, str]]:
    """Every (method, path) the routes answer; a mount is `("*", path)`."""
    keys: list[tuple[str, str]] = []
    for context in contexts:
        if isinstance(context.original_route, Mount):
            keys.append(("*", context.path or ""))
        else:
            keys.extend((method, context.path or "") for method in sorted(context.methods or ()))
    return keys


def rule_for(method: str, path: str, rules: Mapping[tuple[str, str], Rule] = RULES) -> Rule | None:
    """The rule of a route (HEAD falls back to GET, a mount to `*`), or None when it is not listed."""
    found = rules.get((method, path)) or rules.get(("*", path))
    if found is None and method == "HEAD":
        found = rules.get(("GET", path))
    return found


def check_routes(contexts: Iterable[RouteContext], rules: Mapping[tuple[str, str], Rule] = RULES) -> None:
    """Raise UnprotectedRoutes naming every route the table does not list."""
    missing = [f"{m} {p}" for m, p in route_keys(contexts) if rule_for(m, p, rules) is None]
    if missing:
        raise UnprotectedRoutes(
            "routes missing from the access table in src/tocsin/web/access.py: "
            + ", ".join(missing)
            + "; add each with the access it needs (PUBLIC only for public pages and keyed endpoints)"
        )


def guarded_routes(routes: Sequence[BaseRoute]) -> list[RouteContext]:
    """The app's routes for the guard to match requests against, after checking every one is listed."""
    contexts = route_contexts(routes)
    check_routes(contexts)
    return contexts


# A request that matches no known route (404/405) still needs a signed-in caller: fail closed.
UNKNOWN = READ


def answers_json(path: str, accept: str) -> bool:
    """True when a refusal should be JSON (API, `.json` twins, event streams), not a login redirect."""
    if path.startswith(_API_PREFIXES) or path.endswith(".json"):
        return True
    return "text/event-stream" in accept or ("application/json" in accept and "text/html" not in accept)
