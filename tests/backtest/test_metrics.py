"""Backtest metrics: hand-computed examples, edge cases, properties, and a real-data cross-check."""

from __future__ import annotations

import itertools
import json
import math
import statistics
from collections.abc import Callable
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mftbot.backtest.metrics import (
    TRADE_COLUMNS,
    MetricsError,
    breakdown,
    compute_metrics,
    drawdown_series,
    monthly_returns,
    trade_stats,
)
from mftbot.data.candles import read_candles

T0 = pd.Timestamp("2024-01-01", tz="UTC")
HOUR = pd.Timedelta(hours=1)


def hourly(values: list[float], start: pd.Timestamp = T0) -> pd.Series:
    return pd.Series(values, index=pd.date_range(start, periods=len(values), freq="1h"))


def make_trades(rows: list[dict[str, object]]) -> pd.DataFrame:
    """Trades with defaults: long, 1 qty, price 100, fees 1, exit one hour after entry."""
    out = []
    for r in rows:
        entry = r.get("entry_time", T0)
        assert isinstance(entry, pd.Timestamp)
        row: dict[str, object] = {
            "side": "long",
            "entry_time": entry,
            "exit_time": entry + HOUR,
            "entry_price": 100.0,
            "exit_price": 101.0,
            "qty": 1.0,
            "fees": 1.0,
        }
        row.update(r)
        if pd.isna(row["exit_time"]):
            row["exit_price"] = np.nan
        out.append(row)
    if not out:
        return pd.DataFrame(columns=list(TRADE_COLUMNS))
    frame = pd.DataFrame(out)
    frame["exit_time"] = pd.to_datetime(frame["exit_time"], utc=True)
    return frame


# ---------------------------------------------------------------- equity metrics by hand

EQ = [100.0, 120.0, 90.0, 130.0, 117.0, 104.0, 125.0]


def test_equity_metrics_by_hand() -> None:
    eq = pd.Series(EQ, index=pd.date_range(T0, periods=7, freq="1D"))
    m = compute_metrics(None, eq)
    r = [b / a - 1 for a, b in itertools.pairwise(EQ)]
    periods = 365.25
    assert m["periods_per_year"] == pytest.approx(periods)
    assert m["total_return"] == pytest.approx(0.25)
    assert m["net_profit"] == pytest.approx(25.0)
    assert m["sharpe"] == pytest.approx(statistics.mean(r) / statistics.stdev(r) * periods**0.5)
    downside = math.sqrt(sum(min(x, 0.0) ** 2 for x in r) / (len(r) - 1))
    assert m["sortino"] == pytest.approx(statistics.mean(r) / downside * periods**0.5)
    assert m["volatility"] == pytest.approx(statistics.stdev(r) * periods**0.5)
    cagr = 1.25 ** (365.25 / 6) - 1
    assert m["cagr"] == pytest.approx(cagr)
    # peaks 100,120,120,130,130,130,130: worst fall 120 -> 90
    assert m["max_drawdown"] == pytest.approx(0.25)
    assert m["max_drawdown_money"] == pytest.approx(30.0)
    assert m["calmar"] == pytest.approx(cagr / 0.25)
    assert m["recovery_factor"] == pytest.approx(25.0 / 30.0)
    # 120 (day 1) recovered on day 3: 2 days; 130 (day 3) never recovered: runs to day 6
    assert m["max_drawdown_duration_s"] == 3 * 86_400
    assert m["max_drawdown_duration_bars"] == 3
    assert m["bars"] == 6
    assert m["duration_s"] == 6 * 86_400


def test_recovered_drawdown_is_the_longest() -> None:
    eq = hourly([100, 90, 95, 99, 101, 100, 102])
    m = compute_metrics(None, eq)
    assert m["max_drawdown_duration_bars"] == 4  # 100 at bar 0 back above at bar 4
    assert m["max_drawdown_duration_s"] == 4 * 3600
    assert m["max_drawdown"] == pytest.approx(0.1)


