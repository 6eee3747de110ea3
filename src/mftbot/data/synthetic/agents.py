"""The agents of the synthetic market and the context they act through.

* :class:`MarketMaker` quotes a ladder around the latent price, shifted against its
  inventory (skew) and thinned on the side that would grow it; widens with volatility;
  picks off other quotes that are better than its own centre (keeps the book near fair).
* :class:`NoiseTrader` sends market orders and short-lived limit orders of lognormal size.
* :class:`MomentumTrader` buys after the mid rose above its EMA and sells after it fell,
  more often the stronger the trend.
* :class:`LargeOrders` splits an occasional large order into a burst of child market orders.
"""

from __future__ import annotations

import math
from typing import Protocol

from mftbot.data.synthetic.config import FlowConfig, InstrumentSpec, MarketMakerConfig
from mftbot.data.synthetic.matching import NO_OWNER, Execution, LevelBook
from mftbot.data.synthetic.randomness import RandomPool


class MarketContext(Protocol):
    """What an agent sees of, and does to, one symbol's market."""

    @property
    def book(self) -> LevelBook:
        """The symbol's order book."""
        ...

    @property
    def rand(self) -> RandomPool:
        """The symbol's random numbers."""
        ...

    @property
    def now_ns(self) -> int:
        """Time of the action being processed."""
        ...

    @property
    def fair(self) -> float:
        """The latent price now."""
        ...

    @property
    def vol_ratio(self) -> float:
        """Latent volatility now divided by its long-run average."""
        ...

    def execute(self, is_buy: bool, lots: int, limit_tick: int, owner: int) -> Execution:
        """Send a taker order (immediate-or-cancel) and publish its trades."""
        ...

    def schedule_cancel(self, oid: int, at_ns: int) -> None:
        """Cancel resting order ``oid`` at ``at_ns`` (no-op if it is gone by then)."""
        ...

    def schedule_market_order(self, at_ns: int, is_buy: bool, lots: int) -> None:
        """Send a market order of ``lots`` at ``at_ns``."""
        ...


def lots_for(notional: float, price: float, spec: InstrumentSpec) -> int:
    """Lots worth ``notional`` at ``price`` (at least one)."""
    return max(1, round(notional / (price * spec.lot_size)))


def mid_price(ctx: MarketContext, tick_size: float) -> float:
    """Book mid, or the latent price when a side is empty."""
    bid, ask = ctx.book.best_bid(), ctx.book.best_ask()
    if bid is None or ask is None:
        return ctx.fair
    return (bid + ask) * 0.5 * tick_size


def market_order(
    ctx: MarketContext, is_buy: bool, lots: int, slippage_bps: float, owner: int = NO_OWNER
) -> Execution | None:
    """Walk the opposite side at most ``slippage_bps`` beyond its best."""
    best = ctx.book.best_ask() if is_buy else ctx.book.best_bid()
    if best is None:
        return None
    room = max(1, math.ceil(best * slippage_bps * 1e-4))
    limit = best + room if is_buy else max(1, best - room)
    return ctx.execute(is_buy, lots, limit, owner)


