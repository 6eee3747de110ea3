"""A realistic simulated venue: book walking, queue positions, candle slippage, stops, fees,
latency, market rules and an account.

**Which data matches an order** — per symbol, the best source the venue has seen:

1. **book** (a :class:`BookSnapshot` / :class:`BookDelta` stream, kept in sequence by the
   venue's synchronizer): market orders and marketable limits walk the opposite side
   (:mod:`.book_fill`); resting limits keep a queue position (:mod:`.queue`) moved by the
   public trades, and fill when trades reach them or the opposite side crosses their price;
   conditional orders trigger on the last trade (or on the mid when no trades are seen or
   ``trigger_source="mid"``).
2. **trades** without a book: market orders fill at the last trade price with the slippage
   model; resting limits fill only when a trade goes through their price (the queue ahead is
   unknown); conditional orders trigger on trades.
3. **candles** (:class:`CandleClosed` of one timeframe per symbol, the first seen unless
   ``candle_timeframe`` is set): market orders fill at the next bar's open (or, with
   ``candle_fill="close"``, at once at the last close) with the slippage model
   (:mod:`.slippage`); a limit that is marketable at the first open it sees takes liquidity
   there, otherwise it rests and fills as a maker at its price when a later bar trades
   through it (``limit_rule="through"``: beyond the price; ``"touch"``: at it); conditional
   orders trigger on the bar's range, at the open on a gap (:mod:`.orders`), in the
   conservative order "stops first". Candles of a symbol with a book or trades match nothing;
   :class:`QuoteTick` events are not used (the book carries the same prices).

**Time.** The venue's clock is the ``ts_recv`` of the market events it sees (the engine's
clock). An order sent at ``ts`` arrives at ``ts + latency`` (:mod:`.latency`); its checks,
acknowledgement and matching happen then, against the market as it was just before the first
event at or after the arrival — with zero latency, at once in :meth:`SimulatedVenue.submit`.
Reports are stamped with the time they happen: the arrival, the event that caused a fill, a
bar's open for fills at the open, a bar's close for fills inside it.

**Checks on arrival** (an :class:`OrderRejected` with the numbers): fields that do not fit the
type, market rules (:mod:`.rules`: tick, lot, min/max qty, min notional), the balance or margin
(:class:`.rules.Account`; spot limit orders lock their funds), a stop that would trigger at
once, a post-only order that would take liquidity, a market order with no market data.
Later failures (funds gone when a stop triggers, a reduce-only order with nothing to reduce, a
thin book) cancel the order with the reason.

**Fees** (:mod:`.fees`) are charged in the quote currency on every fill: taker for fills that
took liquidity, maker for resting fills. Fill prices from the slippage model are rounded to
the tick (against the taker) when the symbol has rules.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from pydantic import BaseModel, ConfigDict, Field

from mftbot.domain.book_sync import BookSynchronizer, make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    Level,
    MarketEvent,
    TradeTick,
)
from mftbot.domain.fills import Fill, Liquidity
from mftbot.domain.orderbook import OrderBook
from mftbot.domain.orders import OrderType, TimeInForce
from mftbot.execution.sim.book_fill import (
    QTY_EPS,
    BookWalk,
    ConsumedLiquidity,
    QuoteWalk,
    walk_book,
    walk_book_quote,
)
from mftbot.execution.sim.candle_venue import CandleFill
from mftbot.execution.sim.fees import FeeSchedule, FeeTable
from mftbot.execution.sim.latency import Latency, LatencyConfig
from mftbot.execution.sim.orders import (
    SimOrder,
    TrailingSpec,
    TrailingState,
    WorkingOrders,
    candle_trigger,
    is_conditional,
    price_triggers,
    triggers_on_rise,
)
from mftbot.execution.sim.queue import QueuePosition
from mftbot.execution.sim.rules import Account, MarketRules, SymbolInfo
from mftbot.execution.sim.slippage import CandleSlippage, SlippageParams, SlippagePreset
from mftbot.execution.venue import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderRequest,
    VenueError,
    VenueReport,
)

_NO_RULES = MarketRules()


class CandleLimitRule(StrEnum):
    """When a resting limit fills on a candle."""

    THROUGH = "through"
    TOUCH = "touch"


class TriggerSource(StrEnum):
    """Price that triggers conditional orders where a book is kept."""

    LAST_TRADE = "last_trade"
    MID = "mid"


class DataSource(StrEnum):
    """What matches a symbol's orders (see the module doc)."""

    BOOK = "book"
    TRADES = "trades"
    CANDLES = "candles"


