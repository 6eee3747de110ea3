"""``liquidity_zone``: book walls as support and resistance, played as a bounce or a break.

* **Zones.** The largest bid wall (support) and ask wall (resistance) of each bar
  (``bid_wall_price`` / ``ask_wall_price`` of :mod:`mftbot.features.bar_book`: a level of at
  least k × the median level size near the mid). A wall is remembered for ``memory`` bars
  after it was last seen, so a zone outlives a flickering quote.
* **Bounce (long).** The bar's low comes within ``touch_bps`` of support, the close holds
  above it and above the open (buyers defended the wall).
* **Break (long).** The close clears resistance by ``break_bps`` after the previous close
  stood below it (the wall was taken out).
* ``mode`` picks ``bounce``, ``break`` or ``both``. Entries need a valid book.
* **Exit (long).** The close falls through support by ``break_bps`` (the zone failed), or
  the high reaches resistance and the close is rejected below it.
* With ``short`` the mirror (rejection at resistance, breakdown through support).

Confidence on an entry bar: the wall's size over the mean of the two walls' sizes, capped at
1. Suggested stops: ATR multiples.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from pydantic import Field

from mftbot.features.bar_book import (
    ASK_WALL_PRICE,
    ASK_WALL_SIZE,
    BID_WALL_PRICE,
    BID_WALL_SIZE,
    BOOK_VALID,
)
from mftbot.strategies._inputs import clip01, njit_ieee
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig, register_strategy
from mftbot.strategies.book_base import BoolArray, FloatArray, OrderBookStrategy, lagged, valid
from mftbot.strategies.params import AtrStops, Choice, FloatRange, IntRange, tunable

BPS = 1e4


class LiquidityZoneConfig(AtrStops, StrategyConfig):
    """Parameters of ``liquidity_zone``."""

    mode: Literal["both", "bounce", "break"] = tunable(
        "both",
        "Trade bounces off walls, breaks through them, or both.",
        Choice(("both", "bounce", "break")),
    )
    memory: int = tunable(
        20, "Bars a wall is remembered after it was last seen.", IntRange(1, 120), ge=0
    )
    touch_bps: float = tunable(
        1.0, "How near the wall (bps) a touch counts.", FloatRange(0.1, 10.0), gt=0
    )
    break_bps: float = tunable(
        0.5, "How far past the wall (bps) a break counts.", FloatRange(0.0, 10.0), ge=0
    )
    short: bool = Field(False, description="Also emit short signals (needs a venue that shorts).")


def remembered(price: FloatArray, size: FloatArray, memory: int) -> tuple[FloatArray, FloatArray]:
    """The last wall seen within ``memory`` bars (price, size), NaN where none."""
    n = price.shape[0]
    index = np.arange(n)
    seen = np.isfinite(price)
    last = np.maximum.accumulate(np.where(seen, index, -1)) if n else index
    fresh = (last >= 0) & (index - last <= memory)
    pick = np.where(fresh, last, 0)
    return np.where(fresh, price[pick], np.nan), np.where(fresh, size[pick], np.nan)


@njit_ieee
def _signals(
    open_: FloatArray,
    high: FloatArray,
    low: FloatArray,
    close: FloatArray,
    book_valid: FloatArray,
    walls: tuple[FloatArray, FloatArray, FloatArray, FloatArray],
    c: tuple[int, float, float, bool, bool, int, bool],
) -> tuple[BoolArray, BoolArray, BoolArray, BoolArray, FloatArray]:
    """The rules of :meth:`LiquidityZone.populate` in one pass, operation for operation."""
    bid_price, bid_size, ask_price, ask_size = walls
    memory, touch, brk, use_bounce, use_break, warmup, short = c
    n = close.shape[0]
    entry = np.zeros(n, dtype=np.bool_)
    exit_ = np.zeros(n, dtype=np.bool_)
    entry_s = np.zeros(n, dtype=np.bool_)
    exit_s = np.zeros(n, dtype=np.bool_)
    confidence = np.full(n, np.nan)
    last_bid = last_ask = -1
    prev_close = prev_support = prev_resist = np.nan
    for t in range(n):
        if np.isfinite(bid_price[t]):
            last_bid = t
        if np.isfinite(ask_price[t]):
            last_ask = t
        support = support_size = resist = resist_size = np.nan
        if last_bid >= 0 and t - last_bid <= memory:
            support, support_size = bid_price[last_bid], bid_size[last_bid]
        if last_ask >= 0 and t - last_ask <= memory:
            resist, resist_size = ask_price[last_ask], ask_size[last_ask]
        x = close[t]
        bounce = (low[t] <= support * (1 + touch)) & (x > support) & (x > open_[t])
        breakout = (x > prev_resist * (1 + brk)) & (prev_close <= prev_resist)
        reject = (high[t] >= resist * (1 - touch)) & (x < resist) & (x < open_[t])
        breakdown = (x < prev_support * (1 - brk)) & (prev_close >= prev_support)
        failed = x < support * (1 - brk)
        topped = (high[t] >= resist * (1 - touch)) & (x < resist)
        squeezed = x > resist * (1 + brk)
        floored = (low[t] <= support * (1 + touch)) & (x > support)
        prev_close, prev_support, prev_resist = x, support, resist
        if t < warmup:
            continue
        ok = book_valid[t] > 0.5
        ex = failed | topped
        exs = squeezed | floored
        e = ok & ((bounce & use_bounce) | (breakout & use_break)) & (not ex)
        es = ok & ((reject & use_bounce) | (breakdown & use_break)) & (not exs)
        entry[t], exit_[t], entry_s[t], exit_s[t] = e, ex, es, exs
        if e | (es & short):
            seen = 0
            total = 0.0
            if support_size == support_size:
                seen += 1
                total = support_size
            if resist_size == resist_size:
                seen += 1
                total = total + resist_size
            else:
                total = total + 0.0
            mean_size = total / max(seen, 1) if seen > 0 else np.nan
            if e:
                wall = support_size if bounce else resist_size
            else:
                wall = resist_size if reject else support_size
            strength = clip01(wall / (2.0 * mean_size))
            confidence[t] = 0.5 if strength != strength else strength
    return entry, exit_, entry_s, exit_s, confidence


class LiquidityZone(OrderBookStrategy):
    """Bounce off book walls, or break through them."""

    name = "liquidity_zone"
    columns = (BID_WALL_PRICE, BID_WALL_SIZE, ASK_WALL_PRICE, ASK_WALL_SIZE)

    def __init__(self, config: LiquidityZoneConfig | None = None) -> None:
        self.config: LiquidityZoneConfig = config if config is not None else LiquidityZoneConfig()

    @property
    def warmup(self) -> int:
        """One previous bar (the break compares with the previous close)."""
        return 1

    @property
    def lookback(self) -> int:
        """The wall memory plus the suggested stops' ATR."""
        return max(self.config.memory + 2, self.stops_lookback()) + 1

    def populate(self, window: CandleWindow) -> Signals:
        """Long on a defended support or a broken resistance; out when support fails."""
        c = self.config
        book = self.book(window)
        if len(window) > self.warmup:
            entry, exit_, entry_s, exit_s, confidence = _signals(
                window.open,
                window.high,
                window.low,
                window.close,
                book[BOOK_VALID],
                (
                    book[BID_WALL_PRICE],
                    book[BID_WALL_SIZE],
                    book[ASK_WALL_PRICE],
                    book[ASK_WALL_SIZE],
                ),
                (
                    c.memory,
                    c.touch_bps / BPS,
                    c.break_bps / BPS,
                    c.mode in ("both", "bounce"),
                    c.mode in ("both", "break"),
                    self.warmup,
                    c.short,
                ),
            )
            return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)
        support, support_size = remembered(book[BID_WALL_PRICE], book[BID_WALL_SIZE], c.memory)
        resist, resist_size = remembered(book[ASK_WALL_PRICE], book[ASK_WALL_SIZE], c.memory)
        close, low, high, open_ = window.close, window.low, window.high, window.open
        prev_close = lagged(close, 1)
        prev_resist = lagged(resist, 1)
        prev_support = lagged(support, 1)
        touch, brk = c.touch_bps / BPS, c.break_bps / BPS
        with np.errstate(invalid="ignore"):
            bounce = (low <= support * (1 + touch)) & (close > support) & (close > open_)
            breakout = (close > prev_resist * (1 + brk)) & (prev_close <= prev_resist)
            reject = (high >= resist * (1 - touch)) & (close < resist) & (close < open_)
            breakdown = (close < prev_support * (1 - brk)) & (prev_close >= prev_support)
            failed = close < support * (1 - brk)
            topped = (high >= resist * (1 - touch)) & (close < resist)
            squeezed = close > resist * (1 + brk)
            floored = (low <= support * (1 + touch)) & (close > support)
        use_bounce, use_break = c.mode in ("both", "bounce"), c.mode in ("both", "break")
        ok = valid(book)
        exit_ = failed | topped
        exit_s = squeezed | floored
        entry = ok & ((bounce & use_bounce) | (breakout & use_break)) & ~exit_
        entry_s = ok & ((reject & use_bounce) | (breakdown & use_break)) & ~exit_s
        for flags in (entry, exit_, entry_s, exit_s):
            flags[: self.warmup] = False
        fired = entry | (entry_s & c.short)
        with np.errstate(invalid="ignore", divide="ignore"):
            sizes = np.stack([support_size, resist_size])
            seen = np.isfinite(sizes).sum(axis=0)
            mean_size = np.where(seen > 0, np.nansum(sizes, axis=0) / np.maximum(seen, 1), np.nan)
            wall = np.where(entry, np.where(bounce, support_size, resist_size), resist_size)
            wall = np.where(entry_s & ~entry, np.where(reject, resist_size, support_size), wall)
            strength = np.clip(wall / (2.0 * mean_size), 0.0, 1.0)
        confidence = np.where(fired, np.nan_to_num(strength, nan=0.5), np.nan)
        return Signals.of(entry, exit_, entry_s, exit_s, confidence, short=c.short)


register_strategy(
    LiquidityZone.name,
    LiquidityZone,
    LiquidityZoneConfig,
    description="Book walls as support/resistance: bounce off them or trade their break",
    kind="orderbook",
    lookahead=False,
)
