"""Alembic migrations of the tocsin schema, run by `Store.migrate()` or `tocsin db migrate`."""
