"""A paper-trading session over a market-data stream: the engine against a simulated venue.

:class:`PaperSession` wires what a paper session needs and runs it:

* the stream (recorded or synthetic :class:`MarketEvent` s, in ``ts_recv`` order) goes through
  a :class:`~mftbot.data.replay_session.ReplaySession` (books, trade tape, pacing, refresh
  cadence for a view) and then to the :class:`Engine`;
* candles of ``timeframe`` are built from the trades (:class:`CandleAggregator`, empty buckets
  filled flat), so the strategies trade any timeframe, seconds included; candles the source
  emits itself are not used. A bucket closes when a trade of a later bucket arrives for its
  symbol, or when any trade is ``PaperConfig.grace_ns`` past its end (so the symbols' candles reach
  the engine in time order); the last, unfinished bucket never closes;
* one strategy instance per symbol, sized by
  :class:`~mftbot.engine.sizing.EqualSplitSizer`, checked by the given risk engine
  (pass-through by default; a stateful one — ``mftbot demo`` builds it with ``mode=paper`` —
  is kept informed by the engine, whose timer ticks every :data:`TIMER_NS`
  of event time, quiet stretches included, so a kill-switch file is seen within one second);
  every signal (a bar whose flags fire) is noted with what came of it, every equity change
  at a bar close too, and both go to an optional :class:`SessionJournal` (the SQL ledger);
* a strategy that needs the book (an order-book strategy) gets the book columns with its
  candles (:mod:`mftbot.features.bar_book`, built by the engine from the same stream); the
  session keeps them, so :attr:`PaperResult.candles` carries them in ``extra``;
* ``history`` (the candles, with book columns, a previous run of the same stream produced)
  makes the engine compute each strategy's signals once over it instead of on the rolling
  window: the same flags, by principle 2;
* the clock is a :class:`SimulatedClock` moved by the events (a replay is paced, but its times
  are the recording's), so a session is deterministic: the same stream gives the same orders.

No terminal code here: a view reads the session's state from ``on_refresh``.
"""

from __future__ import annotations

import math
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import msgspec
import numpy as np

from mftbot.analysis.registry import CandleArrays
from mftbot.core.clock import SimulatedClock
from mftbot.core.errors import ConfigError, DataError
from mftbot.data.replay_session import Pacer, ReplaySession
from mftbot.data.resample import CandleAggregator
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.events import CandleClosed, MarketEvent, TradeTick
from mftbot.domain.fills import Fill
from mftbot.domain.orders import Order
from mftbot.engine.engine import Engine, EngineResult, StrategyBinding
from mftbot.engine.feed import HistoryFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.results import FillLog, RoundTrips, round_trips
from mftbot.engine.sizing import EqualSplitSizer
from mftbot.execution.ledger import Ledger
from mftbot.execution.venue import Venue
from mftbot.features.bar_book import BarBookConfig
from mftbot.risk.base import RiskEngine
from mftbot.strategies import ENTRY_LONG, EXIT_LONG, get_strategy

DEFAULT_GRACE_NS = 1_000_000_000
"""How far past a bucket's end a trade of any symbol closes it (cross-symbol clock skew)."""
TIMER_NS = 750_000_000
"""The engine's timer runs at most this often on the event clock (the risk kill switch)."""
MAX_CATCH_UP = 4_800
"""Timer ticks replayed over a quiet stretch at most (one hour); beyond, the grid restarts."""
ACTIVITY_LEN = 12
"""Recent signals, orders and fills kept for a view."""


class PaperError(ConfigError):
    """A paper session is configured inconsistently."""


class SessionJournal(Protocol):
    """Durable notes of a session beyond the order ledger (e.g. :class:`SqlLedger`)."""

    def record_signal(
        self,
        *,
        strategy: str,
        symbol: str,
        timeframe: str,
        direction: str,
        ts: int,
        decision: str,
        confidence: float = 1.0,
        payload: dict[str, Any] | None = None,
    ) -> None:
        """Store a signal and what was done with it."""
        ...

    def record_equity(
        self, *, ts: int, equity: float, cash: float, unrealised_pnl: float, realised_pnl: float
    ) -> None:
        """Store an equity snapshot."""
        ...


