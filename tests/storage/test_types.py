"""Exact money, aware UTC times and JSON payloads, identical on SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.exc import StatementError

from mftbot.core.config import TradingMode
from mftbot.core.errors import StorageError
from mftbot.storage.database import Database
from mftbot.storage.jsoncodec import json_dumps
from mftbot.storage.models import EquitySnapshot
from mftbot.storage.repositories import AuditLog, EquityRepository
from mftbot.storage.types import ensure_utc, to_decimal

LARGEST = "99999999999999999999.999999999999999999"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        (0.1, "0.1"),  # a float is taken by its shortest repr, not its binary expansion
        (60000.5, "60000.5"),
        (3, "3"),
        ("100.000", "100"),
        (Decimal("1E+3"), "1000"),
        ("-0.00", "0"),
        ("0.0000000000000000005", "0.000000000000000001"),  # half away from zero
        ("-0.0000000000000000005", "-0.000000000000000001"),
        ("0.0000000000000000004", "0"),
        (LARGEST, LARGEST),
    ],
)
def test_to_decimal_is_exact_and_canonical(given: Any, expected: str) -> None:
    value = to_decimal(given)
    assert format(value, "f") == expected
    assert value == Decimal(expected)


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (True, "not a number"),
        (None, "not a number"),
        ("abc", "not a number"),
        (float("nan"), "not a finite number"),
        (Decimal("-Infinity"), "not a finite number"),
        ("1e20", "does not fit NUMERIC"),
        ("-100000000000000000000", "does not fit NUMERIC"),
    ],
)
def test_to_decimal_refuses_what_cannot_be_stored(given: Any, message: str) -> None:
    with pytest.raises(StorageError, match=message):
        to_decimal(given, "price")


def test_ensure_utc_converts_and_refuses_naive_times() -> None:
    moscow = datetime(2024, 1, 1, 3, 0, tzinfo=timezone(timedelta(hours=3)))
    assert ensure_utc(moscow) == datetime(2024, 1, 1, tzinfo=UTC)
    assert ensure_utc(moscow).tzinfo is UTC
    with pytest.raises(StorageError, match="naive"):
        ensure_utc(datetime(2024, 1, 1))
    with pytest.raises(StorageError, match="not a datetime"):
        ensure_utc("2024-01-01")  # type: ignore[arg-type]


def test_money_round_trips_exactly_on_both_backends(db: Database) -> None:
    values = {
        "equity": LARGEST,
        "cash": "-" + LARGEST,
        "unrealised_pnl": "0.000000000000000001",
        "realised_pnl": 0.1,
    }
    with db.transaction() as s:
        EquityRepository(s).record(mode=TradingMode.BACKTEST, **values)
    with db.session() as s:
        row = s.scalars(select(EquitySnapshot)).one()
        assert str(row.equity) == LARGEST
        assert str(row.cash) == "-" + LARGEST
        assert format(row.unrealised_pnl, "f") == "0.000000000000000001"
        assert str(row.realised_pnl) == "0.1"


def test_the_column_type_itself_refuses_bad_money(db: Database) -> None:
    with db.session() as s:
        s.add(
            EquitySnapshot(
                ts=datetime(2024, 1, 1, tzinfo=UTC),
                equity=Decimal("NaN"),
                cash=0,
                unrealised_pnl=0,
                realised_pnl=0,
                mode=TradingMode.PAPER,
            )
        )
        with pytest.raises(StatementError, match="not a finite number"):
            s.flush()


def test_times_are_stored_in_utc_with_microseconds_on_both_backends(db: Database) -> None:
    local = datetime(2024, 2, 29, 23, 30, 0, 123456, tzinfo=timezone(timedelta(hours=-5)))
    with db.transaction() as s:
        AuditLog(s).append("leap", actor="t", entity_type="x", ts=local)
    with db.session() as s:
        [entry] = AuditLog(s).for_entity("x")
        assert entry.ts == local
        assert entry.ts.tzinfo is UTC
        assert (entry.ts.day, entry.ts.hour, entry.ts.microsecond) == (1, 4, 123456)
        # a range query given in another zone finds it (comparison happens in UTC)
        before = local.astimezone(timezone(timedelta(hours=9))) - timedelta(microseconds=1)
        assert AuditLog(s).between(before, before + timedelta(microseconds=2)) == [entry]


def test_json_payloads_round_trip_on_both_backends(db: Database) -> None:
    details = {
        "qty": Decimal("0.123456789012345678901"),
        "when": datetime(2024, 1, 1, tzinfo=UTC),
        "mode": TradingMode.LIVE,
        "nested": {"list": [1, 2.5, None, True, "ü"]},
    }
    with db.transaction() as s:
        written = AuditLog(s).append("x", actor="t", entity_type="json", details=details)
    expected = {
        "qty": "0.123456789012345678901",
        "when": "2024-01-01T00:00:00+00:00",
        "mode": "live",
        "nested": {"list": [1, 2.5, None, True, "ü"]},
    }
    assert written.details == expected
    with db.session() as s:
        assert AuditLog(s).for_entity("json")[0].details == expected


@pytest.mark.parametrize("bad", [{"x": float("nan")}, {"x": object()}, {"x": Decimal("NaN")}])
def test_unstorable_json_is_refused_at_the_call(sqlite_db: Database, bad: dict[str, Any]) -> None:
    with (
        sqlite_db.session() as s,
        pytest.raises(StorageError, match="details: not storable as JSON"),
    ):
        AuditLog(s).append("x", actor="t", entity_type="json", details=bad)


def test_json_dumps_spells_decimals_times_and_enums() -> None:
    text = json_dumps({"d": Decimal("1.50"), "t": datetime(2024, 1, 1, tzinfo=UTC)})
    assert text == '{"d": "1.50", "t": "2024-01-01T00:00:00+00:00"}'
