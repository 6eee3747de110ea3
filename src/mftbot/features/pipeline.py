"""The 110-feature vector: order book (50) + candle (25) + indicator (35), batch and live.

**Names.** :data:`FEATURE_NAMES` lists the 110 names in vector order; :data:`CHANNELS` maps
each channel to its names and :data:`CHANNEL_SLICES` to its columns, so
``values[..., CHANNEL_SLICES["candle"]]`` is the per-channel view of a flat vector or matrix
(a view, not a copy); :func:`channel_view` and :class:`FeatureMatrix` wrap that.

**Alignment.** Book features are those of each sample (:mod:`mftbot.features.sampling`,
fixed cadence, local receive clock). Candle and indicator features at sample time ``t`` are
those of the last candle whose close time is at or before ``t`` — never the forming candle.
Candles and samples must be on one clock: build the candles from trades by their receive
time (:func:`mftbot.data.resample.trades_to_candles` over ``ts_recv``, as
:class:`~mftbot.features.collector.FeatureCollector` does), or pass ``close_ns`` saying when
each candle became known on the samples' clock.

**Two forms, one result.**

* Batch, :func:`batch_features`: the book channel vectorised over a :class:`SampledBook`,
  the candle channels over the whole candle history, rows picked by ``searchsorted``.
* Incremental, :class:`IncrementalFeatures`: :meth:`~IncrementalFeatures.on_candle` when a
  candle closes computes the 60 candle/indicator features of that candle alone
  (:func:`~mftbot.features.candle.latest_candle_features`,
  :func:`~mftbot.features.indicator.latest_indicator_features`: compiled, straight from
  the window's column buffers, the candle validated once on the way in) and caches them;
  :meth:`~IncrementalFeatures.update` computes the book features of one sample and
  returns the 110-vector. The window holds the last ``window`` candles, extended back to
  the start of the current UTC day (session VWAP). Every candle feature depends on a
  bounded stretch of history, apart from the EMA / Wilder recursions whose memory decays
  geometrically; once older candles have been dropped each recursion runs over its own
  :data:`~mftbot.features.indicator.MEMORY` (slowest: RSI 28, factor 27/28 per bar, 800
  candles), and the two forms agree to 1e-9 relative (tests check it on real data).
  Memory is bounded by the window (or one day of candles).

**NaN policy.** Nothing is zero-filled anywhere in the pipeline. A feature is NaN when it is
not defined yet or at all: in its warm-up (``CANDLE_WARMUP``/``INDICATOR_WARMUP`` bars), for
every candle feature before the first candle has closed, for the book features of a sample
whose book is not synchronised (see :mod:`mftbot.features.orderbook`), and where a ratio's
denominator is 0. Models take NaN as missing (gradient boosting) or drop such rows
(:meth:`FeatureMatrix.complete`). Malformed input raises instead.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any, TypeAlias

import numpy as np
import numpy.typing as npt

from mftbot.analysis.registry import CandleArrays
from mftbot.domain.events import CandleClosed
from mftbot.features.candle import (
    CANDLE_FEATURE_NAMES,
    FeatureError,
    candle_features,
    latest_candle_features,
    validate_candle,
    validate_candles,
)
from mftbot.features.indicator import (
    INDICATOR_FEATURE_NAMES,
    MEMORY,
    indicator_features,
    latest_indicator_features,
)
from mftbot.features.orderbook import (
    ORDERBOOK_FEATURE_NAMES,
    OrderBookFeatureConfig,
    OrderBookFeatureState,
    orderbook_features_batch,
)
from mftbot.features.sampling import SampledBook, SampleRow

FloatArray: TypeAlias = npt.NDArray[np.float64]
IntArray: TypeAlias = npt.NDArray[np.int64]

NS_PER_DAY = 86_400 * 1_000_000_000
DEFAULT_WINDOW = 1024
"""Candles the incremental form keeps at least (see the module docstring)."""
MIN_WINDOW = 800
"""The smallest window accepted: as long as the longest recursion memory
(:data:`~mftbot.features.indicator.MEMORY`; RSI 28 forgets its seed to 1e-12 in ~760 bars)
and more than the longest finite look-back (NVI's 255-bar average)."""

if max(MEMORY.values()) > MIN_WINDOW:
    raise FeatureError("MIN_WINDOW is shorter than the memory of a recursive indicator")

CHANNELS: Mapping[str, tuple[str, ...]] = MappingProxyType(
    {
        "orderbook": tuple(ORDERBOOK_FEATURE_NAMES),
        "candle": CANDLE_FEATURE_NAMES,
        "indicator": INDICATOR_FEATURE_NAMES,
    }
)
"""Channel -> its feature names, in vector order."""
FEATURE_NAMES: tuple[str, ...] = tuple(name for names in CHANNELS.values() for name in names)
"""The 110 feature names in vector order."""
N_FEATURES = len(FEATURE_NAMES)


def _slices() -> dict[str, slice]:
    out: dict[str, slice] = {}
    start = 0
    for channel, names in CHANNELS.items():
        out[channel] = slice(start, start + len(names))
        start += len(names)
    return out


CHANNEL_SLICES: Mapping[str, slice] = MappingProxyType(_slices())
"""Channel -> its columns in the flat vector."""
CANDLE_SLICE = slice(CHANNEL_SLICES["candle"].start, CHANNEL_SLICES["indicator"].stop)
"""Columns of the candle and indicator channels together (contiguous)."""
N_CANDLE = CANDLE_SLICE.stop - CANDLE_SLICE.start
_INDEX: Mapping[str, int] = MappingProxyType({name: i for i, name in enumerate(FEATURE_NAMES)})

if len(_INDEX) != N_FEATURES:
    raise FeatureError("feature names are not unique across channels")


def feature_index(name: str) -> int:
    """Column of ``name`` in the flat vector."""
    try:
        return _INDEX[name]
    except KeyError:
        raise FeatureError(f"unknown feature {name!r}") from None


def channel_view(values: npt.NDArray[Any], channel: str) -> npt.NDArray[Any]:
    """The columns of ``channel`` in a flat vector ``(110,)`` or matrix ``(n, 110)`` (a
    view)."""
    if values.shape[-1:] != (N_FEATURES,):
        raise FeatureError(f"expected {N_FEATURES} features on the last axis, got {values.shape}")
    try:
        return values[..., CHANNEL_SLICES[channel]]
    except KeyError:
        raise FeatureError(f"unknown channel {channel!r}; known: {list(CHANNELS)}") from None


@dataclass(frozen=True, slots=True)
class FeatureMatrix:
    """Feature vectors of successive samples: ``values`` ``(n, 110)``, ``time_ns`` ``(n,)``."""

    time_ns: IntArray
    values: FloatArray

    def __post_init__(self) -> None:
        n = self.time_ns.shape[0]
        if self.values.shape != (n, N_FEATURES):
            raise FeatureError(f"values {self.values.shape} do not match {n} x {N_FEATURES}")

    def __len__(self) -> int:
        return int(self.time_ns.shape[0])

    def channel(self, channel: str) -> FloatArray:
        """The ``(n, k)`` columns of one channel (a view)."""
        return channel_view(self.values, channel)

    def channels(self) -> dict[str, FloatArray]:
        """Every channel's view."""
        return {name: self.channel(name) for name in CHANNELS}

    def column(self, name: str) -> FloatArray:
        """One feature over every sample (a view)."""
        return self.values[:, feature_index(name)]

    def complete(self) -> npt.NDArray[np.bool_]:
        """Rows with no NaN feature."""
        return np.asarray(~np.isnan(self.values).any(axis=1))

    def to_frame(self) -> Any:
        """A pandas DataFrame, one column per feature, indexed by ``time_ns``."""
        import pandas as pd

        return pd.DataFrame(
            self.values, columns=list(FEATURE_NAMES), index=pd.Index(self.time_ns, name="time_ns")
        )


# --------------------------------------------------------------------------- batch


def candle_channels(candles: CandleArrays, *, validate: bool = True) -> FloatArray:
    """Candle and indicator features of every candle, ``(n, 60)`` (row ``t`` from candles
    ``0..t``). Malformed candles raise :class:`FeatureError` unless ``validate`` is False
    (for callers that validated them already)."""
    if validate:
        validate_candles(candles)
    out = np.empty((len(candles), N_CANDLE))
    out[:, : len(CANDLE_FEATURE_NAMES)] = candle_features(candles, validate=False)
    out[:, len(CANDLE_FEATURE_NAMES) :] = indicator_features(candles, validate=False)
    return out


def close_times(candles: CandleArrays, timeframe_ns: int) -> IntArray:
    """Close time of each candle: its open time plus the timeframe."""
    if timeframe_ns <= 0:
        raise FeatureError(f"timeframe must be > 0 ns, got {timeframe_ns}")
    return np.asarray(candles.time_ns + timeframe_ns, dtype=np.int64)


def last_closed(sample_ns: IntArray, close_ns: IntArray) -> IntArray:
    """Index of the last candle closed at or before each sample time, -1 when none."""
    if close_ns.size > 1 and np.any(np.diff(close_ns) < 0):
        raise FeatureError("candle close times go backwards")
    return np.searchsorted(close_ns, sample_ns, side="right").astype(np.int64) - 1


def assemble(book: FloatArray, candle_rows: FloatArray, picks: IntArray) -> FloatArray:
    """``(n, 110)`` from book features ``(n, 50)`` and candle rows ``(m, 60)`` picked per
    sample (``-1``: no candle closed yet, all NaN)."""
    n = book.shape[0]
    out = np.empty((n, N_FEATURES))
    out[:, CHANNEL_SLICES["orderbook"]] = book
    have = picks >= 0
    out[:, CANDLE_SLICE] = np.nan
    if candle_rows.shape[0]:
        out[have, CANDLE_SLICE] = candle_rows[picks[have]]
    return out


def batch_features(
    sampled: SampledBook,
    candles: CandleArrays,
    *,
    timeframe_ns: int = 60_000_000_000,
    close_ns: npt.ArrayLike | None = None,
    book_config: OrderBookFeatureConfig | None = None,
) -> FeatureMatrix:
    """The 110 features of every sample of ``sampled``.

    ``candles`` are closed candles in time order; ``close_ns`` (default: open time +
    ``timeframe_ns``) says when each became known on the samples' clock.
    """
    closes = (
        close_times(candles, timeframe_ns)
        if close_ns is None
        else np.asarray(close_ns, dtype=np.int64)
    )
    if closes.shape != (len(candles),):
        raise FeatureError(f"close_ns has {closes.shape} values, candles {len(candles)}")
    book = np.asarray(orderbook_features_batch(sampled, book_config), dtype=np.float64)
    rows = candle_channels(candles) if len(candles) else np.empty((0, N_CANDLE))
    picks = last_closed(np.asarray(sampled.time_ns, dtype=np.int64), closes)
    return FeatureMatrix(np.array(sampled.time_ns, dtype=np.int64), assemble(book, rows, picks))


# --------------------------------------------------------------------------- incremental


class CandleWindow:
    """The candle and indicator channels, live: one closed candle at a time.

    Keeps the last ``window`` candles, and every candle of the newest candle's UTC day
    (session VWAP), in growable column buffers; :meth:`append` validates the new candle,
    computes its 60 features from the buffers and caches them in :attr:`latest`.
    """

    _COLUMNS = ("open", "high", "low", "close", "volume")

    def __init__(self, window: int = DEFAULT_WINDOW) -> None:
        if window < MIN_WINDOW:
            raise FeatureError(f"window must be >= {MIN_WINDOW} candles, got {window}")
        self.window = window
        cap = 2 * window
        self._cols = {name: np.empty(cap) for name in self._COLUMNS}
        self._time = np.empty(cap, dtype=np.int64)
        self._start = 0
        self._stop = 0
        self._latest = np.full(N_CANDLE, np.nan)
        self._candle_out = self._latest[: len(CANDLE_FEATURE_NAMES)]
        self._indicator_out = self._latest[len(CANDLE_FEATURE_NAMES) :]
        self._latest_view = self._latest.view()
        self._latest_view.setflags(write=False)
        self.candles_seen = 0

    def __len__(self) -> int:
        return self._stop - self._start

    @property
    def latest(self) -> FloatArray:
        """The 60 features of the newest candle (read-only), NaN before the first one."""
        return self._latest_view

    @property
    def last_open_ns(self) -> int | None:
        """Open time of the newest candle."""
        return int(self._time[self._stop - 1]) if self._stop > self._start else None

    def arrays(self) -> CandleArrays:
        """The candles held, oldest first (views)."""
        a, b = self._start, self._stop
        return CandleArrays(
            open=self._cols["open"][a:b],
            high=self._cols["high"][a:b],
            low=self._cols["low"][a:b],
            close=self._cols["close"][a:b],
            volume=self._cols["volume"][a:b],
            time_ns=self._time[a:b],
        )

    def append(
        self, open_ns: int, open_: float, high: float, low: float, close: float, volume: float
    ) -> FloatArray:
        """Add one closed candle, compute its features, return :attr:`latest`.

        A malformed candle, or one not after the newest, raises :class:`FeatureError` and is
        not kept.
        """
        last = self.last_open_ns
        if last is not None and open_ns <= last:
            raise FeatureError(f"candle open time {open_ns} is not after the last one ({last})")
        values = (float(open_), float(high), float(low), float(close), float(volume))
        validate_candle(open_ns, *values)
        self._push(open_ns, values)
        # Every held candle was validated on the way in, in time order: the newest row
        # straight from the column buffers, no further checks.
        a, b = self._start, self._stop
        cols = self._cols
        h, lo, c, v = cols["high"][a:b], cols["low"][a:b], cols["close"][a:b], cols["volume"][a:b]
        latest_candle_features(cols["open"][a:b], h, lo, c, v, self._candle_out)
        self.candles_seen += 1
        trimmed = self.candles_seen > b - a  # older candles dropped: recursions use MEMORY
        latest_indicator_features(
            h, lo, c, v, self._time[a:b], self._indicator_out, trimmed=trimmed
        )
        return self._latest_view

    def append_event(self, candle: CandleClosed) -> FloatArray:
        """:meth:`append` for a :class:`CandleClosed` event."""
        return self.append(
            candle.open_time, candle.open, candle.high, candle.low, candle.close, candle.volume
        )

    def _push(self, open_ns: int, values: tuple[float, ...]) -> None:
        if self._stop == self._time.size:
            self._compact()
        i = self._stop
        self._time[i] = open_ns
        for name, value in zip(self._COLUMNS, values, strict=True):
            self._cols[name][i] = value
        self._stop += 1
        self._trim()

    def _trim(self) -> None:
        """Drop candles older than both the window and the newest candle's UTC day."""
        keep_from = self._stop - self.window
        if keep_from <= self._start:
            return
        day_start = int(self._time[self._stop - 1]) // NS_PER_DAY * NS_PER_DAY
        first_today = self._start + int(
            np.searchsorted(self._time[self._start : self._stop], day_start, side="left")
        )
        self._start = max(self._start, min(keep_from, first_today))

    def _compact(self) -> None:
        """Move the held candles to the front; grow the buffers when they are full."""
        held = self._stop - self._start
        cap = self._time.size
        new_cap = cap * 2 if held > cap * 3 // 4 else cap
        time = np.empty(new_cap, dtype=np.int64)
        time[:held] = self._time[self._start : self._stop]
        self._time = time
        for name in self._COLUMNS:
            col = np.empty(new_cap)
            col[:held] = self._cols[name][self._start : self._stop]
            self._cols[name] = col
        self._start, self._stop = 0, held


class IncrementalFeatures:
    """The 110-vector of one instrument, live: book features per sample, candle features
    per closed candle (see the module docstring)."""

    def __init__(
        self,
        *,
        window: int = DEFAULT_WINDOW,
        depth: int = 20,
        cadence_ns: int = 1_000_000_000,
        book_config: OrderBookFeatureConfig | None = None,
    ) -> None:
        self.candles = CandleWindow(window)
        self.book = OrderBookFeatureState(depth=depth, cadence_ns=cadence_ns, config=book_config)

    def on_candle(self, candle: CandleClosed) -> None:
        """A candle closed: compute its candle and indicator channels."""
        self.candles.append_event(candle)

    def update(self, row: SampleRow) -> FloatArray:
        """The 110 features at ``row``'s sample time (a new array each call)."""
        out = np.empty(N_FEATURES)
        out[CHANNEL_SLICES["orderbook"]] = self.book.update(row)
        out[CANDLE_SLICE] = self.candles.latest
        return out
