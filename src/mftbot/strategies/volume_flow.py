"""``volume_flow``: trade with the aggressive side when CVD and the whales agree.

* **Aggressive delta.** ``(buy − sell) / (buy + sell)`` of the taker volume over the last
  ``flow_bars`` bars (``buy_volume`` / ``sell_volume`` of :mod:`mftbot.features.bar_book`).
* **CVD.** The change of the cumulative volume delta over ``cvd_bars`` bars, as a share of
  the volume traded in them.
* **Whales.** The same delta over the whale trades of the flow window (0 when none traded).
* **Entry (long).** Delta at least ``delta_min``, CVD trend at least ``cvd_min``, whale delta
  at least ``whale_min``, volume in the flow window at least ``activity`` × its mean over the
  CVD window (the flow is real, not a lull), and a valid book.
* **Exit (long).** Delta at most −``exit_delta`` or the whales selling (whale delta at most
  −``whale_exit``).
* With ``short`` the mirror.

Confidence on an entry bar: the mean of the delta past its threshold (full at 1) and of the
whale share of the window's volume. Suggested stops: ATR multiples.
"""

from __future__ import annotations

import numpy as np
from pydantic import Field

from mftbot.features.bar_book import (
    BOOK_VALID,
    BUY_VOLUME,
    CVD,
    SELL_VOLUME,
    WHALE_BUY_VOLUME,
    WHALE_SELL_VOLUME,
)
from mftbot.strategies._inputs import clip01, njit_ieee
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


