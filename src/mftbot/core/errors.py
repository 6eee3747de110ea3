"""The error hierarchy every layer raises from."""

from __future__ import annotations


class MftbotError(Exception):
    """Base class of every error mftbot raises on purpose."""


class ConfigError(MftbotError):
    """A configuration file or value is invalid."""


class DataError(MftbotError):
    """Market data is missing, malformed or inconsistent."""


class DataNotFoundError(DataError):
    """No recorded market data could be located."""


class BookError(MftbotError):
    """An order-book update cannot be applied (gap, crossed book, bad level)."""


class StorageError(MftbotError):
    """A persistence operation failed."""


class ConcurrencyConflictError(StorageError):
    """An optimistic-locking update lost the race: the row changed since it was read."""


class IllegalTransitionError(MftbotError):
    """A state machine was asked to make a transition its rules forbid."""
