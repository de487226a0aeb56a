"""Exact conversions between aware datetimes and the integers the store keeps."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def to_ms(at: datetime) -> int:
    """Epoch milliseconds, truncating sub-millisecond parts; naive datetimes are read as UTC."""
    delta = (at if at.tzinfo else at.replace(tzinfo=UTC)) - EPOCH
    return delta.days * 86_400_000 + delta.seconds * 1000 + delta.microseconds // 1000


def to_s(at: datetime) -> int:
    """Epoch seconds, truncating towards the past."""
    return to_ms(at) // 1000


def from_ms(ms: int) -> datetime:
    """The aware UTC datetime of epoch milliseconds (exact)."""
    return EPOCH + timedelta(milliseconds=ms)


def from_s(seconds: int) -> datetime:
    """The aware UTC datetime of epoch seconds."""
    return EPOCH + timedelta(seconds=seconds)


def opt_from_ms(ms: int | None) -> datetime | None:
    """`from_ms`, passing None through."""
    return None if ms is None else from_ms(ms)


def opt_to_ms(at: datetime | None) -> int | None:
    """`to_ms`, passing None through."""
    return None if at is None else to_ms(at)
