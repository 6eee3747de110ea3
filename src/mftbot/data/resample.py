"""Resampling: trades → candles, candles → higher timeframes, batch and incremental.

Candle frames have a UTC ``DatetimeIndex`` named ``time`` (ns, the candle open time) and
float64 ``open, high, low, close, volume`` columns. Buckets follow
:mod:`mftbot.data.timeframes`.

Volumes are summed strictly in input order (``np.bincount`` accumulates left to right), the
same additions the incremental :class:`CandleAggregator` and :class:`CandleResampler` make, so
batch and live candles are bit-for-bit equal on the same input.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mftbot.core.errors import DataError
from mftbot.core.logging import get_logger
from mftbot.data.timeframes import Timeframe, is_multiple, parse_timeframe
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, TradeTick

OHLCV = ("open", "high", "low", "close", "volume")
"""The columns every candle frame has, in order."""
ADDITIVE_EXTRAS = ("buy_volume", "quote_volume")
"""Optional float columns that add up when candles are merged (``trades`` counts too)."""
Partial = Literal["drop", "keep"]
TimeframeLike = str | Timeframe

_log = get_logger("mftbot.data.resample")
_FloatArray = NDArray[np.float64]
_IntArray = NDArray[np.int64]


# --------------------------------------------------------------------------- helpers


def _time_index(starts_ns: _IntArray) -> pd.DatetimeIndex:
    return pd.DatetimeIndex(starts_ns.astype("datetime64[ns]"), tz="UTC", name="time")


def _empty_candles(extra: Sequence[str] = ()) -> pd.DataFrame:
    empty = np.empty(0, dtype=np.float64)
    data: dict[str, NDArray[np.generic]] = dict.fromkeys(OHLCV, empty)
    dtypes = {"trades": np.int64, "candles": np.int64, "complete": np.bool_}
    for name in extra:
        data[name] = np.empty(0, dtype=dtypes.get(name, np.float64))
    return pd.DataFrame(data, index=_time_index(np.empty(0, dtype=np.int64)))


@dataclass(frozen=True, slots=True)
class _Groups:
    """Runs of equal keys in a non-decreasing key array."""

    keys: _IntArray
    first: _IntArray
    last: _IntArray
    ids: _IntArray

    @classmethod
    def of(cls, keys: _IntArray) -> _Groups:
        change = np.flatnonzero(keys[1:] != keys[:-1]) + 1
        first = np.concatenate(([0], change)).astype(np.int64)
        last = np.concatenate((change - 1, [len(keys) - 1])).astype(np.int64)
        ids = np.repeat(np.arange(len(first), dtype=np.int64), last - first + 1)
        return cls(keys[first], first, last, ids)

    @property
    def sizes(self) -> _IntArray:
        sizes: _IntArray = self.last - self.first + 1
        return sizes

    def sum(self, values: _FloatArray) -> _FloatArray:
        """Per-group sums, added in input order."""
        sums = np.bincount(self.ids, weights=values, minlength=len(self.first))
        return np.asarray(sums, dtype=np.float64)


def _float_column(values: ArrayLike, name: str, n: int) -> _FloatArray:
    arr = np.asarray(values, dtype=np.float64)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"{name}: expected a 1-D array of length {n}, got shape {arr.shape}")
    return arr


def _first_bad(bad: NDArray[np.bool_], times: _IntArray, what: str, values: _FloatArray) -> None:
    if bad.any():
        i = int(np.flatnonzero(bad)[0])
        when = pd.Timestamp(int(times[i]), unit="ns", tz="UTC")
        raise DataError(f"{int(bad.sum())} rows with {what}; first at {when}: {values[i]!r}")


def _parse_sides(side: ArrayLike, n: int) -> NDArray[np.bool_]:
    arr = np.asarray(side)
    if arr.ndim != 1 or len(arr) != n:
        raise DataError(f"side: expected a 1-D array of length {n}, got shape {arr.shape}")
    if arr.dtype == np.bool_:
        return arr
    text = arr.astype(str)
    is_buy: NDArray[np.bool_] = np.asarray(text == Side.BUY.value, dtype=np.bool_)
    bad = ~(is_buy | (text == Side.SELL.value))
    if bad.any():
        first = text[np.flatnonzero(bad)[0]]
        raise DataError(f"side: {int(bad.sum())} values are neither 'buy' nor 'sell' ({first!r})")
    return is_buy


# --------------------------------------------------------------------------- trades → candles


def trades_to_candles(
    time_ns: ArrayLike,
    price: ArrayLike,
    amount: ArrayLike,
    timeframe: TimeframeLike,
    *,
    side: ArrayLike | None = None,
    fill_gaps: bool = False,
) -> pd.DataFrame:
    """OHLCV candles from trades.

    ``time_ns`` are trade times (int ns since the epoch, or ``datetime64``); trades are taken
    in time order, input order among equal times (stable sort). Columns: ``open`` (first
    trade), ``high``, ``low``, ``close`` (last trade), ``volume`` (sum of amounts), ``trades``
    (count) and, when ``side`` (taker side: ``'buy'``/``'sell'`` or bool is-buy) is given,
    ``buy_volume`` (taker buy amount). Buckets without trades are absent unless
    ``fill_gaps``, which inserts flat candles at the previous close with zero volume.
    Raises :class:`DataError` on NaN, non-positive prices or amounts, or mismatched lengths.
    """
    tf = parse_timeframe(timeframe)
    times = np.asarray(time_ns)
    if np.issubdtype(times.dtype, np.datetime64):
        times = times.astype("datetime64[ns]").astype(np.int64)
    elif not np.issubdtype(times.dtype, np.integer):
        raise DataError(f"time_ns: expected int ns or datetime64, got dtype {times.dtype}")
    times = times.astype(np.int64)
    if times.ndim != 1:
        raise DataError(f"time_ns: expected a 1-D array, got shape {times.shape}")
    n = len(times)
    prices = _float_column(price, "price", n)
    amounts = _float_column(amount, "amount", n)
    is_buy = _parse_sides(side, n) if side is not None else None
    extra = ["trades", "buy_volume"] if is_buy is not None else ["trades"]
    if n == 0:
        return _empty_candles(extra)
    _first_bad(~(np.isfinite(prices) & (prices > 0)), times, "a NaN or non-positive price", prices)
    _first_bad(
        ~(np.isfinite(amounts) & (amounts > 0)), times, "a NaN or non-positive amount", amounts
    )

    if np.any(times[1:] < times[:-1]):
        order = np.argsort(times, kind="stable")
        times, prices, amounts = times[order], prices[order], amounts[order]
        is_buy = is_buy[order] if is_buy is not None else None

    groups = _Groups.of(tf.floor_array(times))
    columns: dict[str, NDArray[np.generic]] = {
        "open": prices[groups.first],
        "high": np.maximum.reduceat(prices, groups.first),
        "low": np.minimum.reduceat(prices, groups.first),
        "close": prices[groups.last],
        "volume": groups.sum(amounts),
        "trades": groups.sizes,
    }
    if is_buy is not None:
        columns["buy_volume"] = groups.sum(np.where(is_buy, amounts, 0.0))
    starts = groups.keys
    if fill_gaps:
        starts, columns = _fill_gaps(tf, starts, columns)
    return pd.DataFrame(columns, index=_time_index(starts))


def _fill_gaps(
    tf: Timeframe, starts: _IntArray, columns: dict[str, NDArray[np.generic]]
) -> tuple[_IntArray, dict[str, NDArray[np.generic]]]:
    """Insert flat zero-volume candles at the previous close for empty buckets."""
    full = tf.bucket_starts(int(starts[0]), int(starts[-1]))
    if len(full) == len(starts):
        return starts, columns
    pos = np.searchsorted(full, starts)
    present = np.zeros(len(full), dtype=np.bool_)
    present[pos] = True
    source_row = np.maximum.accumulate(np.where(present, np.cumsum(present) - 1, 0))
    prev_close = np.asarray(columns["close"])[source_row]
    filled: dict[str, NDArray[np.generic]] = {}
    for name, values in columns.items():
        if name in ("open", "high", "low", "close"):
            out = prev_close.copy()
        else:
            out = np.zeros(len(full), dtype=values.dtype)
        out[pos] = values
        filled[name] = out
    return full, filled


def trades_frame_to_candles(
    trades: pd.DataFrame, timeframe: TimeframeLike, *, fill_gaps: bool = False
) -> pd.DataFrame:
    """:func:`trades_to_candles` for a frame with a UTC ``DatetimeIndex`` and ``price``,
    ``amount`` and optional ``side`` columns (as ``mftbot.data.trades.read_trades`` gives).

    A ``side`` column that is entirely missing (Kraken states no aggressor) counts as absent:
    no ``buy_volume`` column. A partly missing one raises :class:`DataError`.
    """
    if not isinstance(trades.index, pd.DatetimeIndex) or trades.index.tz is None:
        raise DataError("trades: expected a tz-aware (UTC) DatetimeIndex of trade times")
    missing = {"price", "amount"} - set(trades.columns)
    if missing:
        raise DataError(f"trades: missing columns {sorted(missing)}")
    side = None
    if "side" in trades.columns and not trades["side"].isna().all():
        side = trades["side"].to_numpy()
    return trades_to_candles(
        trades.index.tz_convert("UTC").as_unit("ns").asi8,
        trades["price"].to_numpy(),
        trades["amount"].to_numpy(),
        timeframe,
        side=side,
        fill_gaps=fill_gaps,
    )


# --------------------------------------------------------------------------- candles → candles


def _candle_times_ns(candles: pd.DataFrame) -> _IntArray:
    """Open times of a candle frame as int ns; raises :class:`DataError` unless the index is
    a tz-aware DatetimeIndex, strictly increasing."""
    index = candles.index
    if not isinstance(index, pd.DatetimeIndex):
        raise DataError(f"candles: expected a DatetimeIndex of open times, got {type(index)}")
    if index.tz is None:
        raise DataError("candles: the time index is naive; localize it to UTC first")
    times: _IntArray = index.tz_convert("UTC").as_unit("ns").asi8
    steps = np.diff(times)
    if np.any(steps <= 0):
        i = int(np.flatnonzero(steps <= 0)[0])
        what = "duplicate" if steps[i] == 0 else "out-of-order"
        raise DataError(f"candles: {what} open time at row {i + 1} ({index[i + 1]})")
    return times


def _infer_source_timeframe(times_ns: _IntArray) -> Timeframe:
    """The timeframe whose grid the (sorted) open times lie on, from their smallest step.

    Raises :class:`DataError` when there are fewer than two rows or the times do not lie on
    one grid. Gaps are fine, but pass the timeframe explicitly when you know it.
    """
    if len(times_ns) < 2:
        raise DataError("cannot infer the timeframe of fewer than two candles; pass it")
    step = int(np.diff(times_ns).min())
    candidates = [_fixed_timeframe(step)]
    if step >= 28 * 86_400 * 10**9:
        candidates.insert(0, Timeframe(1, "M"))
    if step == 7 * 86_400 * 10**9:
        candidates.insert(0, Timeframe(1, "w"))
    for tf in candidates:
        if tf is not None and tf.is_aligned(times_ns).all():
            return tf
    raise DataError(
        f"candles: open times are not on a single timeframe grid (smallest step {step} ns); "
        "pass source_timeframe"
    )


def _fixed_timeframe(step_ns: int) -> Timeframe | None:
    for unit, size in (("d", 86_400), ("h", 3600), ("m", 60), ("s", 1)):
        if step_ns % (size * 10**9) == 0:
            return Timeframe(step_ns // (size * 10**9), unit)
    return None


def _validate_ohlcv(candles: pd.DataFrame, times: _IntArray) -> dict[str, _FloatArray]:
    missing = [c for c in OHLCV if c not in candles.columns]
    if missing:
        raise DataError(f"candles: missing columns {missing}")
    cols = {c: candles[c].to_numpy(dtype=np.float64) for c in OHLCV}
    for name in ("open", "high", "low", "close"):
        values = cols[name]
        _first_bad(~(np.isfinite(values) & (values > 0)), times, f"a bad {name}", values)
    volume = cols["volume"]
    if not np.isnan(volume).all():  # all-NaN volume: mark/index price candles
        _first_bad(~(np.isfinite(volume) & (volume >= 0)), times, "a bad volume", volume)
    o, h, low, c = cols["open"], cols["high"], cols["low"], cols["close"]
    _first_bad(h < np.maximum(np.maximum(o, c), low), times, "high below open/close/low", h)
    _first_bad(low > np.minimum(o, c), times, "low above open/close", low)
    return cols


def resample_candles(
    candles: pd.DataFrame,
    timeframe: TimeframeLike,
    *,
    source_timeframe: TimeframeLike | None = None,
    partial: Partial = "drop",
) -> pd.DataFrame:
    """Aggregate candles to a higher timeframe.

    ``open`` first, ``high`` max, ``low`` min, ``close`` last, ``volume`` (and ``trades``,
    ``buy_volume``, ``quote_volume`` where present) summed; other columns are not carried.
    ``source_timeframe`` is inferred from the index when not given. A bucket missing any of
    its source candles (a gap inside, or cut by the start/end of the data) is dropped with
    ``partial="drop"``; ``partial="keep"`` keeps it and adds ``candles`` (source candles
    aggregated) and ``complete`` (all present) columns. An input ``complete`` column (from an
    earlier ``partial="keep"``) carries over: a bucket holding an incomplete candle is
    incomplete. An all-NaN volume (mark or index price candles) gives NaN volumes.
    Raises :class:`DataError` on a bad index, bad prices, a misaligned open time or a
    timeframe that is not a multiple of the source.
    """
    if partial not in ("drop", "keep"):
        raise DataError(f"partial must be 'drop' or 'keep', got {partial!r}")
    target = parse_timeframe(timeframe)
    times = _candle_times_ns(candles)
    extras = [c for c in (*ADDITIVE_EXTRAS, "trades") if c in candles.columns]
    flags = ["candles", "complete"] if partial == "keep" else []
    if len(times) == 0:
        return _empty_candles([*extras, *flags])
    source = (
        parse_timeframe(source_timeframe)
        if source_timeframe is not None
        else _infer_source_timeframe(times)
    )
    if not is_multiple(target, source):
        raise DataError(f"{target} is not a whole multiple of the source timeframe {source}")
    misaligned = ~source.is_aligned(times)
    if misaligned.any():
        first = pd.Timestamp(int(times[np.flatnonzero(misaligned)[0]]), unit="ns", tz="UTC")
        raise DataError(
            f"candles: {int(misaligned.sum())} open times are not on the {source} grid "
            f"(first {first}); is the source timeframe right?"
        )
    cols = _validate_ohlcv(candles, times)

    groups = _Groups.of(target.floor_array(times))
    out: dict[str, NDArray[np.generic]] = {
        "open": cols["open"][groups.first],
        "high": np.maximum.reduceat(cols["high"], groups.first),
        "low": np.minimum.reduceat(cols["low"], groups.first),
        "close": cols["close"][groups.last],
        "volume": groups.sum(cols["volume"]),
    }
    for name in extras:
        if name == "trades":
            out[name] = np.add.reduceat(candles[name].to_numpy(dtype=np.int64), groups.first)
        else:
            out[name] = groups.sum(candles[name].to_numpy(dtype=np.float64))
    counts = groups.sizes
    expected = source.count_starts(groups.keys, target.next_start_array(groups.keys))
    complete = counts == expected
    if "complete" in candles.columns:
        parts_complete = candles["complete"].to_numpy(dtype=np.bool_)
        complete &= np.logical_and.reduceat(parts_complete, groups.first)
    frame = pd.DataFrame(out, index=_time_index(groups.keys))
    if partial == "drop":
        kept: pd.DataFrame = frame.loc[complete]
        return kept
    frame["candles"] = counts
    frame["complete"] = complete
    return frame


# --------------------------------------------------------------------------- events ↔ frames


def candles_to_frame(events: Iterable[CandleClosed]) -> pd.DataFrame:
    """A candle frame from ``CandleClosed`` events of one symbol and timeframe, in order.

    Raises :class:`DataError` on mixed symbols or timeframes, or open times not increasing.
    """
    rows = list(events)
    if not rows:
        return _empty_candles()
    streams = {(e.venue, e.symbol, e.timeframe) for e in rows}
    if len(streams) > 1:
        raise DataError(f"candles of several streams in one frame: {sorted(streams)[:3]}")
    starts = np.array([e.open_time for e in rows], dtype=np.int64)
    if np.any(np.diff(starts) <= 0):
        raise DataError("candle open times are not strictly increasing")
    data = {name: np.array([getattr(e, name) for e in rows], dtype=np.float64) for name in OHLCV}
    return pd.DataFrame(data, index=_time_index(starts))


# --------------------------------------------------------------------------- incremental


@dataclass(slots=True)
class _Forming:
    """A candle being built."""

    start: int
    end: int
    open: float
    high: float
    low: float
    close: float
    volume: float
    count: int = 1
    last_part: int = 0

    def add(self, high: float, low: float, close: float, volume: float) -> None:
        if high > self.high:
            self.high = high
        if low < self.low:
            self.low = low
        self.close = close
        self.volume += volume
        self.count += 1


@dataclass(slots=True)
class _Stream:
    """Per (venue, symbol) state: the forming candle and where emitted candles end."""

    forming: _Forming | None = None
    closed_until: int | None = None
    last_close: float = 0.0


Key = tuple[str, str]


class CandleAggregator:
    """Builds candles of one timeframe from ``TradeTick`` events, per (venue, symbol).

    A candle is emitted when a trade of a later bucket arrives or when :meth:`flush` is
    called at or after its end. With ``fill_gaps`` empty buckets come out as flat candles
    at the previous close (zero volume), from trades and from :meth:`flush` alike. Trades
    for a bucket already emitted, and trades with a bad price or size, are rejected:
    logged, counted in :attr:`rejected`, never applied.
    """

    def __init__(self, timeframe: TimeframeLike, *, fill_gaps: bool = False) -> None:
        self.timeframe = parse_timeframe(timeframe)
        self.fill_gaps = fill_gaps
        self.rejected = 0
        self._streams: dict[Key, _Stream] = {}

    def on_trade(self, trade: TradeTick) -> list[CandleClosed]:
        """Apply one trade; return the candles it closed (oldest first)."""
        if not (math.isfinite(trade.price) and trade.price > 0):
            return self._reject(trade, "bad price")
        if not (math.isfinite(trade.size) and trade.size > 0):
            return self._reject(trade, "bad size")
        key = (trade.venue, trade.symbol)
        stream = self._streams.setdefault(key, _Stream())
        start = self.timeframe.floor(trade.ts_event)
        forming = stream.forming
        if forming is not None and start == forming.start:
            forming.add(trade.price, trade.price, trade.price, trade.size)
            return []
        if (forming is not None and start < forming.start) or (
            stream.closed_until is not None and start < stream.closed_until
        ):
            return self._reject(trade, "late trade for a closed candle")
        emitted: list[CandleClosed] = []
        if forming is not None:
            emitted.append(self._close(key, stream, trade.ts_recv))
        if self.fill_gaps:
            emitted.extend(self._flat_until(key, stream, start, trade.ts_recv))
        end = self.timeframe.next_start(start)
        p = trade.price
        stream.forming = _Forming(start, end, p, p, p, p, trade.size)
        return emitted

    def flush(self, now_ns: int) -> list[CandleClosed]:
        """Close every candle whose bucket ended at or before ``now_ns``."""
        emitted: list[CandleClosed] = []
        for key, stream in self._streams.items():
            if stream.forming is not None and stream.forming.end <= now_ns:
                emitted.append(self._close(key, stream, now_ns))
            if self.fill_gaps and stream.closed_until is not None:
                emitted.extend(self._flat_until(key, stream, self.timeframe.floor(now_ns), now_ns))
        return emitted

    def _close(self, key: Key, stream: _Stream, ts_recv: int) -> CandleClosed:
        forming = stream.forming
        assert forming is not None
        stream.forming = None
        stream.closed_until = forming.end
        stream.last_close = forming.close
        return _event(key, self.timeframe, forming, ts_recv)

    def _flat_until(self, key: Key, stream: _Stream, stop: int, ts_recv: int) -> list[CandleClosed]:
        """Flat candles for the empty buckets from ``closed_until`` up to ``stop``."""
        out: list[CandleClosed] = []
        if stream.forming is not None or stream.closed_until is None:
            return out
        start, price = stream.closed_until, stream.last_close
        while start < stop:
            end = self.timeframe.next_start(start)
            flat = _Forming(start, end, price, price, price, price, 0.0, count=0)
            out.append(_event(key, self.timeframe, flat, ts_recv))
            start = end
        stream.closed_until = start
        return out

    def _reject(self, trade: TradeTick, reason: str) -> list[CandleClosed]:
        self.rejected += 1
        _log.warning(
            "trade_rejected",
            reason=reason,
            venue=trade.venue,
            symbol=trade.symbol,
            ts_event=trade.ts_event,
            trade_id=trade.trade_id,
        )
        return []


class CandleResampler:
    """Builds ``target`` candles from ``CandleClosed`` events of ``source``, per symbol.

    A higher candle is emitted as soon as the source candle that ends its bucket arrives;
    a bucket whose last source candle never comes is finished by the first candle of a
    later bucket or by :meth:`flush`. Incomplete buckets (any source candle missing) are
    dropped and counted in :attr:`dropped` with ``partial="drop"``, emitted with
    ``partial="keep"`` (as :func:`resample_candles` does). Out-of-order, duplicate or
    misaligned source candles are rejected and counted in :attr:`rejected`.
    """

    def __init__(
        self, source: TimeframeLike, target: TimeframeLike, *, partial: Partial = "drop"
    ) -> None:
        self.source = parse_timeframe(source)
        self.target = parse_timeframe(target)
        if not is_multiple(self.target, self.source):
            raise DataError(f"{self.target} is not a whole multiple of {self.source}")
        if partial not in ("drop", "keep"):
            raise DataError(f"partial must be 'drop' or 'keep', got {partial!r}")
        self.partial = partial
        self.dropped = 0
        self.rejected = 0
        self._forming: dict[Key, _Forming] = {}

    def on_candle(self, candle: CandleClosed) -> list[CandleClosed]:
        """Apply one source candle; return the higher candles it finished."""
        if parse_timeframe(candle.timeframe) != self.source:
            raise DataError(
                f"CandleResampler({self.source}->{self.target}) got a {candle.timeframe} candle"
            )
        key = (candle.venue, candle.symbol)
        if self.source.floor(candle.open_time) != candle.open_time:
            return self._reject(candle, "open time not on the source grid")
        start = self.target.floor(candle.open_time)
        forming = self._forming.get(key)
        emitted: list[CandleClosed] = []
        if forming is not None and start == forming.start:
            if candle.open_time <= forming.last_part:
                return self._reject(candle, "duplicate or out-of-order candle")
            forming.add(candle.high, candle.low, candle.close, candle.volume)
            forming.last_part = candle.open_time
        elif forming is not None and start < forming.start:
            return self._reject(candle, "candle for a finished bucket")
        else:
            if forming is not None:
                emitted.extend(self._finish(key, candle.ts_recv))
            forming = _Forming(
                start,
                self.target.next_start(start),
                candle.open,
                candle.high,
                candle.low,
                candle.close,
                candle.volume,
                last_part=candle.open_time,
            )
            self._forming[key] = forming
        if self.source.next_start(candle.open_time) == forming.end:
            emitted.extend(self._finish(key, candle.ts_recv))
        return emitted

    def flush(self, now_ns: int) -> list[CandleClosed]:
        """Finish every bucket that ended at or before ``now_ns`` (incomplete by then)."""
        emitted: list[CandleClosed] = []
        for key in [k for k, f in self._forming.items() if f.end <= now_ns]:
            emitted.extend(self._finish(key, now_ns))
        return emitted

    def _finish(self, key: Key, ts_recv: int) -> list[CandleClosed]:
        forming = self._forming.pop(key)
        expected = int(
            self.source.count_starts(
                np.array([forming.start], dtype=np.int64), np.array([forming.end], dtype=np.int64)
            )[0]
        )
        if forming.count != expected and self.partial == "drop":
            self.dropped += 1
            return []
        return [_event(key, self.target, forming, ts_recv)]

    def _reject(self, candle: CandleClosed, reason: str) -> list[CandleClosed]:
        self.rejected += 1
        _log.warning(
            "candle_rejected",
            reason=reason,
            venue=candle.venue,
            symbol=candle.symbol,
            timeframe=candle.timeframe,
            open_time=candle.open_time,
        )
        return []


def _event(key: Key, tf: Timeframe, candle: _Forming, ts_recv: int) -> CandleClosed:
    return CandleClosed(
        venue=key[0],
        symbol=key[1],
        timeframe=tf.text,
        open_time=candle.start,
        ts_event=candle.end,
        ts_recv=ts_recv,
        open=candle.open,
        high=candle.high,
        low=candle.low,
        close=candle.close,
        volume=candle.volume,
    )
