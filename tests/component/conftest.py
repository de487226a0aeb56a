"""Component tests that need a real database use the store tests' fixtures (SQLite and PostgreSQL)."""

from tests.store.conftest import db_url, store  # noqa: F401 - re-exported fixtures