class VolumeFlowConfig(AtrStops, StrategyConfig):
    """Parameters of ``volume_flow``."""

    flow_bars: int = tunable(10, "Bars of the aggressive-delta window.", IntRange(3, 60), ge=1)
    delta_min: float = tunable(
        0.3, "Aggressive delta needed to enter.", FloatRange(0.05, 0.8), gt=0, le=1
    )
    exit_delta: float = tunable(0.3, "Opposite delta that exits.", FloatRange(0.0, 0.8), ge=0, le=1)
    cvd_bars: int = tunable(30, "Bars of the CVD trend.", IntRange(5, 120), ge=2)
    cvd_min: float = tunable(
        0.0, "CVD change over its window, share of volume.", FloatRange(0.0, 0.5), ge=0, le=1
    )
    whale_min: float = tunable(
        0.0, "Whale delta needed to enter.", FloatRange(-0.5, 0.8), ge=-1, le=1
    )
    whale_exit: float = tunable(
        0.5, "Opposite whale delta that exits.", FloatRange(0.1, 1.0), gt=0, le=1
    )
    activity: float = tunable(
        1.0, "Flow-window volume over its mean to enter.", FloatRange(0.0, 3.0), ge=0
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


def _delta(buy: FloatArray, sell: FloatArray) -> FloatArray:
    total = buy + sell
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(total > 0, (buy - sell) / total, 0.0)


@njit_ieee
def _flow_delta(buy: float, sell: float) -> float:
    total = buy + sell
    return (buy - sell) / total if total > 0 else 0.0


@njit_ieee
def _signals(
    buy_volume: FloatArray,
    sell_volume: FloatArray,
    cvd: FloatArray,
    whale_buy_volume: FloatArray,
    whale_sell_volume: FloatArray,
    book_valid: FloatArray,
    c: tuple[int, float, float, int, float, float, float, float, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`VolumeFlow.populate` in one pass, operation for operation."""
    flow_bars, delta_min, exit_delta, cvd_bars, cvd_min, whale_min, whale_exit, activity = c[:8]
    warmup, short = c[8], c[9]
    n = cvd.shape[0]
    buy = rolling_sum(buy_volume, flow_bars)
    sell = rolling_sum(sell_volume, flow_bars)
    whale_buy = rolling_sum(whale_buy_volume, flow_bars)
    whale_sell = rolling_sum(whale_sell_volume, flow_bars)
    traded = rolling_sum(buy_volume + sell_volume, cvd_bars)
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    for t in range(warmup, n):
        delta = _flow_delta(buy[t], sell[t])
        whales = _flow_delta(whale_buy[t], whale_sell[t])
        lag = cvd[t - cvd_bars] if t >= cvd_bars else np.nan
        trend = (cvd[t] - lag) / traded[t]
        flow = buy[t] + sell[t]
        active = flow >= activity * traded[t] * flow_bars / cvd_bars
        enough = np.isfinite(trend) & (flow > 0)
        ex = (delta <= -exit_delta) | (whales <= -whale_exit)
        exs = (delta >= exit_delta) | (whales >= whale_exit)
        base = enough & active & (book_valid[t] > 0.5)
        e = base & (delta >= delta_min) & (trend >= cvd_min) & (whales >= whale_min) & (not ex)
        es = base & (delta <= -delta_min) & (trend <= -cvd_min)
        es &= (whales <= -whale_min) & (not exs)
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, ex, es, exs
        if e | (es & short):
            push = clip01((abs(delta) - delta_min) / (1.0 - delta_min))
            share = clip01((whale_buy[t] + whale_sell[t]) / flow)
            value = 0.5 * (push + share)
            confidence[t] = 0.0 if value != value else value
    return entry, exit_, entry_s, exit_s, confidence


class VolumeFlow(OrderBookStrategy):
    """Aggressive delta + CVD trend + whale activity."""

    name = "volume_flow"
    columns = (BUY_VOLUME, SELL_VOLUME, CVD, WHALE_BUY_VOLUME, WHALE_SELL_VOLUME)

    def __init__(self, config: VolumeFlowConfig | None = None) -> None:
        self.config: VolumeFlowConfig = config if config is not None else VolumeFlowConfig()

    @property
    def warmup(self) -> int:
        """Rows before the flow and CVD windows are full."""
        c = self.config
        return max(c.flow_bars - 1, c.cvd_bars)

    @property
    def lookback(self) -> int:
        """The warm-up plus the suggested stops' ATR."""
        return max(self.warmup, self.stops_lookback()) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Long while buyers hit the offer, CVD rises and whales do not sell."""
        c = self.config
        book = self.book(window)
        if self.warmup < len(window):
            entry, exit_, entry_s, exit_s, confidence = _signals(
                book[BUY_VOLUME],
                book[SELL_VOLUME],
                book[CVD],
                book[WHALE_BUY_VOLUME],
                book[WHALE_SELL_VOLUME],
                book[BOOK_VALID],
                (
                    c.flow_bars,
                    c.delta_min,
                    c.exit_delta,
                    c.cvd_bars,
                    c.cvd_min,
                    c.whale_min,
                    c.whale_exit,
                    c.activity,
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        buy = window_sum(book[BUY_VOLUME], c.flow_bars)
        sell = window_sum(book[SELL_VOLUME], c.flow_bars)
        whale_buy = window_sum(book[WHALE_BUY_VOLUME], c.flow_bars)
        whale_sell = window_sum(book[WHALE_SELL_VOLUME], c.flow_bars)
        delta = _delta(buy, sell)
        whales = _delta(whale_buy, whale_sell)
        cvd = book[CVD]
        traded = window_sum(book[BUY_VOLUME] + book[SELL_VOLUME], c.cvd_bars)
        with np.errstate(invalid="ignore", divide="ignore"):
            trend = (cvd - lagged(cvd, c.cvd_bars)) / traded
            active = (buy + sell) >= c.activity * traded * c.flow_bars / c.cvd_bars
            enough = np.isfinite(trend) & (buy + sell > 0)
            exit_ = (delta <= -c.exit_delta) | (whales <= -c.whale_exit)
            exit_s = (delta >= c.exit_delta) | (whales >= c.whale_exit)
            base = enough & active & valid(book)
            entry = base & (delta >= c.delta_min) & (trend >= c.cvd_min) & (whales >= c.whale_min)
            entry &= ~exit_
            entry_s = base & (delta <= -c.delta_min) & (trend <= -c.cvd_min)
            entry_s &= (whales <= -c.whale_min) & ~exit_s
            push = np.clip((np.abs(delta) - c.delta_min) / (1.0 - c.delta_min), 0.0, 1.0)
            whale_share = np.clip((whale_buy + whale_sell) / (buy + sell), 0.0, 1.0)
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        confidence = np.where(fired, np.nan_to_num(0.5 * (push + whale_share), nan=0.0), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)


register_strategy(
    VolumeFlow.name,
    VolumeFlow,
    VolumeFlowConfig,
    description="Aggressive taker delta with a rising CVD and no whale selling",
    kind="orderbook",
    lookahead=False,
)
