"""SQLAlchemy Core tables; the schema itself is created by the Alembic migrations.

Times are integers: epoch milliseconds for instants, epoch seconds for bucket starts.
A migration test checks these definitions against the migrated schema.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    false,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

from tocsin.store.rollups import COUNT_COLUMNS, HISTOGRAM_COLUMNS

NAMING = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}
metadata = MetaData(naming_convention=NAMING)

# Integer on SQLite so that the key is the rowid (an append-only B-tree); 64-bit elsewhere.
RowId = BigInteger().with_variant(Integer(), "sqlite")
Document = JSON().with_variant(JSONB(), "postgresql")

monitors = Table(
    "monitors",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(200), nullable=False, unique=True),
    Column("kind", String(32), nullable=False),
    Column("spec", Document, nullable=False),
    Column("source", String(16), nullable=False),
    Column("location", Text),
    Column("paused", Boolean, nullable=False, server_default=false()),
    Column("removed", Boolean, nullable=False, server_default=false()),
    Column("heartbeat_token", String(64), unique=True),
    Column("status", String(16), nullable=False, server_default=text("'pending'")),
    Column("consecutive_ok", Integer, nullable=False, server_default=text("0")),
    Column("consecutive_fail", Integer, nullable=False, server_default=text("0")),
    Column("status_since_ms", BigInteger),
    Column("last_outcome", String(16)),
    Column("last_result_ms", BigInteger),
    Column("last_ping_ms", BigInteger),
    Column("last_start_ms", BigInteger),
)

results = Table(
    "check_results",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("monitor_id", Integer, ForeignKey("monitors.id"), nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),
    Column("latency_ms", Float),
    Column("reason", String(32)),
    Column("message", Text, nullable=False),
    Column("failures", Text),  # orjson-encoded list, NULL when empty (hot path: no JSON type)
)
Index("ix_check_results_monitor_id_at_ms", results.c.monitor_id, results.c.at_ms)
# Only failures are indexed for "recent failures": the index stays small and up results skip it.
Index(
    "ix_check_results_failures",
    results.c.monitor_id,
    results.c.at_ms,
    sqlite_where=results.c.outcome != "up",
    postgresql_where=results.c.outcome != "up",
)


def _rollup(name: str) -> Table:
    counts = [Column(c, Float if c == "latency_sum_ms" else Integer, nullable=False) for c in COUNT_COLUMNS]
    return Table(
        name,
        metadata,
        Column("monitor_id", Integer, ForeignKey("monitors.id"), primary_key=True),
        Column("bucket", BigInteger, primary_key=True),  # bucket start, epoch seconds, UTC
        *counts,
        *(Column(c, Integer, nullable=False) for c in HISTOGRAM_COLUMNS),
        sqlite_with_rowid=False,  # the (monitor, bucket) key is the table: one B-tree, not two
    )


rollup_minute = _rollup("rollup_minute")
rollup_hour = _rollup("rollup_hour")
rollup_day = _rollup("rollup_day")
ROLLUPS = {"minute": rollup_minute, "hour": rollup_hour, "day": rollup_day}

events = Table(
    "events",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("source", String(64), nullable=False),
    Column("fingerprint", String(16), nullable=False, index=True),
    Column("status", String(16), nullable=False),
    Column("labels", Document, nullable=False),
    Column("annotations", Document, nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger),
    Column("generator_url", Text, nullable=False),
)

store_meta = Table(
    "store_meta",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", BigInteger, nullable=False),
)

# Access control (migration 0002): users, sessions, API tokens, audit log, first-run setup.

users = Table(
    "users",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False, unique=True),
    Column("role", String(16), nullable=False),
    Column("password_hash", Text),
    Column("source", String(16), nullable=False),  # "local" (CLI, console, API) or "config"
    Column("location", Text),
    Column("disabled", Boolean, nullable=False, server_default=false()),
    Column("created_ms", BigInteger, nullable=False),
    Column("updated_ms", BigInteger, nullable=False),
)

sessions = Table(
    "sessions",
    metadata,
    Column("digest", String(64), primary_key=True),  # SHA-256 of the cookie value
    Column("user_id", Integer, ForeignKey("users.id"), nullable=False, index=True),
    Column("created_ms", BigInteger, nullable=False),
    Column("last_seen_ms", BigInteger, nullable=False),
    Column("ip", String(64), nullable=False),
    Column("user_agent", String(300), nullable=False),
)

api_tokens = Table(
    "api_tokens",
    metadata,
    Column("id", Integer, primary_key=True),
    Column("name", String(128), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),  # SHA-256 of the token
    Column("scopes", String(64), nullable=False),  # comma-separated
    Column("created_by", String(160), nullable=False),
    Column("created_ms", BigInteger, nullable=False),
    Column("expires_ms", BigInteger),
    Column("last_used_ms", BigInteger),
    Column("revoked_ms", BigInteger),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("at_ms", BigInteger, nullable=False, index=True),
    Column("actor", String(160), nullable=False, index=True),
    Column("actor_kind", String(16), nullable=False),
    Column("action", String(64), nullable=False, index=True),
    Column("target", String(300), nullable=False),
    Column("source", String(64), nullable=False),
    Column("detail", Document, nullable=False),
)

setup_tokens = Table(
    "setup_tokens",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("created_ms", BigInteger, nullable=False),
)
