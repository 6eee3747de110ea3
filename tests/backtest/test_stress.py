"""Stress scenarios: shocked candles, losses on the exposed notional, untouched flat periods."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest import backtest
from mftbot.backtest.runner import fill_bars, held_quantity
from mftbot.backtest.stress import (
    SCENARIOS,
    StressError,
    StressResult,
    inject_shock,
    run_stress,
    write_stress_report,
)
from mftbot.data.candles import read_candles


def _walk(n: int, minutes: int) -> pd.DataFrame:
    rng = np.random.default_rng(3)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.002, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    index = pd.date_range("2025-06-06 23:00", periods=n, freq=f"{minutes}min", tz="UTC")
    return pd.DataFrame(
        {
            "open": open_,
            "high": np.maximum(open_, close) * 1.001,
            "low": np.minimum(open_, close) * 0.999,
            "close": close,
            "volume": 1.0,
        },
        index=index.rename("time"),
    )


def test_a_flash_crash_falls_geometrically_over_five_minutes() -> None:
    candles = _walk(30, 1)
    at = candles.index[10]
    shocked = inject_shock(candles, SCENARIOS["flash_crash"], at)
    minutes = np.arange(30) - 10  # minutes from the crash start to each bar's open
    f_open = 0.5 ** np.clip(minutes / 5, 0, 1)
    f_close = 0.5 ** np.clip((minutes + 1) / 5, 0, 1)
    np.testing.assert_allclose(shocked["open"], candles["open"] * f_open, rtol=1e-15)
    np.testing.assert_allclose(shocked["close"], candles["close"] * f_close, rtol=1e-15)
    pd.testing.assert_frame_equal(shocked.iloc[:10], candles.iloc[:10])
    prices = ["open", "high", "low", "close"]
    np.testing.assert_array_equal(shocked[prices].iloc[15:], candles[prices].iloc[15:] * 0.5)
    np.testing.assert_array_equal(shocked["volume"], candles["volume"])
    assert (shocked["high"] >= shocked[["open", "close"]].max(axis=1)).all()
    assert (shocked["low"] <= shocked[["open", "close"]].min(axis=1)).all()


def test_a_gap_hits_the_bar_opening_at_its_time_only() -> None:
    candles = _walk(20, 60)
    at = candles.index[8]
    shocked = inject_shock(candles, SCENARIOS["weekend_gap"], at)
    pd.testing.assert_frame_equal(shocked.iloc[:8], candles.iloc[:8])  # bar 7 closes at `at`
    prices = ["open", "high", "low", "close"]
    np.testing.assert_allclose(shocked[prices].iloc[8:], candles[prices].iloc[8:] * 0.9)


@pytest.fixture(scope="module")
def btc(data_dir: Path) -> pd.DataFrame:
    frame = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-5m.feather")
    return frame.iloc[:2000]


@pytest.fixture(scope="module")
def held(btc: pd.DataFrame) -> np.ndarray:
    base = backtest("sma_cross", btc, symbol="BTC/USDT")
    quantity = held_quantity(base, btc)
    fills = np.zeros(len(btc), dtype=bool)
    fills[fill_bars(base, btc)] = True
    return np.where(fills, np.nan, quantity)  # NaN marks a bar with a fill


def _bar(held: np.ndarray, holding: bool) -> int:
    """A bar with no fill, after a bar without one, long (or flat) through both."""
    ok = ~np.isnan(held[1:]) & ~np.isnan(held[:-1])
    ok &= (held[1:] > 0) & (held[:-1] > 0) if holding else (held[1:] == 0) & (held[:-1] == 0)
    return int(np.flatnonzero(ok)[len(np.flatnonzero(ok)) // 2]) + 1


def _run(btc: pd.DataFrame, scenario: str, at: pd.Timestamp) -> StressResult:
    return run_stress("sma_cross", btc, [scenario], at=[at], symbol="BTC/USDT")


@pytest.mark.parametrize(("scenario", "drop"), [("flash_crash", 0.5), ("all_positions", 0.05)])
def test_a_long_position_loses_the_drop_of_its_notional(
    btc: pd.DataFrame, held: np.ndarray, scenario: str, drop: float
) -> None:
    j = _bar(held, holding=True)
    result = _run(btc, scenario, btc.index[j])
    (inj,) = result.injections
    assert inj.shock_bar == j
    qty, close = held[j - 1], float(btc["close"].iloc[j])
    assert inj.exposed_notional == pytest.approx(qty * close, rel=1e-12)
    assert inj.shock_loss == pytest.approx(drop * qty * close, rel=1e-9)
    assert inj.loss_share == pytest.approx(drop, rel=1e-9)
    before = slice(0, j)
    pd.testing.assert_series_equal(
        inj.result.equity.iloc[before], result.baseline.equity.iloc[before]
    )
    row = result.table().iloc[0]
    assert row["method"] == "inject"
    assert row["final_equity"] == inj.result.final_equity


def test_a_position_less_period_is_unaffected(btc: pd.DataFrame, held: np.ndarray) -> None:
    j = _bar(held, holding=False)
    result = _run(btc, "flash_crash", btc.index[j])
    (inj,) = result.injections
    assert inj.exposed_notional == 0.0
    assert inj.shock_loss == 0.0
    nxt = j + int(np.flatnonzero(np.isnan(held[j:]))[0])  # the next bar with a fill
    pd.testing.assert_series_equal(inj.result.equity.iloc[:nxt], result.baseline.equity.iloc[:nxt])
    (ov,) = result.overlays
    flat = result.notional.to_numpy() == 0.0
    assert flat.any()
    assert (ov.loss.to_numpy()[flat] == 0.0).all()
    np.testing.assert_array_equal(
        ov.shocked_equity.to_numpy()[flat], result.baseline.equity.to_numpy()[flat]
    )


def test_the_overlay_hits_every_position_at_each_bar(btc: pd.DataFrame) -> None:
    result = run_stress("sma_cross", btc, ["flash_crash", "all_positions"], symbol="BTC/USDT")
    base = result.baseline
    quantity = held_quantity(base, btc)
    np.testing.assert_allclose(result.notional, quantity * btc["close"].to_numpy(), rtol=1e-15)
    table = result.table().set_index(["scenario", "method"])
    for ov in result.overlays:
        np.testing.assert_allclose(ov.loss, ov.scenario.drop * result.notional, rtol=1e-15)
        assert ov.worst_time == result.notional.idxmax()
        shocked = base.equity - ov.loss
        row = table.loc[(ov.scenario.name, "overlay")]
        assert row["min_equity"] == pytest.approx(shocked.min(), rel=1e-12)
        assert row["survives"] == (shocked.min() > 5_000.0)
    # all-in long: a 50 % crash at full exposure costs about half the account
    assert not table.loc[("flash_crash", "overlay"), "survives"]
    assert table.loc[("all_positions", "overlay"), "survives"]
    assert len(result.injections) == 2  # one per scenario at its default time


def test_default_times(btc: pd.DataFrame, held: np.ndarray) -> None:
    result = run_stress("sma_cross", btc, symbol="BTC/USDT")
    times = {inj.scenario.name: inj.at for inj in result.injections}
    gap = times["weekend_gap"]
    assert (gap.day_of_week, gap.hour, gap.minute) == (0, 0, 0)
    j = btc.index.get_loc(gap)
    quantity = held_quantity(result.baseline, btc)
    assert quantity[j - 1] > 0  # a position is carried into the Monday open
    k = btc.index.get_loc(times["flash_crash"])
    carried = quantity[:-1] * btc["close"].to_numpy()[:-1]
    assert quantity[k] > 0
    assert carried[k - 1] == pytest.approx(carried[quantity[1:] > 0].max())


def test_report(btc: pd.DataFrame, tmp_path: Path) -> None:
    result = run_stress("sma_cross", btc, ["all_positions"], symbol="BTC/USDT")
    html = write_stress_report(result, tmp_path / "s.html").read_text(encoding="utf-8")
    sections = set(re.findall(r'<section id="([^"]+)"', html))
    assert {"x-stress-scenarios", "stress-method", "stress-all-positions-0"} <= sections
    doc = result.to_dict()
    assert [r["method"] for r in doc["scenarios"]] == ["inject", "overlay"]


def test_errors(btc: pd.DataFrame) -> None:
    with pytest.raises(StressError, match="unknown scenario 'meteor'"):
        run_stress("sma_cross", btc, ["meteor"], symbol="BTC/USDT")
    with pytest.raises(StressError, match="not inside"):
        run_stress("sma_cross", btc, ["flash_crash"], at=["2020-01-01"], symbol="BTC/USDT")
    with pytest.raises(StressError, match="ruin_level"):
        run_stress("sma_cross", btc, ruin_level=0.2, symbol="BTC/USDT")
