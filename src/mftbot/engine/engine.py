"""The event loop every mode runs (DESIGN.md §3): backtest, paper and live differ only in the
feed, the clock and the venue handed to :class:`Engine`.

On each event, in order:

1. an equity point is recorded for the previous candle close once time moves past it;
2. the clock advances to the event's receive time (a :class:`SimulatedClock` does; a wall clock
   has nothing to advance);
3. the venue sees the event and reports what it caused (fills of working orders), which go to
   the order manager (order state machine + ledger) and the portfolio;
4. market state is updated; on a :class:`CandleClosed` the symbol is marked at the close and
   every strategy bound to that (symbol, timeframe) gives its flags for the bar;
5. a flag that applies (entry while flat, exit while long, no order of that strategy in flight)
   becomes an :class:`OrderIntent` (sizer), passes the risk engine, and is recorded in the
   ledger and sent by the order manager; the venue's immediate reports are applied at once.

A :class:`~mftbot.risk.base.StatefulRiskEngine` (the rule-based one) is kept informed as
``docs/risk.md`` ("Wiring") says: ``on_position`` after every fill that changes a position and
``on_trade_closed`` when one closes it; ``on_order_done`` when an order ends; at each candle,
after its fills and the mark, ``poll`` (flatten intents), ``on_equity`` and ``on_bar`` (the
position monitor's exits) before the strategies act; ``on_market_data`` and ``poll`` on book,
trade and quote events, ``poll`` after venue reports and on :meth:`Engine.on_timer` (paper and
live call it at most every 750 ms); ``check`` gets the strategy's :class:`SignalInfo`. The
risk engine's own intents go out like the strategies' (an exit or flatten for a symbol whose
exit is already in flight is dropped; one that meets an entry in flight is asked for again
when that entry ends). Its records land in :attr:`EngineResult.risk` and, with ``audit=``, in
the audit log as they are made. Any other risk engine (the pass-through default) only sees
``check``: the run is exactly what it was without risk wiring.

A strategy that needs the book (:func:`~mftbot.engine.signals.needs_book`: kind
``"orderbook"``, or a ``needs_book`` attribute) gets the book columns of
:mod:`mftbot.features.bar_book` with its candles: the engine feeds every book and trade event
to a :class:`~mftbot.features.bar_book.BarBookBuilder` per timeframe and stores the row of
each bar with the candle when it closes (a precomputed history must carry the columns itself).

Positions are netted per symbol, so one strategy trades a symbol. Short signals need
perpetuals and are refused with an error until the engine supports them.
"""

from __future__ import annotations

import gc
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from mftbot.core.clock import Clock
from mftbot.core.errors import MftbotError
from mftbot.core.ids import IntentKind
from mftbot.core.logging import get_logger
from mftbot.domain.enums import Side
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    MarketEvent,
    QuoteTick,
    TradeTick,
)
from mftbot.domain.fills import Fill
from mftbot.domain.orders import Order
from mftbot.domain.positions import PositionSide, PositionStatus
from mftbot.engine.feed import DataFeed, Event
from mftbot.engine.market_state import MarketState
from mftbot.engine.portfolio import FillOutcome, Portfolio
from mftbot.engine.results import EquityCurve, EquityRecorder, FillColumns, FillLog
from mftbot.engine.signals import PrecomputedSignals, RollingSignals, SignalSource, needs_book
from mftbot.engine.sizing import AllInSizer, Sizer
from mftbot.execution.ledger import Ledger
from mftbot.execution.order_manager import OrderManager
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    Venue,
    VenueReport,
)
from mftbot.features.bar_book import BarBookBuilder, BarBookConfig
from mftbot.risk.base import (
    OrderIntent,
    PassThroughRisk,
    RiskContext,
    RiskDecision,
    RiskEngine,
    SignalInfo,
    StatefulRiskEngine,
)
from mftbot.risk.factory import risk_results
from mftbot.risk.records import RiskRecord
from mftbot.strategies.base import (
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    EXIT_SHORT,
    Strategy,
    StrategyError,
)

_log = get_logger("mftbot.engine")