class SimVenueConfig(BaseModel):
    """Settings of :class:`SimulatedVenue`; every default is the cautious choice."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    name: str = Field("sim", min_length=1, description="Venue id on reports and fills.")
    fees: FeeTable = Field(default_factory=FeeTable, description="Maker/taker fee schedules.")
    slippage: SlippagePreset | SlippageParams = Field(
        SlippagePreset.REALISTIC, description="Candle slippage preset or explicit parameters."
    )
    candle_fill: CandleFill = Field(
        CandleFill.NEXT_OPEN, description="Candle market fills: next bar's open or last close."
    )
    candle_timeframe: str | None = Field(
        None, description="Timeframe whose candles match orders (None: the first one seen)."
    )
    limit_rule: CandleLimitRule = Field(
        CandleLimitRule.THROUGH, description="Candle limit fills: price traded through or touched."
    )
    trigger_source: TriggerSource = Field(
        TriggerSource.LAST_TRADE, description="Trigger price where a book is kept."
    )
    queue_cancels: bool = Field(
        True, description="Cancellations at a level move a resting order forward (pro rata)."
    )
    reject_immediate_trigger: bool = Field(
        True, description="Refuse a stop that would trigger at once (else trigger it at once)."
    )
    latency: LatencyConfig = Field(default_factory=LatencyConfig, description="Order latency.")
    rules: dict[str, MarketRules] = Field(
        default_factory=dict, description="Trading filters per symbol (none: no filter)."
    )
    leverage: dict[str, float] = Field(
        default_factory=dict, description="Leverage per linear perpetual (default 1)."
    )

    def slippage_params(self) -> SlippageParams:
        """The slippage parameters (a preset resolved)."""
        s = self.slippage
        return s if isinstance(s, SlippageParams) else SlippageParams.preset(s)


class _PlainBook:
    """Book events applied without sequence checks (a venue with no synchronizer)."""

    is_ready = True

    def __init__(self, venue: str, symbol: str) -> None:
        self.book = OrderBook(venue, symbol)

    def on_event(self, event: BookSnapshot | BookDelta) -> bool:
        self.book.apply_event(event)
        return True


@dataclass(slots=True)
class _Market:
    """What the venue knows about one symbol."""

    info: SymbolInfo
    keeper: BookSynchronizer | _PlainBook | None = None
    consumed: ConsumedLiquidity = field(default_factory=ConsumedLiquidity)
    has_trades: bool = False
    last_trade: float | None = None
    timeframe: str | None = None
    last_close: float | None = None
    last_close_ts: int = -1

    @property
    def source(self) -> DataSource:
        if self.keeper is not None:
            return DataSource.BOOK
        return DataSource.TRADES if self.has_trades else DataSource.CANDLES

    @property
    def book(self) -> OrderBook | None:
        keeper = self.keeper
        return keeper.book if keeper is not None and keeper.is_ready else None


_ARRIVE = 0
_CANCEL = 1


class SimulatedVenue:
    """A simulated exchange implementing the :class:`~mftbot.execution.venue.Venue` protocol
    (see the module doc)."""

    def __init__(self, balances: Mapping[str, float], config: SimVenueConfig | None = None) -> None:
        self.config = config if config is not None else SimVenueConfig()
        cfg = self.config
        self._name = cfg.name
        self.account = Account(balances, cfg.leverage)
        self._slip = CandleSlippage(cfg.slippage_params())
        self._latency = Latency(cfg.latency)
        self._working = WorkingOrders()
        self._markets: dict[str, _Market] = {}
        self._pending: list[tuple[int, int, int, str]] = []
        self._inflight: dict[str, tuple[int, OrderRequest, TrailingSpec | None]] = {}
        self._seq = 0
        self._order_seq = 0
        self._trade_seq = 0
        self._now = 0

    # --- protocol ---------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """Venue id."""
        return self._name

    def submit(
        self, request: OrderRequest, *, trailing: TrailingSpec | None = None
    ) -> list[VenueReport]:
        """Send an order; with zero latency it is checked and matched at once.

        A client order id must be unique among working orders (Binance's rule); an id whose
        order is finished may be used again.

        ``trailing`` makes a ``STOP_MARKET`` request a trailing stop (``OrderRequest`` has no
        trailing fields yet; ``stop_price`` is then the optional initial stop).
        """
        out = self._catch_up(request.ts)
        coid = request.client_order_id
        if coid in self._working or coid in self._inflight:
            reason = "duplicate client order id: an order with this id is working"
            out.append(OrderRejected(self._name, coid, request.ts, request.ts, reason))
            return out
        due = request.ts + self._latency.delay_ns()
        if due <= self._now:
            self._arrive(request, trailing, due, out)
        else:
            self._inflight[coid] = (due, request, trailing)
            self._push(due, _ARRIVE, coid)
        return out

    def cancel(self, client_order_id: str, ts: int) -> list[VenueReport]:
        """Cancel a working order (after the latency); raise :class:`VenueError` for an order
        that is not working and not on its way."""
        out = self._catch_up(ts)
        coid = client_order_id
        if coid not in self._working and coid not in self._inflight:
            raise VenueError(f"{self._name}: no working order {coid!r} to cancel")
        due = ts + self._latency.delay_ns()
        inflight = self._inflight.get(coid)
        if inflight is not None:  # never before the order itself arrives
            due = max(due, inflight[0])
        if due <= self._now and inflight is None:
            self._cancel_request(coid, due, out)
        else:
            self._push(due, _CANCEL, coid)
        return out

    def on_market_event(self, event: MarketEvent) -> list[VenueReport]:
        """Process arrivals due by the event's time, then match working orders against it."""
        out = self._catch_up(event.ts_recv)
        if isinstance(event, TradeTick):
            self._on_trade(event, out)
        elif isinstance(event, BookDelta | BookSnapshot):
            self._on_book(event, out)
        elif isinstance(event, CandleClosed):
            self._on_candle(event, out)
        return out

    # --- queries ----------------------------------------------------------------------------

    @property
    def working(self) -> list[str]:
        """Client ids of working orders."""
        return [o.coid for o in self._working]

    def order(self, client_order_id: str) -> SimOrder | None:
        """A working order's venue-side state (stop level, queue position, …)."""
        return self._working.get(client_order_id)

    def balance(self, currency: str) -> float:
        """Total balance (spot) or wallet balance (perps) of ``currency``."""
        return self.account.total(currency)

    def book(self, symbol: str) -> OrderBook | None:
        """The venue's synchronised book of ``symbol`` (``None`` when it has none)."""
        market = self._markets.get(symbol)
        return market.book if market is not None else None

    def source(self, symbol: str) -> DataSource:
        """Which data matches ``symbol``'s orders now."""
        market = self._markets.get(symbol)
        return market.source if market is not None else DataSource.CANDLES

    # --- scheduling -------------------------------------------------------------------------

    def _push(self, due: int, kind: int, coid: str) -> None:
        self._seq += 1
        heapq.heappush(self._pending, (due, self._seq, kind, coid))

    def _catch_up(self, now: int) -> list[VenueReport]:
        """Run the arrivals and cancels due by ``now`` (in time order); advance the clock."""
        out: list[VenueReport] = []
        pending = self._pending
        while pending and pending[0][0] <= now:
            due, _, kind, coid = heapq.heappop(pending)
            self._now = max(self._now, due)
            if kind == _ARRIVE:
                _, request, trailing = self._inflight.pop(coid)
                self._arrive(request, trailing, due, out)
            else:
                self._cancel_request(coid, due, out)
        if now > self._now:
            self._now = now
        return out

    def _cancel_request(self, coid: str, ts: int, out: list[VenueReport]) -> None:
        order = self._working.get(coid)
        if order is not None:  # else it filled or was canceled before the cancel arrived
            self._cancel(order, ts, "canceled on request", out)

    # --- arrival ----------------------------------------------------------------------------

    def _market(self, info: SymbolInfo) -> _Market:
        market = self._markets.get(info.symbol)
        if market is None:
            market = self._markets[info.symbol] = _Market(info)
        return market

    def _market_of(self, symbol: str) -> _Market:
        market = self._markets.get(symbol)
        if market is None:
            market = self._markets[symbol] = _Market(SymbolInfo.parse(symbol))
        return market

    def _arrive(
        self,
        request: OrderRequest,
        trailing: TrailingSpec | None,
        ts: int,
        out: list[VenueReport],
    ) -> None:
        coid = request.client_order_id
        try:
            info = SymbolInfo.parse(request.symbol)
            self._fees(request.symbol)
        except VenueError as exc:
            out.append(OrderRejected(self._name, coid, ts, ts, str(exc)))
            return
        market = self._market(info)
        problem = _field_problem(request, trailing, info)
        rules = self.config.rules.get(request.symbol, _NO_RULES)
        if not problem:
            problem = self._rules_problem(request, trailing, rules, market)
        walk: BookWalk | None = None
        if not problem and request.type is OrderType.MARKET:
            problem, walk = self._market_problem(request, market)
        elif not problem and request.type is OrderType.LIMIT:
            problem = self._limit_problem(request, market)
        elif not problem:
            problem = self._trigger_problem(request, trailing, market)
        if problem:
            out.append(OrderRejected(self._name, coid, ts, ts, problem))
            return
        self._order_seq += 1
        order = SimOrder(
            request=request,
            info=info,
            venue_order_id=f"{self._name}-{self._order_seq}",
            seq=self._order_seq,
            arrival=ts,
            qty=request.qty,
            stop=request.stop_price,
            active_from=ts,
        )
        if trailing is not None:
            order.trailing = TrailingState(trailing, request.side)
            ref = self._trigger_price(market)
            if ref is not None:
                order.stop = order.trailing.observe(ref, order.stop)
        out.append(OrderAccepted(self._name, coid, ts, ts, order.venue_order_id))
        self._working.add(order)
        if request.type is OrderType.LIMIT and not info.linear:
            self._lock(order)
        if order.works_as_market:
            self._start_market(order, market, walk, ts, out)
        elif order.works_as_limit:
            self._start_limit(order, market, ts, out)
        elif order.stop is not None and self._triggered_now(order, market):
            self._trigger(order, market, self._trigger_price(market) or order.stop, ts, out)

    def _rules_problem(
        self,
        request: OrderRequest,
        trailing: TrailingSpec | None,
        rules: MarketRules,
        market: _Market,
    ) -> str:
        for what, value in (
            ("price", request.price),
            ("stop price", request.stop_price),
            ("activation price", trailing.activation_price if trailing else None),
        ):
            if value is not None:
                problem = rules.price_problem(value, what)
                if problem:
                    return problem
        quote = market.info.quote
        if request.quote_qty is not None:
            return rules.notional_problem(request.quote_qty, quote, "quote_qty")
        qty = request.qty or 0.0
        problem = rules.qty_problem(qty)
        if problem or rules.min_notional == 0.0:
            return problem
        price = request.price or request.stop_price or self._reference_price(market, request)
        if price is None:
            return f"no price for {request.symbol} yet to check the minimum notional"
        detail = f"qty {qty:.12g} × price {price:.12g}"
        return rules.notional_problem(qty * price, quote, detail)

    def _market_problem(
        self, request: OrderRequest, market: _Market
    ) -> tuple[str, BookWalk | None]:
        info = market.info
        source = market.source
        if source is DataSource.BOOK:
            book = market.book
            if book is None:
                return f"the order book of {request.symbol} is not synchronised yet", None
            walk = self._walk(request.side, request.qty, request.quote_qty, market, book, None)
            if not walk.fills:
                side = "asks" if request.side is Side.BUY else "bids"
                return f"no {side} in the order book of {request.symbol}", None
            if request.time_in_force is TimeInForce.FOK and not walk.complete:
                if isinstance(walk, QuoteWalk):
                    got, wanted = walk.spent, request.quote_qty or 0.0
                else:
                    got, wanted = walk.qty, request.qty or 0.0
                return f"fok: the book fills only {got:.12g} of {wanted:.12g}", None
            avg = walk.avg_price or 0.0
            fee = self._fees(request.symbol).fee(walk.notional, Liquidity.TAKER)
            if request.reduce_only and info.linear:
                return "", walk  # capped at fill time
            return self.account.fill_problem(info, request.side, avg, walk.qty, fee), walk
        price = self._reference_price(market, request)
        if request.quote_qty is not None:
            free = self.account.available(info.quote)
            if request.quote_qty > free * (1.0 + 1e-9):
                return (
                    f"insufficient {info.quote}: need {request.quote_qty:.12g} (quote_qty), "
                    f"free {free:.12g}"
                ), None
            return "", None
        qty = request.qty or 0.0
        if price is None:
            if request.side is Side.SELL and not info.linear:
                return self.account.fill_problem(info, Side.SELL, 1.0, qty, 0.0), None
            return f"no price for {request.symbol} yet", None
        if request.reduce_only and info.linear:
            return "", None
        fee = self._fees(request.symbol).fee(price * qty, Liquidity.TAKER)
        return self.account.fill_problem(info, request.side, price, qty, fee), None

    def _limit_problem(self, request: OrderRequest, market: _Market) -> str:
        info = market.info
        price = request.price or 0.0
        qty = request.qty or 0.0
        book = market.book
        if request.time_in_force is TimeInForce.POST_ONLY and book is not None:
            best = book.best_ask if request.side is Side.BUY else book.best_bid
            if best is not None and _crosses(request.side, price, best[0]):
                side = "ask" if request.side is Side.BUY else "bid"
                return (
                    f"post-only {request.side.value} at {price:.12g} would take liquidity: "
                    f"best {side} {best[0]:.12g}"
                )
        if request.reduce_only and info.linear:
            return ""
        fee = price * qty * self._fees(request.symbol).max_rate
        return self.account.fill_problem(info, request.side, price, qty, fee)

    def _trigger_problem(
        self, request: OrderRequest, trailing: TrailingSpec | None, market: _Market
    ) -> str:
        stop = request.stop_price
        ref = self._trigger_price(market)
        if trailing is not None and stop is None and ref is None:
            if trailing.activation_price is None:
                return f"trailing stop needs a stop_price: no price for {request.symbol} yet"
            return ""
        if stop is None or ref is None or not self.config.reject_immediate_trigger:
            return ""
        rises = triggers_on_rise(request.type, request.side)
        if price_triggers(rises, stop, ref):
            sign = "≤" if rises else "≥"
            return (
                f"{request.type.value} {request.side.value} would trigger immediately: "
                f"stop {stop:.12g} {sign} {self._trigger_name(market)} {ref:.12g}"
            )
        return ""

    # --- starting orders --------------------------------------------------------------------

    def _start_market(
        self,
        order: SimOrder,
        market: _Market,
        walk: BookWalk | None,
        ts: int,
        out: list[VenueReport],
    ) -> None:
        source = market.source
        if source is DataSource.BOOK:
            self._take_book(order, market, walk, None, ts, out)
            self._end_taker(order, ts, out)
        elif source is DataSource.TRADES:
            self._take_at(order, market, market.last_trade, None, ts, False, out)
        elif self.config.candle_fill is CandleFill.CLOSE and ts <= market.last_close_ts:
            self._take_at(order, market, market.last_close, None, ts, False, out)
        # else: waits for the next candle (see _on_candle)

    def _start_limit(
        self, order: SimOrder, market: _Market, ts: int, out: list[VenueReport]
    ) -> None:
        source = market.source
        if source is DataSource.BOOK:
            if market.book is not None:
                self._place_in_book(order, market, ts, out)
            return  # placed when the book is ready
        if source is DataSource.TRADES:
            ref = market.last_trade
        elif self.config.candle_fill is CandleFill.CLOSE and ts <= market.last_close_ts:
            ref = market.last_close
        else:
            return  # checked at the next candle's open
        self._place_at(order, market, ref, ts, out)

    def _place_at(
        self, order: SimOrder, market: _Market, ref: float | None, ts: int, out: list[VenueReport]
    ) -> None:
        """A fresh limit against a known price ``ref`` (trades, or the last close)."""
        limit = order.limit or 0.0
        order.fresh = False
        if ref is not None and _crosses(order.side, limit, ref):
            if order.request.time_in_force is TimeInForce.POST_ONLY:
                self._cancel(order, ts, _post_only_reason(order, ref), out)
                return
            self._take_at(order, market, ref, limit, ts, False, out)
        if order.coid in self._working and order.request.time_in_force in (
            TimeInForce.IOC,
            TimeInForce.FOK,
        ):
            self._cancel(order, ts, f"{order.request.time_in_force.value}: not marketable", out)

    def _place_in_book(
        self, order: SimOrder, market: _Market, ts: int, out: list[VenueReport]
    ) -> None:
        """A fresh limit in a ready book: take what crosses, rest the remainder in the queue."""
        book = market.book
        if book is None:
            return
        order.fresh = False
        limit = order.limit or 0.0
        tif = order.request.time_in_force
        best = book.best_ask if order.is_buy else book.best_bid
        if best is not None and _crosses(order.side, limit, best[0]):
            if tif is TimeInForce.POST_ONLY:
                self._cancel(order, ts, _post_only_reason(order, best[0]), out)
                return
            walk = self._walk(order.side, order.remaining, None, market, book, limit)
            if tif is TimeInForce.FOK and not walk.complete:
                reason = (
                    f"fok: only {walk.qty:.12g} of {order.remaining:.12g} available "
                    f"at {limit:.12g} or better"
                )
                self._cancel(order, ts, reason, out)
                return
            self._take_book(order, market, walk, limit, ts, out)
        if order.coid not in self._working:
            return
        if tif in (TimeInForce.IOC, TimeInForce.FOK):
            self._cancel(order, ts, f"{tif.value}: rest canceled", out)
            return
        own = book.bids if order.is_buy else book.asks
        order.queue = QueuePosition.place(
            limit,
            order.is_buy,
            own.get(limit) or 0.0,
            proportional_cancels=self.config.queue_cancels,
        )

    # --- taking liquidity -------------------------------------------------------------------

    def _walk(
        self,
        side: Side,
        qty: float | None,
        quote_qty: float | None,
        market: _Market,
        book: OrderBook,
        limit: float | None,
    ) -> BookWalk:
        is_buy = side is Side.BUY
        levels = market.consumed.levels(book.asks if is_buy else book.bids)
        if qty is None:
            fee_rate = self._fees(market.info.symbol).taker
            return walk_book_quote(levels, quote_qty or 0.0, fee_rate=fee_rate, limit=limit)
        return walk_book(levels, qty, is_buy=is_buy, limit=limit)

    def _take_book(
        self,
        order: SimOrder,
        market: _Market,
        walk: BookWalk | None,
        limit: float | None,
        ts: int,
        out: list[VenueReport],
    ) -> None:
        book = market.book
        if walk is None:
            if book is None:
                reason = f"the order book of {order.symbol} is not synchronised"
                self._cancel(order, ts, reason, out)
                return
            qty = order.remaining if order.qty is not None else None
            walk = self._walk(order.side, qty, order.request.quote_qty, market, book, limit)
        if order.qty is None:
            if not walk.fills:
                self._cancel(order, ts, "no liquidity for the quote amount", out)
                return
            order.qty = walk.qty
        consumed = market.consumed
        for price, qty in walk.fills:
            if not self._fill(order, price, qty, Liquidity.TAKER, ts, out):
                return
            consumed.take(not order.is_buy, ((price, qty),))

    def _end_taker(self, order: SimOrder, ts: int, out: list[VenueReport]) -> None:
        """A market order never rests: cancel what the book could not fill."""
        if order.coid in self._working:
            reason = (
                f"book exhausted: filled {order.filled:.12g} of {order.qty or 0.0:.12g}"
                if order.filled > 0.0
                else "no liquidity in the book"
            )
            self._cancel(order, ts, reason, out)

    def _take_at(
        self,
        order: SimOrder,
        market: _Market,
        ref: float | None,
        limit: float | None,
        ts: int,
        at_open: bool,
        out: list[VenueReport],
    ) -> None:
        """A taker fill of the whole remainder at ``ref`` moved by the slippage model (capped
        at ``limit``) — the candle and trades paths."""
        if ref is None:
            self._cancel(order, ts, f"no price for {order.symbol}", out)
            return
        schedule = self._fees(order.symbol)
        est_qty = (
            order.remaining if order.qty is not None else (order.request.quote_qty or 0.0) / ref
        )
        price, _ = self._slip.price(order.symbol, order.side, ref, est_qty, at_open=at_open)
        rules = self.config.rules.get(order.symbol)
        if rules is not None:
            price = rules.round_price(price, order.side)
        if limit is not None:
            price = min(price, limit) if order.is_buy else max(price, limit)
        if order.qty is None:
            order.qty = (order.request.quote_qty or 0.0) / (price * (1.0 + schedule.taker))
        self._fill(order, price, order.remaining, Liquidity.TAKER, ts, out)

    # --- fills ------------------------------------------------------------------------------

    def _fill(
        self,
        order: SimOrder,
        price: float,
        qty: float,
        liquidity: Liquidity,
        ts: int,
        out: list[VenueReport],
    ) -> bool:
        """Book one execution; cancel the order (and return False) when it cannot be done."""
        info = order.info
        request = order.request
        capped = False
        if request.reduce_only:
            room = self.account.reducible(info, order.side)
            if room <= QTY_EPS * qty:
                self._cancel(order, ts, _nothing_to_reduce(order, self.account), out)
                return False
            if qty > room:
                qty, capped = room, True
        remaining = order.remaining
        if remaining > 0.0:
            self.account.release(order.coid, qty / remaining)
        fee = self._fees(order.symbol).fee(price * qty, liquidity)
        problem = self.account.fill_problem(info, order.side, price, qty, fee)
        if problem:
            self._cancel(order, ts, f"{problem} at fill", out)
            return False
        self.account.apply_fill(info, order.side, price, qty, fee)
        order.filled += qty
        self._trade_seq += 1
        fill = Fill(
            client_order_id=order.coid,
            trade_id=f"{self._name}-t{self._trade_seq}",
            symbol=order.symbol,
            side=order.side,
            price=price,
            qty=qty,
            fee=fee,
            fee_currency=info.quote,
            liquidity=liquidity,
            ts=ts,
        )
        leaves = order.remaining
        done = leaves <= QTY_EPS * (order.qty or qty)
        if done:
            leaves = 0.0
        out.append(OrderFilled(self._name, order.coid, ts, ts, fill, leaves_qty=leaves))
        if done:
            self._working.remove(order.coid)
            self.account.release(order.coid)
        elif capped:
            self._cancel(order, ts, _nothing_to_reduce(order, self.account), out)
            return False
        return True

    def _fill_maker(self, order: SimOrder, qty: float, ts: int, out: list[VenueReport]) -> None:
        take = min(qty, order.remaining)
        if take > 0.0:
            self._fill(order, order.limit or 0.0, take, Liquidity.MAKER, ts, out)

    def _cancel(self, order: SimOrder, ts: int, reason: str, out: list[VenueReport]) -> None:
        self._working.remove(order.coid)
        self.account.release(order.coid)
        out.append(OrderCanceled(self._name, order.coid, ts, ts, reason))

    def _lock(self, order: SimOrder) -> None:
        limit = order.limit or 0.0
        qty = order.remaining
        info = order.info
        if order.is_buy:
            amount = qty * limit * (1.0 + max(self._fees(order.symbol).max_rate, 0.0))
            self.account.lock(order.coid, info.quote, amount)
        else:
            self.account.lock(order.coid, info.base, qty)

    # --- triggers ---------------------------------------------------------------------------

    def _trigger_price(self, market: _Market) -> float | None:
        source = market.source
        if source is DataSource.BOOK:
            book = market.book
            use_mid = self.config.trigger_source is TriggerSource.MID or not market.has_trades
            if use_mid:
                return book.mid() if book is not None else None
            return market.last_trade
        if source is DataSource.TRADES:
            return market.last_trade
        return market.last_close

    def _trigger_name(self, market: _Market) -> str:
        source = market.source
        if source is DataSource.BOOK and (
            self.config.trigger_source is TriggerSource.MID or not market.has_trades
        ):
            return "mid"
        return "last close" if source is DataSource.CANDLES else "last trade"

    def _triggered_now(self, order: SimOrder, market: _Market) -> bool:
        ref = self._trigger_price(market)
        return (
            ref is not None
            and order.stop is not None
            and price_triggers(order.rises, order.stop, ref)
        )

    def _check_triggers(
        self, market: _Market, price: float, ts: int, out: list[VenueReport]
    ) -> None:
        """Trigger waiting conditional orders at ``price``, then ratchet trailing stops."""
        working = self._working
        for order in working.of(market.info.symbol):
            if order.coid not in working or not order.waiting_trigger or order.active_from > ts:
                continue
            if order.stop is not None and price_triggers(order.rises, order.stop, price):
                self._trigger(order, market, price, ts, out)
            elif order.trailing is not None:
                order.stop = order.trailing.observe(price, order.stop)

    def _trigger(
        self, order: SimOrder, market: _Market, price: float, ts: int, out: list[VenueReport]
    ) -> None:
        """A book or trades trigger at ``price``: run the order as market or limit now."""
        order.triggered = True
        if order.works_as_market:
            if market.source is DataSource.BOOK:
                self._take_book(order, market, None, None, ts, out)
                self._end_taker(order, ts, out)
            else:
                self._take_at(order, market, price, None, ts, False, out)
            return
        if market.source is DataSource.BOOK:
            self._place_in_book(order, market, ts, out)
        else:
            self._place_at(order, market, price, ts, out)

    # --- market data ------------------------------------------------------------------------

    def _on_trade(self, trade: TradeTick, out: list[VenueReport]) -> None:
        market = self._market_of(trade.symbol)
        market.has_trades = True
        market.last_trade = trade.price
        if not self._working.has(trade.symbol):
            return
        ts = trade.ts_recv
        for order in self._working.of(trade.symbol):
            if order.coid not in self._working or order.fresh or not order.works_as_limit:
                continue
            queue = order.queue
            if queue is not None:
                reach = queue.on_trade(trade.price, trade.size, trade.side)
            else:
                reach = _through(order, trade)
            if reach > 0.0:
                self._fill_maker(order, reach, ts, out)
        if market.source is DataSource.TRADES:
            for order in self._working.of(trade.symbol):
                if order.fresh and order.works_as_limit:
                    self._place_at(order, market, trade.price, ts, out)
        if self.config.trigger_source is TriggerSource.LAST_TRADE or market.keeper is None:
            self._check_triggers(market, trade.price, ts, out)

    def _on_book(self, event: BookSnapshot | BookDelta, out: list[VenueReport]) -> None:
        market = self._market_of(event.symbol)
        keeper = market.keeper
        if keeper is None:
            try:
                keeper = make_synchronizer(event.venue, event.symbol)
            except ValueError:
                keeper = _PlainBook(event.venue, event.symbol)
            market.keeper = keeper
        applied = keeper.on_event(event)
        if not applied:
            return
        snapshot = type(event) is BookSnapshot
        consumed = market.consumed
        if snapshot:
            consumed.clear()
        elif consumed:
            consumed.on_levels_changed(True, event.bids)
            consumed.on_levels_changed(False, event.asks)
        book = market.book
        if book is None or not self._working.has(event.symbol):
            return
        ts = event.ts_recv
        changed_bids = None if snapshot else _prices(event.bids)
        changed_asks = None if snapshot else _prices(event.asks)
        for order in self._working.of(event.symbol):
            if order.coid not in self._working or not order.works_as_limit:
                continue
            if order.fresh:
                self._place_in_book(order, market, ts, out)
                continue
            queue = order.queue
            limit = order.limit or 0.0
            if queue is not None:
                changed = changed_bids if order.is_buy else changed_asks
                if changed is None or limit in changed:
                    own = book.bids if order.is_buy else book.asks
                    queue.on_level_update(own.get(limit) or 0.0)
            self._fill_crossing(order, market, book, ts, out)
        if self.config.trigger_source is TriggerSource.MID or not market.has_trades:
            mid = book.mid()
            if mid is not None:
                self._check_triggers(market, mid, ts, out)

    def _fill_crossing(
        self, order: SimOrder, market: _Market, book: OrderBook, ts: int, out: list[VenueReport]
    ) -> None:
        """The opposite side reached a resting order's price: it would have been matched."""
        limit = order.limit or 0.0
        opposite = book.asks if order.is_buy else book.bids
        best = opposite.best_price()
        if best is None or not _crosses(order.side, limit, best):
            return
        walk = walk_book(
            market.consumed.levels(opposite), order.remaining, is_buy=order.is_buy, limit=limit
        )
        if walk.fills:
            market.consumed.take(not order.is_buy, walk.fills)
            self._fill_maker(order, walk.qty, ts, out)

    def _on_candle(self, candle: CandleClosed, out: list[VenueReport]) -> None:
        market = self._market_of(candle.symbol)
        if market.timeframe is None:
            market.timeframe = self.config.candle_timeframe or candle.timeframe
        if candle.timeframe != market.timeframe:
            return
        if market.source is DataSource.CANDLES and self._working.has(candle.symbol):
            for order in self._working.candle_order(candle.symbol):
                if order.coid in self._working:
                    self._match_candle(order, market, candle, out)
            for order in self._working.of(candle.symbol):
                if order.active_from <= candle.open_time:
                    order.fresh = False
        self._slip.update(candle)
        market.last_close = candle.close
        market.last_close_ts = candle.ts_event

    def _match_candle(
        self, order: SimOrder, market: _Market, c: CandleClosed, out: list[VenueReport]
    ) -> None:
        if order.works_as_market:
            if self.config.candle_fill is CandleFill.CLOSE:
                if c.ts_event >= order.active_from:
                    self._take_at(order, market, c.close, None, c.ts_event, False, out)
            elif c.open_time >= order.active_from:
                self._take_at(order, market, c.open, None, c.open_time, True, out)
            return
        if order.active_from > c.open_time:
            return
        if order.waiting_trigger:
            self._candle_trigger(order, market, c, out)
        elif order.works_as_limit:
            self._candle_limit(order, market, c, out)

    def _candle_trigger(
        self, order: SimOrder, market: _Market, c: CandleClosed, out: list[VenueReport]
    ) -> None:
        hit = None
        if order.stop is not None:
            hit = candle_trigger(order.rises, order.stop, c.open, c.high, c.low)
        if hit is None:
            if order.trailing is not None:  # adverse side checked first, then the ratchet
                favourable = c.high if order.side is Side.SELL else c.low
                order.stop = order.trailing.observe(favourable, order.stop)
            return
        price, at_open = hit
        ts = c.open_time if at_open else c.ts_event
        order.triggered = True
        if order.works_as_market:
            self._take_at(order, market, price, None, ts, at_open, out)
            return
        limit = order.limit or 0.0
        if _crosses(order.side, limit, price):
            self._take_at(order, market, price, limit, ts, at_open, out)
        else:  # rests as a limit from the next bar
            order.fresh = False
            order.active_from = c.ts_event

    def _candle_limit(
        self, order: SimOrder, market: _Market, c: CandleClosed, out: list[VenueReport]
    ) -> None:
        limit = order.limit or 0.0
        tif = order.request.time_in_force
        touch = self.config.limit_rule is CandleLimitRule.TOUCH
        if order.fresh:
            if _crosses(order.side, limit, c.open):
                if tif is TimeInForce.POST_ONLY:
                    self._cancel(order, c.open_time, _post_only_reason(order, c.open), out)
                else:
                    self._take_at(order, market, c.open, limit, c.open_time, True, out)
                return
            if tif in (TimeInForce.IOC, TimeInForce.FOK):
                reason = f"{tif.value}: not marketable at the open {c.open:.12g}"
                self._cancel(order, c.open_time, reason, out)
                return
            order.fresh = False
        elif _beyond_limit(order.side, limit, c.open, touch):
            self._fill_maker(order, order.remaining, c.open_time, out)
            return
        extreme = c.low if order.is_buy else c.high
        if _beyond_limit(order.side, limit, extreme, touch):
            self._fill_maker(order, order.remaining, c.ts_event, out)

    # --- helpers ----------------------------------------------------------------------------

    def _fees(self, symbol: str) -> FeeSchedule:
        try:
            return self.config.fees.for_symbol(symbol)
        except ValueError as exc:
            raise VenueError(str(exc)) from exc

    def _reference_price(self, market: _Market, request: OrderRequest) -> float | None:
        book = market.book
        if book is not None:
            best = book.best_ask if request.side is Side.BUY else book.best_bid
            if best is not None:
                return best[0]
        if market.last_trade is not None and market.has_trades:
            return market.last_trade
        return market.last_close


def _field_problem(request: OrderRequest, trailing: TrailingSpec | None, info: SymbolInfo) -> str:
    """Fields that do not fit the order type or the market."""
    t = request.type
    name = t.value
    if request.reduce_only and not info.linear and request.side is Side.BUY:
        return "reduce_only does not apply to a spot buy"
    if t.needs_price and request.price is None:
        return f"{name} order needs a price"
    if not t.needs_price and request.price is not None:
        return f"{name} order takes no price"
    if trailing is not None and t is not OrderType.STOP_MARKET:
        return f"a trailing stop is a stop_market order, got {name}"
    if t.needs_stop_price and request.stop_price is None and trailing is None:
        return f"{name} order needs a stop_price"
    if not t.needs_stop_price and request.stop_price is not None:
        return f"{name} order takes no stop_price"
    if request.quote_qty is not None and (t is not OrderType.MARKET or request.side is Side.SELL):
        return "quote_qty is for market buys only"
    if request.time_in_force is TimeInForce.POST_ONLY and t is not OrderType.LIMIT:
        return f"post_only applies to limit orders, not {name}"
    for what, value in (("price", request.price), ("stop_price", request.stop_price)):
        if value is not None and not (math.isfinite(value) and value > 0):
            return f"{what} must be finite and > 0, got {value}"
    if is_conditional(t) and request.time_in_force in (TimeInForce.IOC, TimeInForce.FOK):
        return f"{request.time_in_force.value} does not apply to a {name} order"
    return ""


def _crosses(side: Side, limit: float, price: float) -> bool:
    """Whether an opposite price ``price`` is marketable for a ``side`` limit at ``limit``."""
    return price <= limit if side is Side.BUY else price >= limit


def _beyond_limit(side: Side, limit: float, price: float, touch: bool) -> bool:
    """Whether a traded price reaches a resting limit (strictly through unless ``touch``)."""
    if side is Side.BUY:
        return price <= limit if touch else price < limit
    return price >= limit if touch else price > limit


def _through(order: SimOrder, trade: TradeTick) -> float:
    """A resting limit with no queue estimate fills on a trade through its price."""
    limit = order.limit or 0.0
    if order.is_buy:
        return math.inf if trade.side is Side.SELL and trade.price < limit else 0.0
    return math.inf if trade.side is Side.BUY and trade.price > limit else 0.0


def _prices(levels: Iterable[Level]) -> set[float]:
    return {price for price, _ in levels}


def _post_only_reason(order: SimOrder, price: float) -> str:
    return (
        f"post-only {order.side.value} at {order.limit or 0.0:.12g} would take liquidity "
        f"at {price:.12g}"
    )


def _nothing_to_reduce(order: SimOrder, account: Account) -> str:
    info = order.info
    if info.linear:
        held = account.position(info.symbol).qty
        return f"reduce-only: position {held:.12g} {info.base} leaves nothing more to reduce"
    return f"reduce-only: free {info.base} {account.free(info.base):.12g} leaves nothing to sell"
