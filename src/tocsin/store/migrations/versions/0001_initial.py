"""Initial schema: monitors, raw check results, minute/hour/day rollups, events, store meta.

Revision ID: 0001
Revises:
Create Date: 2026-01-01

Frozen: this file spells the schema out instead of importing `tables.py`, so later edits
to the tables cannot change what this revision did.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")
HISTOGRAM = [f"h{i:02d}" for i in range(16)]


def upgrade() -> None:
    """Create every table of the first release."""
    _monitors()
    _results()
    for resolution in ("minute", "hour", "day"):
        _rollup(f"rollup_{resolution}")
    _events()
    op.create_table(
        "store_meta",
        sa.Column("key", sa.String(64), nullable=False),
        sa.Column("value", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("key", name="pk_store_meta"),
    )


def downgrade() -> None:
    """Drop everything (used by tests only)."""
    for table in ("store_meta", "events", "rollup_day", "rollup_hour", "rollup_minute"):
        op.drop_table(table)
    op.drop_table("check_results")
    op.drop_table("monitors")


def _monitors() -> None:
    op.create_table(
        "monitors",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("location", sa.Text()),
        sa.Column("paused", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("removed", sa.Boolean(), nullable=False, server_default=sa.false()),
        sa.Column("heartbeat_token", sa.String(64)),
        sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'pending'")),
        sa.Column("consecutive_ok", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("consecutive_fail", sa.Integer(), nullable=False, server_default=sa.text("0")),
        sa.Column("status_since_ms", sa.BigInteger()),
        sa.Column("last_outcome", sa.String(16)),
        sa.Column("last_result_ms", sa.BigInteger()),
        sa.Column("last_ping_ms", sa.BigInteger()),
        sa.Column("last_start_ms", sa.BigInteger()),
        sa.PrimaryKeyConstraint("id", name="pk_monitors"),
        sa.UniqueConstraint("name", name="uq_monitors_name"),
        sa.UniqueConstraint("heartbeat_token", name="uq_monitors_heartbeat_token"),
    )


def _results() -> None:
    op.create_table(
        "check_results",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("outcome", sa.String(16), nullable=False),
        sa.Column("latency_ms", sa.Float()),
        sa.Column("reason", sa.String(32)),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("failures", sa.Text()),
        sa.PrimaryKeyConstraint("id", name="pk_check_results"),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], name="fk_check_results_monitor_id_monitors"),
    )
    op.create_index("ix_check_results_monitor_id_at_ms", "check_results", ["monitor_id", "at_ms"])
    op.create_index(
        "ix_check_results_failures",
        "check_results",
        ["monitor_id", "at_ms"],
        sqlite_where=sa.text("outcome != 'up'"),
        postgresql_where=sa.text("outcome != 'up'"),
    )


def _rollup(name: str) -> None:
    op.create_table(
        name,
        sa.Column("monitor_id", sa.Integer(), nullable=False),
        sa.Column("bucket", sa.BigInteger(), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("up", sa.Integer(), nullable=False),
        sa.Column("degraded", sa.Integer(), nullable=False),
        sa.Column("down", sa.Integer(), nullable=False),
        sa.Column("latency_sum_ms", sa.Float(), nullable=False),
        sa.Column("latency_count", sa.Integer(), nullable=False),
        *(sa.Column(column, sa.Integer(), nullable=False) for column in HISTOGRAM),
        sa.PrimaryKeyConstraint("monitor_id", "bucket", name=f"pk_{name}"),
        sa.ForeignKeyConstraint(["monitor_id"], ["monitors.id"], name=f"fk_{name}_monitor_id_monitors"),
        sqlite_with_rowid=False,
    )


def _events() -> None:
    op.create_table(
        "events",
        sa.Column("id", ROW_ID, nullable=False),
        sa.Column("at_ms", sa.BigInteger(), nullable=False),
        sa.Column("source", sa.String(64), nullable=False),
        sa.Column("fingerprint", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("labels", DOCUMENT, nullable=False),
        sa.Column("annotations", DOCUMENT, nullable=False),
        sa.Column("starts_at_ms", sa.BigInteger(), nullable=False),
        sa.Column("ends_at_ms", sa.BigInteger()),
        sa.Column("generator_url", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name="pk_events"),
    )
    op.create_index("ix_events_fingerprint", "events", ["fingerprint"])
