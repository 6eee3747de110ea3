"""TickerCheck (book vs. venue best bid/offer at equal update ids) and BookSet routing."""

from __future__ import annotations

from mftbot.domain.book_sync import BookSet, SyncState, TickerCheck, make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, QuoteTick, TradeTick

SPOT = ("binance", "BTC/USDT")
ETH = ("binance", "ETH/USDT")


def quote(
    u: int, bid: float, bid_size: float, ask: float, ask_size: float, inst: tuple[str, str] = SPOT
) -> QuoteTick:
    return QuoteTick(inst[0], inst[1], 0, u, bid, bid_size, ask, ask_size, update_id=u)


def test_ticker_after_depth_event_is_compared_with_that_state() -> None:
    check = TickerCheck()
    sync = make_synchronizer(*SPOT, on_update=check.on_book)
    sync.on_snapshot(BookSnapshot(*SPOT, 0, 0, 100, [(100.0, 1.0)], [(101.0, 2.0)]))
    sync.on_event(BookDelta(*SPOT, 0, 0, 101, 105, [(100.0, 3.0)], []))
    sync.on_event(BookDelta(*SPOT, 0, 0, 106, 110, [(100.5, 1.0)], []))
    check.on_quote(quote(105, 100.0, 3.0, 101.0, 2.0))  # state right after u=105
    check.on_quote(quote(110, 100.5, 1.0, 101.0, 2.0))
    check.on_quote(quote(107, 100.0, 3.0, 101.0, 2.0))  # no depth event ends at 107
    assert (check.aligned, check.mismatched) == (2, 0)
    assert check.quotes == 3


def test_ticker_before_depth_event_waits_for_it() -> None:
    check = TickerCheck()
    sync = make_synchronizer(*SPOT, on_update=check.on_book)
    check.on_quote(quote(103, 99.0, 1.0, 101.0, 2.0))  # never aligned: depth skips 103
    check.on_quote(quote(105, 100.0, 3.0, 101.0, 2.0))
    check.on_quote(quote(110, 100.0, 3.0, 101.0, 2.5))  # wrong ask size: a mismatch
    assert (check.aligned, check.mismatched) == (0, 0)
    sync.on_snapshot(BookSnapshot(*SPOT, 0, 0, 100, [(100.0, 1.0)], [(101.0, 2.0)]))
    sync.on_event(BookDelta(*SPOT, 0, 0, 101, 105, [(100.0, 3.0)], []))
    assert (check.aligned, check.mismatched) == (1, 0)
    sync.on_event(BookDelta(*SPOT, 0, 0, 106, 110, [], [(101.0, 2.0)]))
    assert (check.aligned, check.mismatched) == (1, 1)
    mismatch = check.mismatches[0]
    assert mismatch.update_id == 110
    assert mismatch.ticker == ((100.0, 3.0), (101.0, 2.5))
    assert mismatch.book == ((100.0, 3.0), (101.0, 2.0))


def test_ticker_check_memory_is_bounded() -> None:
    check = TickerCheck(keep=8)
    sync = make_synchronizer(*SPOT, on_update=check.on_book)
    sync.on_snapshot(BookSnapshot(*SPOT, 0, 0, 1, [(100.0, 1.0)], [(101.0, 2.0)]))
    for u in range(2, 100):
        sync.on_event(BookDelta(*SPOT, 0, 0, u, u, [(100.0, float(u))], []))
    for u in range(1000, 1100):
        check.on_quote(quote(u, 1.0, 1.0, 2.0, 1.0))
    assert len(check._tops) <= 8
    assert len(check._waiting) <= 8
    check.on_quote(quote(99, 100.0, 99.0, 101.0, 2.0))
    check.on_quote(quote(50, 100.0, 50.0, 101.0, 2.0))  # too old to be kept: not counted
    assert (check.aligned, check.mismatched) == (1, 0)


def test_bookset_routes_instruments_and_checks_tickers() -> None:
    books = BookSet()
    events: list[MarketEvent] = [
        BookDelta(*SPOT, 0, 1, 98, 101, [(100.0, 5.0)], []),
        QuoteTick(*ETH, 2, 2, 10.0, 1.0, 11.0, 1.0, update_id=7),
        BookSnapshot(*SPOT, 0, 3, 100, [(100.0, 1.0)], [(101.0, 2.0)]),
        TradeTick(*SPOT, 4, 4, 100.0, 0.1, Side.SELL, "1"),
        BookSnapshot(*ETH, 0, 5, 5, [(10.0, 1.0)], [(11.0, 1.0)]),
        BookDelta(*ETH, 0, 6, 6, 7, [], []),
        QuoteTick(*SPOT, 7, 7, 100.0, 5.0, 101.0, 2.0, update_id=101),
    ]
    for event in events:
        books.on_event(event)
    assert books.events == len(events)
    btc = books.entries[SPOT]
    eth = books.entries[ETH]
    assert btc.sync.state is SyncState.LIVE
    assert btc.sync.book.best_bid == (100.0, 5.0)
    assert (btc.tickers.aligned, eth.tickers.aligned) == (1, 1)
    assert eth.sync.last_update_id == 7


