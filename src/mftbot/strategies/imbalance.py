"""``imbalance``: follow the side that dominates the order book.

* **Imbalance.** The bid share of the depth of the best ``levels`` levels per side
  (``imbalance_5`` / ``imbalance_10`` of :mod:`mftbot.features.bar_book`, in ``[0, 1]``),
  averaged over ``smooth`` bars.
* **Entry (long).** The imbalance above ``buy_above`` for ``persist`` bars, with a valid
  book, the spread at most ``max_spread_bps``, and the 10-level depth of both sides (quote
  value) at least ``min_depth_ratio`` × its mean over ``depth_period`` bars (no entry into a
  book that has just thinned out).
* **Exit (long).** The imbalance below ``sell_below`` (asks dominate).
* With ``short`` (off: the engine trades spot, long only) the mirror: short below
  ``sell_below``, cover above ``buy_above``.

Confidence on an entry bar: how far the imbalance is past its threshold (full at 1, or 0
for shorts), times the depth ratio capped at 1. Suggested stops: ATR multiples.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field, model_validator

from mftbot.features.bar_book import (
    BOOK_VALID,
    DEPTH_ASK_10,
    DEPTH_BID_10,
    IMBALANCE_5,
    IMBALANCE_10,
    MID,
    SPREAD_BPS,
)
from mftbot.strategies._inputs import clip01, njit_ieee
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.book_base import (
    BoolArray,
    FloatArray,
    OrderBookStrategy,
    held_for,
    rolling_sum,
    valid,
    window_sum,
)
from mftbot.strategies.params import AtrStops, Choice, FloatRange, IntRange, tunable


class ImbalanceConfig(AtrStops, StrategyConfig):
    """Parameters of ``imbalance``."""

    levels: Literal[5, 10] = tunable(
        5, "Book levels per side the imbalance covers.", Choice((5, 10))
    )
    buy_above: float = tunable(
        0.75, "Bid share of the depth above which to buy.", FloatRange(0.55, 0.95), gt=0.5, lt=1
    )
    sell_below: float = tunable(
        0.25, "Bid share of the depth below which to sell.", FloatRange(0.05, 0.45), gt=0, lt=0.5
    )
    smooth: int = tunable(1, "Bars the imbalance is averaged over.", IntRange(1, 10), ge=1)
    persist: int = tunable(
        1, "Bars the imbalance must stay past the threshold.", IntRange(1, 5), ge=1
    )
    max_spread_bps: float = tunable(
        5.0, "Widest spread (bps) an entry accepts.", FloatRange(0.5, 20.0), gt=0
    )
    depth_period: int = tunable(
        30, "Bars of the mean depth the filter compares to.", IntRange(5, 120), ge=2
    )
    min_depth_ratio: float = tunable(
        0.3, "Least depth (both sides, quote) over its mean to enter.", FloatRange(0.0, 1.0), ge=0
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")

    @model_validator(mode="after")
    def _thresholds(self) -> ImbalanceConfig:
        if not self.sell_below < self.buy_above:
            raise ValueError("sell_below must be below buy_above")
        return self


@njit_ieee
def _signals(
    raw: FloatArray,
    book: tuple[FloatArray, FloatArray, FloatArray, FloatArray, FloatArray],
    c: tuple[int, int, float, float, float, int, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`Imbalance.populate` in one pass, operation for operation."""
    book_valid, spread, depth_bid, depth_ask, mid = book
    smooth, persist, buy_above, sell_below, max_spread, depth_period, min_ratio = c[:7]
    warmup, short = c[7], c[8]
    n = raw.shape[0]
    imb = rolling_sum(raw, smooth) / smooth
    depth = (depth_bid + depth_ask) * mid
    ok = book_valid > 0.5
    depth_mean = rolling_sum(np.where(ok, depth, np.nan), depth_period) / depth_period
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    bid_run = ask_run = 0
    for t in range(n):
        x = imb[t]
        bid_run = bid_run + 1 if x > buy_above else 0
        ask_run = ask_run + 1 if x < sell_below else 0
        if t < warmup:
            continue
        ratio = depth[t] / depth_mean[t]
        tradable = ok[t] & (spread[t] <= max_spread) & (ratio >= min_ratio)
        ex = ok[t] & (x < sell_below)
        exs = ok[t] & (x > buy_above)
        e = tradable & (bid_run >= persist) & (not ex)
        es = tradable & (ask_run >= persist) & (not exs)
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, ex, es, exs
        if e | (es & short):
            bid_side = (x - buy_above) / (1.0 - buy_above)
            strength = bid_side if e else (sell_below - x) / sell_below
            value = clip01(strength) * clip01(ratio)
            confidence[t] = 0.0 if value != value else value
    return entry, exit_, entry_s, exit_s, confidence


