"""Entry sizing: how much a signal buys (the risk layer brings richer sizers later)."""

from __future__ import annotations

import math
from typing import Protocol

from mftbot.core.errors import ConfigError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.engine.portfolio import Portfolio
from mftbot.risk.base import OrderIntent


class Sizer(Protocol):
    """Turns an entry signal into an order intent (or ``None``: nothing to trade)."""

    def entry(
        self,
        strategy: str,
        symbol: str,
        side: Side,
        signal_ts: int,
        price: float,
        portfolio: Portfolio,
    ) -> OrderIntent | None:
        """The entry intent for a signal at ``signal_ts`` with last price ``price``."""
        ...


class AllInSizer:
    """Spend ``fraction`` of the free quote balance on a market buy, fees included.

    With the venue's fee rate ``f`` the fill buys ``amount / (price × (1 + f))`` at its price.
    """

    def __init__(self, fraction: float = 1.0) -> None:
        if not (math.isfinite(fraction) and 0.0 < fraction <= 1.0):
            raise ConfigError(f"AllInSizer fraction must be in (0, 1], got {fraction}")
        self.fraction = fraction

    def entry(
        self,
        strategy: str,
        symbol: str,
        side: Side,
        signal_ts: int,
        price: float,
        portfolio: Portfolio,
    ) -> OrderIntent | None:
        """A quote-sized market buy of the available balance; ``None`` when nothing is free."""
        if side is not Side.BUY:
            raise ConfigError("AllInSizer sizes long entries (market buys) only")
        quote = portfolio.instrument(symbol).quote
        amount = portfolio.available(quote) * self.fraction
        return quote_buy(strategy, symbol, signal_ts, price, amount)


class EqualSplitSizer:
    """A long entry spends an equal share of equity per symbol: ``min(free cash, equity /
    parts)``, as a quote-sized market buy (fees included)."""

    def __init__(self, parts: int) -> None:
        if parts < 1:
            raise ConfigError(f"parts must be >= 1, got {parts}")
        self.parts = parts

    def entry(
        self,
        strategy: str,
        symbol: str,
        side: Side,
        signal_ts: int,
        price: float,
        portfolio: Portfolio,
    ) -> OrderIntent | None:
        """The entry intent, or ``None`` when no cash is free."""
        if side is not Side.BUY:
            raise ConfigError("EqualSplitSizer sizes long entries only")
        quote = portfolio.instrument(symbol).quote
        amount = min(portfolio.available(quote), portfolio.equity(quote) / self.parts)
        return quote_buy(strategy, symbol, signal_ts, price, amount)


def quote_buy(
    strategy: str, symbol: str, signal_ts: int, price: float, amount: float
) -> OrderIntent | None:
    """A market buy entry spending ``amount`` of the quote currency (``None`` unless > 0)."""
    if not amount > 0.0:
        return None
    return OrderIntent(
        strategy=strategy,
        symbol=symbol,
        side=Side.BUY,
        intent=IntentKind.ENTRY,
        signal_ts=signal_ts,
        quote_qty=amount,
        ref_price=price,
    )
