"""``smart_money``: read the footprints of large players in the book, the tape and the candles.

Three bullish footprints (each 0 or 1), and their bearish mirrors:

* **Absorption.** Over the last ``absorb_bars`` bars the taker selling is heavy (at least
  ``absorb_delta`` of the volume, and the volume at least ``absorb_volume`` × its mean over
  ``swing_bars``) yet the price did not fall: passive bids soaked it up.
* **Stop hunt.** The bar's low sweeps below the lowest low of the previous ``swing_bars``
  bars and the close reclaims it: the stops under the level were taken, then price returned.
* **CVD divergence.** :func:`~mftbot.analysis.orderflow.cvd_divergence` over ``div_bars``:
  the price fell at least ``div_move_bps`` while the taker flow was net buying.

**Entry (long)**: at least ``min_score`` bullish footprints, no bearish one, a valid book whose
10-level imbalance (bid share) is at least ``book_min``. **Exit (long)**: at least
``min_score`` bearish footprints. With ``short`` the mirror. Confidence on an entry bar:
footprints / 3. Suggested stops: ATR multiples.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from mftbot.analysis.orderflow import cvd_divergence
from mftbot.features.bar_book import BOOK_VALID, BUY_VOLUME, IMBALANCE_10, SELL_VOLUME
from mftbot.strategies._inputs import clip01, njit_ieee, ta
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.book_base import (
    BoolArray,
    FloatArray,
    OrderBookStrategy,
    lagged,
    rolling_sum,
    valid,
    window_sum,
)
from mftbot.strategies.params import AtrStops, FloatRange, IntRange, tunable


class SmartMoneyConfig(AtrStops, StrategyConfig):
    """Parameters of ``smart_money``."""

    swing_bars: int = tunable(
        30, "Bars of the swing low/high a stop hunt sweeps.", IntRange(5, 120), ge=2
    )
    absorb_bars: int = tunable(3, "Bars of the absorption window.", IntRange(1, 20), ge=1)
    absorb_delta: float = tunable(
        0.3, "Taker delta against the price that counts as heavy.", FloatRange(0.1, 0.9), gt=0, le=1
    )
    absorb_volume: float = tunable(
        1.5, "Absorption-window volume over its mean.", FloatRange(0.5, 5.0), gt=0
    )
    div_bars: int = tunable(10, "Bars of the CVD divergence.", IntRange(3, 60), ge=1)
    div_move_bps: float = tunable(
        2.0, "Price move (bps) a divergence needs.", FloatRange(0.5, 20.0), gt=0
    )
    div_flow: float = tunable(
        0.2, "Opposite taker delta a divergence needs.", FloatRange(0.05, 0.8), gt=0, le=1
    )
    min_score: int = tunable(1, "Footprints needed to act.", IntRange(1, 3), ge=1, le=3)
    book_min: float = tunable(
        0.4, "Least 10-level bid share of the depth to enter.", FloatRange(0.0, 0.7), ge=0, le=1
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


@njit_ieee
def _signals(
    candles: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    book: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    swing_low: FloatArray,
    swing_high: FloatArray,
    div: FloatArray,
    c: tuple[int, int, float, float, int, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`SmartMoney.populate` in one pass (``swing_low`` / ``swing_high``:
    the extremes of the ``swing_bars`` bars up to each row), operation for operation."""
    open_, high, low, close = candles
    buy, sell, imbalance, book_valid = book
    swing_bars, absorb_bars, absorb_delta, absorb_volume, min_score, book_min, warmup, short = c
    n = close.shape[0]
    w_buy = rolling_sum(buy, absorb_bars)
    w_sell = rolling_sum(sell, absorb_bars)
    w_volume = w_buy + w_sell
    before = np.full(n, np.nan)
    before[1:] = w_volume[:-1]
    mean_volume = rolling_sum(before, swing_bars) / swing_bars
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    for t in range(warmup, n):
        delta = (w_buy[t] - w_sell[t]) / w_volume[t]
        heavy = w_volume[t] >= absorb_volume * mean_volume[t]
        x = close[t]
        if absorb_bars > 1:
            moved = x - (open_[t - absorb_bars + 1] if t >= absorb_bars - 1 else np.nan)
        else:
            moved = x - open_[t]
        absorb_up = heavy & (delta <= -absorb_delta) & (moved >= 0)
        absorb_down = heavy & (delta >= absorb_delta) & (moved <= 0)
        lo = swing_low[t - 1] if t > 0 else np.nan
        hi = swing_high[t - 1] if t > 0 else np.nan
        hunt_up = (low[t] < lo) & (x > lo)
        hunt_down = (high[t] > hi) & (x < hi)
        bull = int(absorb_up) + int(hunt_up) + int(div[t] > 0)
        bear = int(absorb_down) + int(hunt_down) + int(div[t] < 0)
        ok = book_valid[t] > 0.5
        e = ok & (bull >= min_score) & (bear == 0) & (imbalance[t] >= book_min)
        es = ok & (bear >= min_score) & (bull == 0) & (imbalance[t] <= 1.0 - book_min)
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, bear >= min_score, es, bull >= min_score
        if e | (es & short):
            confidence[t] = clip01((bull if e else bear) / 3.0)
    return entry, exit_, entry_s, exit_s, confidence