class Imbalance(OrderBookStrategy):
    """Buy when bids dominate the book, sell when asks do, with spread and depth filters."""

    name = "imbalance"
    columns = (IMBALANCE_5, IMBALANCE_10, SPREAD_BPS, DEPTH_BID_10, DEPTH_ASK_10, MID)

    def __init__(self, config: ImbalanceConfig | None = None) -> None:
        self.config: ImbalanceConfig = config if config is not None else ImbalanceConfig()

    @property
    def warmup(self) -> int:
        """Rows before the smoothing, persistence and depth windows are full."""
        c = self.config
        return max(c.smooth + c.persist - 1, c.depth_period) - 1

    @property
    def lookback(self) -> int:
        """The warm-up plus the suggested stops' ATR."""
        return max(self.warmup, self.stops_lookback()) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Long while the bids dominate; out when the asks do."""
        c = self.config
        book = self.book(window)
        ok = valid(book)
        raw = book[IMBALANCE_5 if c.levels == 5 else IMBALANCE_10]
        if len(window) > self.warmup:
            entry, exit_, entry_s, exit_s, confidence = _signals(
                raw,
                (
                    book[BOOK_VALID],
                    book[SPREAD_BPS],
                    book[DEPTH_BID_10],
                    book[DEPTH_ASK_10],
                    book[MID],
                ),
                (
                    c.smooth,
                    c.persist,
                    c.buy_above,
                    c.sell_below,
                    c.max_spread_bps,
                    c.depth_period,
                    c.min_depth_ratio,
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        with np.errstate(invalid="ignore", divide="ignore"):
            imb = window_sum(raw, c.smooth) / c.smooth
            depth = (book[DEPTH_BID_10] + book[DEPTH_ASK_10]) * book[MID]
            depth_mean = window_sum(np.where(ok, depth, np.nan), c.depth_period) / c.depth_period
            ratio = depth / depth_mean
            tradable = ok & (book[SPREAD_BPS] <= c.max_spread_bps) & (ratio >= c.min_depth_ratio)
            bid_heavy = held_for(imb > c.buy_above, c.persist)
            ask_heavy = held_for(imb < c.sell_below, c.persist)
            exit_ = ok & (imb < c.sell_below)
            exit_s = ok & (imb > c.buy_above)
            entry = tradable & bid_heavy & ~exit_
            entry_s = tradable & ask_heavy & ~exit_s
            strength = np.where(
                entry,
                (imb - c.buy_above) / (1.0 - c.buy_above),
                (c.sell_below - imb) / c.sell_below,
            )
            confidence = np.clip(strength, 0.0, 1.0) * np.clip(ratio, 0.0, 1.0)
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        confidence = np.where(fired, np.nan_to_num(confidence, nan=0.0), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)


register_strategy(
    Imbalance.name,
    Imbalance,
    ImbalanceConfig,
    description="Order-book imbalance: buy above 0.75 bid share, sell below 0.25, with filters",
    kind="orderbook",
    lookahead=False,
)