class MarketMaker:
    """One market maker: an inventory-skewed ladder of passive quotes."""

    def __init__(self, index: int, cfg: MarketMakerConfig, spec: InstrumentSpec) -> None:
        widen = 1.0 + cfg.heterogeneity * index
        self.index = index
        self.requote_rate = cfg.requote_rate / widen
        self._half_spread = cfg.half_spread_bps * 1e-4 * widen
        self._spacing = cfg.level_spacing_bps * 1e-4 * widen
        self._level_notional = cfg.level_notional * (1 + index)
        self._max_inventory = cfg.max_inventory_notional * (1 + index)
        self._cfg = cfg
        self._spec = spec
        self.inventory_lots = 0
        self._bids: dict[int, int] = {}
        self._asks: dict[int, int] = {}
        self._ref_price = spec.price
        self._base_lots: list[float] = []
        self._last_key: tuple[int, int, int, float, float] | None = None
        self._clean = False  # own quotes match _last_key's ladder, untouched since

    def on_fill(self, signed_lots: int) -> None:
        """Record a fill: positive when the maker bought."""
        self.inventory_lots += signed_lots
        self._clean = False

    def inventory_ratio(self, price: float) -> float:
        """Inventory notional over the maker's maximum, clipped to [-1.5, 1.5]."""
        notional = self.inventory_lots * self._spec.lot_size * price
        return max(-1.5, min(1.5, notional / self._max_inventory))

    def _level_lots(self, fair: float) -> list[float]:
        """Unscaled lots per ladder level, re-priced when the price moved over 1 %."""
        if abs(fair / self._ref_price - 1.0) > 0.01 or not self._base_lots:
            self._ref_price = fair
            unit = fair * self._spec.lot_size
            growth = self._cfg.level_growth
            self._base_lots = [
                self._level_notional * growth**k / unit for k in range(self._cfg.levels)
            ]
        return self._base_lots

    def _targets(
        self, bid0: int, ask0: int, grid: int, q: float, base_lots: list[float]
    ) -> tuple[dict[int, int], dict[int, int]]:
        """Target (tick -> lots) per side; the side that would grow inventory is thinned."""
        bid_scale = max(0.0, 1.0 - q) if q > 0 else 1.0
        ask_scale = max(0.0, 1.0 + q) if q < 0 else 1.0
        bids: dict[int, int] = {}
        asks: dict[int, int] = {}
        for k, base in enumerate(base_lots):
            bid_lots, ask_lots = round(base * bid_scale), round(base * ask_scale)
            if bid_lots > 0 and bid0 - k * grid > 0:
                bids[bid0 - k * grid] = bid_lots
            if ask_lots > 0:
                asks[ask0 + k * grid] = ask_lots
        return bids, asks

    @staticmethod
    def _cancel_stale(ctx: MarketContext, own: dict[int, int], target: dict[int, int]) -> None:
        book = ctx.book
        for tick, oid in list(own.items()):
            order = book.order(oid)
            want = target.get(tick, 0)
            if order is None:
                del own[tick]
            elif want == 0 or not 0.75 * want <= order.lots <= 1.25 * want:
                book.cancel(oid)
                del own[tick]

    def _pick_off(self, ctx: MarketContext, centre: float, half: float) -> None:
        """Take opposite quotes better than the centre by ``take_edge`` of the half-spread."""
        tick_size = self._spec.tick_size
        edge = self._cfg.take_edge * half
        cap = round(0.25 * self._level_notional / (ctx.fair * self._spec.lot_size))
        room = round(1.5 * self._max_inventory / (ctx.fair * self._spec.lot_size))
        best_ask = ctx.book.best_ask()
        buy_limit = math.floor((centre - edge) / tick_size)
        if best_ask is not None and best_ask <= buy_limit:
            lots = min(cap, room - self.inventory_lots)
            if lots > 0:
                ctx.execute(True, lots, buy_limit, self.index)
        best_bid = ctx.book.best_bid()
        sell_limit = math.ceil((centre + edge) / tick_size)
        if best_bid is not None and best_bid >= sell_limit:
            lots = min(cap, room + self.inventory_lots)
            if lots > 0:
                ctx.execute(False, lots, sell_limit, self.index)

    def requote(self, ctx: MarketContext) -> None:
        """Cancel quotes off the target ladder, pick off mispriced quotes, post the rest.

        The centre follows the latent price and the inventory; ladder prices sit on a grid
        of ``level_spacing_bps`` so a small move changes only the levels at the ends.
        """
        fair, tick_size, cfg = ctx.fair, self._spec.tick_size, self._cfg
        q = self.inventory_ratio(fair)
        centre = fair * (1.0 - cfg.skew_bps * 1e-4 * q)
        half = fair * self._half_spread * ctx.vol_ratio**cfg.spread_vol_elasticity
        grid = max(1, round(fair * self._spacing / tick_size))
        bid0 = math.floor((centre - half) / tick_size / grid) * grid
        ask0 = max(math.ceil((centre + half) / tick_size / grid) * grid, bid0 + grid)
        size_q = round(q * 50) / 50  # sizes follow inventory in 2 % steps
        base_lots = self._level_lots(fair)
        key = (bid0, ask0, grid, size_q, self._ref_price)
        if key == self._last_key and self._clean:
            self._pick_off(ctx, centre, half)  # own quotes are all on target: no self-trade
            return
        bids, asks = self._targets(bid0, ask0, grid, size_q, base_lots)
        self._cancel_stale(ctx, self._bids, bids)
        self._cancel_stale(ctx, self._asks, asks)
        self._pick_off(ctx, centre, half)
        book = ctx.book
        complete = True
        best_ask = book.best_ask()
        for tick, lots in bids.items():
            if tick in self._bids:
                continue
            if best_ask is None or tick < best_ask:
                self._bids[tick] = book.add(True, tick, lots, self.index).oid
            else:
                complete = False
        best_bid = book.best_bid()
        for tick, lots in asks.items():
            if tick in self._asks:
                continue
            if best_bid is None or tick > best_bid:
                self._asks[tick] = book.add(False, tick, lots, self.index).oid
            else:
                complete = False
        self._last_key = key
        self._clean = complete  # a pick-off above moved no own quote


