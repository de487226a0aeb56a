"""On-call: escalation state, used ack tokens, secrets, integration keys, cursors, change events.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-08

Frozen: spells the schema out instead of importing oncall_tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Create the on-call tables."""
    op.create_table(
        "oncall_escalations",
        sa.Column("group_key", sa.Text, primary_key=True),
        sa.Column("incident", sa.Integer, nullable=False),
        sa.Column("policy", sa.String(200), nullable=False),
        sa.Column("receiver", sa.String(200), nullable=False),
        sa.Column("service", sa.String(200)),
        sa.Column("urgency", sa.String(8), nullable=False),
        sa.Column("group_labels", DOCUMENT, nullable=False),
        sa.Column("triggered_at_ms", sa.BigInteger, nullable=False),
        sa.Column("acks", DOCUMENT, nullable=False),
        sa.Column("resolved_at_ms", sa.BigInteger),
        sa.Column("resolved_by", sa.String(200)),
        sa.Column("sent_until_ms", sa.BigInteger, nullable=False),
        sa.Column("step", sa.Integer, nullable=False),
        sa.Column("repetition", sa.Integer, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_oncall_escalations_resolved_at_ms", "oncall_escalations", ["resolved_at_ms"])
    op.create_table(
        "oncall_used_tokens",
        sa.Column("nonce", sa.String(64), primary_key=True),
        sa.Column("used_at_ms", sa.BigInteger, nullable=False),
        sa.Column("expires_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_oncall_used_tokens_expires_at_ms", "oncall_used_tokens", ["expires_at_ms"])
    op.create_table(
        "oncall_secrets",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
    )
    op.create_table(
        "oncall_integration_keys",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
    )
    op.create_index(
        "ux_oncall_integration_keys_service_name", "oncall_integration_keys", ["service", "name"], unique=True
    )
    op.create_table(
        "oncall_cursors",
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "oncall_change_events",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("service", sa.String(200), nullable=False),
        sa.Column("key_name", sa.String(200), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("event", DOCUMENT, nullable=False),
    )
    op.create_index("ix_oncall_change_events_at_ms", "oncall_change_events", ["at_ms"])


def downgrade() -> None:
    """Drop the on-call tables."""
    for table in (
        "oncall_change_events",
        "oncall_cursors",
        "oncall_integration_keys",
        "oncall_secrets",
        "oncall_used_tokens",
        "oncall_escalations",
    ):
        op.drop_table(table)