_SHORT_FLAGS = ENTRY_SHORT | EXIT_SHORT
_GC_GEN0_THRESHOLD = 50_000
"""Gen-0 GC threshold while :meth:`Engine.run` loops (CPython 3.11 default: 700)."""


class EngineError(MftbotError):
    """The engine is misconfigured or fed inconsistent events."""


@dataclass(frozen=True, slots=True)
class StrategyBinding:
    """One strategy trading one symbol on the candles of one timeframe.

    ``label`` names it in client order ids and the ledger (default: the strategy's name).
    """

    strategy: Strategy
    symbol: str
    timeframe: str
    label: str = ""

    @property
    def name(self) -> str:
        """The label, or the strategy's name."""
        return self.label or self.strategy.name


@dataclass(frozen=True, slots=True)
class RejectedIntent:
    """An intent the risk engine refused."""

    intent: OrderIntent
    ts: int
    reason: str


def _no_risk() -> dict[str, Any]:
    return risk_results(PassThroughRisk())


@dataclass(frozen=True)
class EngineResult:
    """What a run produced.

    ``risk`` is :func:`~mftbot.risk.factory.risk_results` of the run's risk engine (every
    rejection and resize with rule names and numbers, the exits and flattens risk asked for,
    the trading-state changes, the counts and the final state; ``enabled`` false without a
    stateful risk engine); ``risk_records`` every record, oldest first. ``fill_logs`` has the
    fills of each symbol in columns (always kept; ``fills``, the objects, only with
    ``retain_fills``).
    """

    fills: tuple[Fill, ...]
    equity: EquityCurve
    orders: tuple[Order, ...]
    rejected: tuple[RejectedIntent, ...]
    portfolio: Portfolio = field(repr=False)
    risk: dict[str, Any] = field(default_factory=_no_risk, repr=False)
    risk_records: tuple[RiskRecord, ...] = field(default=(), repr=False)
    fill_logs: dict[str, FillLog] = field(default_factory=dict, repr=False)

    def fill_log(self, symbol: str) -> FillLog:
        """The fills of ``symbol`` in columns (empty when it never traded)."""
        log = self.fill_logs.get(symbol)
        return log if log is not None else FillColumns().log()

    @property
    def trading_state(self) -> str | None:
        """The risk engine's trading state at the end (``None`` without one)."""
        summary = self.risk.get("summary")
        return None if summary is None else str(summary["trading_state"])


class _Slot:
    """Run-time state of one binding."""

    __slots__ = (
        "binding",
        "last_flags",
        "last_open",
        "name",
        "needs_book",
        "order_id",
        "source",
        "strategy",
        "symbol",
    )

    def __init__(self, binding: StrategyBinding) -> None:
        self.binding = binding
        self.strategy = binding.strategy
        self.name = binding.name
        self.symbol = binding.symbol
        self.source: SignalSource = RollingSignals(binding.strategy)
        self.order_id: str | None = None
        self.needs_book = needs_book(binding.strategy)
        self.last_open = -1
        self.last_flags = 0