def test_risk_free_rate_and_periods_per_year() -> None:
    eq = hourly(EQ)
    r = np.diff(EQ) / np.array(EQ[:-1])
    m = compute_metrics(None, eq, periods_per_year=252, risk_free=0.05)
    ex = r - (1.05 ** (1 / 252) - 1)
    assert m["periods_per_year"] == 252
    assert m["sharpe"] == pytest.approx(ex.mean() / ex.std(ddof=1) * math.sqrt(252))


def test_initial_cash_precedes_the_curve() -> None:
    eq = hourly([110.0, 99.0, 120.0])
    with_cash = compute_metrics(None, eq, initial_cash=100.0)
    explicit = compute_metrics(None, hourly([100.0, 110.0, 99.0, 120.0], T0 - HOUR))
    assert with_cash == explicit
    assert with_cash["total_return"] == pytest.approx(0.2)
    assert with_cash["initial_cash"] == 100.0
    series = drawdown_series(eq, 100.0)
    assert series.index[0] == T0 - HOUR
    assert series.to_numpy() == pytest.approx([0.0, 0.0, 0.1, 0.0])


# ---------------------------------------------------------------- trade metrics by hand

PNL = [10.0, 20.0, -5.0, 0.0, -15.0, -1.0, 3.0]
RISK = [5.0, 10.0, 5.0, np.nan, 5.0, 1.0, 1.5]


def hand_trades() -> pd.DataFrame:
    rows: list[dict[str, object]] = [
        {"entry_time": T0 + i * HOUR, "pnl": p, "risk": r}
        for i, (p, r) in enumerate(zip(PNL, RISK, strict=True))
    ]
    rows.append({"entry_time": T0 + 8 * HOUR, "exit_time": pd.NaT, "pnl": 7.0, "risk": 2.0})
    frame = make_trades(rows)
    return frame.iloc[[5, 2, 7, 0, 6, 3, 1, 4]]  # engine order must not matter


def test_trade_statistics_by_hand() -> None:
    s = trade_stats(hand_trades())
    assert s["trades"] == 7
    assert s["open_trades"] == 1
    assert s["winning_trades"] == 3
    assert s["losing_trades"] == 3
    assert s["win_rate"] == pytest.approx(3 / 7)
    assert s["gross_profit"] == pytest.approx(33.0)
    assert s["gross_loss"] == pytest.approx(21.0)
    assert s["net_pnl"] == pytest.approx(12.0)
    assert s["profit_factor"] == pytest.approx(33 / 21)
    assert s["expectancy"] == pytest.approx(12 / 7)
    # R multiples 2, 2, -1, (unknown), -3, -1, 2
    assert s["expectancy_r"] == pytest.approx(1 / 6)
    assert s["avg_win"] == pytest.approx(11.0)
    assert s["avg_loss"] == pytest.approx(-7.0)
    assert s["avg_rr"] == pytest.approx(11 / 7)
    assert s["best_trade"] == 20.0
    assert s["worst_trade"] == -15.0
    # W W L 0 L L W: the zero breaks the losing run
    assert s["max_win_streak"] == 2
    assert s["max_loss_streak"] == 2
    assert s["avg_holding_s"] == 3600.0
    assert s["fees_paid"] == 8.0  # open trade's fee included


def test_exposure_merges_overlapping_trades() -> None:
    eq = hourly([100.0] * 11)
    trades = make_trades(
        [
            {"entry_time": T0 + 2 * HOUR, "exit_time": T0 + 5 * HOUR, "pnl": 1.0},
            {"entry_time": T0 + 1 * HOUR, "exit_time": T0 + 3 * HOUR, "pnl": 1.0},
            {"entry_time": T0 + 7 * HOUR, "exit_time": pd.NaT, "pnl": 1.0},
        ]
    )
    m = compute_metrics(trades, eq)
    assert m["exposure"] == pytest.approx(0.7)  # [1h, 5h] and [7h, end=10h] of 10 h


def test_short_and_timezone_conversion() -> None:
    trades = make_trades([{"side": "short", "pnl": 5.0}])
    trades["entry_time"] = trades["entry_time"].dt.tz_convert("Asia/Tokyo")
    eq = hourly([100.0, 105.0])
    m = compute_metrics(trades, eq)
    assert m["exposure"] == pytest.approx(1.0)
    assert m["win_rate"] == 1.0