@dataclass(frozen=True, slots=True)
class PaperConfig:
    """What a paper session trades: ``strategy`` with ``params`` on ``timeframe`` candles of
    each symbol (spot, one quote currency), starting with ``cash`` of that currency."""

    symbols: tuple[str, ...]
    timeframe: str = "5s"
    strategy: str = "sma_cross"
    params: Mapping[str, Any] = field(default_factory=dict)
    cash: float = 10_000.0
    bot_id: str = "paper"
    grace_ns: int = DEFAULT_GRACE_NS

    def __post_init__(self) -> None:
        if not self.symbols:
            raise PaperError("a paper session needs at least one symbol")
        if len(set(self.symbols)) != len(self.symbols):
            raise PaperError(f"duplicate symbols in {list(self.symbols)}")
        if len({quote_of(s) for s in self.symbols}) != 1:
            raise PaperError(f"symbols must share one quote currency: {list(self.symbols)}")
        try:
            parse_timeframe(self.timeframe)
        except DataError as exc:
            raise PaperError(f"timeframe: {exc}") from exc
        if not (math.isfinite(self.cash) and self.cash > 0):
            raise PaperError(f"cash must be finite and > 0, got {self.cash}")
        if self.grace_ns < 0:
            raise PaperError(f"grace_ns must be >= 0, got {self.grace_ns}")

    @property
    def quote(self) -> str:
        """The cash currency (the symbols' quote)."""
        return quote_of(self.symbols[0])


def quote_of(symbol: str) -> str:
    """``"BTC/USDT"`` → ``"USDT"``; anything but a spot symbol is a :class:`PaperError`."""
    base, slash, quote = symbol.partition("/")
    if not base or not slash or not quote or "/" in quote or ":" in quote:
        raise PaperError(f"{symbol!r}: paper sessions trade spot symbols (BASE/QUOTE)")
    return quote


@dataclass(frozen=True, slots=True)
class SignalNote:
    """A bar whose strategy flags fired, and what came of it.

    ``decision``: ``order_sent``, ``rejected_by_risk`` or ``no_action`` (an entry while
    already long, an exit while flat, an order of the strategy still working).
    """

    ts: int
    symbol: str
    strategy: str
    timeframe: str
    direction: str
    price: float
    decision: str
    detail: str = ""


@dataclass(frozen=True, slots=True)
class Activity:
    """One line of the recent-activity log: a signal, an order or a fill, at the session
    clock's time (the receive time of the event that caused it; fills: the venue's time)."""

    ts: int
    symbol: str
    kind: str
    text: str


@dataclass(frozen=True)
class PaperResult:
    """What a finished session produced (the engine's result plus the session's notes)."""

    engine: EngineResult
    signals: tuple[SignalNote, ...]
    candles: Mapping[str, CandleArrays]
    trips: Mapping[str, RoundTrips]
    events: int
    wall_seconds: float
    market_seconds: float


