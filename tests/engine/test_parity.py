"""Step mode and fast mode give identical trades and equity curves on real candles, for every
registered strategy and both fill modes."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest import backtest
from mftbot.data.candles import read_candles
from mftbot.strategies import list_strategies, strategy_spec

SLICES = {
    "eth_btc_5m": ("freqtrade/ETH_BTC-5m.feather", "ETH/BTC", 0, None),
    "btc_usdt_5m": ("candles_filimonov/BTC_USDT-5m.feather", "BTC/USDT", 5000, 15000),
}


@pytest.fixture(scope="module", params=sorted(SLICES))
def market(request: pytest.FixtureRequest, data_dir: Path) -> tuple[pd.DataFrame, str]:
    rel, symbol, start, stop = SLICES[request.param]
    return read_candles(data_dir / rel).iloc[start:stop], symbol


# order-book strategies need book columns plain candles lack (tests/strategies checks them)
CANDLE_ONLY = [n for n in list_strategies() if strategy_spec(n).kind != "orderbook"]


@pytest.mark.parametrize("fill", ["next_open", "close"])
@pytest.mark.parametrize("strategy", CANDLE_ONLY)
def test_fast_and_step_agree_exactly(
    market: tuple[pd.DataFrame, str], strategy: str, fill: str
) -> None:
    candles, symbol = market
    fast = backtest(strategy, candles, fee=0.001, fill=fill, mode="fast", symbol=symbol)
    step = backtest(strategy, candles, fee=0.001, fill=fill, mode="step", symbol=symbol)
    assert len(fast.trades) > 20
    for name in ("ts", "side", "price", "qty", "fee"):
        assert np.array_equal(getattr(fast.fills, name), getattr(step.fills, name)), name
    pd.testing.assert_frame_equal(fast.trades, step.trades, check_exact=True)
    pd.testing.assert_series_equal(fast.equity, step.equity, check_exact=True)
    assert len(fast.equity) == len(candles)
    assert fast.final_equity == step.final_equity
    assert fast.to_json() == step.to_json()