# ---------------------------------------------------------------- edge cases


def assert_json_safe(metrics: dict[str, float | int | None]) -> None:
    json.dumps(metrics, allow_nan=False)
    for value in metrics.values():
        assert value is None or isinstance(value, (int, float))


def test_no_trades() -> None:
    for trades in (None, make_trades([]).iloc[:0], pd.DataFrame()):
        m = compute_metrics(trades, hourly([100.0, 101.0, 99.0]))
        assert_json_safe(m)
        assert m["trades"] == 0
        assert m["exposure"] == 0.0
        assert m["fees_paid"] == 0.0
        assert m["max_win_streak"] == 0
        for key in ("win_rate", "profit_factor", "expectancy", "avg_win", "avg_rr", "best_trade"):
            assert m[key] is None


def test_one_winning_trade_and_all_wins() -> None:
    m = compute_metrics(make_trades([{"pnl": 4.0}]), hourly([100.0, 104.0]))
    assert_json_safe(m)
    assert m["win_rate"] == 1.0
    assert m["profit_factor"] is None  # no losing trade: infinite, reported as None
    assert m["avg_loss"] is None
    assert m["avg_rr"] is None
    assert m["max_loss_streak"] == 0
    assert m["sharpe"] is None  # a single return has no standard deviation
    assert m["sortino"] is None
    assert m["max_drawdown"] == 0.0
    assert m["calmar"] is None
    assert m["recovery_factor"] is None


def test_flat_equity() -> None:
    m = compute_metrics(None, hourly([100.0] * 50))
    assert_json_safe(m)
    assert m["total_return"] == 0.0
    assert m["cagr"] == 0.0
    assert m["sharpe"] is None
    assert m["sortino"] is None
    assert m["volatility"] == 0.0
    assert m["max_drawdown"] == 0.0
    assert m["max_drawdown_duration_s"] == 0.0
    assert m["max_drawdown_duration_bars"] == 0


def test_single_equity_point() -> None:
    m = compute_metrics(None, hourly([100.0]))
    assert_json_safe(m)
    assert m["bars"] == 0
    assert m["cagr"] is None
    assert m["sharpe"] is None
    assert m["periods_per_year"] is None


def test_cagr_overflow_is_none() -> None:
    eq = pd.Series([1.0, 1e6], index=pd.DatetimeIndex([T0, T0 + pd.Timedelta(seconds=1)]))
    m = compute_metrics(None, eq)
    assert m["cagr"] is None
    assert m["calmar"] is None
    assert_json_safe(m)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        (lambda t: t.drop(columns="fees"), "lack column"),
        (lambda t: t.assign(side="buy"), "side"),
        (lambda t: t.assign(entry_time=t["entry_time"].dt.tz_localize(None)), "tz-aware"),
        (lambda t: t.assign(exit_time=t["entry_time"] - HOUR), "exits before"),
        (lambda t: t.assign(pnl=np.nan), "not finite"),
        (lambda t: t.assign(exit_price=np.nan), "no exit_price"),
        (lambda t: t.assign(risk=0.0), "risk"),
        (lambda t: t.assign(qty="x"), "numeric"),
    ],
)
def test_bad_trades_raise(change: Callable[[pd.DataFrame], pd.DataFrame], message: str) -> None:
    trades = change(make_trades([{"pnl": 1.0}]))
    with pytest.raises(MetricsError, match=message):
        compute_metrics(trades, hourly([100.0, 101.0]))


@pytest.mark.parametrize(
    ("equity", "message"),
    [
        (hourly([100.0, 0.0]), "> 0"),
        (hourly([100.0, np.nan]), "finite"),
        (pd.Series([1.0, 2.0]), "DatetimeIndex"),
        (hourly([1.0, 2.0]).tz_localize(None), "DatetimeIndex"),
        (hourly([1.0, 2.0]).iloc[::-1], "sorted"),
        (hourly([]), "empty"),
    ],
)
def test_bad_equity_raises(equity: pd.Series, message: str) -> None:
    with pytest.raises(MetricsError, match=message):
        compute_metrics(None, equity)


