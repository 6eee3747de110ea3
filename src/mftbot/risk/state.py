"""What the risk engine knows beyond :class:`~mftbot.risk.base.RiskContext`: recent bars per
symbol (ATR, returns, correlations), data age, open positions and pending entries, entries per
trading day, closed trades per strategy and the equity points.

The engine keeps it current through the ``on_*`` methods (see ``docs/risk.md``, "Wiring"):
nothing here reads a clock or the portfolio itself.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.calendar import YEAR_NS, trading_day
from mftbot.risk.config import RiskConfig
from mftbot.risk.results import RiskError

FloatArray = npt.NDArray[np.float64]


class WilderATR:
    """Wilder's average true range, incrementally; the same values as TA-Lib's ``ATR``.

    The first bar has no true range; the first ATR (bar ``period``) is the mean of the true
    ranges of bars ``1..period``; then ``atr = (atr × (period − 1) + tr) / period``.
    """

    __slots__ = ("_count", "_prev_close", "_sum", "period", "value")

    def __init__(self, period: int) -> None:
        if period < 1:
            raise RiskError(f"ATR period must be ≥ 1, got {period}")
        self.period = period
        self.value = math.nan
        self._prev_close = math.nan
        self._count = 0
        self._sum = 0.0

    def update(self, high: float, low: float, close: float) -> float:
        """Add one bar; return the ATR after it (NaN during the warm-up)."""
        prev = self._prev_close
        self._prev_close = close
        if math.isnan(prev):
            return self.value
        tr = max(high - low, abs(high - prev), abs(low - prev))
        self._count += 1
        if self._count < self.period:
            self._sum += tr
        elif self._count == self.period:
            self.value = (self._sum + tr) / self.period
        else:
            self.value = (self.value * (self.period - 1) + tr) / self.period
        return self.value


class SymbolHistory:
    """The last ``capacity`` bars of one symbol on one timeframe, plus running ATRs."""

    def __init__(self, timeframe: str, capacity: int, atr_periods: Iterable[int]) -> None:
        self.timeframe = timeframe
        self.ts: deque[int] = deque(maxlen=capacity)
        self.open: deque[float] = deque(maxlen=capacity)
        self.high: deque[float] = deque(maxlen=capacity)
        self.low: deque[float] = deque(maxlen=capacity)
        self.close: deque[float] = deque(maxlen=capacity)
        self.volume: deque[float] = deque(maxlen=capacity)
        self._atr = {p: WilderATR(p) for p in set(atr_periods)}

    def add(self, bar: CandleClosed) -> None:
        """Append a closed bar (an earlier or repeated bar is an error)."""
        if self.ts and bar.ts_event <= self.ts[-1]:
            raise RiskError(
                f"{bar.symbol} {bar.timeframe}: bar at {bar.ts_event} is not after {self.ts[-1]}"
            )
        for name in ("open", "high", "low", "close"):
            value = getattr(bar, name)
            if not (math.isfinite(value) and value > 0):
                raise RiskError(f"{bar.symbol}: bar {name} must be finite and > 0, got {value}")
        self.ts.append(bar.ts_event)
        self.open.append(bar.open)
        self.high.append(bar.high)
        self.low.append(bar.low)
        self.close.append(bar.close)
        self.volume.append(bar.volume)
        for atr in self._atr.values():
            atr.update(bar.high, bar.low, bar.close)

    def atr(self, period: int) -> float:
        """The current ATR of ``period`` (NaN in the warm-up)."""
        try:
            return self._atr[period].value
        except KeyError:
            raise RiskError(
                f"ATR({period}) is not tracked (tracked: {sorted(self._atr)})"
            ) from None

    def closes(self) -> FloatArray:
        """Kept closes, oldest first."""
        return np.fromiter(self.close, dtype=np.float64, count=len(self.close))

    def times(self) -> npt.NDArray[np.int64]:
        """Kept bar times (close time, ns), oldest first."""
        return np.fromiter(self.ts, dtype=np.int64, count=len(self.ts))


@dataclass(slots=True)
class PositionInfo:
    """An open position as the risk engine sees it (``qty`` signed: > 0 long)."""

    symbol: str
    qty: float
    entry: float
    ts: int
    strategy: str = ""
    stop: float | None = None

    @property
    def side(self) -> Side:
        """The side that opened it."""
        return Side.BUY if self.qty > 0 else Side.SELL


@dataclass(frozen=True, slots=True)
class PendingEntry:
    """An approved entry whose fill has not been reported yet."""

    symbol: str
    side: Side
    qty: float
    ts: int
    stop_distance: float | None


@dataclass(frozen=True, slots=True)
class TradeRecord:
    """One closed trade of a strategy: its net PnL (quote) and when it closed."""

    strategy: str
    symbol: str
    pnl: float
    ts: int


class RiskState:
    """The risk engine's view of markets, positions and recent history (see module doc)."""

    def __init__(self, config: RiskConfig) -> None:
        self.config = config
        s = config.stops
        self._capacity = (
            max(
                config.portfolio.corr_window,
                config.sizing.vol_window,
                s.chandelier_period,
                s.reversal_lookback,
            )
            + 2
        )
        self._atr_periods = {config.adapters.atr_period, s.atr_period}
        self.history: dict[str, SymbolHistory] = {}
        self.last_price: dict[str, float] = {}
        self.last_data_ns: dict[str, int] = {}
        self.positions: dict[str, PositionInfo] = {}
        self.pending: dict[str, PendingEntry] = {}
        self._day = -(2**62)
        self._entries_today = 0
        self._trades: dict[str, deque[TradeRecord]] = {}
        self._equity: deque[float] = deque(maxlen=config.adapters.equity_ma_points)
        self._equity_ts: int | None = None
        self._corr_cache: dict[tuple[str, ...], tuple[FloatArray, FloatArray]] = {}

    # --- market data ------------------------------------------------------------------------

    def on_bar(self, bar: CandleClosed) -> None:
        """A closed candle. The first timeframe seen for a symbol is the one kept; candles of
        other timeframes only refresh the data age and the last price."""
        self.on_market_data(bar.symbol, bar.ts_recv)
        hist = self.history.get(bar.symbol)
        if hist is None:
            hist = SymbolHistory(bar.timeframe, self._capacity, self._atr_periods)
            self.history[bar.symbol] = hist
        if hist.timeframe == bar.timeframe:
            hist.add(bar)
            self._corr_cache.clear()
        self.last_price[bar.symbol] = bar.close

    def on_market_data(self, symbol: str, ts_recv: int, price: float | None = None) -> None:
        """Any market event of ``symbol`` received at ``ts_recv`` (optionally a last price)."""
        if ts_recv > self.last_data_ns.get(symbol, -1):
            self.last_data_ns[symbol] = ts_recv
        if price is not None:
            if not (math.isfinite(price) and price > 0):
                raise RiskError(f"{symbol}: price must be finite and > 0, got {price}")
            self.last_price[symbol] = price

    def data_age_ns(self, symbol: str, now_ns: int) -> int | None:
        """How old the newest data of ``symbol`` is at ``now_ns`` (``None``: never seen)."""
        last = self.last_data_ns.get(symbol)
        return None if last is None else now_ns - last

    def atr(self, symbol: str, period: int) -> float:
        """ATR of ``symbol`` (NaN when unknown or warming up)."""
        hist = self.history.get(symbol)
        return math.nan if hist is None else hist.atr(period)

    def realised_vol(self, symbol: str) -> tuple[float, int]:
        """Annualised volatility of log returns over the last ``vol_window`` bars, and how many
        returns it used (NaN with fewer than two)."""
        hist = self.history.get(symbol)
        if hist is None or len(hist.close) < 3:
            return math.nan, 0
        window = self.config.sizing.vol_window
        closes = hist.closes()[-(window + 1) :]
        times = hist.times()[-(window + 1) :]
        rets = np.diff(np.log(closes))
        step = float(np.median(np.diff(times)))
        if step <= 0:
            return math.nan, 0
        return float(np.std(rets, ddof=1)) * math.sqrt(YEAR_NS / step), int(rets.size)

    def correlation(self, symbols: Sequence[str]) -> tuple[FloatArray, FloatArray]:
        """Rolling correlation matrix of log returns (pairwise over common bar times, last
        ``corr_window`` returns) and the number of returns behind each entry. Pairs with fewer
        than ``min_obs`` returns (or a flat series) get ``default_correlation``. Cached until
        the next bar."""
        cfg = self.config.portfolio
        key = tuple(symbols)
        cached = self._corr_cache.get(key)
        if cached is not None:
            return cached
        n = len(symbols)
        obs = np.zeros((n, n))
        corr = np.eye(n)
        for i in range(n):
            for j in range(i + 1, n):
                rho, count = self._pair_corr(symbols[i], symbols[j], cfg.corr_window)
                ok = count >= cfg.min_obs and math.isfinite(rho)
                corr[i, j] = corr[j, i] = rho if ok else cfg.default_correlation
                obs[i, j] = obs[j, i] = count
        self._corr_cache[key] = (corr, obs)
        return corr, obs

    def _pair_corr(self, a: str, b: str, window: int) -> tuple[float, int]:
        ha, hb = self.history.get(a), self.history.get(b)
        if ha is None or hb is None:
            return math.nan, 0
        ta, tb = ha.times(), hb.times()
        common = np.intersect1d(ta, tb, assume_unique=True)[-(window + 1) :]
        if common.size < 3:
            return math.nan, max(0, common.size - 1)
        ca = ha.closes()[np.searchsorted(ta, common)]
        cb = hb.closes()[np.searchsorted(tb, common)]
        ra, rb = np.diff(np.log(ca)), np.diff(np.log(cb))
        if np.std(ra) == 0 or np.std(rb) == 0:
            return math.nan, int(ra.size)
        return float(np.corrcoef(ra, rb)[0, 1]), int(ra.size)

    # --- positions and entries -------------------------------------------------------------

    def on_position(
        self,
        symbol: str,
        signed_qty: float,
        avg_entry: float,
        ts: int,
        *,
        strategy: str = "",
        stop: float | None = None,
    ) -> PositionInfo | None:
        """The position in ``symbol`` after a fill (``signed_qty == 0``: flat). A pending entry
        of the symbol is settled; its planned stop distance becomes the position's stop when
        ``stop`` is not given. Returns the position (``None`` when flat)."""
        if not math.isfinite(signed_qty):
            raise RiskError(f"{symbol}: position qty must be finite, got {signed_qty}")
        pending = self.pending.pop(symbol, None)
        if signed_qty == 0:
            self.positions.pop(symbol, None)
            return None
        if not (math.isfinite(avg_entry) and avg_entry > 0):
            raise RiskError(f"{symbol}: entry price must be finite and > 0, got {avg_entry}")
        current = self.positions.get(symbol)
        if stop is None and current is not None and (current.qty > 0) == (signed_qty > 0):
            stop = current.stop
        if stop is None and pending is not None and pending.stop_distance is not None:
            sign = 1.0 if signed_qty > 0 else -1.0
            stop = avg_entry - sign * pending.stop_distance
        info = PositionInfo(symbol, signed_qty, avg_entry, ts, strategy, stop)
        self.positions[symbol] = info
        return info

    def note_entry(
        self, symbol: str, side: Side, qty: float, ts: int, stop_distance: float | None
    ) -> None:
        """An entry was approved: it counts toward open positions and today's entries."""
        self.pending[symbol] = PendingEntry(symbol, side, qty, ts, stop_distance)
        self._roll_day(ts)
        self._entries_today += 1

    def on_order_done(self, symbol: str) -> None:
        """The entry order of ``symbol`` ended without (more) fills: forget it as pending."""
        self.pending.pop(symbol, None)

    def open_symbols(self) -> set[str]:
        """Symbols with an open position or a pending entry."""
        return set(self.positions) | set(self.pending)

    def entries_today(self, ts: int) -> int:
        """Entries approved in the trading day of ``ts``."""
        self._roll_day(ts)
        return self._entries_today

    def _roll_day(self, ts: int) -> None:
        day = trading_day(ts, self.config.limits.daily_reset_ns)
        if day != self._day:
            self._day = day
            self._entries_today = 0

    def exposure(self, symbol: str) -> float:
        """Value of the position (and pending entry) in ``symbol`` at the last price, quote."""
        price = self.last_price.get(symbol)
        qty = 0.0
        pos = self.positions.get(symbol)
        if pos is not None:
            qty += abs(pos.qty)
            price = price if price is not None else pos.entry
        pending = self.pending.get(symbol)
        if pending is not None:
            qty += pending.qty
        if qty == 0.0 or price is None:
            return 0.0
        return qty * price

    def gross_exposure(self) -> float:
        """Σ exposure over every open or pending symbol."""
        return sum(self.exposure(s) for s in self.open_symbols())

    # --- trades and equity -----------------------------------------------------------------

    def on_trade_closed(self, strategy: str, symbol: str, pnl: float, ts: int) -> TradeRecord:
        """Record a closed trade (net PnL in quote) for Kelly sizing."""
        if not math.isfinite(pnl):
            raise RiskError(f"{strategy} {symbol}: trade pnl must be finite, got {pnl}")
        record = TradeRecord(strategy, symbol, pnl, ts)
        book = self._trades.get(strategy)
        if book is None:
            book = deque(maxlen=self.config.sizing.kelly_window)
            self._trades[strategy] = book
        book.append(record)
        return record

    def trades(self, strategy: str) -> tuple[TradeRecord, ...]:
        """The strategy's most recent closed trades, oldest first."""
        return tuple(self._trades.get(strategy, ()))

    def on_equity(self, equity: float, ts: int | None = None) -> None:
        """An equity point (for the equity-curve moving average); a point at the same ``ts``
        as the last one replaces it (several symbols closing a bar at once)."""
        if not math.isfinite(equity):
            raise RiskError(f"equity must be finite, got {equity}")
        if ts is not None and ts == self._equity_ts and self._equity:
            self._equity[-1] = equity
            return
        self._equity_ts = ts
        self._equity.append(equity)

    def equity_points(self) -> tuple[float, ...]:
        """The last ``equity_ma_points`` equity points."""
        return tuple(self._equity)
