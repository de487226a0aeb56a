"""Hour and day rollups folded from minute rows: the fold watermark's row, "not started" until the first fold.

Why a row before the first fold: a results batch reads the watermark `FOR SHARE`, and a lock
needs a row. With the row there from the start, the first fold (which takes it `FOR UPDATE`)
waits for every batch that read "not started" and wrote all three rollups, then sees their
minute rows when it picks its first watermark (store/fold.py).

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-22

Frozen: spells the statements out instead of importing the table modules.
"""

from __future__ import annotations

from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None

KEY = "rollup_folded_until"
NOT_STARTED = 2**62  # a watermark after every minute: batches write every resolution, readers use hour and day rows
COLUMNS = ("total", "up", "degraded", "down", "latency_sum_ms", "latency_count", *(f"h{i:02d}" for i in range(16)))


def upgrade() -> None:
    """Add the watermark's row, unless a store has one already."""
    op.execute(
        f"INSERT INTO store_meta (key, value) SELECT '{KEY}', {NOT_STARTED} "
        f"WHERE NOT EXISTS (SELECT 1 FROM store_meta WHERE key = '{KEY}')"
    )


def downgrade() -> None:
    """Fold every minute not folded yet into its hour and day rows (older code writes all three), then drop the row."""
    sums = ", ".join(f"sum({c})" for c in COLUMNS)
    adds = ", ".join(f"{c} = {{table}}.{c} + excluded.{c}" for c in COLUMNS)
    watermark = f"(SELECT value FROM store_meta WHERE key = '{KEY}')"
    for table, size in (("rollup_hour", 3600), ("rollup_day", 86400)):
        op.execute(
            f"INSERT INTO {table} (monitor_id, bucket, {', '.join(COLUMNS)}) "
            f"SELECT monitor_id, bucket - bucket % {size}, {sums} FROM rollup_minute "
            f"WHERE bucket >= {watermark} GROUP BY monitor_id, bucket - bucket % {size} "
            f"ON CONFLICT (monitor_id, bucket) DO UPDATE SET {adds.format(table=table)}"
        )
    op.execute(f"DELETE FROM store_meta WHERE key = '{KEY}'")
