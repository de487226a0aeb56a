"""Incidents: incidents, timeline entries, linked alert groups, roles, follow-up actions.

Revision ID: 0007
Revises: 0006
Create Date: 2026-12-20

Frozen: spells the schema out instead of importing incident_tables.py.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Create the incident tables."""
    op.create_table(
        "incidents",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("title", sa.String(300), nullable=False),
        sa.Column("severity", sa.String(8), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("impact_start_ms", sa.BigInteger),
        sa.Column("detected_ms", sa.BigInteger),
        sa.Column("acknowledged_ms", sa.BigInteger),
        sa.Column("mitigated_ms", sa.BigInteger),
        sa.Column("resolved_ms", sa.BigInteger),
    )
    op.create_index("ix_incidents_status", "incidents", ["status"])
    op.create_table(
        "incident_timeline",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("detail", DOCUMENT, nullable=False),
    )
    op.create_index("ix_incident_timeline_incident_id", "incident_timeline", ["incident_id"])
    op.create_table(
        "incident_alert_groups",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("group_key", sa.Text, primary_key=True),
        sa.Column("linked_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "incident_roles",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("role", sa.String(32), primary_key=True),
        sa.Column("user_name", sa.String(200), nullable=False),
    )
    op.create_table(
        "incident_actions",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("owner", sa.String(200)),
        sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_index("ix_incident_actions_incident_id", "incident_actions", ["incident_id"])


def downgrade() -> None:
    """Drop the incident tables."""
    op.drop_index("ix_incident_actions_incident_id", "incident_actions")
    op.drop_table("incident_actions")
    op.drop_table("incident_roles")
    op.drop_table("incident_alert_groups")
    op.drop_index("ix_incident_timeline_incident_id", "incident_timeline")
    op.drop_table("incident_timeline")
    op.drop_index("ix_incidents_status", "incidents")
    op.drop_table("incidents")
