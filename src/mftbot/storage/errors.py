"""Storage errors with the details a caller needs to react (all are ``StorageError``)."""

from __future__ import annotations

from mftbot.core.errors import ConcurrencyConflictError, StorageError


class VersionConflictError(ConcurrencyConflictError):
    """Another session changed (or deleted) the row since this session read it.

    The session that raised it has been rolled back; reload the row and retry.
    """

    def __init__(
        self,
        *,
        entity: str,
        entity_id: int | None,
        label: str,
        expected_version: int | None,
        found_version: int | None,
    ) -> None:
        self.entity = entity
        self.entity_id = entity_id
        self.expected_version = expected_version
        self.found_version = found_version
        if expected_version is None:
            message = f"concurrent update conflict ({label}); reload and retry"
        else:
            found = "the row is gone" if found_version is None else f"found {found_version}"
            message = (
                f"concurrent update conflict on {label}: expected version "
                f"{expected_version}, {found}; another session changed it, reload and retry"
            )
        super().__init__(message)


class DuplicateClientOrderIdError(StorageError):
    """An order with this client order id is already in the ledger (never send it twice)."""


class DuplicateFillError(StorageError):
    """A fill with this venue trade id is already recorded for the venue."""
