"""Calendar arithmetic on ns timestamps (UTC): trading days, weekdays, hours. No clock reads."""

from __future__ import annotations

SECOND_NS = 1_000_000_000
HOUR_NS = 3600 * SECOND_NS
DAY_NS = 24 * HOUR_NS
YEAR_NS = 365 * DAY_NS
"""Crypto trades every day: a year of bars is 365 days of them."""

_EPOCH_WEEKDAY = 3
"""1970-01-01 was a Thursday (Monday = 0)."""


def trading_day(ts_ns: int, reset_offset_ns: int = 0) -> int:
    """The trading day ``ts_ns`` falls in, when days start ``reset_offset_ns`` after 00:00 UTC."""
    return (ts_ns - reset_offset_ns) // DAY_NS


def weekday(ts_ns: int) -> int:
    """UTC weekday, Monday = 0 … Sunday = 6."""
    return (ts_ns // DAY_NS + _EPOCH_WEEKDAY) % 7


def is_weekend(ts_ns: int) -> bool:
    """Saturday or Sunday, UTC."""
    return weekday(ts_ns) >= 5


def utc_hour(ts_ns: int) -> int:
    """UTC hour of the day, 0-23."""
    return (ts_ns % DAY_NS) // HOUR_NS