def test_bad_parameters_raise() -> None:
    eq = hourly([100.0, 101.0])
    with pytest.raises(MetricsError, match="initial_cash"):
        compute_metrics(None, eq, initial_cash=0.0)
    with pytest.raises(MetricsError, match="periods_per_year"):
        compute_metrics(None, eq, periods_per_year=-1)
    with pytest.raises(MetricsError, match="risk_free"):
        compute_metrics(None, eq, risk_free=float("nan"))


# ---------------------------------------------------------------- breakdown


def test_breakdown_per_strategy() -> None:
    trades = hand_trades()
    trades["strategy"] = ["a", "b", "a", "b", "a", "b", "a", "b"]
    table = breakdown(trades, "strategy")
    assert list(table.index) == ["a", "b"]
    for name in ("a", "b"):
        expected = trade_stats(trades[trades["strategy"] == name])
        row = table.loc[name]
        for key, value in expected.items():
            if value is None:
                assert math.isnan(row[key])
            else:
                assert row[key] == pytest.approx(value)
    assert table["trades"].sum() == 7
    assert table["trades"].dtype == np.int64


def test_breakdown_pnl_drawdown_by_hand() -> None:
    rows: list[dict[str, object]] = [
        {"entry_time": T0 + i * HOUR, "pnl": p, "symbol": "X"}
        for i, p in enumerate([5.0, -3.0, -4.0, 10.0, -2.0])
    ]
    table = breakdown(make_trades(rows), "symbol")
    # cumulative 5, 2, -2, 8, 6: worst fall 5 -> -2
    assert table.loc["X", "pnl_max_drawdown"] == pytest.approx(7.0)


def test_breakdown_errors_and_empty() -> None:
    with pytest.raises(MetricsError, match="no 'timeframe'"):
        breakdown(make_trades([{"pnl": 1.0}]), "timeframe")
    with pytest.raises(MetricsError, match="must be one of"):
        breakdown(make_trades([{"pnl": 1.0}]), "colour")
    empty = breakdown(make_trades([]).assign(strategy=[]), "strategy")
    assert len(empty) == 0
    assert "win_rate" in empty.columns


# ---------------------------------------------------------------- monthly returns


def test_monthly_returns_by_hand() -> None:
    idx = pd.DatetimeIndex(["2024-01-15", "2024-01-31 23:00", "2024-03-10", "2025-01-02"], tz="UTC")
    eq = pd.Series([100.0, 110.0, 121.0, 60.5], index=idx)
    table = monthly_returns(eq)
    assert list(table.index) == [2024, 2025]
    assert table.loc[2024, 1] == pytest.approx(0.1)
    assert table.loc[2024, 2] == 0.0  # no point in February: equity carried
    assert table.loc[2024, 3] == pytest.approx(0.1)
    assert table.loc[2025, 1] == pytest.approx(-0.5)
    assert math.isnan(table.loc[2025, 2])
    assert monthly_returns(eq, initial_cash=50.0).loc[2024, 1] == pytest.approx(1.2)


# ---------------------------------------------------------------- properties

equities = st.lists(
    st.floats(min_value=1.0, max_value=1e6, allow_nan=False), min_size=2, max_size=60
)


@settings(max_examples=80, deadline=None)
@given(values=equities, scale=st.floats(min_value=1e-3, max_value=1e3))
def test_properties(values: list[float], scale: float) -> None:
    eq = hourly(values)
    m = compute_metrics(None, eq)
    assert_json_safe(m)
    max_dd = m["max_drawdown"]
    assert max_dd is not None
    assert 0.0 <= max_dd <= 1.0
    dd = drawdown_series(eq)
    assert ((dd >= 0) & (dd <= 1)).all()
    scaled = compute_metrics(None, eq * scale)
    for key in (
        "total_return",
        "cagr",
        "sharpe",
        "sortino",
        "calmar",
        "max_drawdown",
        "volatility",
    ):
        a, b = m[key], scaled[key]
        assert (a is None) == (b is None), key
        if a is not None and b is not None:
            assert b == pytest.approx(a, rel=1e-9, abs=1e-12), key
    for key in ("net_profit", "max_drawdown_money"):
        assert scaled[key] == pytest.approx(float(m[key] or 0) * scale, rel=1e-9, abs=1e-9)
    assert scaled["max_drawdown_duration_bars"] == m["max_drawdown_duration_bars"]


