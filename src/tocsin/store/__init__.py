"""Persistence: SQLAlchemy Core over SQLite or PostgreSQL, behind the `Store` facade in store.py."""
