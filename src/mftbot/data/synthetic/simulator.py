"""The event loop of one symbol: agents act at Poisson times on a shared book; every action
becomes normalised events (trades, then one ``BookDelta``), with candles built from the trades.
"""

from __future__ import annotations

import heapq
import math
from collections.abc import Callable, Iterator

from mftbot.data.synthetic.agents import (
    LargeOrders,
    MarketMaker,
    MomentumTrader,
    NoiseTrader,
    market_order,
)
from mftbot.data.synthetic.config import InstrumentSpec, SyntheticMarketConfig, decimals_of
from mftbot.data.synthetic.latent import SECONDS_PER_YEAR, LatentProcess, mean_vol_power
from mftbot.data.synthetic.matching import NO_OWNER, Execution, LevelBook
from mftbot.data.synthetic.randomness import (
    TAG_MARKET,
    TAG_SYMBOL_FLOW,
    TAG_SYMBOL_LATENT,
    RandomPool,
    make_rng,
)
from mftbot.data.synthetic.timeframes import timeframe_ns
from mftbot.domain.enums import Side
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    MarketEvent,
    QuoteTick,
    TradeTick,
)

_CANCEL = 0
_MARKET_ORDER = 1
_NEVER = 1 << 62


class _CandleBuilder:
    """OHLCV of the current bucket of one timeframe, in ticks and lots."""

    __slots__ = ("close", "high", "low", "open", "open_time", "tf", "timeframe", "volume")

    def __init__(self, timeframe: str, start_ns: int, close_tick: int) -> None:
        self.timeframe = timeframe
        self.tf = timeframe_ns(timeframe)
        self.open_time = -(-start_ns // self.tf) * self.tf  # first whole bucket
        self.open = self.high = self.low = self.close = close_tick
        self.volume = 0

    @property
    def close_time(self) -> int:
        return self.open_time + self.tf

    def add(self, ts_ns: int, tick: int, lots: int) -> None:
        if ts_ns < self.open_time:  # before the first whole bucket: only carry the price
            self.open = self.high = self.low = self.close = tick
            return
        if self.volume == 0:
            self.open = self.high = self.low = tick
        else:
            self.high = max(self.high, tick)
            self.low = min(self.low, tick)
        self.close = tick
        self.volume += lots

    def roll(self) -> None:
        self.open_time += self.tf
        self.open = self.high = self.low = self.close
        self.volume = 0


class SymbolSimulator:
    """Generates one symbol's events over ``[start_ns, end_ns)``; implements MarketContext."""

    def __init__(
        self, symbol: str, config: SyntheticMarketConfig, seed: int, start_ns: int
    ) -> None:
        self.symbol = symbol
        self._config = config
        self._spec: InstrumentSpec = config.instrument(symbol)
        spec = self._spec
        self._tick_dp = decimals_of(spec.tick_size)
        self._lot_dp = decimals_of(spec.lot_size)
        self._start = start_ns
        self._res = config.timestamp_resolution_ns
        self._venue = config.venue
        self._book = LevelBook()
        self._rand = RandomPool(make_rng(seed, TAG_SYMBOL_FLOW, key=symbol))
        # latencies have their own stream: they must not shift the agents' draws
        self._latency_rand = RandomPool(make_rng(seed, TAG_SYMBOL_FLOW, key=symbol, extra=1))
        self._step_ns = config.latent.step_ms * 1_000_000
        self._latent = LatentProcess(
            config.latent,
            annual_vol=spec.volatility,
            price0=spec.price,
            step_s=self._step_ns / 1e9,
            market_rng=make_rng(seed, TAG_MARKET),
            symbol_rng=make_rng(seed, TAG_SYMBOL_LATENT, key=symbol),
        )
        self._sigma_per_sqrt_s = spec.volatility / math.sqrt(SECONDS_PER_YEAR)
        flow = config.flow
        self._elasticity = flow.activity_vol_elasticity
        self._activity_norm = mean_vol_power(config.latent, self._elasticity)
        self._makers = [MarketMaker(i, config.makers, spec) for i in range(config.makers.count)]
        self._noise = NoiseTrader(flow, spec)
        self._momentum = MomentumTrader(flow, spec, self._noise)
        self._large = LargeOrders(flow, spec)
        self._actions: list[tuple[float, Callable[[], None]]] = [
            (m.requote_rate, self._requote_action(m)) for m in self._makers
        ]
        self._actions += [
            (flow.noise_market_rate, lambda: self._noise.market_order(self)),
            (flow.noise_limit_rate, lambda: self._noise.limit_order(self)),
            (flow.momentum_rate, lambda: self._momentum.decide(self, self._sigma_per_sqrt_s)),
            (flow.large_order_rate_per_hour / 3600.0, lambda: self._large.start(self)),
        ]
        self._actions = [(rate, act) for rate, act in self._actions if rate > 0]
        self._nominal_rate = sum(rate for rate, _ in self._actions) * config.activity
        # mutable state
        self._now = start_ns
        self._out: list[MarketEvent] = []
        self._schedule: list[tuple[int, int, int, int, int]] = []
        self._seq = 0
        self._update_id = 0
        self._trade_id = 0
        self._last_recv = 0
        self._last_top: tuple[int, int, int, int] | None = None
        self._step = -1
        self._chunk_base = 0
        self._fairs: list[float] = []
        self._ratios: list[float] = []
        self._fair = spec.price
        self._vol_ratio = 1.0
        self._rate = self._nominal_rate
        self._candles: list[_CandleBuilder] = []
        self._warming_up = False

    # -- MarketContext ---------------------------------------------------------------------
    @property
    def book(self) -> LevelBook:
        """The symbol's order book."""
        return self._book

    @property
    def rand(self) -> RandomPool:
        """The symbol's random numbers."""
        return self._rand

    @property
    def now_ns(self) -> int:
        """Exact time of the action being processed."""
        return self._now

    @property
    def fair(self) -> float:
        """Latent price at the current grid step."""
        return self._fair

    @property
    def vol_ratio(self) -> float:
        """Latent volatility over its long-run average at the current grid step."""
        return self._vol_ratio

    def execute(self, is_buy: bool, lots: int, limit_tick: int, owner: int) -> Execution:
        """Publish pending book changes, then match a taker order and publish its trades."""
        if self._warming_up:
            return Execution([], [])
        self._flush()
        execution = self._book.take(is_buy, lots, limit_tick)
        side = Side.BUY if is_buy else Side.SELL
        ts_event = self._now - self._now % self._res
        for tick, level_lots in execution.levels:
            self._trade_id += 1
            self._out.append(
                TradeTick(
                    self._venue,
                    self.symbol,
                    ts_event,
                    self._recv(ts_event),
                    self._price(tick),
                    self._size(level_lots),
                    side,
                    str(self._trade_id),
                )
            )
            for candle in self._candles:
                candle.add(self._now, tick, level_lots)
        for maker_owner, fill in execution.makers:
            if maker_owner != NO_OWNER:
                self._makers[maker_owner].on_fill(-fill if is_buy else fill)
        if owner != NO_OWNER:
            self._makers[owner].on_fill(execution.lots if is_buy else -execution.lots)
        return execution

    def schedule_cancel(self, oid: int, at_ns: int) -> None:
        """Cancel resting order ``oid`` at ``at_ns``."""
        self._push(at_ns, _CANCEL, oid, 0)

    def schedule_market_order(self, at_ns: int, is_buy: bool, lots: int) -> None:
        """Send a market order of ``lots`` at ``at_ns``."""
        self._push(at_ns, _MARKET_ORDER, int(is_buy), lots)

    # -- helpers ---------------------------------------------------------------------------
    def _requote_action(self, maker: MarketMaker) -> Callable[[], None]:
        return lambda: maker.requote(self)

    def _push(self, at_ns: int, kind: int, a: int, b: int) -> None:
        self._seq += 1
        heapq.heappush(self._schedule, (at_ns, self._seq, kind, a, b))

    def _price(self, tick: int) -> float:
        return round(tick * self._spec.tick_size, self._tick_dp)

    def _size(self, lots: int) -> float:
        return round(lots * self._spec.lot_size, self._lot_dp)

    def _levels(self, levels: list[tuple[int, int]]) -> list[tuple[float, float]]:
        return [(self._price(t), self._size(lots)) for t, lots in levels]

    def _recv(self, ts_event: int) -> int:
        cfg = self._config
        latency_ms = (
            cfg.latency_min_ms + self._latency_rand.exponential() * cfg.latency_mean_extra_ms
        )
        recv = max(ts_event + int(latency_ms * 1e6), self._last_recv)
        self._last_recv = recv
        return recv

    def _flush(self) -> None:
        """Turn pending level changes into one BookDelta (and a QuoteTick if the top moved)."""
        bids, asks = self._book.pop_changes()
        if not bids and not asks:
            return
        self._update_id += 1
        ts_event = self._now - self._now % self._res
        self._out.append(
            BookDelta(
                self._venue,
                self.symbol,
                ts_event,
                self._recv(ts_event),
                self._update_id,
                self._update_id,
                self._levels(bids),
                self._levels(asks),
            )
        )
        if self._config.emit_quotes:
            self._quote(ts_event)

    def _quote(self, ts_event: int) -> None:
        book = self._book
        bid, ask = book.best_bid(), book.best_ask()
        if bid is None or ask is None:
            return
        top = (bid, book.level_lots(True, bid), ask, book.level_lots(False, ask))
        if top == self._last_top:
            return
        self._last_top = top
        self._out.append(
            QuoteTick(
                self._venue,
                self.symbol,
                ts_event,
                self._recv(ts_event),
                self._price(bid),
                self._size(top[1]),
                self._price(ask),
                self._size(top[3]),
                self._update_id,
            )
        )

    def _advance_grid(self) -> None:
        self._step += 1
        offset = self._step - self._chunk_base
        if offset >= len(self._fairs):
            self._chunk_base += len(self._fairs)
            offset = 0
            chunk = self._latent.next_chunk()
            self._fairs = [math.exp(v) for v in chunk.log_start.tolist()]
            self._ratios = chunk.vol_ratio.tolist()
        self._fair = self._fairs[offset]
        self._vol_ratio = self._ratios[offset]
        activity = self._vol_ratio**self._elasticity / self._activity_norm
        self._rate = self._nominal_rate * activity

    def _next_action_after(self, t_ns: int) -> int:
        return t_ns + max(1, int(self._rand.exponential() / self._rate * 1e9))

    def _act(self) -> None:
        pick = self._rand.uniform() * self._nominal_rate / self._config.activity
        for rate, action in self._actions:
            pick -= rate
            if pick < 0:
                action()
                return
        self._actions[-1][1]()

    def _run_scheduled(self, kind: int, a: int, b: int) -> None:
        if kind == _CANCEL:
            self._book.cancel(a)
        else:
            market_order(self, bool(a), b, 2 * self._config.flow.max_slippage_bps)

    def _emit_candles(self, boundary: int) -> None:
        for candle in self._candles:
            if candle.close_time != boundary:
                continue
            self._out.append(
                CandleClosed(
                    self._venue,
                    self.symbol,
                    candle.timeframe,
                    candle.open_time,
                    boundary,
                    self._recv(boundary),
                    self._price(candle.open),
                    self._price(candle.high),
                    self._price(candle.low),
                    self._price(candle.close),
                    self._size(candle.volume),
                )
            )
            candle.roll()

    def _initial_book(self) -> BookSnapshot:
        self._warming_up = True
        for maker in self._makers:
            maker.requote(self)
        flow = self._config.flow
        for _ in range(
            round(flow.noise_limit_rate * self._config.activity * flow.noise_limit_lifetime_s)
        ):
            self._noise.limit_order(self)
        self._warming_up = False
        self._book.pop_changes()
        bid, ask = self._book.best_bid(), self._book.best_ask()
        if bid is not None and ask is not None:
            mid_tick = (bid + ask) // 2
        else:
            mid_tick = round(self._fair / self._spec.tick_size)
        self._candles = [
            _CandleBuilder(tf, self._start, mid_tick) for tf in self._config.timeframes
        ]
        self._update_id = 1
        ts_event = self._now - self._now % self._res
        return BookSnapshot(
            self._venue,
            self.symbol,
            ts_event,
            self._recv(ts_event),
            self._update_id,
            self._levels(self._book.levels(True)),
            self._levels(self._book.levels(False)),
        )

    # -- the loop --------------------------------------------------------------------------
    def run(self, end_ns: int) -> Iterator[MarketEvent]:
        """Events from the start up to ``end_ns`` (exclusive; candles closing at it included)."""
        self._advance_grid()
        yield self._initial_book()
        if self._config.emit_quotes:
            self._quote(self._now - self._now % self._res)
            yield from self._take_out()
        grid_end = self._start + self._step_ns
        next_action = self._next_action_after(self._start)
        schedule = self._schedule
        while True:
            t_sched = schedule[0][0] if schedule else _NEVER
            t_event = min(next_action, t_sched)
            t_candle = min((c.close_time for c in self._candles), default=_NEVER)
            if grid_end <= t_event and grid_end <= t_candle and grid_end < end_ns:
                self._advance_grid()
                next_action = self._next_action_after(grid_end)
                grid_end += self._step_ns
                continue
            if t_candle <= t_event and t_candle <= end_ns:
                self._now = t_candle
                self._emit_candles(t_candle)
                yield from self._take_out()
                continue
            if t_event >= end_ns:
                return
            self._now = t_event
            if t_sched <= next_action:
                _, _, kind, a, b = heapq.heappop(schedule)
                self._run_scheduled(kind, a, b)
            else:
                self._act()
                next_action = self._next_action_after(t_event)
            self._flush()
            if self._out:
                yield from self._take_out()

    def _take_out(self) -> list[MarketEvent]:
        out, self._out = self._out, []
        return out
