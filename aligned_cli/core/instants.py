"""Instants: every timestamp aligned compares is a UTC-aware datetime (SPEC §4)."""

from __future__ import annotations

from datetime import UTC, date, datetime


def as_utc(value: object) -> datetime:
    """A datetime (naive = UTC by contract) or date as a UTC-aware datetime."""
    if isinstance(value, datetime):
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=UTC)
    raise TypeError(f"not a timestamp: {value!r}")