class NoiseTrader:
    """Uninformed flow: random-side market orders and short-lived limit orders."""

    def __init__(self, cfg: FlowConfig, spec: InstrumentSpec) -> None:
        self._cfg = cfg
        self._spec = spec

    def notional(self, rand: RandomPool) -> float:
        """A lognormal order notional."""
        return self._cfg.order_notional * math.exp(self._cfg.order_notional_sigma * rand.normal())

    def market_order(self, ctx: MarketContext) -> None:
        """A market order of random side and size."""
        is_buy = ctx.rand.uniform() < 0.5
        lots = lots_for(self.notional(ctx.rand), ctx.fair, self._spec)
        market_order(ctx, is_buy, lots, self._cfg.max_slippage_bps)

    def limit_order(self, ctx: MarketContext) -> None:
        """A passive order inside the spread or behind its side's best, cancelled later."""
        cfg, rand, book = self._cfg, ctx.rand, ctx.book
        is_bid = rand.uniform() < 0.5
        best_bid, best_ask = book.best_bid(), book.best_ask()
        fair_tick = ctx.fair / self._spec.tick_size
        inside = rand.uniform() < cfg.noise_limit_inside_prob
        distance = math.floor(rand.exponential() * cfg.noise_limit_distance_bps * 1e-4 * fair_tick)
        if inside and best_bid is not None and best_ask is not None and best_ask - best_bid > 1:
            tick = best_bid + 1 + math.floor(rand.uniform() * (best_ask - best_bid - 1))
        elif is_bid:
            tick = (best_bid if best_bid is not None else math.floor(fair_tick)) - distance
            if best_ask is not None:
                tick = min(tick, best_ask - 1)
        else:
            tick = (best_ask if best_ask is not None else math.ceil(fair_tick)) + distance
            if best_bid is not None:
                tick = max(tick, best_bid + 1)
        if tick <= 0:
            return
        lots = lots_for(self.notional(rand), ctx.fair, self._spec)
        order = book.add(is_bid, tick, lots)
        lifetime_ns = int(rand.exponential() * cfg.noise_limit_lifetime_s * 1e9) + 1
        ctx.schedule_cancel(order.oid, ctx.now_ns + lifetime_ns)


class MomentumTrader:
    """Trades in the direction of the mid's deviation from its EMA."""

    def __init__(self, cfg: FlowConfig, spec: InstrumentSpec, noise: NoiseTrader) -> None:
        self._cfg = cfg
        self._spec = spec
        self._noise = noise
        self._ema: float | None = None
        self._last_ns = 0

    def decide(self, ctx: MarketContext, sigma_per_sqrt_s: float) -> None:
        """Update the EMA; trade with probability ``tanh(|z| / z_scale)``."""
        cfg = self._cfg
        mid = mid_price(ctx, self._spec.tick_size)
        if self._ema is None:
            self._ema, self._last_ns = mid, ctx.now_ns
            return
        dt = (ctx.now_ns - self._last_ns) / 1e9
        self._last_ns = ctx.now_ns
        self._ema += (1.0 - math.exp(-dt / cfg.momentum_horizon_s)) * (mid - self._ema)
        scale = sigma_per_sqrt_s * ctx.vol_ratio * math.sqrt(cfg.momentum_horizon_s)
        z = math.log(mid / self._ema) / scale if scale > 0 else 0.0
        if ctx.rand.uniform() >= math.tanh(abs(z) / cfg.momentum_z_scale):
            return
        notional = self._noise.notional(ctx.rand) * cfg.momentum_size_multiple
        market_order(ctx, z > 0, lots_for(notional, ctx.fair, self._spec), cfg.max_slippage_bps)


class LargeOrders:
    """Occasional large market orders, executed as bursts of child orders."""

    def __init__(self, cfg: FlowConfig, spec: InstrumentSpec) -> None:
        self._cfg = cfg
        self._spec = spec

    def start(self, ctx: MarketContext) -> None:
        """Begin a large order: the first child now, the others after exponential gaps."""
        cfg, rand = self._cfg, ctx.rand
        is_buy = rand.uniform() < 0.5
        notional = cfg.order_notional * cfg.large_order_multiple * math.exp(0.5 * rand.normal())
        children = 1 + math.floor(rand.uniform() * cfg.large_order_max_children)
        child_lots = lots_for(notional / children, ctx.fair, self._spec)
        at = ctx.now_ns
        for _ in range(children):
            ctx.schedule_market_order(at, is_buy, child_lots)
            at += int(rand.exponential() * cfg.large_order_child_gap_s * 1e9) + 1
