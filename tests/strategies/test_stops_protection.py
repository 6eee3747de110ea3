"""Each candle strategy's suggested stops reach the risk engine as the entry's stop and take
profit (``protection``), causally, and a rolling window gives the full-history prices."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.api import backtest
from mftbot.data.candles import read_candles
from mftbot.engine.signals import ProtectiveStrategy, protection_of
from mftbot.risk.records import RiskAction
from mftbot.strategies import get_strategy
from mftbot.strategies.params import StopsProtection, stops_lookback

CANDLE = (
    "momentum",
    "sar_wave",
    "supertrend_follow",
    "value_area",
    "ichimoku_cloud",
    "vwap_bands",
)
_CACHE: dict[str, pd.DataFrame] = {}


def btc_5m(data_dir: Path, start: int, stop: int) -> pd.DataFrame:
    if "btc" not in _CACHE:
        _CACHE["btc"] = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-5m.feather")
    return _CACHE["btc"].iloc[start:stop]


@pytest.mark.parametrize("name", CANDLE)
def test_protection_is_the_atr_stop_around_the_close(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name, {"stop_atr": 1.5, "take_atr": 4.0})
    assert isinstance(strategy, StopsProtection)
    assert isinstance(strategy, ProtectiveStrategy)
    candles = CandleArrays.from_frame(btc_5m(data_dir, 0, 3000))
    stop, take = protection_of(strategy, candles)
    levels = strategy.stops(candles)  # type: ignore[attr-defined]
    ready = np.isfinite(levels.stop_distance)
    assert ready.sum() > 2900
    assert np.isnan(stop[~ready]).all()
    np.testing.assert_allclose(candles.close[ready] - stop[ready], levels.stop_distance[ready])
    np.testing.assert_allclose(take[ready] - candles.close[ready], levels.take_distance[ready])
    assert (stop[ready] < candles.close[ready]).all()
    assert strategy.lookback >= stops_lookback(strategy.config)  # type: ignore[arg-type]


@pytest.mark.parametrize("name", ["momentum", "ichimoku_cloud"])
def test_shorts_get_the_mirror_levels(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name, {"short": True})
    candles = CandleArrays.from_frame(btc_5m(data_dir, 0, 6000))
    signals = strategy.populate(candles)
    assert signals.entry_short is not None
    shorts = np.flatnonzero(signals.entry_short)
    longs = np.flatnonzero(signals.entry_long)
    assert shorts.size
    assert longs.size
    stop, take = protection_of(strategy, candles)
    close = candles.close
    assert (stop[shorts] > close[shorts]).all()
    assert (take[shorts] < close[shorts]).all()
    assert (stop[longs] < close[longs]).all()


@pytest.mark.parametrize("name", CANDLE)
def test_a_rolling_window_gives_the_full_history_prices(name: str, data_dir: Path) -> None:
    strategy = get_strategy(name)
    candles = CandleArrays.from_frame(btc_5m(data_dir, 0, 3000))
    full_stop, full_take = protection_of(strategy, candles)
    for t in (strategy.lookback + 5, 1777, 2999):
        window = candles.head(t + 1).tail(strategy.lookback)
        stop, take = protection_of(strategy, window)
        np.testing.assert_allclose(stop[-1], full_stop[t], rtol=1e-12)
        np.testing.assert_allclose(take[-1], full_take[t], rtol=1e-12)


@pytest.mark.parametrize("name", CANDLE)
def test_the_risk_engine_uses_the_strategys_stop(name: str, data_dir: Path) -> None:
    df = btc_5m(data_dir, 6000, 12_000)
    result = backtest(name, df, fee=0.001, mode="step", risk={})
    strategy = get_strategy(name)
    candles = CandleArrays.from_frame(df)
    stop, take = protection_of(strategy, candles)
    entries = np.flatnonzero(strategy.populate(candles).entry_long)
    sized = [
        r
        for r in result.risk_records
        if r.intent_kind == "entry" and r.action in (RiskAction.APPROVED, RiskAction.RESIZED)
    ]
    assert len(sized) >= 3
    for record in sized:
        assert record.sizing is not None
        rule = next(r for r in record.rules if r.name == "stop")
        assert rule.reason == "signal stop"
        assert np.isclose(stop[entries], record.sizing.stop_price, rtol=0, atol=0).any()
    targets = [r for r in result.risk_records if r.action is RiskAction.EXIT]
    hit = [r for r in targets if "take profit" in r.reason or "stop" in r.reason]
    assert hit, [r.reason for r in targets]
    assert np.isfinite(take[entries]).all()
