"""Alert pipeline: alerts, silences, group timers, notification log, outbox, delivery attempts.

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-22

Frozen: spells the schema out instead of importing alert_tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Create the alert pipeline's tables."""
    op.create_table(
        "alerts",
        sa.Column("fingerprint", sa.String(16), primary_key=True),
        sa.Column("labels", DOCUMENT, nullable=False),
        sa.Column("annotations", DOCUMENT, nullable=False),
        sa.Column("starts_at_ms", sa.BigInteger, nullable=False),
        sa.Column("ends_at_ms", sa.BigInteger),
        sa.Column("timeout", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("generator_url", sa.Text, nullable=False, server_default=sa.text("''")),
        sa.Column("source", sa.String(64), nullable=False),
    )
    op.create_index("ix_alerts_ends_at_ms", "alerts", ["ends_at_ms"])
    op.create_table(
        "silences",
        sa.Column("id", sa.String(36), primary_key=True),
        sa.Column("matchers", DOCUMENT, nullable=False),
        sa.Column("starts_at_ms", sa.BigInteger, nullable=False),
        sa.Column("ends_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("comment", sa.Text, nullable=False),
    )
    op.create_table(
        "alert_groups",
        sa.Column("key", sa.Text, primary_key=True),
        sa.Column("next_flush_ms", sa.BigInteger, nullable=False),
        sa.Column("has_flushed", sa.Boolean, nullable=False),
    )
    op.create_table(
        "notification_log",
        sa.Column("group_key", sa.Text, primary_key=True),
        sa.Column("receiver", sa.String(200), primary_key=True),
        sa.Column("integration", sa.Integer, primary_key=True),
        sa.Column("firing", DOCUMENT, nullable=False),
        sa.Column("resolved", DOCUMENT, nullable=False),
        sa.Column("sent_at_ms", sa.BigInteger, nullable=False),
    )
    _outbox()


def _outbox() -> None:
    op.create_table(
        "outbox",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("idempotency_key", sa.String(64), nullable=False, unique=True),
        sa.Column("group_key", sa.Text, nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("integration", sa.Integer, nullable=False),
        sa.Column("channel", sa.String(32), nullable=False),
        sa.Column("reason", sa.String(16), nullable=False),
        sa.Column("payload", DOCUMENT, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False, server_default=sa.text("0")),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("next_attempt_ms", sa.BigInteger, nullable=False),
        sa.Column("claimed_until_ms", sa.BigInteger),
        sa.Column("delivered_at_ms", sa.BigInteger),
        sa.Column("last_error", sa.Text),
    )
    op.create_index("ix_outbox_status_next_attempt_ms", "outbox", ["status", "next_attempt_ms"])
    op.create_index("ix_outbox_group_key", "outbox", ["group_key"])
    op.create_table(
        "delivery_attempts",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("outbox_id", sa.BigInteger, sa.ForeignKey("outbox.id"), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("status_code", sa.Integer),
        sa.Column("latency_ms", sa.Float, nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_delivery_attempts_outbox_id", "delivery_attempts", ["outbox_id"])


def downgrade() -> None:
    """Drop the alert pipeline's tables."""
    for table in ("delivery_attempts", "outbox", "notification_log", "alert_groups", "silences", "alerts"):
        op.drop_table(table)
