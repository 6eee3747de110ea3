"""Normalised market-data events.

Every event carries the exchange timestamp (``ts_event``) and the local receive timestamp
(``ts_recv``), both in ns since the Unix epoch. Where a venue sends no exchange time (Binance
spot ``bookTicker``), ``ts_event`` equals ``ts_recv``. Symbols are in ccxt unified form.

Events are immutable ``msgspec`` structs: cheap to build, compare and serialise.
"""

from __future__ import annotations

import msgspec

from mftbot.domain.enums import Side

Level = tuple[float, float]
"""A price level: (price, size). A size of 0 in a delta removes the level."""


class BookSnapshot(msgspec.Struct, frozen=True, gc=False):
    """A full L2 book: replaces whatever the local book held."""

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    update_id: int
    bids: list[Level]
    asks: list[Level]
    seq: int | None = None


class BookDelta(msgspec.Struct, frozen=True, gc=False):
    """Changes to L2 levels.

    ``first_update_id``..``update_id`` is the range of venue update ids it covers (Binance
    ``U``/``u``; Bybit sends one ``u``, so both are equal). ``prev_update_id`` is Binance
    futures ``pu`` (the ``u`` of the previous event); ``None`` where the venue has none.
    """

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    first_update_id: int
    update_id: int
    bids: list[Level]
    asks: list[Level]
    prev_update_id: int | None = None
    seq: int | None = None


class TradeTick(msgspec.Struct, frozen=True, gc=False):
    """One public trade; ``side`` is the aggressor (taker) side."""

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    price: float
    size: float
    side: Side
    trade_id: str


class QuoteTick(msgspec.Struct, frozen=True, gc=False):
    """Best bid and offer (Binance ``bookTicker``); ``update_id`` is the book update id."""

    venue: str
    symbol: str
    ts_event: int
    ts_recv: int
    bid_price: float
    bid_size: float
    ask_price: float
    ask_size: float
    update_id: int | None = None


class CandleClosed(msgspec.Struct, frozen=True, gc=False):
    """A closed OHLCV candle. ``open_time`` is the bucket start; ``ts_event`` its close."""

    venue: str
    symbol: str
    timeframe: str
    open_time: int
    ts_event: int
    ts_recv: int
    open: float
    high: float
    low: float
    close: float
    volume: float


MarketEvent = BookSnapshot | BookDelta | TradeTick | QuoteTick | CandleClosed
"""Any normalised market-data event."""