class SmartMoney(OrderBookStrategy):
    """Absorption, stop hunts and CVD divergence, confirmed by the book."""

    name = "smart_money"
    columns = (BUY_VOLUME, SELL_VOLUME, IMBALANCE_10)

    def __init__(self, config: SmartMoneyConfig | None = None) -> None:
        self.config: SmartMoneyConfig = config if config is not None else SmartMoneyConfig()

    @property
    def warmup(self) -> int:
        """Rows before the swing, absorption and divergence windows are full."""
        c = self.config
        return max(c.swing_bars, c.absorb_bars + c.swing_bars - 1, c.div_bars)

    @property
    def lookback(self) -> int:
        """The warm-up plus the suggested stops' ATR."""
        return max(self.warmup, self.stops_lookback()) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Long on bullish footprints the book does not contradict; out on bearish ones."""
        c = self.config
        book = self.book(window)
        close, high, low, open_ = window.close, window.high, window.low, window.open
        buy, sell = book[BUY_VOLUME], book[SELL_VOLUME]
        if len(window) > self.warmup:
            div = cvd_divergence(
                close, buy, sell, c.div_bars, min_move_bps=c.div_move_bps, min_flow=c.div_flow
            )
            entry, exit_, entry_s, exit_s, confidence = _signals(
                (open_, high, low, close),
                (buy, sell, book[IMBALANCE_10], book[BOOK_VALID]),
                ta.MIN(low, c.swing_bars),
                ta.MAX(high, c.swing_bars),
                div,
                (
                    c.swing_bars,
                    c.absorb_bars,
                    c.absorb_delta,
                    c.absorb_volume,
                    c.min_score,
                    c.book_min,
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        with np.errstate(invalid="ignore", divide="ignore"):
            w_buy = window_sum(buy, c.absorb_bars)
            w_sell = window_sum(sell, c.absorb_bars)
            w_volume = w_buy + w_sell
            delta = (w_buy - w_sell) / w_volume
            mean_volume = window_sum(lagged(w_volume, 1), c.swing_bars) / c.swing_bars
            heavy = w_volume >= c.absorb_volume * mean_volume
            moved = close - lagged(open_, c.absorb_bars - 1) if c.absorb_bars > 1 else close - open_
            absorb_up = heavy & (delta <= -c.absorb_delta) & (moved >= 0)
            absorb_down = heavy & (delta >= c.absorb_delta) & (moved <= 0)
            swing_low = lagged(ta.MIN(low, c.swing_bars), 1)
            swing_high = lagged(ta.MAX(high, c.swing_bars), 1)
            hunt_up = (low < swing_low) & (close > swing_low)
            hunt_down = (high > swing_high) & (close < swing_high)
            div = cvd_divergence(
                close, buy, sell, c.div_bars, min_move_bps=c.div_move_bps, min_flow=c.div_flow
            )
            bull = absorb_up.astype(np.int64) + hunt_up + (div > 0)
            bear = absorb_down.astype(np.int64) + hunt_down + (div < 0)
            ok = valid(book)
            entry = ok & (bull >= c.min_score) & (bear == 0) & (book[IMBALANCE_10] >= c.book_min)
            entry_s = ok & (bear >= c.min_score) & (bull == 0)
            entry_s &= book[IMBALANCE_10] <= 1.0 - c.book_min
        exit_ = bear >= c.min_score
        exit_s = bull >= c.min_score
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        score = np.where(entry, bull, bear) / 3.0
        confidence = np.where(fired, np.clip(score, 0.0, 1.0), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)


register_strategy(
    SmartMoney.name,
    SmartMoney,
    SmartMoneyConfig,
    description="Smart-money footprints: absorption, stop hunts and CVD divergence, book-confirmed",
    kind="orderbook",
    lookahead=False,
)
