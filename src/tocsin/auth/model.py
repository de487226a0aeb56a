"""Who may do what: roles, token scopes, access levels and the one authorization decision.

A route needs one access level. A user's role and a token's scopes each grant a set of
levels; `authorize` compares the two. Everything here is pure and tested from a table.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import Enum, StrEnum


class Role(StrEnum):
    """A console user's role; each one can do everything the one before it can."""

    VIEWER = "viewer"
    RESPONDER = "responder"
    ADMIN = "admin"


class Scope(StrEnum):
    """What an API token may be used for."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"
    INGEST = "ingest"


class Access(StrEnum):
    """The access level a route requires."""

    PUBLIC = "public"  # anyone, no credentials (status pages, pings, health, keyed ingest)
    INGEST = "ingest"  # push alerts: an API token with the `ingest` scope
    READ = "read"  # see everything that is not a secret
    WRITE = "write"  # respond: pause monitors, edit DB monitors, ack, silence
    ADMIN = "admin"  # users, tokens, audit log, config reload


ROLE_GRANTS: dict[Role, frozenset[Access]] = {
    Role.VIEWER: frozenset({Access.READ}),
    Role.RESPONDER: frozenset({Access.READ, Access.WRITE}),
    Role.ADMIN: frozenset({Access.READ, Access.WRITE, Access.ADMIN}),
}

SCOPE_GRANTS: dict[Scope, frozenset[Access]] = {
    Scope.READ: frozenset({Access.READ}),
    Scope.WRITE: frozenset({Access.READ, Access.WRITE}),
    Scope.ADMIN: frozenset({Access.READ, Access.WRITE, Access.ADMIN}),
    Scope.INGEST: frozenset({Access.INGEST}),  # ingest only: a leaked Prometheus token reads nothing
}


class Decision(Enum):
    """The outcome of `authorize`."""

    ALLOW = "allow"
    UNAUTHENTICATED = "unauthenticated"  # 401, or a redirect to the login page
    FORBIDDEN = "forbidden"  # 403


@dataclass(frozen=True, slots=True)
class Principal:
    """Whoever makes a request: nobody, a signed-in user, or an API token."""

    kind: str  # "anonymous", "user" or "token"
    name: str = ""
    grants: frozenset[Access] = frozenset()
    role: Role | None = None
    scopes: frozenset[Scope] = frozenset()
    user_id: int | None = None
    token_id: int | None = None
    csrf: str | None = None  # set for session (cookie) principals only

    @property
    def authenticated(self) -> bool:
        """True for users and tokens."""
        return self.kind != "anonymous"

    @property
    def actor(self) -> str:
        """How the audit log names this principal: `alice`, `token:ci-deploy` or `anonymous`."""
        if self.kind == "token":
            return f"token:{self.name}"
        return self.name or "anonymous"

    def can(self, access: Access) -> bool:
        """True when this principal may use routes that need `access`."""
        return authorize(self, access) is Decision.ALLOW


ANONYMOUS = Principal("anonymous")


def user_principal(name: str, role: Role, user_id: int | None = None, csrf: str | None = None) -> Principal:
    """A signed-in user with the grants of their role."""
    return Principal("user", name, ROLE_GRANTS[role], role=role, user_id=user_id, csrf=csrf)


def token_principal(name: str, scopes: Iterable[Scope], token_id: int | None = None) -> Principal:
    """An API token with the union of its scopes' grants."""
    chosen = frozenset(scopes)
    grants = frozenset(access for scope in chosen for access in SCOPE_GRANTS[scope])
    return Principal("token", name, grants, scopes=chosen, token_id=token_id)


def authorize(principal: Principal, access: Access) -> Decision:
    """May `principal` use a route that needs `access`?"""
    if access is Access.PUBLIC:
        return Decision.ALLOW
    if not principal.authenticated:
        return Decision.UNAUTHENTICATED
    return Decision.ALLOW if access in principal.grants else Decision.FORBIDDEN


def parse_scopes(values: Iterable[str]) -> frozenset[Scope]:
    """Scopes from names (`read`, `write,ingest` or a list); ValueError naming an unknown one."""
    out: set[Scope] = set()
    for value in values:
        for part in filter(None, (p.strip() for p in value.split(","))):
            try:
                out.add(Scope(part))
            except ValueError:
                known = ", ".join(s.value for s in Scope)
                raise ValueError(f"unknown scope {part!r}; scopes are {known}") from None
    if not out:
        raise ValueError("give at least one scope: " + ", ".join(s.value for s in Scope))
    return frozenset(out)


def needed_for(access: Access) -> str:
    """What grants `access`, in words, for 403 messages."""
    roles = [r.value for r, grants in ROLE_GRANTS.items() if access in grants]
    scopes = [s.value for s, grants in SCOPE_GRANTS.items() if access in grants]
    by_role = f"role {' or '.join(roles)}" if roles else "no role (API tokens only)"
    return f"{by_role}, or a token with scope {' or '.join(scopes)}"
