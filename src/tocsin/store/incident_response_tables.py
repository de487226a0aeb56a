"""Tables of incident response beyond the record: impacts, updates, postmortems; and status-page state.

Defined on the same `metadata` as tables.py; created by migration 0008, which also adds the
columns noted on incident_tables.py (timeline pin/hide/edit history, action kind/status/due).
"""

from __future__ import annotations

from sqlalchemy import BigInteger, Boolean, Column, ForeignKey, Index, Integer, String, Table, Text, false

from tocsin.store.tables import Document, RowId, metadata

# What an incident affects: a service (page "") or a status-page component (page = its slug).
incident_impacts = Table(
    "incident_impacts",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("kind", String(16), primary_key=True),  # service, component
    Column("page", String(64), primary_key=True),  # status page slug for components, "" for services
    Column("name", String(200), primary_key=True),
    # degraded_performance, partial_outage, major_outage, under_maintenance
    Column("impact", String(32), nullable=False),
)

# Internal updates (to the incident's audience through the alert pipeline's channels) and public
# updates (published on the linked status pages and fanned out to their subscribers).
incident_updates = Table(
    "incident_updates",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), nullable=False, index=True),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
    Column("audience", String(16), nullable=False),  # internal, public
    Column("status", String(16), nullable=False),  # the incident status the update announces
    Column("body", Text, nullable=False),
    Column("pages", Document, nullable=False),  # status page slugs a public update is shown on
    Column("components", Document, nullable=False),  # {"page/component": impact} at the time of the update
    Column("fanned_out_at_ms", BigInteger),  # when subscribers were queued; NULL until then
)
Index("ix_incident_updates_pending", incident_updates.c.audience, incident_updates.c.fanned_out_at_ms)

# The postmortem: the current text and state; every saved version is kept in postmortem_versions.
postmortems = Table(
    "postmortems",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("state", String(16), nullable=False),  # draft, in_review, published
    Column("version", Integer, nullable=False),  # bumped by every save; edits name the version they saw
    Column("body", Text, nullable=False),  # Markdown
    Column("facts", Document, nullable=False),  # computed impact/detection/response figures
    Column("required", Boolean, nullable=False, server_default=false()),
    Column("generated_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
    Column("updated_by", String(200), nullable=False),
    Column("published_at_ms", BigInteger),
)

postmortem_versions = Table(
    "postmortem_versions",
    metadata,
    Column("incident_id", BigInteger, ForeignKey("incidents.id"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("state", String(16), nullable=False),
    Column("body", Text, nullable=False),
    Column("at_ms", BigInteger, nullable=False),
    Column("actor", String(200), nullable=False),
)

# Status pages created in the console (pages from the config file are not stored).
status_pages = Table(
    "status_pages",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("slug", String(64), nullable=False, unique=True),
    Column("spec", Document, nullable=False),  # the same shape as a status_pages: entry of the config
    Column("version", Integer, nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("created_at_ms", BigInteger, nullable=False),
    Column("updated_at_ms", BigInteger, nullable=False),
)

# Components whose status is set by hand (from the console or API), by page slug and component name.
status_component_overrides = Table(
    "status_component_overrides",
    metadata,
    Column("page", String(64), primary_key=True),
    Column("component", String(200), primary_key=True),
    Column("status", String(32), nullable=False),
    Column("set_by", String(200), nullable=False),
    Column("set_at_ms", BigInteger, nullable=False),
)

# Subscribers of a status page: email (double opt-in) or webhook; `components` empty means all.
status_subscribers = Table(
    "status_subscribers",
    metadata,
    Column("id", RowId, primary_key=True),
    Column("page", String(64), nullable=False),
    Column("kind", String(16), nullable=False),  # email, webhook
    Column("address", String(500), nullable=False),  # email address or webhook URL
    Column("components", Document, nullable=False),
    Column("token", String(64), nullable=False, unique=True),  # confirm and unsubscribe links
    Column("created_at_ms", BigInteger, nullable=False),
    Column("confirmed_at_ms", BigInteger),  # NULL until the email link is followed (webhooks: at creation)
)
Index(
    "uq_status_subscribers_page_kind_address",
    status_subscribers.c.page,
    status_subscribers.c.kind,
    status_subscribers.c.address,
    unique=True,
)
