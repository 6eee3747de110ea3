"""Per-symbol running statistics of the trade tape during a replay."""

from __future__ import annotations

from dataclasses import dataclass

from mftbot.domain.enums import Side
from mftbot.domain.events import MarketEvent, TradeTick


@dataclass
class TapeStats:
    """Trades seen for one instrument: count, taker buy/sell volume, last price."""

    trades: int = 0
    taker_buy_volume: float = 0.0
    taker_sell_volume: float = 0.0
    last_price: float | None = None
    last_ts_ns: int = 0

    def on_trade(self, trade: TradeTick) -> None:
        """Count one trade by its aggressor side."""
        self.trades += 1
        if trade.side is Side.BUY:
            self.taker_buy_volume += trade.size
        else:
            self.taker_sell_volume += trade.size
        self.last_price = trade.price
        self.last_ts_ns = trade.ts_event

    @property
    def taker_delta(self) -> float | None:
        """(buy − sell) / (buy + sell) in [−1, 1]; ``None`` before any volume."""
        total = self.taker_buy_volume + self.taker_sell_volume
        if total <= 0:
            return None
        return (self.taker_buy_volume - self.taker_sell_volume) / total


class TapeSet:
    """:class:`TapeStats` for every (venue, symbol) in a merged stream."""

    def __init__(self) -> None:
        self.stats: dict[tuple[str, str], TapeStats] = {}

    def on_event(self, event: MarketEvent) -> None:
        """Count trades; other events are ignored."""
        if type(event) is TradeTick:
            key = (event.venue, event.symbol)
            stats = self.stats.get(key)
            if stats is None:
                stats = self.stats[key] = TapeStats()
            stats.on_trade(event)

    def get(self, venue: str, symbol: str) -> TapeStats:
        """Stats of one instrument (empty when it has not traded)."""
        return self.stats.get((venue, symbol)) or TapeStats()
