"""On-call: overrides and shift swaps made in the console or API.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-15

Frozen: spells the schema out instead of importing oncall_tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the override and swap tables."""
    op.create_table(
        "oncall_overrides",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("schedule", sa.String(200), nullable=False),
        sa.Column("user_name", sa.String(200), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("replaces", sa.String(200)),
        sa.Column("swap_id", sa.BigInteger),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_oncall_overrides_end_ms", "oncall_overrides", ["end_ms"])
    op.create_table(
        "oncall_swaps",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("schedule", sa.String(200), nullable=False),
        sa.Column("requester", sa.String(200), nullable=False),
        sa.Column("start_ms", sa.BigInteger, nullable=False),
        sa.Column("end_ms", sa.BigInteger, nullable=False),
        sa.Column("other", sa.String(200), nullable=False),
        sa.Column("other_start_ms", sa.BigInteger, nullable=False),
        sa.Column("other_end_ms", sa.BigInteger, nullable=False),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("decided_by", sa.String(200)),
        sa.Column("decided_at_ms", sa.BigInteger),
    )
    op.create_index("ix_oncall_swaps_state", "oncall_swaps", ["state"])


def downgrade() -> None:
    """Drop the override and swap tables."""
    op.drop_index("ix_oncall_swaps_state", "oncall_swaps")
    op.drop_table("oncall_swaps")
    op.drop_index("ix_oncall_overrides_end_ms", "oncall_overrides")
    op.drop_table("oncall_overrides")
