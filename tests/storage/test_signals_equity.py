"""Signals and equity snapshots, on both backends."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from mftbot.core.config import TradingMode
from mftbot.core.errors import StorageError
from mftbot.storage.database import Database
from mftbot.storage.enums import SignalDirection
from mftbot.storage.repositories import EquityRepository, SignalRepository
from mftbot.storage.session import LedgerSession

T = datetime(2024, 6, 1, tzinfo=UTC)
MINUTE = timedelta(minutes=1)


def test_signals_are_recorded_filtered_and_decided(session: LedgerSession) -> None:
    repo = SignalRepository(session)
    a = repo.add(
        strategy="ema",
        symbol="BTC/USDT",
        timeframe="5m",
        direction=SignalDirection.LONG,
        confidence=0.8,
        signal_time=T,
        payload={"fast": 12, "slow": 26, "score": Decimal("0.8")},
    )
    b = repo.add(
        strategy="ema",
        symbol="ETH/USDT",
        timeframe="5m",
        direction="short",
        confidence=1,
        signal_time=T + MINUTE,
    )
    c = repo.add(
        strategy="rsi",
        symbol="BTC/USDT",
        timeframe="1h",
        direction="flat",
        confidence=0.0,
        signal_time=T + 2 * MINUTE,
        decision="ignored",
    )
    repo.set_decision(a, "rejected_by_risk")
    session.commit()

    assert repo.list() == [a, b, c]
    assert repo.list(strategy="ema") == [a, b]
    assert repo.list(symbol="BTC/USDT") == [a, c]
    assert repo.list(start=T + MINUTE) == [b, c]
    assert repo.list(end=T + MINUTE) == [a]
    assert repo.list(start=T, end=T + 2 * MINUTE) == [a, b]
    assert a.decision == "rejected_by_risk"
    assert a.payload == {"fast": 12, "slow": 26, "score": "0.8"}
    assert b.direction is SignalDirection.SHORT


@pytest.mark.parametrize("confidence", [1.5, -0.1, float("nan"), True])
def test_confidence_outside_zero_one_is_refused(
    sqlite_session: LedgerSession, confidence: float
) -> None:
    with pytest.raises(StorageError, match="confidence"):
        SignalRepository(sqlite_session).add(
            strategy="s",
            symbol="X/Y",
            timeframe="1m",
            direction="long",
            confidence=confidence,
            signal_time=T,
        )


def test_the_database_checks_confidence_and_enums_too(db: Database) -> None:
    insert = (
        "INSERT INTO signals (strategy, symbol, timeframe, direction, confidence, signal_time) "
        "VALUES ('s', 'X/Y', '1m', :direction, :confidence, :ts)"
    )
    for direction, confidence in (("long", 2.0), ("up", 0.5)):
        with pytest.raises(IntegrityError), db.engine.begin() as conn:
            conn.execute(text(insert), {"direction": direction, "confidence": confidence, "ts": T})


def test_equity_snapshots_per_mode(session: LedgerSession) -> None:
    repo = EquityRepository(session)
    assert repo.latest(TradingMode.PAPER) is None
    p1 = repo.record(
        equity="10000", cash="10000", unrealised_pnl=0, realised_pnl=0, mode="paper", ts=T
    )
    p2 = repo.record(
        equity="10012.5",
        cash="9000",
        unrealised_pnl="12.5",
        realised_pnl="-0.25",
        mode=TradingMode.PAPER,
        ts=T + MINUTE,
    )
    live = repo.record(
        equity=5, cash=5, unrealised_pnl=0, realised_pnl=0, mode="live", ts=T + 2 * MINUTE
    )
    session.commit()
    assert repo.latest("paper") == p2
    assert repo.latest(TradingMode.LIVE) == live
    assert repo.between(T, T + 3 * MINUTE) == [p1, p2, live]
    assert repo.between(T, T + 3 * MINUTE, mode="paper") == [p1, p2]
    assert p2.realised_pnl == Decimal("-0.25")
    with pytest.raises(StorageError, match="mode"):
        repo.record(equity=1, cash=1, unrealised_pnl=0, realised_pnl=0, mode="demo")
