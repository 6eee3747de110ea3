"""The synthetic market: seeded, agent-based, emitting the same events as the recordings."""

from __future__ import annotations

import heapq
from collections.abc import Iterator, Sequence

import msgspec
import pandas as pd

from mftbot.data.synthetic.bars import simulate_bars
from mftbot.data.synthetic.config import InstrumentSpec, SyntheticMarketConfig
from mftbot.data.synthetic.simulator import SymbolSimulator
from mftbot.domain.events import MarketEvent

DEFAULT_START_NS = 1_704_067_200_000_000_000
"""2024-01-01T00:00:00Z, the default start of :meth:`SyntheticMarket.candles`."""


def _ts_event(event: MarketEvent) -> int:
    return event.ts_event


class SyntheticMarket:
    """Seeded agent-based market for any symbols.

    ``events`` streams ``BookSnapshot`` then ``BookDelta``/``TradeTick``/``CandleClosed`` (and
    ``QuoteTick`` if configured) for every symbol, merged in ``ts_event`` order with
    non-decreasing ``ts_recv``. Each symbol's stream depends only on (config, seed, symbol,
    start): adding symbols does not change it, except for ``ts_recv`` which is kept monotone
    across the merged stream. ``candles`` is a fast bar-level simulation of the same latent
    process (a different path from ``events``).
    """

    def __init__(self, config: SyntheticMarketConfig, symbols: Sequence[str], seed: int) -> None:
        if isinstance(symbols, str):
            raise TypeError("symbols must be a sequence of symbols, not one string")
        if not symbols:
            raise ValueError("at least one symbol is needed")
        for symbol in symbols:
            if not isinstance(symbol, str) or not symbol.strip():
                raise ValueError(f"invalid symbol {symbol!r}")
        if len(set(symbols)) != len(symbols):
            raise ValueError(f"duplicate symbols in {list(symbols)}")
        if isinstance(seed, bool) or not isinstance(seed, int) or seed < 0:
            raise ValueError(f"seed must be a non-negative int, got {seed!r}")
        self.config = config
        self.symbols = tuple(symbols)
        self.seed = seed

    def instrument(self, symbol: str) -> InstrumentSpec:
        """Starting price, tick, lot and volatility used for ``symbol``."""
        return self.config.instrument(symbol)

    def events(self, start_ns: int, duration_ns: int) -> Iterator[MarketEvent]:
        """Stream all symbols' events over ``[start_ns, start_ns + duration_ns)``.

        Lazy: memory does not grow with ``duration_ns``. Candles whose bucket closes at the
        end are included; a bucket cut by the start or the end is not emitted.
        """
        if start_ns < 0:
            raise ValueError(f"start_ns must be >= 0, got {start_ns}")
        if duration_ns <= 0:
            raise ValueError(f"duration_ns must be > 0, got {duration_ns}")
        end_ns = start_ns + duration_ns
        streams = [
            SymbolSimulator(symbol, self.config, self.seed, start_ns).run(end_ns)
            for symbol in self.symbols
        ]
        if len(streams) == 1:
            return streams[0]
        return self._merge(streams)

    @staticmethod
    def _merge(streams: list[Iterator[MarketEvent]]) -> Iterator[MarketEvent]:
        last_recv = 0
        for event in heapq.merge(*streams, key=_ts_event):
            if event.ts_recv < last_recv:
                event = msgspec.structs.replace(event, ts_recv=last_recv)
            last_recv = event.ts_recv
            yield event

    def candles(
        self, symbol: str, timeframe: str, n_bars: int, *, start_ns: int = DEFAULT_START_NS
    ) -> pd.DataFrame:
        """``n_bars`` candles of ``symbol`` from ``start_ns`` (a bucket start of ``timeframe``).

        A ``DataFrame`` indexed by the UTC open time (``time``) with float64 ``open, high,
        low, close, volume``.
        """
        if symbol not in self.symbols:
            raise ValueError(f"{symbol!r} is not one of this market's symbols {self.symbols}")
        return simulate_bars(self.config, symbol, self.seed, timeframe, n_bars, start_ns)
