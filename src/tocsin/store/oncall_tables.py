"""Tables of on-call: escalation state per alert group, used ack tokens, secrets, keys, cursors, change events.

Defined on the same `metadata` as tables.py; created by migrations 0005 and 0006 (overrides, swaps).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Column, Index, Integer, String, Table, Text

from tocsin.store.tables import Document, RowId, metadata

# One row per alert group that was ever paged through a policy; a new trigger after a
# resolve reuses the row with the next `incident` number.
oncall_escalations = Table(
    "oncall_escalations",
    metadata,
    Column("group_key", Text, primary_key=True),
    Column("incident", Integer, nullable=False),
    Column("policy", String(200), nullable=False),
    Column("receiver", String(200), nullable=False),
    Column("service", String(200)),
    Column("urgency", String(8), nullable=False),
    Column("group_labels", Document, nullable=False),
    Column("triggered_at_ms", BigInteger, nullable=False),
    Column("acks", Document, nullable=False),  # [[at_ms, by], ...] oldest first
    Column("resolved_at_ms", BigInteger),
    Column("resolved_by", String(200)),
    Column("sent_until_ms", BigInteger, nullable=False),  # every page due before this is in the outbox
    Column("step", Integer, nullable=False),  # the step paged last (-1: none yet)
    Column("repetition", Integer, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)
Index("ix_oncall_escalations_resolved_at_ms", oncall_escalations.c.resolved_at_ms)

# Single use of acknowledge/resolve links: a token's nonce is inserted once; kept until it expires.
oncall_used_tokens = Table(
    "oncall_used_tokens",
    metadata,
    Column("nonce", String(64), primary_key=True),
    Column("used_at_ms", BigInteger, nullable=False),
    Column("expires_at_ms", BigInteger, nullable=False, index=True),
)

oncall_secrets = Table(
    "oncall_secrets",
    metadata,
    Column("name", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

# Integration keys created through the API; only a SHA-256 digest of the key is kept.
oncall_integration_keys = Table(
    "oncall_integration_keys",
    metadata,
    Column("digest", String(64), primary_key=True),
    Column("service", String(200), nullable=False),
    Column("name", String(200), nullable=False),
    Column("kind", String(16), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("created_by", String(200), nullable=False),
)
Index(
    "ux_oncall_integration_keys_service_name",
    oncall_integration_keys.c.service,
    oncall_integration_keys.c.name,
    unique=True,
)

# How far a background job has got, e.g. handoff notifications sent up to this instant.
oncall_cursors = Table(
    "oncall_cursors",
    metadata,
    Column("name", String(200), primary_key=True),
    Column("at_ms", BigInteger, nullable=False),
)

oncall_change_events = Table(
    "oncall_change_events",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("service", String(200), nullable=False),
    Column("key_name", String(200), nullable=False),
    Column("at_ms", BigInteger, nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("event", Document, nullable=False),
)

# Overrides made in the console or API (migration 0006); `swap_id` links the two of an accepted swap.
oncall_overrides = Table(
    "oncall_overrides",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("schedule", String(200), nullable=False),
    Column("user_name", String(200), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False, index=True),
    Column("replaces", String(200)),
    Column("swap_id", BigInteger),
    Column("created_by", String(200), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
)

# Shift swaps: requested, then accepted (two overrides are written) or cancelled.
oncall_swaps = Table(
    "oncall_swaps",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("schedule", String(200), nullable=False),
    Column("requester", String(200), nullable=False),
    Column("start_ms", BigInteger, nullable=False),
    Column("end_ms", BigInteger, nullable=False),
    Column("other", String(200), nullable=False),
    Column("other_start_ms", BigInteger, nullable=False),
    Column("other_end_ms", BigInteger, nullable=False),
    Column("state", String(16), nullable=False, index=True),
    Column("created_by", String(200), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("decided_by", String(200)),
    Column("decided_at_ms", BigInteger),
)