class PaperSession:
    """Runs one paper session (see the module doc)."""

    def __init__(
        self,
        config: PaperConfig,
        *,
        venue: Venue,
        ledger: Ledger | None = None,
        journal: SessionJournal | None = None,
        risk: RiskEngine | None = None,
        clock: SimulatedClock | None = None,
        history: Mapping[str, CandleArrays] | None = None,
        book: BarBookConfig | None = None,
    ) -> None:
        self.config = config
        self.clock = clock if clock is not None else SimulatedClock()
        self.venue = venue
        self.journal = journal
        self.portfolio = Portfolio({config.quote: config.cash}, account_currency=config.quote)
        bindings = []
        for symbol in config.symbols:
            strategy = get_strategy(config.strategy, dict(config.params) or None)
            bindings.append(
                StrategyBinding(strategy, symbol, parse_timeframe(config.timeframe).text)
            )
        self.timeframe = bindings[0].timeframe
        self.engine = Engine(
            venue=venue,
            portfolio=self.portfolio,
            strategies=bindings,
            clock=self.clock,
            risk=risk,
            ledger=ledger,
            sizer=EqualSplitSizer(len(config.symbols)),
            bot_id=config.bot_id,
            book=book,
        )
        if history is not None:
            self.engine.prepare(HistoryFeed(history, self.timeframe))
        self.replay = ReplaySession()
        self.signals: list[SignalNote] = []
        self.activity: deque[Activity] = deque(maxlen=ACTIVITY_LEN)
        self.candles: dict[str, list[CandleClosed]] = {s: [] for s in config.symbols}
        self.book_rows: dict[str, list[dict[str, float]]] = {s: [] for s in config.symbols}
        self.source_candles_skipped = 0
        self._aggregator = CandleAggregator(self.timeframe, fill_gaps=True)
        self._fills_seen = 0
        self._orders_seen = 0
        self._pending_equity: tuple[int, float, float, float, float] | None = None
        self._next_timer = 0

    # --- running ----------------------------------------------------------------------------

    def run(
        self,
        events: Iterable[MarketEvent],
        *,
        pacer: Pacer | None = None,
        on_refresh: Callable[[PaperSession], None] | None = None,
        refresh_every_s: float = 0.1,
    ) -> PaperResult:
        """Process ``events`` (paced by ``pacer``), calling ``on_refresh`` about every
        ``refresh_every_s`` of wall time and once at the end; return the result."""

        def refresh(_: ReplaySession) -> None:
            if on_refresh is not None:
                on_refresh(self)

        self.replay.run(
            self._through_engine(events),
            pacer=pacer,
            on_refresh=refresh if on_refresh is not None else None,
            refresh_every_s=refresh_every_s,
        )
        return self.finish()

    def _through_engine(self, events: Iterable[MarketEvent]) -> Iterator[MarketEvent]:
        """Yield each event to the replay (books, tape, pacing), then hand it to the engine."""
        for event in events:
            yield event
            self.on_event(event)

    def on_event(self, event: MarketEvent) -> None:
        """Feed one market event to the timer, the candle builder and the engine."""
        if event.ts_recv >= self._next_timer:
            self._timers_until(event.ts_recv)
        kind = type(event)
        if kind is CandleClosed:
            self.source_candles_skipped += 1
            return
        if kind is TradeTick:
            assert isinstance(event, TradeTick)
            aggregator = self._aggregator
            closed = aggregator.flush(event.ts_event - self.config.grace_ns)
            closed += aggregator.on_trade(event)
            for candle in closed:
                if candle.symbol not in self.candles:
                    continue
                if candle.ts_recv != event.ts_recv:  # flushed: stamp it with the time it closed
                    candle = msgspec.structs.replace(candle, ts_recv=event.ts_recv)
                self._on_candle(candle)
        self.engine.on_event(event)
        self._note_orders()

    def _timers_until(self, now: int) -> None:
        """Timer ticks every :data:`TIMER_NS` of event time up to ``now`` (a quiet stretch
        gets its ticks too, at most :data:`MAX_CATCH_UP` of them; the first event starts the
        grid)."""
        tick = self._next_timer
        if tick == 0 or now - tick > MAX_CATCH_UP * TIMER_NS:
            tick = now
        while tick <= now:
            self.engine.on_timer(tick)
            tick += TIMER_NS
        self._next_timer = tick

    def _on_candle(self, candle: CandleClosed) -> None:
        symbol = candle.symbol
        self.candles[symbol].append(candle)
        orders_before = len(self.engine.orders.orders)
        rejections_before = len(self.engine.rejections)
        self.engine.on_event(candle)
        extra = self.engine.market.candles(symbol, self.timeframe).last_extra()
        if extra:
            self.book_rows[symbol].append(extra)
        opened, flags = self.engine.last_signal(symbol)
        if opened == candle.open_time and flags & (ENTRY_LONG | EXIT_LONG):
            self._note_signal(candle, flags, orders_before, rejections_before)
        self._note_orders()
        self._equity_at(candle.ts_event)

    def finish(self) -> PaperResult:
        """Close the books of the session (last equity snapshot) and return the result."""
        self._note_orders()
        self._flush_equity()
        result = self.engine.finish()
        candles = {s: _arrays(c, self.book_rows[s]) for s, c in self.candles.items()}
        trips = {}
        for symbol, arrays in candles.items():
            fills = [f for f in result.fills if f.symbol == symbol]
            last = float(arrays.close[-1]) if len(arrays) else math.nan
            if fills:
                trips[symbol] = round_trips(FillLog.from_fills(fills), last)
        return PaperResult(
            engine=result,
            signals=tuple(self.signals),
            candles=candles,
            trips=trips,
            events=self.replay.events,
            wall_seconds=self.replay.wall_seconds,
            market_seconds=self.replay.replayed_seconds,
        )

    # --- state for a view -------------------------------------------------------------------

    @property
    def orders(self) -> list[Order]:
        """Every order sent so far."""
        return self.engine.orders.orders

    @property
    def fills(self) -> list[Fill]:
        """Every fill so far."""
        return self.engine.fills

    def equity(self) -> float:
        """Equity now, in the quote currency (positions at their last bar's close)."""
        return self.portfolio.equity()

    def bars(self, symbol: str) -> int:
        """Candles closed so far for ``symbol``."""
        return len(self.candles.get(symbol, ()))

    def last_close(self, symbol: str) -> float | None:
        """Close of the last candle of ``symbol``."""
        bars = self.candles.get(symbol)
        return bars[-1].close if bars else None

    # --- notes ------------------------------------------------------------------------------

    def _note_signal(
        self, candle: CandleClosed, flags: int, orders_before: int, rejections_before: int
    ) -> None:
        direction = "long" if flags & ENTRY_LONG else "flat"
        if len(self.engine.orders.orders) > orders_before:
            decision, detail = "order_sent", ""
        elif len(self.engine.rejections) > rejections_before:
            decision, detail = "rejected_by_risk", self.engine.rejections[-1].reason
        else:
            decision, detail = "no_action", self._why_not(candle.symbol, flags)
        note = SignalNote(
            ts=candle.ts_event,
            symbol=candle.symbol,
            strategy=self.config.strategy,
            timeframe=self.timeframe,
            direction=direction,
            price=candle.close,
            decision=decision,
            detail=detail,
        )
        self.signals.append(note)
        label = "entry" if direction == "long" else "exit"
        text = f"{label} signal at {candle.close:,.6g} → {decision.replace('_', ' ')}"
        self.activity.append(Activity(candle.ts_recv, note.symbol, "signal", text))
        if self.journal is not None:
            self.journal.record_signal(
                strategy=note.strategy,
                symbol=note.symbol,
                timeframe=note.timeframe,
                direction=direction,
                ts=note.ts,
                decision=decision,
                payload={"close": candle.close, "detail": detail} if detail else None,
            )

    def _why_not(self, symbol: str, flags: int) -> str:
        if any(o.is_open for o in self.engine.orders.open_orders(symbol)):
            return "an order is still working"
        position = self.portfolio.position(symbol)
        if position is None or position.qty == 0.0:
            return "exit while flat" if not flags & ENTRY_LONG else "no cash free"
        return "entry while long"

    def _note_orders(self) -> None:
        orders = self.engine.orders.orders
        for order in orders[self._orders_seen :]:
            side = order.side.value
            self.activity.append(
                Activity(order.created_ts, order.symbol, "order", f"{side} market order sent")
            )
        self._orders_seen = len(orders)
        fills = self.engine.fills
        for fill in fills[self._fills_seen :]:
            text = f"{fill.side.value} {fill.qty:.6g} @ {fill.price:,.6g} fee {fill.fee:.4g}"
            self.activity.append(Activity(fill.ts, fill.symbol, "fill", text))
        self._fills_seen = len(fills)

    def _equity_at(self, ts: int) -> None:
        pending = self._pending_equity
        if pending is not None and pending[0] != ts:
            self._flush_equity()
        p = self.portfolio
        self._pending_equity = (ts, p.equity(), p.cash(), p.unrealised_pnl(), p.realised_pnl())

    def _flush_equity(self) -> None:
        pending = self._pending_equity
        self._pending_equity = None
        if pending is None or self.journal is None:
            return
        ts, equity, cash, unrealised, realised = pending
        self.journal.record_equity(
            ts=ts, equity=equity, cash=cash, unrealised_pnl=unrealised, realised_pnl=realised
        )


def _arrays(candles: Sequence[CandleClosed], rows: Sequence[Mapping[str, float]]) -> CandleArrays:
    """The candles as arrays, with their book columns when every bar has a row."""
    extra = {}
    if rows and len(rows) == len(candles):
        extra = {name: np.array([r[name] for r in rows], dtype=np.float64) for name in rows[0]}
    return CandleArrays(
        extra=extra,
        time_ns=np.array([c.open_time for c in candles], dtype=np.int64),
        open=np.array([c.open for c in candles], dtype=np.float64),
        high=np.array([c.high for c in candles], dtype=np.float64),
        low=np.array([c.low for c in candles], dtype=np.float64),
        close=np.array([c.close for c in candles], dtype=np.float64),
        volume=np.array([c.volume for c in candles], dtype=np.float64),
    )
