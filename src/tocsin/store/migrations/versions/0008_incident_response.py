"""Incident response and status pages: impacts, updates, postmortems, timeline edits, action
kinds and due dates; console status pages, hand-set components and subscribers.

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-22

Frozen: spells the schema out instead of importing the table modules.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects.postgresql import JSONB

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None

ROW_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
DOCUMENT = sa.JSON().with_variant(JSONB(), "postgresql")


def upgrade() -> None:
    """Add the columns and create the tables."""
    with op.batch_alter_table("incidents") as batch:
        batch.add_column(sa.Column("source", sa.String(200)))
        batch.add_column(sa.Column("reminded_at_ms", sa.BigInteger))
    with op.batch_alter_table("incident_timeline") as batch:
        batch.add_column(sa.Column("pinned", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("hidden", sa.Boolean, nullable=False, server_default=sa.false()))
        batch.add_column(sa.Column("edited_at_ms", sa.BigInteger))
        batch.add_column(sa.Column("history", DOCUMENT))
    with op.batch_alter_table("incident_actions") as batch:
        batch.add_column(sa.Column("kind", sa.String(16), nullable=False, server_default=sa.text("'prevent'")))
        batch.add_column(sa.Column("status", sa.String(16), nullable=False, server_default=sa.text("'open'")))
        batch.add_column(sa.Column("due_ms", sa.BigInteger))
        batch.add_column(sa.Column("updated_at_ms", sa.BigInteger))
        batch.add_column(sa.Column("exported_at_ms", sa.BigInteger))
    op.execute("UPDATE incident_actions SET status = 'done' WHERE done")
    with op.batch_alter_table("incident_actions") as batch:
        batch.drop_column("done")
    op.create_table(
        "incident_impacts",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("kind", sa.String(16), primary_key=True),
        sa.Column("page", sa.String(64), primary_key=True),
        sa.Column("name", sa.String(200), primary_key=True),
        sa.Column("impact", sa.String(32), nullable=False),
    )
    op.create_table(
        "incident_updates",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
        sa.Column("audience", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("pages", DOCUMENT, nullable=False),
        sa.Column("components", DOCUMENT, nullable=False),
        sa.Column("fanned_out_at_ms", sa.BigInteger),
    )
    op.create_index("ix_incident_updates_incident_id", "incident_updates", ["incident_id"])
    op.create_index("ix_incident_updates_pending", "incident_updates", ["audience", "fanned_out_at_ms"])
    op.create_table(
        "postmortems",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("facts", DOCUMENT, nullable=False),
        sa.Column("required", sa.Boolean, nullable=False, server_default=sa.false()),
        sa.Column("generated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_by", sa.String(200), nullable=False),
        sa.Column("published_at_ms", sa.BigInteger),
    )
    op.create_table(
        "postmortem_versions",
        sa.Column("incident_id", sa.BigInteger, sa.ForeignKey("incidents.id"), primary_key=True),
        sa.Column("version", sa.Integer, primary_key=True),
        sa.Column("state", sa.String(16), nullable=False),
        sa.Column("body", sa.Text, nullable=False),
        sa.Column("at_ms", sa.BigInteger, nullable=False),
        sa.Column("actor", sa.String(200), nullable=False),
    )
    op.create_table(
        "status_pages",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("slug", sa.String(64), nullable=False, unique=True),
        sa.Column("spec", DOCUMENT, nullable=False),
        sa.Column("version", sa.Integer, nullable=False),
        sa.Column("created_by", sa.String(200), nullable=False),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("updated_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "status_component_overrides",
        sa.Column("page", sa.String(64), primary_key=True),
        sa.Column("component", sa.String(200), primary_key=True),
        sa.Column("status", sa.String(32), nullable=False),
        sa.Column("set_by", sa.String(200), nullable=False),
        sa.Column("set_at_ms", sa.BigInteger, nullable=False),
    )
    op.create_table(
        "status_subscribers",
        sa.Column("id", ROW_ID, primary_key=True),
        sa.Column("page", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(16), nullable=False),
        sa.Column("address", sa.String(500), nullable=False),
        sa.Column("components", DOCUMENT, nullable=False),
        sa.Column("token", sa.String(64), nullable=False, unique=True),
        sa.Column("created_at_ms", sa.BigInteger, nullable=False),
        sa.Column("confirmed_at_ms", sa.BigInteger),
    )
    op.create_index(
        "uq_status_subscribers_page_kind_address", "status_subscribers", ["page", "kind", "address"], unique=True
    )


def downgrade() -> None:
    """Drop the tables and columns again (action statuses other than done become not done)."""
    op.drop_index("uq_status_subscribers_page_kind_address", "status_subscribers")
    op.drop_table("status_subscribers")
    op.drop_table("status_component_overrides")
    op.drop_table("status_pages")
    op.drop_table("postmortem_versions")
    op.drop_table("postmortems")
    op.drop_index("ix_incident_updates_pending", "incident_updates")
    op.drop_index("ix_incident_updates_incident_id", "incident_updates")
    op.drop_table("incident_updates")
    op.drop_table("incident_impacts")
    with op.batch_alter_table("incident_actions") as batch:
        batch.add_column(sa.Column("done", sa.Boolean, nullable=False, server_default=sa.false()))
    op.execute("UPDATE incident_actions SET done = (status = 'done')")
    with op.batch_alter_table("incident_actions") as batch:
        for name in ("exported_at_ms", "updated_at_ms", "due_ms", "status", "kind"):
            batch.drop_column(name)
    with op.batch_alter_table("incident_timeline") as batch:
        for name in ("history", "edited_at_ms", "hidden", "pinned"):
            batch.drop_column(name)
    with op.batch_alter_table("incidents") as batch:
        batch.drop_column("reminded_at_ms")
        batch.drop_column("source")
