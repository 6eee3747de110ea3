"""The ledger's ORM session: turns an optimistic-locking failure into a clear error.

Orders and positions carry a ``version`` column (``version_id_col``): SQLAlchemy updates them
with ``... WHERE id = :id AND version = :read`` and bumps the version. When another session
committed a change first, no row matches and SQLAlchemy raises ``StaleDataError``. This
session rolls itself back (the first session's change stays, nothing half-written remains),
finds which row moved and raises :class:`VersionConflictError`; the caller reloads and retries.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Engine, select
from sqlalchemy.exc import IllegalStateChangeError
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import instance_state
from sqlalchemy.orm.exc import StaleDataError

from mftbot.storage.errors import VersionConflictError
from mftbot.storage.models import VERSIONED_MODELS, OrderRecord, PositionRecord


@dataclass(frozen=True, slots=True)
class _Pending:
    """A versioned row about to be written, as this session read it."""

    model: type[OrderRecord] | type[PositionRecord]
    entity: str
    row_id: int
    label: str
    expected_version: int


class LedgerSession(Session):
    """A :class:`~sqlalchemy.orm.Session` that reports lost optimistic-locking races."""

    def flush(self, objects: Sequence[Any] | None = None) -> None:
        """Flush; a stale versioned row rolls the session back and raises a conflict."""
        pending = self._versioned_writes()
        try:
            super().flush(objects)
        except StaleDataError as exc:
            conflict = self._conflict(pending, exc)
            # Flushing inside commit(), the commit in progress cannot be rolled back from here;
            # commit() below (or the ``with session.begin()`` block) rolls back instead.
            with suppress(IllegalStateChangeError):
                self.rollback()
            raise conflict from exc

    def commit(self) -> None:
        """Commit; on a lost race the session is rolled back and the conflict raised."""
        try:
            super().commit()
        except VersionConflictError:
            self.rollback()
            raise

    def _versioned_writes(self) -> list[_Pending]:
        """Versioned rows this flush will update or delete, with the version read."""
        found = []
        for obj in (*self.dirty, *self.deleted):
            if not isinstance(obj, VERSIONED_MODELS):
                continue
            if obj not in self.deleted and not self.is_modified(obj):
                continue
            state = instance_state(obj)
            if state.key is None:
                continue
            version = state.committed_state.get("version", obj.__dict__.get("version"))
            if version is None:  # expired: SQLAlchemy re-reads it, so no stale read is possible
                continue
            found.append(
                _Pending(
                    model=type(obj),
                    entity=type(obj).__tablename__,
                    row_id=int(state.key[1][0]),
                    label=obj.conflict_label(),
                    expected_version=int(version),
                )
            )
        return found

    def _conflict(self, pending: list[_Pending], exc: StaleDataError) -> VersionConflictError:
        """Name the row whose stored version no longer matches what this session read.

        The failed flush already rolled back this session's database transaction, so a
        separate connection reads the committed versions without waiting on our own locks.
        """
        bind = self.get_bind()
        if isinstance(bind, Engine):
            with bind.connect() as connection:
                for item in pending:
                    current = connection.execute(
                        select(item.model.version).where(item.model.id == item.row_id)
                    ).scalar_one_or_none()
                    if current != item.expected_version:
                        return VersionConflictError(
                            entity=item.entity,
                            entity_id=item.row_id,
                            label=item.label,
                            expected_version=item.expected_version,
                            found_version=current,
                        )
        return VersionConflictError(
            entity="unknown",
            entity_id=None,
            label=str(exc),
            expected_version=None,
            found_version=None,
        )