# ---------------------------------------------------------------- real data cross-check


def _longest_drawdown(values: np.ndarray, times: pd.DatetimeIndex) -> tuple[float, int]:
    """Independent loop: longest peak-to-recovery (or to the end) span."""
    best, best_bars = 0.0, 0
    peak_i = 0
    for i in range(1, len(values)):
        if values[i] >= values[peak_i]:
            if i - peak_i >= 2:
                span = (times[i] - times[peak_i]).total_seconds()
                if (span, i - peak_i) > (best, best_bars):
                    best, best_bars = span, i - peak_i
            peak_i = i
    if peak_i < len(values) - 1:
        span = (times[-1] - times[peak_i]).total_seconds()
        if (span, len(values) - 1 - peak_i) > (best, best_bars):
            best, best_bars = span, len(values) - 1 - peak_i
    return best, best_bars


@pytest.mark.realdata
def test_buy_and_hold_matches_independent_computation(data_dir: Path) -> None:
    candles = read_candles(data_dir / "candles_xylotech" / "BTC_USDT-1h.feather")
    cash, fee = 10_000.0, 0.001
    close = candles["close"]
    qty = cash / (close.iloc[0] * (1 + fee))
    equity = qty * close  # bought at the first close, held to the end
    trades = make_trades(
        [
            {
                "entry_time": close.index[0],
                "exit_time": pd.NaT,
                "entry_price": close.iloc[0],
                "qty": qty,
                "pnl": equity.iloc[-1] - cash,
                "fees": cash - qty * close.iloc[0],
            }
        ]
    )
    m = compute_metrics(trades, equity, initial_cash=cash)

    path = pd.concat([pd.Series([cash], index=[close.index[0] - HOUR]), equity])
    rets = path.pct_change().dropna()
    periods = 365.25 * 24  # the 1h file has one missing candle: the median spacing is 1 h
    years = (path.index[-1] - path.index[0]).total_seconds() / (365.25 * 86_400)
    growth = path.iloc[-1] / cash
    dd = 1 - path / path.cummax()
    assert m["total_return"] == pytest.approx(growth - 1, rel=1e-12)
    assert m["cagr"] == pytest.approx(growth ** (1 / years) - 1, rel=1e-9)
    assert m["sharpe"] == pytest.approx(rets.mean() / rets.std() * periods**0.5, rel=1e-9)
    neg = np.minimum(rets.to_numpy(), 0)
    downside = np.sqrt((neg**2).sum() / (len(rets) - 1))
    assert m["sortino"] == pytest.approx(rets.mean() / downside * periods**0.5, rel=1e-9)
    assert m["max_drawdown"] == pytest.approx(dd.max(), rel=1e-12)
    assert m["max_drawdown_money"] == pytest.approx((path.cummax() - path).max(), rel=1e-12)
    seconds, bars = _longest_drawdown(path.to_numpy(), pd.DatetimeIndex(path.index))
    assert m["max_drawdown_duration_s"] == seconds
    assert m["max_drawdown_duration_bars"] == bars
    assert m["calmar"] == pytest.approx((growth ** (1 / years) - 1) / dd.max(), rel=1e-9)
    assert m["exposure"] == pytest.approx(
        1 - 3600 / (path.index[-1] - path.index[0]).total_seconds()
    )
    assert m["open_trades"] == 1
    assert m["trades"] == 0
    assert m["fees_paid"] == pytest.approx(cash * fee / (1 + fee))

    monthly = monthly_returns(equity, initial_cash=cash)
    month_end = equity.resample("ME").last()
    expected = month_end / month_end.shift(1, fill_value=cash) - 1
    got = [monthly.loc[t.year, t.month] for t in month_end.index]
    assert got == pytest.approx(expected.to_list(), rel=1e-12)