class Engine:
    """The event loop shared by backtest, paper and live sessions.

    ``retain_terminal=False`` (long backtests) has the order manager drop ended orders
    (:class:`~mftbot.execution.order_manager.OrderManager`); ``retain_fills=False`` keeps the
    fills only in columns (:attr:`EngineResult.fill_logs`), not as :class:`Fill` objects.
    """

    def __init__(
        self,
        *,
        venue: Venue,
        portfolio: Portfolio,
        strategies: Sequence[StrategyBinding],
        clock: Clock,
        risk: RiskEngine | None = None,
        ledger: Ledger | None = None,
        sizer: Sizer | None = None,
        market: MarketState | None = None,
        bot_id: str = "mftbot",
        audit: Callable[[RiskRecord], None] | None = None,
        book: BarBookConfig | None = None,
        retain_terminal: bool = True,
        retain_fills: bool = True,
    ) -> None:
        self.venue = venue
        self.portfolio = portfolio
        self.clock = clock
        self.risk: RiskEngine = risk if risk is not None else PassThroughRisk()
        self._hooks: StatefulRiskEngine | None = (
            self.risk if isinstance(self.risk, StatefulRiskEngine) else None
        )
        if audit is not None:
            if self._hooks is None:
                raise EngineError(
                    "audit= needs a risk engine that records its decisions "
                    "(build_risk_engine(config, ...)); the pass-through records nothing"
                )
            self._hooks.add_sink(audit)
        self.sizer: Sizer = sizer if sizer is not None else AllInSizer()
        self.market = market if market is not None else MarketState()
        self.orders = OrderManager(venue, ledger, bot_id=bot_id, retain_terminal=retain_terminal)
        self._advance: Callable[[int], None] | None = getattr(clock, "advance_to", None)
        self._slots = [_Slot(b) for b in strategies]
        self._by_series: dict[tuple[str, str], list[_Slot]] = {}
        self._check_bindings(strategies)
        for slot in self._slots:
            key = (slot.symbol, slot.binding.timeframe)
            self._by_series.setdefault(key, []).append(slot)
        self._book_config = book
        self._books: dict[str, BarBookBuilder] = {}
        self._watch_books()
        self._slot_of: dict[str, _Slot] = {}
        self._slot_by_symbol = {slot.symbol: slot for slot in self._slots}
        self._retry_risk: dict[str, IntentKind] = {}
        self._fills: list[Fill] = []
        self._retain_fills = retain_fills
        self._fill_columns: dict[str, FillColumns] = {}
        self._rejected: list[RejectedIntent] = []
        self._equity = EquityRecorder()
        self._pending_ts = -1
        self._started = False
        self._last_route: tuple[str, str, list[_Slot] | None] | None = None
        """(symbol, timeframe, slots) of the last candle (see :meth:`_on_candle`)."""
        market_handler = self._on_market
        report_handler = self._on_report
        self._dispatch: dict[type[Any], Callable[[Any], None]] = {
            CandleClosed: self._on_candle,
            TradeTick: market_handler,
            QuoteTick: market_handler,
            BookSnapshot: market_handler,
            BookDelta: market_handler,
            OrderAccepted: report_handler,
            OrderFilled: report_handler,
            OrderCanceled: report_handler,
            OrderRejected: report_handler,
        }

    def _check_bindings(self, bindings: Sequence[StrategyBinding]) -> None:
        symbols = [b.symbol for b in bindings]
        if len(set(symbols)) != len(symbols):
            raise EngineError("one strategy per symbol: positions are netted per symbol")
        for b in bindings:
            if not isinstance(b.strategy, Strategy):
                raise EngineError(f"{b.strategy!r} does not implement the Strategy protocol")
            if b.strategy.lookback <= b.strategy.warmup:
                raise StrategyError(
                    f"{b.name}: lookback ({b.strategy.lookback}) must exceed warm-up "
                    f"({b.strategy.warmup})"
                )
            self.market.ensure_capacity(b.strategy.lookback)

    def _watch_books(self) -> None:
        """One book-column builder per timeframe of the rolling slots that need the book."""
        books: dict[str, BarBookBuilder] = {}
        for slot in self._slots:
            if slot.needs_book and isinstance(slot.source, RollingSignals):
                tf = slot.binding.timeframe
                builder = books.get(tf)
                if builder is None:
                    builder = books[tf] = BarBookBuilder(tf, (), self._book_config)
                builder.add_symbol(slot.symbol)
        self._books = books

    # --- running ----------------------------------------------------------------------------

    def prepare(self, feed: DataFeed) -> None:
        """Use the feed's known history, where it has one, to precompute each strategy's
        signals once (else each bar recomputes on the rolling window). Call before any event."""
        if self._started:
            raise EngineError("prepare() must come before the first event")
        for slot in self._slots:
            history = feed.history(slot.symbol, slot.binding.timeframe)
            if history is not None:
                slot.source = PrecomputedSignals(slot.strategy, history)
        self._watch_books()  # a precomputed history carries its own book columns

    def run(self, feed: DataFeed) -> EngineResult:
        """Prepare, process every event of ``feed``, and :meth:`finish`."""
        self.prepare(feed)
        on_candle = self._on_candle
        on_event = self.on_event
        # The loop retains many long-lived objects (orders, fills): freeze what exists and
        # collect young objects less often, so the cyclic GC does not rescan them all the time.
        thresholds = gc.get_threshold()
        froze = gc.get_freeze_count() == 0  # leave a caller's own freeze alone
        if froze:
            gc.freeze()
        gc.set_threshold(max(thresholds[0], _GC_GEN0_THRESHOLD), *thresholds[1:])
        try:
            for event in feed:
                if type(event) is CandleClosed:
                    on_candle(event)
                else:
                    on_event(event)
        finally:
            gc.set_threshold(*thresholds)
            if froze:
                gc.unfreeze()
        return self.finish()

    def on_event(self, event: Event) -> None:
        """Process one event (market data or a venue report)."""
        handler = self._dispatch.get(type(event))
        if handler is None:
            raise EngineError(f"the engine does not handle {type(event).__name__} events")
        handler(event)

    def finish(self) -> EngineResult:
        """Record the last equity point and return the result so far."""
        if self._pending_ts >= 0:
            self._equity.record(self._pending_ts, self.portfolio.equity())
            self._pending_ts = -1
        hooks = self._hooks
        return EngineResult(
            fills=tuple(self._fills),
            equity=self._equity.curve(),
            orders=tuple(self.orders.orders),
            rejected=tuple(self._rejected),
            portfolio=self.portfolio,
            risk=risk_results(self.risk),
            risk_records=hooks.records if hooks is not None else (),
            fill_logs={symbol: cols.log() for symbol, cols in self._fill_columns.items()},
        )

    def on_timer(self, ts: int) -> None:
        """A timer tick at ``ts`` (ns): paper and live call it at most every 750 ms so the
        kill switch is seen within one second without market events; the risk engine is
        polled and the flatten intents it returns are sent."""
        self._flush_before(ts)
        if self._advance is not None:
            self._advance(ts)
        hooks = self._hooks
        if hooks is not None:
            self._poll_risk(hooks)

    def last_signal(self, symbol: str) -> tuple[int, int]:
        """(open time, flags) of the last bar the strategy on ``symbol`` gave flags for
        (``(-1, 0)`` before any)."""
        slot = self._slot_by_symbol.get(symbol)
        if slot is None:
            raise EngineError(f"no strategy trades {symbol}")
        return slot.last_open, slot.last_flags

    @property
    def fills(self) -> list[Fill]:
        """Fills so far (a copy; empty with ``retain_fills`` off)."""
        return list(self._fills)

    @property
    def rejections(self) -> tuple[RejectedIntent, ...]:
        """Intents the risk engine refused so far."""
        return tuple(self._rejected)

    # --- events -----------------------------------------------------------------------------

    def _on_candle(self, event: CandleClosed) -> None:
        ts = event.ts_event
        pending = self._pending_ts
        portfolio = self.portfolio
        if ts != pending:
            if pending >= 0:
                self._equity.record(pending, portfolio.equity())
            self._pending_ts = ts
        self._started = True
        advance = self._advance
        if advance is not None:
            advance(event.ts_recv)
        reports = self.venue.on_market_event(event)
        if reports:
            self._apply_reports(reports)
        symbol = event.symbol
        extra = None
        if self._books:
            builder = self._books.get(event.timeframe)
            if builder is not None and builder.watches(symbol):
                extra = builder.row(symbol, event.open_time)
        buffer = self.market.on_candle(event, extra)
        portfolio.mark(symbol, event.close)
        hooks = self._hooks
        if hooks is not None:
            self._poll_risk(hooks)
            hooks.on_equity(ts, portfolio.equity())
            for intent in hooks.on_bar(event):
                self._send_risk_intent(intent, event.close)
        timeframe = event.timeframe
        route = self._last_route
        if route is not None and symbol is route[0] and timeframe is route[1]:
            slots = route[2]  # the same series as the last candle (same name objects)
        else:
            slots = self._by_series.get((symbol, timeframe))
            self._last_route = (symbol, timeframe, slots)
        if slots is not None:
            open_time = event.open_time
            for slot in slots:
                flags = slot.source.on_candle(event, buffer)
                slot.last_open = open_time
                slot.last_flags = flags
                if flags and slot.order_id is None:
                    self._act(slot, flags, event)

    def _on_market(self, event: MarketEvent) -> None:
        self._flush_before(event.ts_event)
        self._started = True
        if self._advance is not None:
            self._advance(event.ts_recv)
        reports = self.venue.on_market_event(event)
        if reports:
            self._apply_reports(reports)
        self.market.on_event(event)
        if self._books:
            for builder in self._books.values():
                builder.on_event(event)
        hooks = self._hooks
        if hooks is not None:
            hooks.on_market_data(event.symbol, event.ts_recv, _event_price(event))
            self._poll_risk(hooks)

    def _on_report(self, report: VenueReport) -> None:
        self._flush_before(report.ts_event)
        self._started = True
        if self._advance is not None:
            self._advance(report.ts_recv)
        self._apply_reports([report])
        hooks = self._hooks
        if hooks is not None:
            self._poll_risk(hooks)

    def _flush_before(self, ts: int) -> None:
        if 0 <= self._pending_ts < ts:
            self._equity.record(self._pending_ts, self.portfolio.equity())
            self._pending_ts = -1

    # --- decisions --------------------------------------------------------------------------

    def _act(self, slot: _Slot, flags: int, event: CandleClosed) -> None:
        if flags & _SHORT_FLAGS:
            raise EngineError(
                f"{slot.name} {slot.symbol}: short signals are not supported yet (spot, long only)"
            )
        symbol = slot.symbol
        position = self.portfolio.position(symbol)
        intent: OrderIntent | None
        if position is None or position.qty == 0.0:
            if not flags & ENTRY_LONG:
                return
            intent = self.sizer.entry(
                slot.name, symbol, Side.BUY, event.ts_event, event.close, self.portfolio
            )
        elif position.side is PositionSide.LONG and flags & EXIT_LONG:
            intent = OrderIntent(
                strategy=slot.name,
                symbol=symbol,
                side=Side.SELL,
                intent=IntentKind.EXIT,
                signal_ts=event.ts_event,
                qty=position.qty,
            )
        else:
            return
        if intent is not None:
            signal = None
            if self._hooks is not None and intent.intent is IntentKind.ENTRY:
                signal = slot.source.signal_info()
            self._send(slot, intent, event.close, signal)

    # --- the risk engine's own intents ------------------------------------------------------

    def _poll_risk(self, hooks: StatefulRiskEngine) -> None:
        intents = hooks.poll()
        for intent in intents:
            self._send_risk_intent(intent, self.portfolio.mark_price(intent.symbol))

    def _send_risk_intent(self, intent: OrderIntent, last_price: float) -> None:
        """Send an exit or flatten the risk engine asked for, unless the symbol is flat or an
        order of it is in flight (the position is being closed, or still being built)."""
        symbol = intent.symbol
        slot = self._slot_by_symbol.get(symbol)
        if slot is not None:
            in_flight = slot.order_id
            busy = in_flight is not None
            if in_flight is not None and self.orders.intent(in_flight).intent is IntentKind.ENTRY:
                # the entry still builds the position: ask again once it has ended
                self._retry_risk[symbol] = intent.intent
        else:
            busy = bool(self.orders.open_orders(symbol))
        position = self.portfolio.position(symbol)
        if busy or position is None or position.qty == 0.0:
            _log.info(
                "risk_intent_skipped",
                symbol=symbol,
                intent=intent.intent.value,
                reason="order in flight" if busy else "flat",
            )
            return
        self._send(slot, intent, last_price, None)

    # --- sending ----------------------------------------------------------------------------

    def _send(
        self,
        slot: _Slot | None,
        intent: OrderIntent,
        last_price: float,
        signal: SignalInfo | None = None,
    ) -> None:
        ts = self.clock.now_ns()
        portfolio = self.portfolio
        position = portfolio.position(intent.symbol)
        quote = portfolio.instrument(intent.symbol).quote
        context = RiskContext(
            ts=ts,
            equity=portfolio.equity(),
            available=portfolio.available(quote),
            position_qty=position.signed_qty if position is not None else 0.0,
            last_price=last_price,
        )
        hooks = self._hooks
        decision: RiskDecision
        if hooks is not None:
            decision = hooks.check(intent, context, signal)
        else:
            decision = self.risk.check(intent, context)
        if not decision.approved or decision.intent is None:
            self._rejected.append(RejectedIntent(intent, ts, decision.reason))
            if hooks is None:  # a stateful risk engine logs and records its own decisions
                _log.info(
                    "intent_rejected",
                    strategy=intent.strategy,
                    symbol=intent.symbol,
                    intent=intent.intent.value,
                    reason=decision.reason,
                )
            return
        intent = decision.intent
        if intent.intent is IntentKind.ENTRY:
            portfolio.expect_position(intent.symbol, PositionSide.LONG, ts)
        elif position is not None and position.status is PositionStatus.OPEN:
            position.mark_closing(ts, "exit sent")
        order, reports = self.orders.submit(intent, ts)
        if slot is not None:
            slot.order_id = order.client_order_id
            self._slot_of[order.client_order_id] = slot
        if reports:
            self._apply_reports(reports)

    # --- reports ----------------------------------------------------------------------------

    def _apply_reports(self, reports: Sequence[VenueReport]) -> None:
        orders = self.orders
        hooks = self._hooks
        for report in reports:
            fill = orders.apply(report)
            if fill is not None:
                outcome = self.portfolio.apply_fill(fill)
                if self._retain_fills:
                    self._fills.append(fill)
                columns = self._fill_columns.get(fill.symbol)
                if columns is None:
                    columns = self._fill_columns[fill.symbol] = FillColumns()
                columns.append(fill)
                if hooks is not None and outcome.applied:
                    self._risk_fill(hooks, fill, outcome)
            order = orders.order(report.client_order_id)
            if order.is_terminal:
                self._order_done(order, report.ts_event)

    def _risk_fill(self, hooks: StatefulRiskEngine, fill: Fill, outcome: FillOutcome) -> None:
        """Tell the risk engine the position after ``fill`` and the trade it closed."""
        strategy = self.orders.intent(fill.client_order_id).strategy
        position = outcome.position
        if position is None or position.qty == 0.0:
            hooks.on_position(fill.symbol, 0.0, 0.0, fill.ts, strategy=strategy)
        else:
            hooks.on_position(
                fill.symbol,
                position.signed_qty,
                position.avg_entry_price,
                fill.ts,
                strategy=strategy,
            )
        closed = outcome.closed
        if closed is not None:
            hooks.on_trade_closed(strategy, fill.symbol, closed.net_pnl, fill.ts)

    def _order_done(self, order: Order, ts: int) -> None:
        slot = self._slot_of.pop(order.client_order_id, None)
        if slot is not None:
            slot.order_id = None
        kind = self.orders.intent(order.client_order_id).intent
        hooks = self._hooks
        if hooks is not None:
            hooks.on_order_done(order.symbol, kind)
            dropped = self._retry_risk.pop(order.symbol, None)
            if dropped is not None:  # the risk intent never sent counts as ended unfilled
                hooks.on_order_done(order.symbol, dropped)
        position = self.portfolio.position(order.symbol)
        if position is None:
            return
        reason = f"{kind.value} order {order.status.value}"
        if kind is IntentKind.ENTRY and position.status is PositionStatus.OPENING:
            self.portfolio.abandon_position(order.symbol, ts, reason)
        elif kind is not IntentKind.ENTRY and position.status is PositionStatus.CLOSING:
            position.cancel_closing(ts, reason)


def _event_price(event: MarketEvent) -> float | None:
    """The last price a trade or quote (mid) gives; ``None`` for book events."""
    if type(event) is TradeTick:
        return event.price
    if type(event) is QuoteTick and event.bid_price > 0 and event.ask_price > 0:
        return (event.bid_price + event.ask_price) / 2.0
    return None
