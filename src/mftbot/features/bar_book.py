"""Book and order-flow columns per candle: what order-book strategies read from
``window.extra``.

:class:`BarBookBuilder` watches the book and trade events of some symbols (in ``ts_recv``
order) and gives, for a bar ``[t0, t0 + tf)``, one row of :data:`BOOK_COLUMNS`. The row is
causal: it reflects only events with ``ts_recv <= t0 + tf``, and of those only the ones the
builder had seen when the row was asked for (a bar may close, on the exchange clock, before
the receive clock reaches its end). Each symbol is sampled by its own
:class:`~mftbot.features.sampling.BookSampler` on the grid of the timeframe; a row is taken
at the first event past the bar end, or when the bar is asked for, whichever comes first;
interval columns (flows, OFI) cover the events since the previous row.

Columns (float64; NaN where undefined):

* ``book_valid``: 1.0 when the book was synchronised with both sides present, else 0.0;
* ``mid``, ``microprice``, ``spread_bps``;
* ``imbalance_5``, ``imbalance_10``: bid share of the depth of the best 5 / 10 levels per
  side, ``bid / (bid + ask)`` in ``[0, 1]`` (0.5 balanced; above 0.75: bids dominate);
* ``depth_bid_10``, ``depth_ask_10``: summed size (base units) of the best 10 levels;
* ``ofi``: order-flow imbalance summed over the bar's book updates (size units);
* ``buy_volume``, ``sell_volume``: taker volume in the bar (base); ``cvd``: their running
  difference since the builder started (use its changes, never its level);
* ``whale_buy_volume``, ``whale_sell_volume``: volume of whale trades in the bar
  (:class:`~mftbot.analysis.orderflow.WhaleRule`);
* ``bid_wall_price`` / ``bid_wall_size``, ``ask_wall_price`` / ``ask_wall_size``: the
  largest wall (:class:`~mftbot.analysis.orderflow.WallRule`) among the sampled levels of
  each side, NaN when none;
* ``manipulation_active``: 1.0 while a manipulation pattern
  (:class:`~mftbot.analysis.manipulation.monitor.ManipulationMonitor`) is active for the
  symbol at the row's time, else 0.0 (always 0.0 on the synthetic market's venue, whose
  books the detectors do not follow).
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, field

import numpy as np

from mftbot.analysis.book_metrics import (
    depth_imbalance,
    microprice,
    side_depth,
    spread_bps,
)
from mftbot.analysis.manipulation.monitor import ManipulationMonitor, MonitorConfig
from mftbot.analysis.orderflow import WallRule, WhaleRule, wall_mask
from mftbot.core.errors import DataError
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.book_sync import BookSynchronizer, make_synchronizer
from mftbot.domain.enums import Venue
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, TradeTick
from mftbot.features.sampling import BookSampler, SamplerConfig, SampleRow

BOOK_VALID = "book_valid"
MID = "mid"
IMBALANCE_5 = "imbalance_5"
IMBALANCE_10 = "imbalance_10"
SPREAD_BPS = "spread_bps"
DEPTH_BID_10 = "depth_bid_10"
DEPTH_ASK_10 = "depth_ask_10"
MICROPRICE = "microprice"
OFI = "ofi"
BUY_VOLUME = "buy_volume"
SELL_VOLUME = "sell_volume"
CVD = "cvd"
WHALE_BUY_VOLUME = "whale_buy_volume"
WHALE_SELL_VOLUME = "whale_sell_volume"
BID_WALL_PRICE = "bid_wall_price"
BID_WALL_SIZE = "bid_wall_size"
ASK_WALL_PRICE = "ask_wall_price"
ASK_WALL_SIZE = "ask_wall_size"
MANIPULATION_ACTIVE = "manipulation_active"

BOOK_COLUMNS: tuple[str, ...] = (
    BOOK_VALID,
    MID,
    IMBALANCE_5,
    IMBALANCE_10,
    SPREAD_BPS,
    DEPTH_BID_10,
    DEPTH_ASK_10,
    MICROPRICE,
    OFI,
    BUY_VOLUME,
    SELL_VOLUME,
    CVD,
    WHALE_BUY_VOLUME,
    WHALE_SELL_VOLUME,
    BID_WALL_PRICE,
    BID_WALL_SIZE,
    ASK_WALL_PRICE,
    ASK_WALL_SIZE,
    MANIPULATION_ACTIVE,
)
"""Every column a row holds, in order."""


@dataclass(frozen=True, slots=True)
class BarBookConfig:
    """How rows are built: sampled depth, whale and wall rules, manipulation detectors
    (``None``: off, ``manipulation_active`` stays 0)."""

    depth: int = 20
    whale: WhaleRule = field(default_factory=WhaleRule)
    walls: WallRule = field(default_factory=WallRule)
    manipulation: MonitorConfig | None = field(default_factory=MonitorConfig)

    def __post_init__(self) -> None:
        if self.depth < 10:
            raise DataError(
                f"BarBookConfig.depth must be >= 10 (the 10-level columns), got {self.depth}"
            )


def empty_row() -> dict[str, float]:
    """A row with no book seen: NaN everywhere, no flow, book not valid, no manipulation."""
    row = dict.fromkeys(BOOK_COLUMNS, math.nan)
    for name in (BOOK_VALID, BUY_VOLUME, SELL_VOLUME, WHALE_BUY_VOLUME, WHALE_SELL_VOLUME):
        row[name] = 0.0
    row[MANIPULATION_ACTIVE] = 0.0
    return row


def _largest_wall(levels: np.ndarray, mid: float, rule: WallRule) -> tuple[float, float]:
    mask = wall_mask(levels, mid, rule)
    if not mask.any():
        return math.nan, math.nan
    walls = levels[mask]
    best = int(np.argmax(walls[:, 1]))
    return float(walls[best, 0]), float(walls[best, 1])


def row_from_sample(
    sample: SampleRow, cvd_before: float, walls: WallRule, manipulation: bool
) -> dict[str, float]:
    """The columns of one sample (``cvd_before``: the running CVD before its interval)."""
    row = empty_row()
    buy, sell = sample.buy_volume, sample.sell_volume
    row[BUY_VOLUME], row[SELL_VOLUME] = buy, sell
    row[CVD] = cvd_before + buy - sell
    row[WHALE_BUY_VOLUME] = sample.whale_buy_volume
    row[WHALE_SELL_VOLUME] = sample.whale_sell_volume
    row[MANIPULATION_ACTIVE] = 1.0 if manipulation else 0.0
    if not sample.valid:
        return row
    bids, asks = sample.bids, sample.asks
    mid = (float(bids[0, 0]) + float(asks[0, 0])) / 2.0
    row[BOOK_VALID] = 1.0
    row[MID] = mid
    row[MICROPRICE] = float(microprice(bids, asks))
    row[SPREAD_BPS] = float(spread_bps(bids, asks))
    row[IMBALANCE_5] = (float(depth_imbalance(bids, asks, 5)) + 1.0) / 2.0
    row[IMBALANCE_10] = (float(depth_imbalance(bids, asks, 10)) + 1.0) / 2.0
    row[DEPTH_BID_10] = float(side_depth(bids, 10))
    row[DEPTH_ASK_10] = float(side_depth(asks, 10))
    row[OFI] = sample.ofi
    row[BID_WALL_PRICE], row[BID_WALL_SIZE] = _largest_wall(bids, mid, walls)
    row[ASK_WALL_PRICE], row[ASK_WALL_SIZE] = _largest_wall(asks, mid, walls)
    return row


class _Sampler(BookSampler):
    """A one-instrument sampler that can also close grid times on request."""

    def take_through(self, t: int) -> list[SampleRow]:
        """Emit every grid time up to and including ``t`` not emitted yet (nothing when no
        event was seen)."""
        if self._next is None:
            return []
        rows: list[SampleRow] = []
        cadence = self.config.cadence_ns
        while self._next <= t:
            rows.extend(self._emit(self._next))
            self._next += cadence
        return rows


def _synchronizer(venue: str, symbol: str) -> BookSynchronizer:
    """The venue's synchronizer; the synthetic market's books follow Binance spot
    sequencing."""
    protocol = Venue.BINANCE.value if venue == Venue.SIMULATED.value else None
    try:
        return make_synchronizer(venue, symbol, protocol=protocol)
    except ValueError as exc:
        raise DataError(f"book columns: {exc}") from exc


def _has_own_synchronizer(venue: str, symbol: str) -> bool:
    try:
        make_synchronizer(venue, symbol)
    except ValueError:
        return False
    return True


class _SymbolRows:
    """Rows of one symbol, kept until asked for."""

    def __init__(self, sampler: _Sampler) -> None:
        self.sampler = sampler
        self.venue: str | None = None
        self.monitored = False
        self.cvd = 0.0
        self.rows: dict[int, dict[str, float]] = {}


class BarBookBuilder:
    """Book columns per bar of one timeframe for ``symbols`` (all symbols seen when ``None``).

    Feed every market event with :meth:`on_event` (``ts_recv`` order); ask for the row of the
    bar opening at ``open_ns`` with :meth:`row` once that bar has closed. A symbol is sampled
    on its first venue; events of other venues for it are ignored.
    """

    def __init__(
        self,
        timeframe: str,
        symbols: Iterable[str] | None = None,
        config: BarBookConfig | None = None,
    ) -> None:
        self.config = config or BarBookConfig()
        tf = parse_timeframe(timeframe)
        if tf.is_calendar:
            raise DataError(f"book columns need a fixed-length timeframe, got {timeframe!r}")
        self.timeframe = tf.text
        self.cadence_ns = tf.step_ns
        self._only = None if symbols is None else frozenset(symbols)
        self._symbols: dict[str, _SymbolRows] = {}
        cfg = self.config.manipulation
        self._monitor = ManipulationMonitor(cfg) if cfg is not None else None
        self._sampler_config = SamplerConfig(
            cadence_ns=self.cadence_ns, depth=self.config.depth, whale=self.config.whale
        )

    def watches(self, symbol: str) -> bool:
        """Whether rows of ``symbol`` are built."""
        return self._only is None or symbol in self._only

    def add_symbol(self, symbol: str) -> None:
        """Also build rows of ``symbol`` (a builder made for given symbols)."""
        if self._only is not None:
            self._only = self._only | {symbol}

    def _state(self, symbol: str) -> _SymbolRows:
        state = self._symbols.get(symbol)
        if state is None:
            sampler = _Sampler(self._sampler_config, make_sync=_synchronizer)
            state = self._symbols[symbol] = _SymbolRows(sampler)
        return state

    def on_event(self, event: MarketEvent) -> None:
        """Consume one market event (candles and quotes are ignored)."""
        kind = type(event)
        if kind is not BookDelta and kind is not BookSnapshot and kind is not TradeTick:
            return
        symbol = event.symbol
        if not self.watches(symbol):
            return
        state = self._state(symbol)
        if state.venue is None:
            state.venue = event.venue
            state.monitored = self._monitor is not None and _has_own_synchronizer(
                event.venue, symbol
            )
        elif event.venue != state.venue:
            return
        self._store(symbol, state, state.sampler.on_event(event))
        if state.monitored and self._monitor is not None:
            self._monitor.on_event(event)

    def _store(self, symbol: str, state: _SymbolRows, samples: list[SampleRow]) -> None:
        walls = self.config.walls
        monitor = self._monitor
        for sample in samples:
            active = monitor is not None and monitor.is_active(symbol, sample.time_ns)
            row = row_from_sample(sample, state.cvd, walls, active)
            state.cvd = row[CVD]
            state.rows[sample.time_ns] = row

    def row(self, symbol: str, open_ns: int) -> dict[str, float]:
        """The row of the bar opening at ``open_ns`` (:func:`empty_row` when no event of the
        symbol came before its end). Rows of earlier bars are dropped."""
        state = self._symbols.get(symbol)
        if state is None:
            return empty_row()
        end = open_ns + self.cadence_ns
        self._store(symbol, state, state.sampler.take_through(end))
        rows = state.rows
        found = rows.pop(end, None)
        for t in [t for t in rows if t < end]:
            del rows[t]
        if found is None:
            found = empty_row()
            found[CVD] = state.cvd
        return found
