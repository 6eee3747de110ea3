"""The Python quick backtest: result shape, open trades, argument and candle validation."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest import BacktestError, backtest
from mftbot.backtest.api import TRADE_COLUMNS
from mftbot.data.candles import read_candles
from mftbot.strategies import StrategyConfigError, get_strategy


def frame(closes: list[float], freq: str = "1h") -> pd.DataFrame:
    c = np.array(closes, dtype=np.float64)
    o = np.concatenate(([c[0]], c[:-1]))
    index = pd.date_range("2024-01-01", periods=len(c), freq=freq, tz="UTC", name="time")
    return pd.DataFrame(
        {
            "open": o,
            "high": np.maximum(o, c) * 1.001,
            "low": np.minimum(o, c) * 0.999,
            "close": c,
            "volume": np.ones(len(c)),
        },
        index=index,
    )


# 40 flat bars, then a rise: one entry, never an exit -> an open trade at the end.
RISING = [100.0] * 40 + [100.0 + i for i in range(1, 21)]


@pytest.mark.parametrize("mode", ["fast", "step"])
def test_open_position_is_marked_to_the_last_close_without_exit_fee(mode: str) -> None:
    result = backtest("sma_cross", frame(RISING), fee=0.001, fill="close", mode=mode, cash=1000.0)
    assert list(result.trades.columns) == list(TRADE_COLUMNS)
    assert len(result.trades) == 1
    trade = result.trades.iloc[0]
    assert trade["entry_time"] == pd.Timestamp("2024-01-02 17:00", tz="UTC")  # close of bar 40
    assert trade["entry_price"] == 101.0
    assert pd.isna(trade["exit_time"])
    assert np.isnan(trade["exit_price"])
    qty = 1000.0 / (101.0 * 1.001)
    assert trade["qty"] == pytest.approx(qty)
    assert trade["fees"] == pytest.approx(101.0 * qty * 0.001)
    assert trade["pnl"] == pytest.approx((120.0 - 101.0) * qty - 101.0 * qty * 0.001)
    assert result.final_equity == pytest.approx(1000.0 - 101.0 * qty * 1.001 + 120.0 * qty)
    assert result.metrics["n_trades"] == 0
    assert result.metrics["open_trades"] == 1
    assert result.metrics["win_rate"] is None
    doc = json.loads(result.to_json())
    assert set(doc) == {"trades", "final_equity", "metrics"}
    assert doc["trades"][0]["exit_time"] is None
    assert doc["trades"][0]["exit_price"] is None
    assert doc["trades"][0]["entry_time"] == "2024-01-02T17:00:00+00:00"
    assert doc["metrics"]["win_rate"] is None
    assert doc["final_equity"] == result.final_equity


def test_result_on_real_candles(data_dir: Path) -> None:
    candles = read_candles(data_dir / "freqtrade" / "LTC_BTC-5m.feather")
    result = backtest("sma_cross", candles, symbol="LTC/BTC")
    assert result.timeframe == "5m"
    assert len(result.trades) > 50
    equity = result.equity
    assert str(equity.index.tz) == "UTC"
    assert len(equity) == len(candles)
    assert equity.index[0] == candles.index[0] + pd.Timedelta("5min")
    assert result.final_equity == equity.iloc[-1]
    m = result.metrics
    assert m["total_return"] == pytest.approx(result.final_equity / 10_000.0 - 1.0)
    assert m["n_trades"] + m["open_trades"] == len(result.trades)
    closed = result.trades.dropna(subset=["exit_time"])
    wins = (closed["pnl"] > 0).sum()
    assert m["win_rate"] == pytest.approx(wins / m["n_trades"])
    assert m["fees"] == pytest.approx(result.trades["fees"].sum())
    assert m["n_trades"] == m["trades"]
    assert m["sharpe"] is not None
    peak = np.maximum.accumulate(np.concatenate(([10_000.0], equity.to_numpy())))
    assert m["max_drawdown"] == pytest.approx(
        np.max(1 - np.concatenate(([10_000.0], equity)) / peak)
    )
    assert (closed["exit_time"] > closed["entry_time"]).all()
    assert (result.trades["entry_time"].diff().dropna() > pd.Timedelta(0)).all()
    # The sum of trade PnL is the change in equity.
    assert result.trades["pnl"].sum() == pytest.approx(result.final_equity - 10_000.0, rel=1e-9)


def test_params_and_instances() -> None:
    candles = frame([100.0 + 5 * np.sin(i / 7) for i in range(400)])
    a = backtest("sma_cross", candles, params={"fast": 5, "slow": 12})
    b = backtest(get_strategy("sma_cross", {"fast": 5, "slow": 12}), candles)
    c = backtest("sma_cross", candles)
    pd.testing.assert_frame_equal(a.trades, b.trades)
    assert a.trades["entry_time"].tolist() != c.trades["entry_time"].tolist()
    with pytest.raises(StrategyConfigError, match="slow"):
        backtest("sma_cross", candles, params={"slow": 1})
    with pytest.raises(BacktestError, match="by name"):
        backtest(get_strategy("sma_cross"), candles, params={"fast": 5})


def test_timeframe_comes_from_attrs_or_spacing() -> None:
    candles = frame(RISING, freq="15min")
    assert backtest("sma_cross", candles).timeframe == "15m"
    candles.attrs["timeframe"] = "5m"
    assert backtest("sma_cross", candles).timeframe == "5m"
    with pytest.raises(BacktestError, match="less than one 1h bar"):
        backtest("sma_cross", frame(RISING, freq="15min"), timeframe="1h")
    with pytest.raises(BacktestError, match="timeframe"):
        backtest("sma_cross", frame([100.0]))
    one = backtest("sma_cross", frame([100.0]), timeframe="1h")
    assert one.final_equity == 10_000.0
    assert one.trades.empty


def _broken(change: str) -> pd.DataFrame:
    df = frame(RISING)
    if change == "naive":
        df.index = df.index.tz_localize(None)
    elif change == "tz":
        df.index = df.index.tz_convert("Europe/Berlin")
    elif change == "unsorted":
        df = df.iloc[[1, 0, *range(2, len(df))]]
    elif change == "duplicate":
        df.index = df.index[[0, 0, *range(2, len(df))]]
    elif change == "nan":
        df.iloc[7, df.columns.get_loc("close")] = np.nan
    elif change == "missing":
        df = df.drop(columns="volume")
    elif change == "range_index":
        df = df.reset_index(drop=True)
    elif change == "high":
        df.iloc[3, df.columns.get_loc("high")] = 1.0
    elif change == "negative":
        df.iloc[3, df.columns.get_loc("low")] = -1.0
    return df


@pytest.mark.parametrize(
    ("change", "match"),
    [
        ("naive", "must be UTC"),
        ("tz", "must be UTC"),
        ("unsorted", "not sorted: row 1"),
        ("duplicate", "repeats"),
        ("nan", r"close is NaN or infinite .* \(row 7\)"),
        ("missing", "lack columns"),
        ("range_index", "DatetimeIndex"),
        ("high", "high is below"),
        ("negative", "<= 0"),
    ],
)
def test_bad_candles_are_refused(change: str, match: str) -> None:
    with pytest.raises(BacktestError, match=match):
        backtest("sma_cross", _broken(change))


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"fee": -0.01}, "fee"),
        ({"fee": 1.0}, "fee"),
        ({"fee": float("nan")}, "fee"),
        ({"fill": "open"}, "fill"),
        ({"mode": "turbo"}, "mode"),
        ({"cash": 0.0}, "cash"),
        ({"cash": float("inf")}, "cash"),
        ({"symbol": "BTC/USDT:USDT"}, "spot only"),
        ({"symbol": "BTCUSDT"}, "unified"),
    ],
)
def test_bad_arguments_are_refused(kwargs: dict[str, object], match: str) -> None:
    with pytest.raises(BacktestError, match=match):
        backtest("sma_cross", frame(RISING), **kwargs)  # type: ignore[arg-type]


def test_not_a_frame_or_empty() -> None:
    with pytest.raises(BacktestError, match="DataFrame"):
        backtest("sma_cross", [1, 2, 3])  # type: ignore[arg-type]
    with pytest.raises(BacktestError, match="empty"):
        backtest("sma_cross", frame(RISING).iloc[:0], timeframe="1h")


def test_slippage_presets_cost_in_order_on_real_candles(data_dir: Path) -> None:
    """Same signals, same trades; each harsher preset fills worse, and "none" is unchanged."""
    candles = read_candles(data_dir / "candles_paparocketeer" / "BTC_USDT-1m.feather")
    candles = candles.iloc[20_000:23_000]
    plain = backtest("sma_cross", candles, mode="step")
    none = backtest("sma_cross", candles, mode="fast", slippage="none")
    assert none.mode == "fast"
    assert none.notes == ()
    pd.testing.assert_frame_equal(none.trades, plain.trades)
    assert none.final_equity == plain.final_equity
    results = {
        p: backtest("sma_cross", candles, mode="fast", slippage=p)
        for p in ("optimistic", "realistic", "conservative")
    }
    equities = [none.final_equity] + [r.final_equity for r in results.values()]
    assert equities == sorted(equities, reverse=True)
    assert len(set(equities)) == 4
    for r in results.values():
        assert r.mode == "step"
        assert any("slippage preset" in n for n in r.notes)
        assert len(r.trades) == len(none.trades) > 10
        pd.testing.assert_series_equal(r.trades["entry_time"], none.trades["entry_time"])
        assert (r.trades["entry_price"] > none.trades["entry_price"]).all()
    with pytest.raises(BacktestError, match="slippage must be one of"):
        backtest("sma_cross", candles, slippage="awful")
