"""Tables of the alert pipeline: alerts, silences, group timers, notification log, outbox, attempts.

Defined on the same `metadata` as tables.py; created by migration 0003.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, Float, ForeignKey, Index, Integer, String, Table, Text, false, text

from tocsin.store.tables import Document, RowId, metadata

alerts = Table(
    "alerts",
    metadata,
    Column("fingerprint", String(16), primary_key=True),
    Column("labels", Document, nullable=False),
    Column("annotations", Document, nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger),  # NULL: firing until told otherwise (internal sources)
    Column("timeout", Boolean, nullable=False, server_default=false()),  # ends_at came from resolve_timeout
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("generator_url", Text, nullable=False, server_default=text("''")),
    Column("source", String(64), nullable=False),
)
Index("ix_alerts_ends_at_ms", alerts.c.ends_at_ms)

silences = Table(
    "silences",
    metadata,
    Column("id", String(36), primary_key=True),
    Column("matchers", Document, nullable=False),
    Column("starts_at_ms", BigInteger, nullable=False),
    Column("ends_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("comment", Text, nullable=False),
)

alert_groups = Table(
    "alert_groups",
    metadata,
    Column("key", Text, primary_key=True),
    Column("next_flush_ms", BigInteger, nullable=False),
    Column("has_flushed", Boolean, nullable=False),
)

notification_log = Table(
    "notification_log",
    metadata,
    Column("group_key", Text, primary_key=True),
    Column("receiver", String(200), primary_key=True),
    Column("integration", Integer, primary_key=True),
    Column("firing", Document, nullable=False),
    Column("resolved", Document, nullable=False),
    Column("sent_at_ms", BigInteger, nullable=False),
)

outbox = Table(
    "outbox",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("idempotency_key", String(64), nullable=False, unique=True),
    Column("group_key", Text, nullable=False),
    Column("receiver", String(200), nullable=False),
    Column("integration", Integer, nullable=False),
    Column("channel", String(32), nullable=False),
    Column("reason", String(16), nullable=False),
    Column("payload", Document, nullable=False),
    Column("status", String(16), nullable=False),  # pending, delivered, dead
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("next_attempt_ms", BigInteger, nullable=False),
    Column("claimed_until_ms", BigInteger),
    Column("delivered_at_ms", BigInteger),
    Column("last_error", Text),
)
Index("ix_outbox_status_next_attempt_ms", outbox.c.status, outbox.c.next_attempt_ms)
Index("ix_outbox_group_key", outbox.c.group_key)

delivery_attempts = Table(
    "delivery_attempts",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("outbox_id", BigInteger, ForeignKey("outbox.id"), nullable=False, index=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("outcome", String(16), nullable=False),  # delivered, retryable, permanent
    Column("status_code", Integer),
    Column("latency_ms", Float, nullable=False),
    Column("detail", Text, nullable=False),
)
