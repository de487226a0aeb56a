"""Tables of SLOs: per-minute input counts, per-hour SLI counts, event idempotency keys, evaluator state.

Defined on the same `metadata` as tables.py; created by migration 0004. Minutes are UTC
minute numbers (minutes since the Unix epoch, see `tocsin.slo.windows.minute_of`).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Float, String, Table

from tocsin.store.tables import Document, metadata

# Good/total counts per minute of events and Prometheus SLIs, as the source gave them.
slo_minutes = Table(
    "slo_minutes",
    metadata,
    Column("slo", String(200), primary_key=True),
    Column("minute", BigInteger, primary_key=True),
    Column("good", Float, nullable=False),
    Column("total", Float, nullable=False),
    sqlite_with_rowid=False,  # the (slo, minute) key is the table
)

# Good/total per hour after the budgeting method (events, good slices, or slice ratios), any source.
slo_hours = Table(
    "slo_hours",
    metadata,
    Column("slo", String(200), primary_key=True),
    Column("hour", BigInteger, primary_key=True),  # minute number of the hour's first minute
    Column("good", Float, nullable=False),
    Column("total", Float, nullable=False),
    sqlite_with_rowid=False,
)

slo_event_keys = Table(
    "slo_event_keys",
    metadata,
    Column("slo", String(200), primary_key=True),
    Column("key", String(200), primary_key=True),
    Column("at_ms", BigInteger, nullable=False, index=True),
)

slo_state = Table(
    "slo_state",
    metadata,
    Column("slo", String(200), primary_key=True),
    Column("data_key", String(32), nullable=False),  # digest of what decides the stored counts
    Column("hours_start", BigInteger, nullable=False),  # slo_hours are complete over [hours_start, hours_end)
    Column("hours_end", BigInteger, nullable=False),
    Column("firing", Document),  # the burn-rate alert sent and not yet resolved, or NULL
    Column("updated_ms", BigInteger, nullable=False),
)
