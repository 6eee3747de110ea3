"""Small enumerations shared across layers."""

from __future__ import annotations

from enum import StrEnum


class Side(StrEnum):
    """Order or aggressor side."""

    BUY = "buy"
    SELL = "sell"


class Venue(StrEnum):
    """Market venues mftbot reads or trades; the value is the venue id used in storage."""

    BINANCE = "binance"
    BINANCE_USDM = "binanceusdm"
    BINANCE_COINM = "binancecoinm"
    BYBIT = "bybit"
    SIMULATED = "sim"


class MarketKind(StrEnum):
    """Kind of data stream, used for catalog partitioning."""

    BOOK = "book"
    TRADES = "trades"
    QUOTES = "quotes"
    CANDLES = "candles"