def test_bookset_stale_check_runs_on_the_receive_clock() -> None:
    second = 1_000_000_000
    books = BookSet(stale_after_ns=5 * second)
    books.on_event(BookSnapshot(*SPOT, 0, 0, 100, [(100.0, 1.0)], [(101.0, 2.0)]))
    books.on_event(BookSnapshot(*ETH, 0, 0, 5, [(10.0, 1.0)], [(11.0, 1.0)]))
    for t in range(1, 10):
        books.on_event(BookDelta(*ETH, 0, t * second, 5 + t, 5 + t, [(10.0, float(t))], []))
    assert books.entries[SPOT].sync.state is SyncState.RESYNC
    assert books.entries[SPOT].sync.stats.resyncs == {"stale": 1}
    assert books.entries[ETH].sync.state is SyncState.LIVE


def _summary(books: BookSet) -> dict[tuple[str, str], tuple[object, ...]]:
    return {
        key: (
            entry.sync.state,
            entry.sync.last_update_id,
            entry.sync.stats,
            entry.sync.book.top_bids(),
            entry.sync.book.top_asks(),
            entry.tickers.quotes,
            entry.tickers.aligned,
            entry.tickers.mismatched,
        )
        for key, entry in books.entries.items()
    }


def _mixed_stream() -> list[MarketEvent]:
    """Two instruments, tickers before and after their depth events, a gap and trades."""
    events: list[MarketEvent] = [
        quote(101, 100.0, 5.0, 101.0, 2.0),
        BookSnapshot(*SPOT, 0, 1, 100, [(100.0, 1.0)], [(101.0, 2.0)]),
        BookSnapshot(*ETH, 0, 2, 5, [(10.0, 1.0)], [(11.0, 1.0)]),
    ]
    for u in range(101, 160):
        ts = 10 + u
        events.append(TradeTick(*SPOT, ts, ts, 100.0, 0.1, Side.BUY, str(u)))
        events.append(BookDelta(*SPOT, ts, ts, u, u, [(100.0, float(u))], []))
        events.append(quote(u, 100.0, float(u), 101.0, 2.0 if u % 7 else 9.0))
        if u != 130:  # a gap on ETH: it resyncs and waits for a snapshot
            events.append(BookDelta(*ETH, ts, ts, u - 95, u - 95, [(10.0, float(u))], []))
        events.append(quote(u - 95, 10.0, float(u), 11.0, 1.0, inst=ETH))
    return events


def test_consume_routes_like_on_event() -> None:
    events = _mixed_stream()
    one_by_one = BookSet()
    for event in events:
        one_by_one.on_event(event)
    at_once = BookSet()
    assert at_once.consume(iter(events)) == len(events)
    assert at_once.events == one_by_one.events == len(events)
    assert _summary(at_once) == _summary(one_by_one)
    btc = at_once.entries[SPOT]
    assert btc.tickers.aligned > 40  # both outcomes exercised
    assert btc.tickers.mismatched > 5
    assert at_once.entries[ETH].sync.stats.resyncs == {"gap": 1}


def test_consume_with_stale_checks_and_without_tickers() -> None:
    events = _mixed_stream()
    for kwargs in ({"stale_after_ns": 20}, {"check_tickers": False}):
        one_by_one = BookSet(**kwargs)  # type: ignore[arg-type]
        for event in events:
            one_by_one.on_event(event)
        at_once = BookSet(**kwargs)  # type: ignore[arg-type]
        at_once.consume(events)
        assert _summary(at_once) == _summary(one_by_one)
    assert one_by_one.entries[SPOT].tickers.quotes == 0  # tickers off: not even counted


def test_waiting_tickers_out_of_order_are_forgotten_in_arrival_order() -> None:
    check = TickerCheck()
    sync = make_synchronizer(*SPOT, on_update=check.on_book)
    check.on_quote(quote(110, 100.0, 3.0, 101.0, 2.0))
    check.on_quote(quote(105, 100.0, 3.0, 101.0, 2.0))  # older id, arrived later
    sync.on_snapshot(BookSnapshot(*SPOT, 0, 0, 100, [(100.0, 1.0)], [(101.0, 2.0)]))
    sync.on_event(BookDelta(*SPOT, 0, 0, 101, 105, [(100.0, 3.0)], []))
    assert (check.aligned, check.mismatched) == (1, 0)  # 105 compared when the book got there
    assert list(check._waiting) == [110]  # still ahead of the book
    sync.on_event(BookDelta(*SPOT, 0, 0, 106, 110, [], []))
    assert (check.aligned, check.mismatched) == (2, 0)
    assert not check._waiting
