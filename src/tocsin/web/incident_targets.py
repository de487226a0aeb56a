"""What an incident can affect: the known services and the components of every status page.

Services are the on-call services, the SLOs' services and the monitors' `service` labels;
components come from the config's status pages and from pages created in the console
(table `status_pages`, whose spec has the shape of a config entry).
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from tocsin.runtime import Runtime
from tocsin.store.incident_response_tables import status_pages


def known_services(rt: Runtime) -> list[str]:
    """Every service name tocsin knows of, sorted."""
    names = {s.name for s in rt.loaded.config.oncall.services}
    names |= {s.service for s in rt.slo.slos.values() if s.service}
    names |= {m.spec.labels["service"] for m in rt.runner.monitors.values() if m.spec.labels.get("service")}
    return sorted(names)


def _component_names(spec: Any) -> list[str]:
    components = spec.get("components") if isinstance(spec, dict) else None
    return [str(c["name"]) for c in components or [] if isinstance(c, dict) and "name" in c]


async def known_components(rt: Runtime) -> dict[str, list[str]]:
    """Component names by status page slug (config pages win a slug clash with stored ones)."""
    async with rt.store.database.read() as conn:
        rows = list(await conn.execute(select(status_pages.c.slug, status_pages.c.spec)))
    found = {r.slug: _component_names(r.spec) for r in rows}
    found |= {p.slug: [c.name for c in p.components] for p in rt.loaded.config.status_pages}
    return dict(sorted(found.items()))
