"""The whole schema on one `metadata`: import it from here (not tables.py) to see every table.

Each capability defines its tables in its own module on the shared metadata; this module
imports them all, so Alembic's environment and the schema-drift test compare everything.
"""

from __future__ import annotations

from tocsin.store import (  # noqa: F401 - imported to register their tables
    alert_tables,
    incident_response_tables,
    incident_tables,
    oncall_tables,
    slo_tables,
)
from tocsin.store.tables import metadata

__all__ = ["metadata"]
