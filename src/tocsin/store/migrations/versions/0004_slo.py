"""SLOs: per-minute input counts, per-hour SLI counts, event idempotency keys, evaluator state.

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-01

Frozen: spells the schema out instead of importing slo_tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def _counts(name: str, time_column: str) -> None:
    op.create_table(
        name,
        sa.Column("slo", sa.String(200), primary_key=True),
        sa.Column(time_column, sa.BigInteger, primary_key=True),
        sa.Column("good", sa.Float, nullable=False),
        sa.Column("total", sa.Float, nullable=False),
        sqlite_with_rowid=False,
    )


def upgrade() -> None:
    """Create the SLO tables."""
    _counts("slo_minutes", "minute")
    _counts("slo_hours", "hour")
    op.create_table(
        "slo_event_keys",
        sa.Column("slo", sa.String(200), primary_key=True),
        sa.Column("key", sa.String(200), primary_key=True),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_slo_event_keys_at_ms", "slo_event_keys", ["at_ms"])
    op.create_table(
        "slo_state",
        sa.Column("slo", sa.String(200), primary_key=True),
        sa.Column("data_key", sa.String(32), nullable=False),
        sa.Column("hours_start", sa.BigInteger, nullable=False),
        sa.Column("hours_end", sa.BigInteger, nullable=False),
        sa.Column("firing", DOCUMENT),
        sa.Column("updated_ms", sa.BigInteger, nullable=False),
    )


def downgrade() -> None:
    """Drop the SLO tables."""
    for table in ("slo_state", "slo_event_keys", "slo_hours", "slo_minutes"):
        op.drop_table(table)
