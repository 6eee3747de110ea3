"""Issue item 6: sma_cross on freqtrade ETH_BTC-5m (prices rounded to 8 decimals) produces
exactly the trades and final equity of an independent computation, written here as a plain
Python loop that uses no mftbot code (exact rational SMAs, float money)."""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import Any

import pandas as pd
import pyarrow.feather as feather  # type: ignore[import-untyped]
import pytest

from mftbot.backtest import backtest

CASH = 10_000.0
FEE = 0.001
FIVE_MINUTES_NS = 300 * 10**9


def load(path: Path) -> pd.DataFrame:
    table = feather.read_table(path).to_pandas()
    frame = table.set_index(pd.DatetimeIndex(table.pop("date"), name="time").tz_convert("UTC"))
    return frame[["open", "high", "low", "close", "volume"]].astype("float64").round(8)


def sma(closes: list[float], t: int, period: int) -> Fraction:
    return sum((Fraction(c) for c in closes[t - period + 1 : t + 1]), Fraction(0)) / period


def reference(frame: pd.DataFrame, fill: str) -> tuple[list[dict[str, Any]], float]:
    """All-in long-only SMA(10)/SMA(30) crossover, fee on notional each side."""
    opens = frame["open"].tolist()
    closes = frame["close"].tolist()
    starts = [int(t.value) for t in frame.index]
    n = len(closes)
    d: list[int | None] = [None] * n
    for t in range(29, n):
        diff = sma(closes, t, 10) - sma(closes, t, 30)
        d[t] = (diff > 0) - (diff < 0)
    cash, qty = CASH, 0.0
    trades: list[dict[str, Any]] = []
    open_trade: dict[str, Any] | None = None
    pending: str | None = None

    def execute(action: str, price: float, when: int) -> None:
        nonlocal cash, qty, open_trade
        if action == "buy":
            qty = cash / (price * (1 + FEE))
            cost = price * qty
            fee = cost * FEE
            cash -= cost + fee
            open_trade = {"entry_time": when, "entry_price": price, "qty": qty, "fee": fee}
        else:
            assert open_trade is not None
            proceeds = price * qty
            fee = proceeds * FEE
            cash += proceeds - fee
            fees = open_trade["fee"] + fee
            trades.append(
                {
                    "entry_time": open_trade["entry_time"],
                    "entry_price": open_trade["entry_price"],
                    "exit_time": when,
                    "exit_price": price,
                    "qty": qty,
                    "pnl": proceeds - open_trade["entry_price"] * qty - fees,
                    "fees": fees,
                }
            )
            qty, open_trade = 0.0, None

    for t in range(n):
        if pending is not None:
            execute(pending, opens[t], starts[t])
            pending = None
        now, before = d[t], d[t - 1] if t > 0 else None
        if now is None or before is None:
            continue
        action = None
        if open_trade is None and now > 0 and before <= 0:
            action = "buy"
        elif open_trade is not None and now < 0 and before >= 0:
            action = "sell"
        if action is None:
            continue
        if fill == "close":
            execute(action, closes[t], starts[t] + FIVE_MINUTES_NS)
        else:
            pending = action
    final = cash
    if open_trade is not None:
        final += qty * closes[-1]
        trades.append(
            {
                "entry_time": open_trade["entry_time"],
                "entry_price": open_trade["entry_price"],
                "exit_time": None,
                "exit_price": None,
                "qty": qty,
                "pnl": (closes[-1] - open_trade["entry_price"]) * qty - open_trade["fee"],
                "fees": open_trade["fee"],
            }
        )
    return trades, final


@pytest.fixture(scope="module")
def eth_btc(data_dir: Path) -> pd.DataFrame:
    return load(data_dir / "freqtrade" / "ETH_BTC-5m.feather")


@pytest.fixture(scope="module")
def expected(eth_btc: pd.DataFrame) -> dict[str, tuple[list[dict[str, Any]], float]]:
    return {fill: reference(eth_btc, fill) for fill in ("next_open", "close")}


@pytest.mark.parametrize("mode", ["fast", "step"])
@pytest.mark.parametrize("fill", ["next_open", "close"])
def test_sma_cross_matches_the_independent_computation(
    eth_btc: pd.DataFrame,
    expected: dict[str, tuple[list[dict[str, Any]], float]],
    fill: str,
    mode: str,
) -> None:
    trades, final = expected[fill]
    result = backtest("sma_cross", eth_btc, fee=FEE, fill=fill, mode=mode, cash=CASH)
    got = result.to_dict()["trades"]
    assert len(trades) > 100
    assert len(got) == len(trades)
    for mine, ref in zip(got, trades, strict=True):
        assert mine["side"] == "long"
        assert pd.Timestamp(mine["entry_time"]).value == ref["entry_time"]
        assert mine["entry_price"] == ref["entry_price"]
        if ref["exit_time"] is None:
            assert mine["exit_time"] is None
            assert mine["exit_price"] is None
        else:
            assert pd.Timestamp(mine["exit_time"]).value == ref["exit_time"]
            assert mine["exit_price"] == ref["exit_price"]
        # Money agrees to float rounding (the engine sums cash flows in another order).
        for key in ("qty", "fees"):
            assert mine[key] == pytest.approx(ref[key], rel=1e-12)
        assert mine["pnl"] == pytest.approx(ref["pnl"], rel=1e-9, abs=1e-9)
    assert result.final_equity == pytest.approx(final, rel=1e-12)
