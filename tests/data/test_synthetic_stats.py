"""Stylised facts of the synthetic event stream (fixed seeds, thresholds from the docs).

The seeds are fixed, so these tests are deterministic. ``docs/synthetic-market.md`` lists
the same statistics for seeds 1..10, to show the thresholds are not tuned to one lucky path.
"""

from __future__ import annotations

import numpy as np
import pytest
from numpy.typing import NDArray
from scipy.stats import kurtosis

from mftbot.data.synthetic import SyntheticMarket, SyntheticMarketConfig
from mftbot.domain.events import BookDelta, BookSnapshot, CandleClosed

START = 1_704_067_200_000_000_000
HOUR = 3600 * 1_000_000_000


def acf(x: NDArray[np.float64], lag: int) -> float:
    """Sample autocorrelation at ``lag``."""
    centred = x - x.mean()
    return float((centred[:-lag] * centred[lag:]).sum() / (centred * centred).sum())


@pytest.fixture(scope="module")
def minute_returns() -> NDArray[np.float64]:
    """1-minute log returns of the emitted candles over 8 hours.

    The flow is thinned ten times (``activity=0.1``) to keep the test fast; the latent
    price, and so the returns at the minute scale, do not depend on the flow rate.
    """
    market = SyntheticMarket(SyntheticMarketConfig(activity=0.1), ["BTC/USDT"], seed=1)
    closes = [e.close for e in market.events(START, 8 * HOUR) if isinstance(e, CandleClosed)]
    assert len(closes) == 480
    return np.diff(np.log(np.array(closes)))


def test_minute_returns_have_fat_tails(minute_returns: NDArray[np.float64]) -> None:
    # excess kurtosis: a normal sample of 479 gives 0 +- 0.22; seeds 1..10 give 0.9 .. 11.9
    assert kurtosis(minute_returns) > 1.0


def test_volatility_clusters(minute_returns: NDArray[np.float64]) -> None:
    absolute = np.abs(minute_returns)
    abs_acf = np.mean([acf(absolute, lag) for lag in range(1, 6)])
    raw_acf = np.mean([acf(minute_returns, lag) for lag in range(1, 6)])
    assert abs_acf > 0.05
    assert abs(raw_acf) < 0.1
    assert abs_acf > abs(raw_acf) + 0.05


def test_minute_volatility_matches_the_instrument(minute_returns: NDArray[np.float64]) -> None:
    expected = 0.5 / np.sqrt(365 * 24 * 60)  # BTC/USDT default: 50 % a year
    # eight hours sit inside one slow-volatility state (half-life 2 days): seeds give 0.6..1.6
    assert 0.4 * expected < minute_returns.std() < 2.5 * expected


def test_spread_and_depth_in_documented_range() -> None:
    market = SyntheticMarket(SyntheticMarketConfig(), ["BTC/USDT"], seed=1)
    bids: dict[float, float] = {}
    asks: dict[float, float] = {}
    spreads: list[float] = []
    depths: list[float] = []
    for event in market.events(START, HOUR // 4):
        if isinstance(event, BookSnapshot):
            bids, asks = dict(event.bids), dict(event.asks)
        elif isinstance(event, BookDelta):
            for levels, changes in ((bids, event.bids), (asks, event.asks)):
                for price, size in changes:
                    if size == 0:
                        del levels[price]
                    else:
                        levels[price] = size
            best_bid, best_ask = max(bids), min(asks)
            spreads.append((best_ask - best_bid) / ((best_ask + best_bid) / 2) * 1e4)
            bid_depth = sum(p * q for p, q in sorted(bids.items())[-10:])
            ask_depth = sum(p * q for p, q in sorted(asks.items())[:10])
            depths.append(min(bid_depth, ask_depth))
    spread = np.array(spreads)
    assert 0.3 < np.median(spread) < 10.0  # bps
    assert np.percentile(spread, 95) < 20.0
    assert spread.min() > 0
    assert 10_000 < np.median(depths) < 300_000  # USDT on the thinner side, top 10 levels
