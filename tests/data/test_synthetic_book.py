"""The synthetic market's events describe one consistent book per symbol, and its own trades.

The emitted ``BookSnapshot``/``BookDelta`` stream is replayed into plain dicts here (no
project book code), then every trade, quote and candle is checked against that replay.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

import pytest

from mftbot.data.synthetic import SyntheticMarket, SyntheticMarketConfig, timeframe_ns
from mftbot.domain.enums import Side
from mftbot.domain.events import (
    BookDelta,
    BookSnapshot,
    CandleClosed,
    MarketEvent,
    QuoteTick,
    TradeTick,
)

START = 1_704_067_200_000_000_000  # 2024-01-01T00:00Z, aligned to every timeframe used
DURATION = 10 * 60 * 1_000_000_000
SYMBOLS = ("BTC/USDT", "ETH/USDT", "DOGE/USDT")
TIMEFRAMES = ("1m", "5m")


@pytest.fixture(scope="module")
def config() -> SyntheticMarketConfig:
    return SyntheticMarketConfig(timeframes=TIMEFRAMES, emit_quotes=True)


@pytest.fixture(scope="module")
def events(config: SyntheticMarketConfig) -> list[MarketEvent]:
    market = SyntheticMarket(config, SYMBOLS, seed=7)
    return list(market.events(START, DURATION))


@dataclass
class _Book:
    bids: dict[float, float]
    asks: dict[float, float]
    update_id: int
    # trades since the last delta: (is_buy, price) -> size consumed
    consumed: dict[tuple[bool, float], float] = field(default_factory=dict)
    # the book just before the first of those trades
    before_bids: dict[float, float] = field(default_factory=dict)
    before_asks: dict[float, float] = field(default_factory=dict)


def _apply(levels: dict[float, float], changes: list[tuple[float, float]]) -> None:
    for price, size in changes:
        assert size >= 0
        if size == 0:
            assert price in levels, f"delta removes a level {price} that is not on the book"
            del levels[price]
        else:
            levels[price] = size


def _check_not_crossed(book: _Book) -> None:
    if book.bids and book.asks:
        assert max(book.bids) < min(book.asks), "crossed book"


def _check_trade(book: _Book, trade: TradeTick) -> None:
    is_buy = trade.side is Side.BUY
    if not book.consumed:
        book.before_bids, book.before_asks = dict(book.bids), dict(book.asks)
    opposite = book.before_asks if is_buy else book.before_bids
    assert trade.price in opposite, f"trade at {trade.price} not on the {trade.side} side's book"
    used = book.consumed.get((is_buy, trade.price), 0.0) + trade.size
    assert used <= opposite[trade.price] + 1e-9, "trade larger than the level it hit"
    # the taker walks the book: every better level was used up by this sweep already
    better = [p for p in opposite if (p < trade.price if is_buy else p > trade.price)]
    for price in better:
        assert book.consumed.get((is_buy, price), 0.0) == pytest.approx(opposite[price])
    book.consumed[(is_buy, trade.price)] = used


def _check_consumption_published(book: _Book, delta: BookDelta) -> None:
    """The first delta after trades shows each hit level reduced by exactly the traded size."""
    for (is_buy, price), used in book.consumed.items():
        before = (book.before_asks if is_buy else book.before_bids)[price]
        changes = dict(delta.asks if is_buy else delta.bids)
        assert price in changes, f"traded level {price} missing from the next delta"
        assert changes[price] == pytest.approx(before - used, abs=1e-9)
    book.consumed.clear()


def test_timestamps_ordered_with_small_latency(
    events: list[MarketEvent], config: SyntheticMarketConfig
) -> None:
    ts_event = [e.ts_event for e in events]
    ts_recv = [e.ts_recv for e in events]
    assert ts_event == sorted(ts_event)
    assert ts_recv == sorted(ts_recv)
    latencies = [r - e for e, r in zip(ts_event, ts_recv, strict=True)]
    assert min(latencies) >= config.latency_min_ms * 1e6
    assert max(latencies) < 200e6  # a few ms typically; never anywhere near a second
    assert {e.venue for e in events} == {"sim"}
    assert {e.symbol for e in events} == set(SYMBOLS)


def test_book_replay_is_consistent_with_trades_and_quotes(events: list[MarketEvent]) -> None:
    books: dict[str, _Book] = {}
    counts: dict[str, int] = defaultdict(int)
    for event in events:
        if isinstance(event, BookSnapshot):
            assert event.symbol not in books, "one snapshot per symbol, at the start"
            books[event.symbol] = _Book(dict(event.bids), dict(event.asks), event.update_id)
            _check_not_crossed(books[event.symbol])
            continue
        book = books[event.symbol]  # KeyError here = event before the snapshot
        if isinstance(event, BookDelta):
            assert event.first_update_id == event.update_id == book.update_id + 1
            assert event.bids or event.asks
            assert [p for p, _ in event.bids] == sorted((p for p, _ in event.bids), reverse=True)
            assert [p for p, _ in event.asks] == sorted(p for p, _ in event.asks)
            if book.consumed:
                _check_consumption_published(book, event)
            _apply(book.bids, event.bids)
            _apply(book.asks, event.asks)
            book.update_id = event.update_id
            _check_not_crossed(book)
            assert book.bids, "the bid side ran empty"
            assert book.asks, "the ask side ran empty"
        elif isinstance(event, TradeTick):
            _check_trade(book, event)
            counts[event.symbol] += 1
        elif isinstance(event, QuoteTick):
            assert not book.consumed
            assert event.update_id == book.update_id
            best_bid, best_ask = max(book.bids), min(book.asks)
            assert (event.bid_price, event.bid_size) == (best_bid, book.bids[best_bid])
            assert (event.ask_price, event.ask_size) == (best_ask, book.asks[best_ask])
    assert set(books) == set(SYMBOLS)
    # realistic default rates: a few trades per second per symbol over ten minutes
    for symbol in SYMBOLS:
        assert 1.0 < counts[symbol] / 600 < 20.0


def test_book_update_rate_near_ten_per_second(events: list[MarketEvent]) -> None:
    for symbol in SYMBOLS:
        deltas = sum(1 for e in events if isinstance(e, BookDelta) and e.symbol == symbol)
        assert 5.0 < deltas / 600 < 20.0


def test_prices_and_sizes_on_the_instrument_grid(events: list[MarketEvent]) -> None:
    market = SyntheticMarket(SyntheticMarketConfig(), SYMBOLS, seed=7)
    for event in events[:5000]:
        spec = market.instrument(event.symbol)
        if isinstance(event, TradeTick):
            assert event.price / spec.tick_size == pytest.approx(
                round(event.price / spec.tick_size)
            )
            assert event.size / spec.lot_size == pytest.approx(round(event.size / spec.lot_size))
            assert event.size > 0


def test_candles_equal_aggregated_trades(events: list[MarketEvent]) -> None:
    for tf in TIMEFRAMES:
        tf_ns = timeframe_ns(tf)
        for symbol in SYMBOLS:
            trades = [e for e in events if isinstance(e, TradeTick) and e.symbol == symbol]
            candles = [
                e
                for e in events
                if isinstance(e, CandleClosed) and e.symbol == symbol and e.timeframe == tf
            ]
            assert [c.open_time for c in candles] == list(range(START, START + DURATION, tf_ns))
            by_bucket: dict[int, list[TradeTick]] = defaultdict(list)
            for trade in trades:
                by_bucket[trade.ts_event - trade.ts_event % tf_ns].append(trade)
            previous_close: float | None = None
            for candle in candles:
                assert candle.ts_event == candle.open_time + tf_ns
                bucket = by_bucket.get(candle.open_time, [])
                if bucket:
                    prices = [t.price for t in bucket]
                    assert candle.open == prices[0]
                    assert candle.close == prices[-1]
                    assert candle.high == max(prices)
                    assert candle.low == min(prices)
                    assert candle.volume == pytest.approx(sum(t.size for t in bucket), rel=1e-9)
                else:
                    assert candle.volume == 0
                    if previous_close is not None:
                        assert candle.open == candle.high == candle.low == candle.close
                        assert candle.close == previous_close
                previous_close = candle.close


def test_candles_are_emitted_at_their_close_before_the_next_bucket(
    events: list[MarketEvent],
) -> None:
    for index, event in enumerate(events):
        if isinstance(event, CandleClosed):
            later = events[index + 1 :]
            same = [
                e for e in later if e.symbol == event.symbol and not isinstance(e, CandleClosed)
            ]
            assert all(e.ts_event >= event.ts_event for e in same[:50])
            earlier = [e for e in events[:index] if e.symbol == event.symbol]
            assert all(e.ts_event <= event.ts_event for e in earlier[-50:])
