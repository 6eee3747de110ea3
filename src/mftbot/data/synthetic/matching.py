"""A minimal limit-order book for the generator: integer ticks and lots, price-time priority.

Orders rest in FIFO queues per price level; the level's size is the sum of its queue (the
L2 view the events publish). The book records which levels changed since the last
:meth:`LevelBook.pop_changes`, so each agent action becomes one ``BookDelta``. Resting orders
never cross: :meth:`LevelBook.add` refuses a passive order at or through the opposite best.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

from sortedcontainers import SortedDict

from mftbot.core.errors import BookError

NO_OWNER = -1
"""Owner id of orders nobody tracks (noise traders)."""


class Order:
    """A resting order."""

    __slots__ = ("is_bid", "lots", "oid", "owner", "tick")

    def __init__(self, oid: int, is_bid: bool, tick: int, lots: int, owner: int) -> None:
        self.oid = oid
        self.is_bid = is_bid
        self.tick = tick
        self.lots = lots
        self.owner = owner


class _Level:
    __slots__ = ("queue", "total")

    def __init__(self) -> None:
        self.queue: deque[Order] = deque()
        self.total = 0


@dataclass(frozen=True, slots=True)
class Execution:
    """What a taker order did: lots per price level (book order) and per maker owner."""

    levels: list[tuple[int, int]]
    makers: list[tuple[int, int]]

    @property
    def lots(self) -> int:
        """Total lots executed."""
        return sum(lots for _, lots in self.levels)


class LevelBook:
    """Bids and asks keyed by integer tick, each level a FIFO queue of orders."""

    def __init__(self) -> None:
        self._bids = SortedDict()
        self._asks = SortedDict()
        self._orders: dict[int, Order] = {}
        self._next_oid = 1
        # tick -> lots at the level before its first change since the last pop_changes()
        self._changed_bids: dict[int, int] = {}
        self._changed_asks: dict[int, int] = {}

    def best_bid(self) -> int | None:
        """Highest bid tick, or None when there are no bids."""
        if not self._bids:
            return None
        tick: int = self._bids.peekitem(-1)[0]
        return tick

    def best_ask(self) -> int | None:
        """Lowest ask tick, or None when there are no asks."""
        if not self._asks:
            return None
        tick: int = self._asks.peekitem(0)[0]
        return tick

    def level_lots(self, is_bid: bool, tick: int) -> int:
        """Lots resting at ``tick`` on one side (0 when empty)."""
        level: _Level | None = (self._bids if is_bid else self._asks).get(tick)
        return 0 if level is None else level.total

    def order(self, oid: int) -> Order | None:
        """The resting order ``oid``, or None when it is filled or cancelled."""
        return self._orders.get(oid)

    def __len__(self) -> int:
        return len(self._orders)

    def add(self, is_bid: bool, tick: int, lots: int, owner: int = NO_OWNER) -> Order:
        """Rest a passive order; raises ``BookError`` if it would cross or is empty."""
        if lots <= 0 or tick <= 0:
            raise BookError(f"order needs lots > 0 and tick > 0, got lots={lots} tick={tick}")
        if is_bid:
            best = self.best_ask()
            if best is not None and tick >= best:
                raise BookError(f"bid at tick {tick} would cross the best ask {best}")
            side, changed = self._bids, self._changed_bids
        else:
            best = self.best_bid()
            if best is not None and tick <= best:
                raise BookError(f"ask at tick {tick} would cross the best bid {best}")
            side, changed = self._asks, self._changed_asks
        level: _Level | None = side.get(tick)
        if level is None:
            level = _Level()
            side[tick] = level
        changed.setdefault(tick, level.total)
        order = Order(self._next_oid, is_bid, tick, lots, owner)
        self._next_oid += 1
        level.queue.append(order)
        level.total += lots
        self._orders[order.oid] = order
        return order

    def cancel(self, oid: int) -> int:
        """Remove the rest of order ``oid``; returns the lots removed (0 if already gone)."""
        order = self._orders.pop(oid, None)
        if order is None:
            return 0
        side = self._bids if order.is_bid else self._asks
        level: _Level = side[order.tick]
        changed = self._changed_bids if order.is_bid else self._changed_asks
        changed.setdefault(order.tick, level.total)
        level.queue.remove(order)
        level.total -= order.lots
        if not level.queue:
            del side[order.tick]
        return order.lots

    def take(self, is_buy: bool, lots: int, limit_tick: int) -> Execution:
        """Execute a taker order of ``lots`` against the opposite side, no worse than
        ``limit_tick``; what cannot execute is dropped (immediate-or-cancel)."""
        side = self._asks if is_buy else self._bids
        changed = self._changed_asks if is_buy else self._changed_bids
        levels: list[tuple[int, int]] = []
        makers: list[tuple[int, int]] = []
        remaining = lots
        while remaining > 0 and side:
            tick: int
            level: _Level
            tick, level = side.peekitem(0 if is_buy else -1)
            if (is_buy and tick > limit_tick) or (not is_buy and tick < limit_tick):
                break
            changed.setdefault(tick, level.total)
            done = 0
            queue = level.queue
            while remaining > 0 and queue:
                maker = queue[0]
                fill = min(maker.lots, remaining)
                maker.lots -= fill
                remaining -= fill
                done += fill
                makers.append((maker.owner, fill))
                if maker.lots == 0:
                    queue.popleft()
                    del self._orders[maker.oid]
            level.total -= done
            if not queue:
                del side[tick]
            levels.append((tick, done))
        return Execution(levels, makers)

    def pop_changes(self) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
        """Levels whose size differs from the last call, as (tick, lots): bids high to low,
        asks low to high; lots 0 means the level is gone."""
        bids = [
            (t, now)
            for t, before in sorted(self._changed_bids.items(), reverse=True)
            if (now := self.level_lots(True, t)) != before
        ]
        asks = [
            (t, now)
            for t, before in sorted(self._changed_asks.items())
            if (now := self.level_lots(False, t)) != before
        ]
        self._changed_bids.clear()
        self._changed_asks.clear()
        return bids, asks

    def has_changes(self) -> bool:
        """Whether any level changed since the last :meth:`pop_changes`."""
        return bool(self._changed_bids or self._changed_asks)

    def levels(self, is_bid: bool, depth: int | None = None) -> list[tuple[int, int]]:
        """(tick, lots) from the best outwards, at most ``depth`` levels."""
        side = self._bids if is_bid else self._asks
        ticks = reversed(side.keys()) if is_bid else iter(side.keys())
        out: list[tuple[int, int]] = []
        for tick in ticks:
            if depth is not None and len(out) >= depth:
                break
            out.append((tick, side[tick].total))
        return out
