"""The step engine's lean paths give what the plain ones give: fills in columns, the cached
open-position scan of the portfolio, and the candle feed built a chunk at a time."""

from __future__ import annotations

import math
import random

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.core.clock import SimulatedClock
from mftbot.data.timeframes import parse_timeframe
from mftbot.domain.enums import Side
from mftbot.domain.fills import Fill, Liquidity
from mftbot.engine.engine import Engine, EngineResult, StrategyBinding
from mftbot.engine.feed import CandleFeed
from mftbot.engine.portfolio import Instrument, InstrumentKind, Portfolio
from mftbot.engine.results import FillLog
from mftbot.execution.sim import CandleSimVenue
from mftbot.strategies import get_strategy

MINUTE_NS = 60_000_000_000


def walk(n: int, seed: int = 7) -> CandleArrays:
    """A random-walk candle series of ``n`` one-minute bars."""
    rng = np.random.default_rng(seed)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.concatenate(([100.0], close[:-1]))
    return CandleArrays(
        open=open_,
        high=np.maximum(open_, close) * 1.001,
        low=np.minimum(open_, close) * 0.999,
        close=close,
        volume=np.ones(n),
        time_ns=1_700_000_000 * 10**9 + np.arange(n, dtype=np.int64) * MINUTE_NS,
    )


def run(candles: CandleArrays, *, lean: bool) -> EngineResult:
    engine = Engine(
        venue=CandleSimVenue({"USDT": 10_000.0}, fee=0.001),
        portfolio=Portfolio({"USDT": 10_000.0}, keep_closed=not lean),
        strategies=[StrategyBinding(get_strategy("sma_cross"), "BTC/USDT", "1m")],
        clock=SimulatedClock(),
        retain_terminal=not lean,
        retain_fills=not lean,
    )
    return engine.run(CandleFeed(candles, symbol="BTC/USDT", timeframe="1m"))


def test_fills_in_columns_equal_the_fill_objects_and_lean_runs_keep_neither_objects() -> None:
    candles = walk(6_000)
    full, lean = run(candles, lean=False), run(candles, lean=True)
    expected = FillLog.from_fills(full.fills)
    assert len(expected) > 20  # the series trades
    for result in (full, lean):
        log = result.fill_log("BTC/USDT")
        for name in ("ts", "side", "price", "qty", "fee"):
            assert np.array_equal(getattr(log, name), getattr(expected, name)), name
    assert lean.fills == ()
    assert len(lean.orders) <= 1 < len(full.orders)  # ended orders dropped: at most one held
    assert np.array_equal(lean.equity.equity, full.equity.equity)
    assert len(lean.fill_log("ETH/USDT")) == 0


def _scan_equity(pf: Portfolio, ccy: str, kinds: dict[str, InstrumentKind]) -> float:
    """The definition: cash + Σ spot qty × mark + Σ perp unrealised PnL, in position order."""
    total = pf.cash(ccy)
    for symbol, pos in pf.positions.items():
        if pf.instrument(symbol).quote != ccy:
            continue
        if kinds[symbol] is InstrumentKind.LINEAR_PERP:
            total += pos.unrealised_pnl(pf.mark_price(symbol)) if pos.qty > 0 else 0.0
        elif pos.qty > 0:
            total += pos.qty * pf.mark_price(symbol)
    return total


def test_equity_and_available_follow_positions_opening_closing_and_marks() -> None:
    rng = random.Random(3)
    pf = Portfolio({"USDT": 1_000.0, "BTC": 1.0}, account_currency="USDT")
    pf.register(Instrument.from_symbol("SOL/USDT:USDT", leverage=5.0))
    kinds = {
        "ETH/USDT": InstrumentKind.SPOT,
        "ETH/BTC": InstrumentKind.SPOT,
        "SOL/USDT:USDT": InstrumentKind.LINEAR_PERP,
    }
    held = dict.fromkeys(kinds, 0.0)
    for seq in range(1, 401):
        symbol = rng.choice(list(kinds))
        price = rng.uniform(5.0, 15.0)
        pf.mark(symbol, price)
        side = Side.SELL if held[symbol] > 0 and rng.random() < 0.5 else Side.BUY
        qty = held[symbol] if side is Side.SELL else rng.uniform(0.001, 0.01)
        quote = pf.instrument(symbol).quote
        fill = Fill("c", f"t{seq}", symbol, side, price, qty, 0.0, quote, Liquidity.TAKER, seq)
        if pf.apply_fill(fill).applied:
            held[symbol] += qty if side is Side.BUY else -qty
        for ccy in ("USDT", "BTC"):
            assert pf.equity(ccy) == _scan_equity(pf, ccy, kinds)
        perp = pf.position("SOL/USDT:USDT")
        margin = perp.qty * perp.avg_entry_price / 5.0 if perp is not None else 0.0
        upnl = perp.unrealised_pnl(pf.mark_price("SOL/USDT:USDT")) if perp and perp.qty else 0.0
        assert pf.available("USDT") == pytest.approx(pf.cash("USDT") - margin + min(0.0, upnl))
    assert any(v == 0.0 for v in held.values()) or pf.closed_count > 0


def test_mark_refuses_prices_that_are_not_finite_and_positive() -> None:
    pf = Portfolio({"USDT": 1.0})
    for bad in (math.nan, math.inf, 0.0, -1.0):
        with pytest.raises(ValueError, match="finite and > 0"):
            pf.mark("ETH/USDT", bad)


@pytest.mark.parametrize("timeframe", ["1m", "1M"])
def test_the_feed_builds_every_event_across_chunks_with_or_without_close_times(
    timeframe: str,
) -> None:
    tf = parse_timeframe(timeframe)
    n = 9_000  # three chunks
    candles = walk(n)
    if tf.is_calendar:
        starts = [int(candles.time_ns[0])]
        for _ in range(n - 1):
            starts.append(int(tf.next_start_array(np.array([starts[-1]]))[0]))
        candles = CandleArrays(
            open=candles.open,
            high=candles.high,
            low=candles.low,
            close=candles.close,
            volume=candles.volume,
            time_ns=tf.floor_array(np.array(starts, dtype=np.int64)),
        )
    lazy = list(CandleFeed(candles, symbol="BTC/USDT", timeframe=timeframe))
    eager_feed = CandleFeed(candles, symbol="BTC/USDT", timeframe=timeframe)
    closes = eager_feed.close_ns
    assert np.array_equal(closes, tf.next_start_array(candles.time_ns))
    eager = list(eager_feed)
    assert lazy == eager
    assert len(lazy) == n
    for i in (0, 4_095, 4_096, n - 1):
        e = lazy[i]
        assert (e.open_time, e.ts_event, e.ts_recv) == (
            int(candles.time_ns[i]),
            int(closes[i]),
            int(closes[i]),
        )
        assert (e.open, e.high, e.low, e.close, e.volume) == (
            candles.open[i],
            candles.high[i],
            candles.low[i],
            candles.close[i],
            candles.volume[i],
        )
