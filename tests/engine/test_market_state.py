"""Market state: candle buffers, books, trades, quotes."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, CandleClosed, QuoteTick, TradeTick
from mftbot.engine.market_state import CandleBuffer, MarketState, MarketStateError

M = 60_000_000_000


def candle(i: int, close: float, symbol: str = "BTC/USDT", tf: str = "1m") -> CandleClosed:
    return CandleClosed(
        "sim",
        symbol,
        tf,
        i * M,
        (i + 1) * M,
        (i + 1) * M,
        close,
        close + 1,
        close - 1,
        close,
        float(i),
    )


def test_buffer_keeps_the_last_bars_as_arrays() -> None:
    buf = CandleBuffer(maxlen=5)
    for i in range(23):
        buf.append(candle(i, 100.0 + i))
    assert len(buf) == 5
    window = buf.window()
    assert window.close.tolist() == [118.0, 119.0, 120.0, 121.0, 122.0]
    assert window.time_ns.tolist() == [i * M for i in range(18, 23)]
    assert window.volume.dtype == np.float64
    assert window.time_ns.dtype == np.int64
    assert buf.window(2).high.tolist() == [122.0, 123.0]
    assert buf.window(50).close.shape == (5,)
    assert buf.last_close == 122.0
    assert buf.last_open_time == 22 * M
    with pytest.raises(MarketStateError, match="not after"):
        buf.append(candle(22, 1.0))


def test_state_per_symbol_and_timeframe() -> None:
    state = MarketState(candle_maxlen=100)
    state.on_event(candle(0, 10.0))
    state.on_event(candle(0, 20.0, tf="5m"))
    state.on_event(candle(1, 11.0))
    state.on_event(TradeTick("sim", "ETH/USDT", 5, 5, 3000.0, 1.0, Side.SELL, "t1"))
    state.on_event(QuoteTick("sim", "ETH/USDT", 6, 6, 2999.0, 1.0, 3001.0, 2.0))
    assert len(state.candles("BTC/USDT", "1m")) == 2
    assert len(state.candles("BTC/USDT", "5m")) == 1
    assert state.last_price("BTC/USDT") == 11.0
    eth = state.symbol("ETH/USDT")
    assert eth.last_price == 3000.0
    assert (eth.bid, eth.ask) == (2999.0, 3001.0)
    assert [t.trade_id for t in eth.trades] == ["t1"]
    assert sorted(state.symbols) == ["BTC/USDT", "ETH/USDT"]


def test_books_are_kept_in_sequence_by_the_venue_rules() -> None:
    state = MarketState()
    snap = BookSnapshot("bybit", "BTC/USDT", 1, 1, 10, [(100.0, 1.0)], [(101.0, 2.0)])
    state.on_event(snap)
    state.on_event(BookDelta("bybit", "BTC/USDT", 2, 2, 11, 11, [(100.5, 3.0)], []))
    book = state.book("BTC/USDT")
    assert book is not None
    assert book.best_bid == (100.5, 3.0)
    # A gap (update 13 after 11) is not applied: Bybit's synchronizer resyncs instead.
    state.on_event(BookDelta("bybit", "BTC/USDT", 3, 3, 13, 13, [(100.9, 1.0)], []))
    assert state.book("BTC/USDT", "bybit") is not None
    assert book.best_bid != (100.9, 1.0)
    # A venue without a synchronizer gets the events as they come.
    state.on_event(BookSnapshot("sim", "ETH/USDT", 1, 1, 1, [(10.0, 1.0)], [(11.0, 1.0)]))
    eth = state.book("ETH/USDT", "sim")
    assert eth is not None
    assert eth.best_ask == (11.0, 1.0)


def test_capacity_grows_only_before_candles_arrive() -> None:
    state = MarketState(candle_maxlen=10)
    state.ensure_capacity(50)
    assert state.candles("X/Y", "1m").maxlen == 50
    state.on_event(candle(0, 1.0, symbol="X/Y"))
    with pytest.raises(MarketStateError, match="cannot grow"):
        state.ensure_capacity(100)
