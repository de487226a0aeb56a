"""Tables of incidents: incidents, timeline entries, linked alert groups, roles, follow-up actions.

Defined on the same `metadata` as tables.py; created by migration 0007.
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Integer, String, Table, Text, false, text

from tocsin.store.tables import Document, RowId, metadata

incidents = Table(
    "incidents",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("title", String(300), nullable=False),
    Column("severity", String(8), nullable=False),
    Column("status", String(16), nullable=False, index=True),
    Column("summary", Text, nullable=False),
    Column("version", Integer, nullable=False),  # bumped by every change; edits name the version they saw
    Column("created_by", String(200), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("impact_start_ms", BigInteger),
    Column("detected_ms", BigInteger),
    Column("acknowledged_ms", BigInteger),
    Column("mitigated_ms", BigInteger),
    Column("resolved_ms", BigInteger),
    # added by migration 0008
    Column("source", String(200)),  # how it was declared: console, api, cli, alert group, rule:<name>
    Column("reminded_at_ms", BigInteger),  # last "no update for N minutes" reminder to the commander
)

incident_timeline = Table(
    "incident_timeline",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("kind", String(32), nullable=False),  # declared, status, severity, role, time, note, alert_group
    Column("text", Text, nullable=False),
    Column("detail", Document, nullable=False),
    # added by migration 0008: pinned entries lead the postmortem timeline, hidden ones are left out
    Column("pinned", Boolean, nullable=False, server_default=false()),
    Column("hidden", Boolean, nullable=False, server_default=false()),
    Column("edited_at_ms", BigInteger),
    Column("history", Document),  # earlier texts, oldest first: [{"at", "actor", "text"}], NULL if never edited
)

incident_alert_groups = Table(
    "incident_alert_groups",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("group_key", Text, primary_key=True),
    Column("linked_at_ms", BigInteger, nullable=False),
)

incident_roles = Table(
    "incident_roles",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("role", String(32), primary_key=True),
    Column("user_name", String(200), nullable=False),
)

incident_actions = Table(
    "incident_actions",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("title", Text, nullable=False),
    Column("owner", String(200)),
    Column("created_at_ms", BigInteger, nullable=False),
    # migration 0008 replaced `done` with these
    Column("kind", String(16), nullable=False, server_default=text("'prevent'")),  # mitigate, prevent, detect, process
    Column("status", String(16), nullable=False, server_default=text("'open'")),  # open, in_progress, done, wont_do
    Column("due_ms", BigInteger),
    Column("updated_at_ms", BigInteger),
    Column("exported_at_ms", BigInteger),  # when the actions webhook accepted it; NULL until then
)
