"""Exchange symbol ids <-> ccxt unified symbols, for readers and venue adapters only.

ccxt forms: spot ``BTC/USDT``; linear perpetual ``BTC/USDT:USDT``; inverse perpetual
``BTC/USD:BTC``; dated futures add ``-YYMMDD`` (``BTC/USD:BTC-240927``).

Exchange ids (``BTCUSDT``, ``BTCUSD_PERP``) carry no separator between base and quote, so the
quote is found by the longest matching suffix among :data:`QUOTE_ASSETS`.
"""

from __future__ import annotations

import re
from typing import Literal

from mftbot.core.errors import DataError

Market = Literal["spot", "linear", "inverse"]

QUOTE_ASSETS: tuple[str, ...] = (
    "FDUSD",
    "USDT",
    "USDC",
    "BUSD",
    "BTC",
    "ETH",
    "BNB",
    "EUR",
    "TRY",
    "USD",
)
"""Quote assets recognised in exchange ids, longest first (longest-suffix match)."""

_LINEAR_SETTLE = frozenset({"USDT", "USDC", "BUSD", "FDUSD"})
_DEFAULT_MARKET: dict[str, Market | None] = {
    "binance": "spot",
    "binanceusdm": "linear",
    "binancecoinm": "inverse",
    "bybit": None,  # linear for USDT/USDC quotes, inverse for USD
}
_ID = re.compile(r"^[A-Z0-9]+(?:_[A-Z0-9]+)?$")
_EXPIRY = re.compile(r"^\d{6}$")
_UNIFIED = re.compile(
    r"^(?P<base>[A-Z0-9]+)/(?P<quote>[A-Z0-9]+)"
    r"(?::(?P<settle>[A-Z0-9]+)(?:-(?P<expiry>\d{6}))?)?$"
)


def split_pair(pair: str) -> tuple[str, str]:
    """Split ``BTCUSDT`` into ``("BTC", "USDT")`` by the longest known quote suffix."""
    for quote in QUOTE_ASSETS:
        if pair.endswith(quote) and len(pair) > len(quote):
            return pair[: -len(quote)], quote
    raise DataError(f"symbol {pair!r}: no known quote asset ({', '.join(QUOTE_ASSETS)})")


def _market(venue: str, market: Market | None) -> Market | None:
    if venue not in _DEFAULT_MARKET:
        raise DataError(f"unknown venue {venue!r} (known: {', '.join(_DEFAULT_MARKET)})")
    return market if market is not None else _DEFAULT_MARKET[venue]


def to_ccxt(exchange_symbol: str, venue: str, *, market: Market | None = None) -> str:
    """Convert a venue's symbol id (any case) to the ccxt unified symbol.

    ``market`` overrides the venue's default kind (Binance: by venue id; Bybit: linear for
    USDT/USDC quotes, inverse for USD). Raises :class:`DataError` for anything unknown.
    """
    ident = exchange_symbol.strip().upper()
    if not _ID.match(ident):
        raise DataError(f"symbol {exchange_symbol!r}: not an exchange symbol id")
    kind = _market(venue, market)
    pair, _, suffix = ident.partition("_")
    base, quote = split_pair(pair)
    if kind is None:
        kind = "inverse" if quote == "USD" else "linear"
    if kind == "spot":
        if suffix:
            raise DataError(f"symbol {exchange_symbol!r}: a spot id has no '_' suffix")
        return f"{base}/{quote}"
    if venue == "bybit" and suffix:
        raise DataError(f"symbol {exchange_symbol!r}: dated Bybit futures are not supported")
    if suffix and suffix != "PERP" and not _EXPIRY.match(suffix):
        raise DataError(f"symbol {exchange_symbol!r}: suffix must be PERP or YYMMDD")
    expiry = f"-{suffix}" if suffix and suffix != "PERP" else ""
    if kind == "linear":
        if quote not in _LINEAR_SETTLE:
            raise DataError(f"symbol {exchange_symbol!r}: {quote} is not a linear settle asset")
        if suffix == "PERP":
            raise DataError(f"symbol {exchange_symbol!r}: linear perpetuals have no _PERP")
        return f"{base}/{quote}:{quote}{expiry}"
    if quote != "USD":
        raise DataError(f"symbol {exchange_symbol!r}: inverse contracts are quoted in USD")
    if venue == "binancecoinm" and not suffix:
        raise DataError(f"symbol {exchange_symbol!r}: COIN-M ids end in _PERP or _YYMMDD")
    return f"{base}/{quote}:{base}{expiry}"


def to_exchange(symbol: str, venue: str) -> str:
    """Convert a ccxt unified symbol to the venue's id (upper case, e.g. ``BTCUSD_PERP``)."""
    match = _UNIFIED.match(symbol.strip())
    if match is None:
        raise DataError(f"symbol {symbol!r}: not a ccxt unified symbol")
    base, quote, settle, expiry = match.group("base", "quote", "settle", "expiry")
    kind = _market(venue, None)
    if settle is None:
        if kind not in ("spot", None):
            raise DataError(f"symbol {symbol!r}: {venue} trades contracts, not spot pairs")
        return f"{base}{quote}"
    if kind == "spot":
        raise DataError(f"symbol {symbol!r}: {venue} is a spot venue")
    if settle == quote and quote in _LINEAR_SETTLE and kind in ("linear", None):
        if expiry and venue == "bybit":
            raise DataError(f"symbol {symbol!r}: dated Bybit futures are not supported")
        return f"{base}{quote}_{expiry}" if expiry else f"{base}{quote}"
    if settle == base and quote == "USD" and kind in ("inverse", None):
        if venue == "bybit":
            if expiry:
                raise DataError(f"symbol {symbol!r}: dated Bybit futures are not supported")
            return f"{base}{quote}"
        return f"{base}{quote}_{expiry or 'PERP'}"
    raise DataError(f"symbol {symbol!r}: not a {kind or 'derivative'} contract on {venue}")
