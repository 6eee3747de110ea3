"""``SyntheticMarket.candles``: fast bar-level series of the same latent process."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from numpy.typing import NDArray
from scipy.stats import kurtosis

from mftbot.data.synthetic import DEFAULT_START_NS, SyntheticMarket, SyntheticMarketConfig
from mftbot.domain.events import TradeTick

SYMBOLS = ("BTC/USDT", "ETH/USDT", "ABC/USDT")


@pytest.fixture(scope="module")
def market() -> SyntheticMarket:
    return SyntheticMarket(SyntheticMarketConfig(), SYMBOLS, seed=3)


@pytest.fixture(scope="module")
def btc_1m(market: SyntheticMarket) -> pd.DataFrame:
    return market.candles("BTC/USDT", "1m", 20_000)


def _returns(frame: pd.DataFrame) -> NDArray[np.float64]:
    return np.diff(np.log(frame["close"].to_numpy()))


def _acf(x: NDArray[np.float64], lag: int) -> float:
    centred = x - x.mean()
    return float((centred[:-lag] * centred[lag:]).sum() / (centred * centred).sum())


def test_frame_layout(btc_1m: pd.DataFrame) -> None:
    assert list(btc_1m.columns) == ["open", "high", "low", "close", "volume"]
    assert all(dtype == np.float64 for dtype in btc_1m.dtypes)
    index = btc_1m.index
    assert isinstance(index, pd.DatetimeIndex)
    assert index.name == "time"
    assert str(index.tz) == "UTC"
    assert index[0] == pd.Timestamp(DEFAULT_START_NS, unit="ns", tz="UTC")
    assert (np.diff(index.asi8) == 60 * 10**9).all()
    assert len(btc_1m) == 20_000
    assert not btc_1m.isna().any().any()


def test_ohlc_is_coherent(btc_1m: pd.DataFrame) -> None:
    o, h, low, c = (btc_1m[k].to_numpy() for k in ("open", "high", "low", "close"))
    assert (h >= np.maximum(o, c)).all()
    assert (low <= np.minimum(o, c)).all()
    assert (o[1:] == c[:-1]).all()  # continuous: each bar opens at the previous close
    assert o[0] == pytest.approx(60_000, rel=1e-6)
    ticks = btc_1m[["open", "high", "low", "close"]].to_numpy() / 0.01
    assert np.allclose(ticks, np.round(ticks), atol=1e-6)
    assert (btc_1m["volume"] > 0).all()
    assert (h > low).mean() > 0.95  # bars have a range


def test_stylised_facts_of_long_series(btc_1m: pd.DataFrame) -> None:
    returns = _returns(btc_1m)
    assert kurtosis(returns) > 3.0
    absolute = np.abs(returns)
    abs_acf = np.mean([_acf(absolute, lag) for lag in range(1, 6)])
    raw_acf = np.mean([_acf(returns, lag) for lag in range(1, 6)])
    assert abs_acf > 0.1
    assert abs(raw_acf) < 0.03
    expected = 0.5 / np.sqrt(365 * 24 * 60)
    assert 0.6 * expected < returns.std() < 1.5 * expected  # two weeks: slow factor varies


def test_long_run_volatility_is_the_instruments(market: SyntheticMarket) -> None:
    hourly = _returns(market.candles("BTC/USDT", "1h", 20_000))
    assert hourly.std() * np.sqrt(365 * 24) == pytest.approx(0.5, rel=0.15)
    absolute = np.abs(hourly)
    assert np.mean([_acf(absolute, lag) for lag in range(1, 6)]) > 0.05  # clustering at hours


def test_symbols_are_correlated_as_configured(market: SyntheticMarket) -> None:
    btc = _returns(market.candles("BTC/USDT", "5m", 5_000))
    eth = _returns(market.candles("ETH/USDT", "5m", 5_000))
    other = _returns(market.candles("ABC/USDT", "5m", 5_000))
    for a, b in ((btc, eth), (btc, other), (eth, other)):
        assert np.corrcoef(a, b)[0, 1] == pytest.approx(0.7, abs=0.08)


def test_deterministic_and_prefix_stable(market: SyntheticMarket) -> None:
    again = SyntheticMarket(SyntheticMarketConfig(), SYMBOLS, seed=3)
    long = again.candles("ETH/USDT", "15m", 3_000)
    short = market.candles("ETH/USDT", "15m", 700)
    pd.testing.assert_frame_equal(long.iloc[:700], short)
    other_seed = SyntheticMarket(SyntheticMarketConfig(), SYMBOLS, seed=4)
    assert not other_seed.candles("ETH/USDT", "15m", 700)["close"].equals(short["close"])


@pytest.mark.parametrize("timeframe", ["1s", "1h", "1d", "1w"])
def test_other_timeframes(market: SyntheticMarket, timeframe: str) -> None:
    frame = market.candles("ABC/USDT", timeframe, 50, start_ns=0)
    assert len(frame) == 50
    assert frame.index[0] == pd.Timestamp(0, tz="UTC")
    assert (frame["high"] >= frame[["open", "close"]].max(axis=1)).all()
    assert (frame["low"] <= frame[["open", "close"]].min(axis=1)).all()


def test_zero_bars_gives_an_empty_frame(market: SyntheticMarket) -> None:
    frame = market.candles("BTC/USDT", "1m", 0)
    assert frame.empty
    assert list(frame.columns) == ["open", "high", "low", "close", "volume"]


def test_volume_is_near_the_event_stream() -> None:
    """Bar volume follows the agents' expected flow: the event stream's, up to the regime of
    the sampled half hour (seeds 1..6 give ratios 0.68..2.37)."""
    market = SyntheticMarket(SyntheticMarketConfig(), ["BTC/USDT"], seed=3)
    events = market.events(DEFAULT_START_NS, 1800 * 10**9)
    traded_per_hour = 2 * sum(e.size for e in events if isinstance(e, TradeTick))
    bars = market.candles("BTC/USDT", "1h", 2_000)["volume"].mean()
    assert 0.3 < bars / traded_per_hour < 3.0  # a unit slip (x60, x price) lands far off


@pytest.mark.parametrize(
    ("symbol", "timeframe", "n_bars", "start_ns", "message"),
    [
        ("XRP/USDT", "1m", 10, DEFAULT_START_NS, "not one of"),
        ("BTC/USDT", "1M", 10, DEFAULT_START_NS, "timeframe"),
        ("BTC/USDT", "1m", -1, DEFAULT_START_NS, "n_bars"),
        ("BTC/USDT", "1h", 5, 60 * 10**9, "bucket"),
        ("BTC/USDT", "1m", 5, -60 * 10**9, "bucket"),
    ],
)
def test_bad_arguments(
    market: SyntheticMarket, symbol: str, timeframe: str, n_bars: int, start_ns: int, message: str
) -> None:
    with pytest.raises(ValueError, match=message):
        market.candles(symbol, timeframe, n_bars, start_ns=start_ns)
