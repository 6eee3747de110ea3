"""Entry sizers: all-in and equal split."""

from __future__ import annotations

import itertools

import pytest

from mftbot.core.errors import ConfigError
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, Liquidity
from mftbot.engine.portfolio import Portfolio
from mftbot.engine.sizing import AllInSizer, EqualSplitSizer

_ids = itertools.count()


def _buy(symbol: str, qty: float, price: float) -> Fill:
    return Fill(
        client_order_id="c",
        trade_id=f"t{next(_ids)}",
        symbol=symbol,
        side=Side.BUY,
        price=price,
        qty=qty,
        fee=0.0,
        fee_currency="USDT",
        liquidity=Liquidity.TAKER,
        ts=1,
    )


def test_equal_split_spends_a_share_of_equity_capped_by_free_cash() -> None:
    pf = Portfolio({"USDT": 9_000.0})
    sizer = EqualSplitSizer(3)
    intent = sizer.entry("s", "BTC/USDT", Side.BUY, 7, 100.0, pf)
    assert intent is not None
    assert intent.quote_qty == pytest.approx(3_000.0)
    assert (intent.side, intent.intent, intent.signal_ts, intent.ref_price) == (
        Side.BUY,
        IntentKind.ENTRY,
        7,
        100.0,
    )
    pf.apply_fill(_buy("ETH/USDT", 70.0, 100.0))  # 7,000 spent: 2,000 free, equity 9,000
    pf.mark("ETH/USDT", 100.0)
    capped = sizer.entry("s", "BTC/USDT", Side.BUY, 8, 100.0, pf)
    assert capped is not None
    assert capped.quote_qty == pytest.approx(2_000.0)


def test_sizers_return_nothing_without_free_cash_and_refuse_sells() -> None:
    pf = Portfolio({"USDT": 1_000.0})
    pf.apply_fill(_buy("BTC/USDT", 10.0, 100.0))
    pf.mark("BTC/USDT", 100.0)
    assert EqualSplitSizer(2).entry("s", "ETH/USDT", Side.BUY, 1, 10.0, pf) is None
    assert AllInSizer().entry("s", "ETH/USDT", Side.BUY, 1, 10.0, pf) is None
    for sizer in (EqualSplitSizer(2), AllInSizer()):
        with pytest.raises(ConfigError, match="long entries"):
            sizer.entry("s", "BTC/USDT", Side.SELL, 1, 10.0, pf)
    with pytest.raises(ConfigError, match="parts must be >= 1"):
        EqualSplitSizer(0)
