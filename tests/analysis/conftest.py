"""Real candle slices for the indicator tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from mftbot.analysis.registry import CandleArrays


def load_bars(data_dir: Path, rel: str, start: int, stop: int) -> CandleArrays:
    """Rows ``start:stop`` of a recorded freqtrade feather file (arrays are read-only)."""
    return CandleArrays.from_frame(pd.read_feather(data_dir / rel).iloc[start:stop])


# Two sources, two assets; each slice crosses at least one UTC midnight.
SLICES = {
    "btc_filimonov": ("candles_filimonov/BTC_USDT-1m.feather", 1000, 4000),
    "eth_paparocketeer": ("candles_paparocketeer/ETH_USDT-1m.feather", 20000, 23000),
}


@pytest.fixture(scope="session", params=sorted(SLICES))
def bars(request: pytest.FixtureRequest, data_dir: Path) -> CandleArrays:
    """3,000 real 1m candles from each recorded source in turn."""
    rel, start, stop = SLICES[request.param]
    return load_bars(data_dir, rel, start, stop)


@pytest.fixture(scope="session")
def btc(data_dir: Path) -> CandleArrays:
    """3,000 real BTC/USDT 1m candles (Binance, from 2025-05-20 16:40 UTC)."""
    rel, start, stop = SLICES["btc_filimonov"]
    return load_bars(data_dir, rel, start, stop)
