"""Column types that behave the same on SQLite and PostgreSQL.

* :class:`Money`: exact decimals. ``NUMERIC(38, 18)`` on PostgreSQL; on SQLite, which has no
  exact decimal type (``NUMERIC`` there is a float), a fixed-point string. Values are rounded
  half away from zero to 18 places on the way in on both backends, so a value reads back the
  same wherever it was stored. SQL arithmetic and ordering on money columns are therefore only
  meaningful on PostgreSQL; the repositories do money arithmetic in Python.
* :class:`UtcDateTime`: timezone-aware UTC datetimes in, timezone-aware UTC datetimes out.
  ``TIMESTAMP WITH TIME ZONE`` on PostgreSQL, UTC text on SQLite. Naive datetimes are refused.
* :data:`JsonDoc`: ``JSONB`` on PostgreSQL, ``JSON`` (text) on SQLite.
* :data:`BigId`: a 64-bit key on PostgreSQL, SQLite's ``INTEGER`` rowid alias there.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import ROUND_HALF_UP, Context, Decimal, InvalidOperation
from typing import Any

from sqlalchemy import JSON, BigInteger, DateTime, Dialect, Integer, Numeric, String
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.types import TypeDecorator, TypeEngine

from mftbot.core.errors import StorageError

MONEY_PRECISION = 38
MONEY_SCALE = 18
_QUANTUM = Decimal(1).scaleb(-MONEY_SCALE)
_LIMIT = Decimal(10) ** (MONEY_PRECISION - MONEY_SCALE)
_CTX = Context(prec=MONEY_PRECISION + 20, rounding=ROUND_HALF_UP)

MoneyInput = Decimal | int | float | str
"""What money fields accept; floats are taken by their shortest repr (``0.1`` -> ``0.1``)."""


def _canonical(value: Decimal) -> Decimal:
    """Strip trailing zeros without switching to exponent notation (100, not 1E+2)."""
    if value.is_zero():
        return Decimal(0)
    normal = value.normalize(_CTX)
    exponent = normal.as_tuple().exponent
    assert isinstance(exponent, int)
    return normal.quantize(Decimal(1), context=_CTX) if exponent > 0 else normal


def to_decimal(value: MoneyInput, field: str = "value") -> Decimal:
    """Convert to the exact decimal the ledger stores, or raise :class:`StorageError`.

    Refuses booleans, non-numbers, NaN, infinities and magnitudes beyond ``NUMERIC(38, 18)``.
    """
    if isinstance(value, bool) or not isinstance(value, Decimal | int | float | str):
        raise StorageError(f"{field}: {value!r} is not a number")
    try:
        number = Decimal(repr(value)) if isinstance(value, float) else Decimal(value)
    except InvalidOperation as exc:
        raise StorageError(f"{field}: {value!r} is not a number") from exc
    if not number.is_finite():
        raise StorageError(f"{field}: {value!r} is not a finite number")
    rounded = number.quantize(_QUANTUM, context=_CTX)
    if rounded.copy_abs() >= _LIMIT:
        raise StorageError(
            f"{field}: {value!r} does not fit NUMERIC({MONEY_PRECISION}, {MONEY_SCALE})"
        )
    return _canonical(rounded)


class Money(TypeDecorator[Decimal]):
    """An exact decimal with 18 places (see the module docstring)."""

    impl = Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Dialect) -> TypeEngine[Any]:
        """Fixed-point text on SQLite, ``NUMERIC(38, 18)`` elsewhere."""
        if dialect.name == "sqlite":
            return dialect.type_descriptor(String(MONEY_PRECISION + 2))
        return dialect.type_descriptor(Numeric(MONEY_PRECISION, MONEY_SCALE, asdecimal=True))

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        """Validate and round; SQLite gets the fixed-point string."""
        if value is None:
            return None
        number = to_decimal(value)
        return format(number, "f") if dialect.name == "sqlite" else number

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        """Read back the canonical decimal (no trailing zeros)."""
        if value is None:
            return None
        return _canonical(Decimal(value))

    @property
    def python_type(self) -> type[Decimal]:
        """Values are :class:`decimal.Decimal`."""
        return Decimal


def ensure_utc(value: datetime, field: str = "timestamp") -> datetime:
    """Return ``value`` in UTC; a naive datetime is an error (its zone is unknown)."""
    if not isinstance(value, datetime):
        raise StorageError(f"{field}: {value!r} is not a datetime")
    if value.tzinfo is None or value.utcoffset() is None:
        raise StorageError(f"{field}: naive datetime {value.isoformat()}; pass an aware UTC time")
    return value.astimezone(UTC)


class UtcDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC datetime on both backends."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> datetime | None:
        """Convert to UTC; SQLite stores it without the (implied) zone."""
        if value is None:
            return None
        utc = ensure_utc(value)
        return utc.replace(tzinfo=None) if dialect.name == "sqlite" else utc

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        """Always an aware UTC datetime."""
        if value is None:
            return None
        assert isinstance(value, datetime)
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)

    @property
    def python_type(self) -> type[datetime]:
        """Values are :class:`datetime.datetime`."""
        return datetime


JsonDoc: TypeEngine[Any] = JSON().with_variant(JSONB(), "postgresql")
"""A JSON document: ``JSONB`` on PostgreSQL, ``JSON`` on SQLite."""

BigId: TypeEngine[int] = BigInteger().with_variant(Integer(), "sqlite")
"""A surrogate key: ``BIGINT`` on PostgreSQL, ``INTEGER`` (the rowid alias) on SQLite."""
