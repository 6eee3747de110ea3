"""Book synchronizers: each venue's sequencing rule and each bad case."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from mftbot.data.quality import BadInputLog
from mftbot.domain.book_sync import (
    BinanceFuturesBookSync,
    BinanceSpotBookSync,
    BookSynchronizer,
    BybitBookSync,
    ResyncReason,
    SyncState,
    make_synchronizer,
)
from mftbot.domain.enums import Venue
from mftbot.domain.events import BookDelta, BookSnapshot, Level

SPOT = ("binance", "BTC/USDT")
USDM = ("binanceusdm", "BTC/USDT:USDT")
BYBIT = ("bybit", "XRP/USDT:USDT")

BIDS: list[Level] = [(100.0, 1.0), (99.0, 2.0)]
ASKS: list[Level] = [(101.0, 1.0), (102.0, 2.0)]


def snap(inst: tuple[str, str], update_id: int, ts: int = 0) -> BookSnapshot:
    return BookSnapshot(inst[0], inst[1], ts, ts, update_id, list(BIDS), list(ASKS))


def delta(
    inst: tuple[str, str],
    first: int,
    last: int,
    bids: list[Level] | None = None,
    asks: list[Level] | None = None,
    *,
    pu: int | None = None,
    ts: int = 0,
) -> BookDelta:
    return BookDelta(
        inst[0],
        inst[1],
        ts,
        ts,
        first,
        last,
        bids if bids is not None else [(99.5, float(last))],
        asks or [],
        prev_update_id=pu,
    )


def bybit_delta(u: int, bids: list[Level] | None = None, ts: int = 0) -> BookDelta:
    return delta(BYBIT, u, u, bids, ts=ts)


# -- Binance spot ------------------------------------------------------------------------


def test_spot_buffers_until_snapshot_then_bridges() -> None:
    sync = BinanceSpotBookSync(*SPOT)
    assert not sync.on_delta(delta(SPOT, 90, 95))
    assert not sync.on_delta(delta(SPOT, 96, 100))
    assert not sync.on_delta(delta(SPOT, 101, 104, [(99.5, 7.0)]))
    assert not sync.on_delta(delta(SPOT, 105, 110, [(98.5, 3.0)]))
    assert sync.state is SyncState.AWAITING_SNAPSHOT
    assert sync.buffered == 4
    assert sync.book.is_empty
    assert sync.on_snapshot(snap(SPOT, 102))  # 101 <= 102+1 <= 104: bridges
    assert sync.state is SyncState.LIVE
    assert sync.buffered == 0
    assert sync.stats.skipped["before_snapshot"] == 2
    assert sync.stats.deltas_applied == 2
    assert sync.last_update_id == 110
    assert sync.book.top_bids(4) == [(100.0, 1.0), (99.5, 7.0), (99.0, 2.0), (98.5, 3.0)]
    assert sync.stats.resync_count == 0


def test_spot_first_delta_after_snapshot_must_cover_it() -> None:
    sync = BinanceSpotBookSync(*SPOT)
    sync.on_delta(delta(SPOT, 105, 110))
    sync.on_snapshot(snap(SPOT, 102))  # applied, then 105 > 102+1: gap
    assert sync.state is SyncState.RESYNC
    assert sync.stats.resyncs == {"gap": 1}
    assert sync.book.is_empty
    assert sync.buffered == 1  # kept for the next snapshot
    assert sync.on_snapshot(snap(SPOT, 107))
    assert sync.state is SyncState.LIVE
    assert sync.last_update_id == 110


def test_spot_snapshot_without_deltas_is_syncing_and_readable() -> None:
    sync = BinanceSpotBookSync(*SPOT)
    assert sync.on_snapshot(snap(SPOT, 50))
    assert sync.state is SyncState.SYNCING
    assert sync.is_ready
    assert sync.book.best_bid == (100.0, 1.0)
    assert sync.on_delta(delta(SPOT, 45, 52))
    assert sync.state is SyncState.LIVE


def _live_spot(bad: BadInputLog | None = None) -> BinanceSpotBookSync:
    sync = BinanceSpotBookSync(*SPOT, bad=bad)
    sync.on_snapshot(snap(SPOT, 100))
    assert sync.on_delta(delta(SPOT, 101, 105))
    return sync


def test_spot_consecutive_deltas_apply() -> None:
    sync = _live_spot()
    assert sync.on_delta(delta(SPOT, 106, 106, [(100.0, 0.0)], [(101.0, 5.0)]))
    assert sync.on_delta(delta(SPOT, 107, 120))
    assert sync.book.best_bid == (99.5, 120.0)
    assert sync.book.best_ask == (101.0, 5.0)
    assert sync.stats.deltas_applied == 3
    assert sync.stats.level_updates == 4


@pytest.mark.parametrize(("first", "last"), [(101, 105), (103, 104), (90, 100)])
def test_spot_duplicate_or_old_delta_is_skipped_not_resynced(first: int, last: int) -> None:
    sync = _live_spot()
    before = sync.book.top_bids()
    assert not sync.on_delta(delta(SPOT, first, last, [(50.0, 1.0)]))
    assert sync.state is SyncState.LIVE
    assert sync.stats.skipped["duplicate"] == 1
    assert sync.stats.resync_count == 0
    assert sync.book.top_bids() == before


def test_spot_gap_resyncs() -> None:
    sync = _live_spot()
    assert not sync.on_delta(delta(SPOT, 107, 110))  # 106 missing
    assert sync.state is SyncState.RESYNC
    assert sync.stats.resyncs == {"gap": 1}
    assert sync.book.is_empty
    # Later deltas are buffered until a fresh snapshot.
    assert not sync.on_delta(delta(SPOT, 111, 115))
    assert sync.buffered == 2
    assert sync.on_snapshot(snap(SPOT, 112))
    assert sync.state is SyncState.LIVE
    assert sync.last_update_id == 115


def test_spot_overlapping_delta_is_out_of_order() -> None:
    sync = _live_spot()
    assert not sync.on_delta(delta(SPOT, 104, 108))  # starts inside what was applied
    assert sync.stats.resyncs == {"out_of_order": 1}
    assert sync.state is SyncState.RESYNC


def test_spot_crossed_book_resyncs() -> None:
    sync = _live_spot()
    assert not sync.on_delta(delta(SPOT, 106, 106, [(101.5, 1.0)]))
    assert sync.stats.resyncs == {"crossed": 1}
    assert sync.state is SyncState.RESYNC
    assert sync.book.is_empty


def test_crossed_snapshot_is_rejected() -> None:
    sync = BinanceSpotBookSync(*SPOT)
    crossed = BookSnapshot(*SPOT, 0, 0, 10, [(101.0, 1.0)], [(100.0, 1.0)])
    assert not sync.on_snapshot(crossed)
    assert sync.state is SyncState.RESYNC
    assert sync.stats.resyncs == {"crossed": 1}
    assert sync.stats.snapshots == 0


def test_stale_stream_resyncs_on_explicit_check() -> None:
    sync = BinanceSpotBookSync(*SPOT, stale_after_ns=1_000)
    assert not sync.check_stale(10_000)  # nothing to go stale yet
    sync.on_snapshot(snap(SPOT, 100, ts=5_000))
    sync.on_delta(delta(SPOT, 101, 101, ts=6_000))
    assert not sync.check_stale(7_000)
    assert sync.state is SyncState.LIVE
    assert sync.check_stale(7_001)
    assert sync.state is SyncState.RESYNC
    assert sync.stats.resyncs == {"stale": 1}
    assert not sync.check_stale(100_000)  # already resyncing: counted once
    assert sync.stats.resync_count == 1


@pytest.mark.parametrize(
    "bad_level", [(math.nan, 1.0), (99.0, math.nan), (-99.0, 1.0), (99.0, -1.0), (math.inf, 1.0)]
)
def test_bad_level_in_next_delta_is_counted_and_resyncs(bad_level: Level) -> None:
    log = BadInputLog()
    sync = _live_spot(bad=log)
    assert not sync.on_delta(delta(SPOT, 106, 106, [(99.9, 1.0), bad_level]))
    assert sync.stats.bad_messages == 1
    assert log.counts == {"bad_level": 1}
    assert log.samples[0].line == 106
    assert "BTC/USDT" in log.samples[0].source
    assert sync.stats.resyncs == {"bad_message": 1}
    assert 99.9 not in sync.book.bids


def test_bad_message_that_is_a_duplicate_needs_no_resync() -> None:
    sync = _live_spot()
    assert not sync.on_delta(delta(SPOT, 101, 105, [(math.nan, 1.0)]))
    assert sync.state is SyncState.LIVE
    assert sync.stats.resync_count == 0


def test_bad_snapshot_is_counted_and_book_stays_empty() -> None:
    log = BadInputLog()
    sync = BinanceSpotBookSync(*SPOT, bad=log)
    bad = BookSnapshot(*SPOT, 0, 0, 10, [(100.0, math.nan)], [(101.0, 1.0)])
    assert not sync.on_snapshot(bad)
    assert sync.stats.bad_messages == 1
    assert sync.state is SyncState.AWAITING_SNAPSHOT
    assert sync.stats.resync_count == 0
    assert sync.book.is_empty


def test_reversed_update_range_is_a_bad_message() -> None:
    sync = _live_spot()
    assert not sync.on_delta(BookDelta(*SPOT, 0, 0, 109, 106, [(99.0, 1.0)], []))
    assert sync.stats.bad_messages == 1
    assert sync.stats.resyncs == {"bad_message": 1}


def test_wrong_instrument_is_a_bad_message_without_resync() -> None:
    sync = _live_spot()
    assert not sync.on_delta(delta(("binance", "ETH/USDT"), 106, 106))
    assert not sync.on_snapshot(snap(("bybit", "BTC/USDT"), 500))
    assert sync.stats.bad_messages == 2
    assert sync.state is SyncState.LIVE
    assert sync.last_update_id == 105


def test_binance_ignores_a_snapshot_older_than_the_live_book() -> None:
    sync = _live_spot()
    assert not sync.on_snapshot(snap(SPOT, 103))
    assert sync.stats.skipped["stale_snapshot"] == 1
    assert sync.state is SyncState.LIVE
    assert sync.on_delta(delta(SPOT, 106, 107))


def test_buffer_is_bounded_and_overflow_counted() -> None:
    sync = BinanceSpotBookSync(*SPOT, max_buffer=3)
    for i in range(5):
        sync.on_delta(delta(SPOT, 10 * i + 1, 10 * i + 10))
    assert sync.buffered == 3
    assert sync.stats.skipped["buffer_overflow"] == 2
    assert sync.on_snapshot(snap(SPOT, 25))  # 21..30 bridges; oldest two were dropped
    assert sync.last_update_id == 50


def test_requested_resync() -> None:
    sync = _live_spot()
    sync.resync(ResyncReason.REQUESTED, "reconnect")
    assert sync.state is SyncState.RESYNC
    assert sync.stats.resyncs == {"requested": 1}
    assert sync.book.is_empty
    assert not sync.on_delta(delta(SPOT, 106, 106))
    assert sync.buffered == 1


# -- Binance futures -----------------------------------------------------------------------


def test_futures_first_delta_covers_snapshot_then_pu_chain() -> None:
    sync = BinanceFuturesBookSync(*USDM)
    sync.on_delta(delta(USDM, 80, 90, pu=79))  # u < lastUpdateId: dropped
    sync.on_delta(delta(USDM, 91, 100, pu=90))  # U <= 100 <= u: first applied
    sync.on_delta(delta(USDM, 103, 107, pu=100))  # pu == previous u (ids may jump)
    sync.on_snapshot(snap(USDM, 100))
    assert sync.state is SyncState.LIVE
    assert sync.stats.skipped["before_snapshot"] == 1
    assert sync.stats.deltas_applied == 2
    assert sync.last_update_id == 107
    assert sync.on_delta(delta(USDM, 108, 120, pu=107))
    assert sync.stats.resync_count == 0


def test_futures_first_delta_after_snapshot_must_cover_it() -> None:
    sync = BinanceFuturesBookSync(*USDM)
    sync.on_snapshot(snap(USDM, 100))
    assert not sync.on_delta(delta(USDM, 101, 110, pu=100))  # U > lastUpdateId
    assert sync.stats.resyncs == {"gap": 1}


def _live_usdm() -> BinanceFuturesBookSync:
    sync = BinanceFuturesBookSync(*USDM)
    sync.on_snapshot(snap(USDM, 100))
    assert sync.on_delta(delta(USDM, 95, 105, pu=94))
    return sync


def test_futures_pu_mismatch_is_a_gap() -> None:
    sync = _live_usdm()
    assert not sync.on_delta(delta(USDM, 110, 115, pu=108))
    assert sync.stats.resyncs == {"gap": 1}
    assert sync.state is SyncState.RESYNC


def test_futures_pu_behind_is_out_of_order() -> None:
    sync = _live_usdm()
    assert not sync.on_delta(delta(USDM, 103, 115, pu=102))
    assert sync.stats.resyncs == {"out_of_order": 1}


def test_futures_duplicate_is_skipped() -> None:
    sync = _live_usdm()
    assert not sync.on_delta(delta(USDM, 95, 105, pu=94))
    assert sync.stats.skipped["duplicate"] == 1
    assert sync.state is SyncState.LIVE
    assert sync.on_delta(delta(USDM, 106, 109, pu=105))


def test_futures_delta_without_pu_is_bad() -> None:
    log = BadInputLog()
    sync = BinanceFuturesBookSync(*USDM, bad=log)
    sync.on_snapshot(snap(USDM, 100))
    sync.on_delta(delta(USDM, 95, 105, pu=94))
    assert not sync.on_delta(delta(USDM, 106, 110))
    assert log.counts == {"missing_prev_update_id": 1}
    assert sync.stats.resyncs == {"bad_message": 1}


# -- Bybit ---------------------------------------------------------------------------------


def test_bybit_consecutive_deltas_and_seq_kept() -> None:
    sync = BybitBookSync(*BYBIT)
    sync.on_snapshot(BookSnapshot(*BYBIT, 0, 0, 500, list(BIDS), list(ASKS), seq=9000))
    assert sync.on_delta(BookDelta(*BYBIT, 0, 0, 501, 501, [(100.0, 0.0)], [], seq=9005))
    assert sync.on_delta(bybit_delta(502, [(99.0, 4.0)]))
    assert sync.state is SyncState.LIVE
    assert sync.book.best_bid == (99.0, 4.0)
    assert sync.book.seq is None
    assert sync.stats.deltas_applied == 2


def test_bybit_seq_is_recorded_on_the_book() -> None:
    sync = BybitBookSync(*BYBIT)
    sync.on_snapshot(BookSnapshot(*BYBIT, 0, 0, 500, list(BIDS), list(ASKS), seq=9000))
    assert sync.book.seq == 9000
    sync.on_delta(BookDelta(*BYBIT, 0, 0, 501, 501, [(99.0, 1.0)], [], seq=9005))
    assert sync.book.seq == 9005


def test_bybit_gap_duplicate_and_new_snapshot() -> None:
    sync = BybitBookSync(*BYBIT)
    sync.on_snapshot(snap(BYBIT, 500))
    assert sync.on_delta(bybit_delta(501))
    assert not sync.on_delta(bybit_delta(501))
    assert sync.stats.skipped["duplicate"] == 1
    assert not sync.on_delta(bybit_delta(503))
    assert sync.stats.resyncs == {"gap": 1}
    assert sync.state is SyncState.RESYNC
    # The venue's next snapshot replaces the book; the buffered 503 is then old.
    sync.on_snapshot(snap(BYBIT, 510))
    assert sync.state is SyncState.SYNCING
    assert sync.on_delta(bybit_delta(511))
    assert sync.state is SyncState.LIVE


def test_bybit_snapshot_replaces_even_an_older_id() -> None:
    sync = BybitBookSync(*BYBIT)
    sync.on_snapshot(snap(BYBIT, 500))
    sync.on_delta(bybit_delta(501))
    newer = BookSnapshot(*BYBIT, 0, 0, 7, [(1.0, 1.0)], [(1.1, 1.0)])
    assert sync.on_snapshot(newer)
    assert sync.book.top_bids() == [(1.0, 1.0)]
    assert sync.on_delta(bybit_delta(8, [(0.9, 1.0)]))


def test_bybit_u_equal_1_is_a_restart_snapshot() -> None:
    sync = BybitBookSync(*BYBIT)
    sync.on_snapshot(snap(BYBIT, 500))
    sync.on_delta(bybit_delta(501))
    restart = BookDelta(*BYBIT, 0, 0, 1, 1, [(2.0, 1.0), (1.9, 0.0)], [(2.1, 3.0)])
    assert sync.on_delta(restart)
    assert sync.book.top_bids() == [(2.0, 1.0)]
    assert sync.book.top_asks() == [(2.1, 3.0)]
    assert sync.stats.snapshots == 2
    assert sync.stats.resync_count == 0
    assert sync.on_delta(bybit_delta(2, [(1.95, 1.0)]))
    assert sync.last_update_id == 2


def test_bybit_buffers_deltas_before_first_snapshot() -> None:
    sync = BybitBookSync(*BYBIT)
    for u in (498, 499, 500, 501, 502):
        sync.on_delta(bybit_delta(u))
    sync.on_snapshot(snap(BYBIT, 500))
    assert sync.stats.skipped["before_snapshot"] == 3
    assert sync.stats.deltas_applied == 2
    assert sync.last_update_id == 502


# -- factory -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("venue", "cls"),
    [
        ("binance", BinanceSpotBookSync),
        (Venue.BINANCE_USDM, BinanceFuturesBookSync),
        ("binancecoinm", BinanceFuturesBookSync),
        ("bybit", BybitBookSync),
    ],
)
def test_factory_picks_the_venue_protocol(venue: str, cls: type[BookSynchronizer]) -> None:
    sync = make_synchronizer(venue, "BTC/USDT", stale_after_ns=5)
    assert type(sync) is cls
    assert sync.venue == str(venue)
    assert sync.stale_after_ns == 5


def test_factory_rejects_unknown_venue() -> None:
    with pytest.raises(ValueError, match="no book synchronizer for venue 'okx'"):
        make_synchronizer("okx", "BTC/USDT")


def test_invalid_settings_are_rejected() -> None:
    with pytest.raises(ValueError, match="stale_after_ns"):
        BinanceSpotBookSync(*SPOT, stale_after_ns=0)
    with pytest.raises(ValueError, match="max_buffer"):
        BinanceSpotBookSync(*SPOT, max_buffer=-1)


# -- the in-sequence fast path agrees with the general rules ----------------------------------

_INSTRUMENTS = {"spot": SPOT, "usdm": USDM, "bybit": BYBIT}
_KINDS = ["next"] * 8 + [
    "gap",
    "old",
    "overlap",
    "reversed",
    "foreign",
    "nopu",
    "snapshot",
    "cross",
]


def _general_on_delta(sync: BookSynchronizer, d: BookDelta) -> bool:
    """The venue rules without any subclass fast path (Bybit's u == 1 restart kept)."""
    if isinstance(sync, BybitBookSync) and d.update_id == 1:
        restart = BookSnapshot(d.venue, d.symbol, d.ts_event, d.ts_recv, 1, d.bids, d.asks)
        return sync.on_snapshot(restart)
    return BookSynchronizer.on_delta(sync, d)


@st.composite
def _delta_runs(draw: st.DrawFn) -> tuple[str, list[BookDelta | BookSnapshot]]:
    """Mostly in-sequence deltas, with gaps, repeats, overlaps, reversed ranges, missing
    ``pu``, foreign instruments, crossing levels and snapshots mixed in."""
    market = draw(st.sampled_from(sorted(_INSTRUMENTS)))
    inst = _INSTRUMENTS[market]
    events: list[BookDelta | BookSnapshot] = [snap(inst, 10)]
    last = 10
    for _ in range(draw(st.integers(1, 40))):
        kind = draw(st.sampled_from(_KINDS))
        width = 1 if market == "bybit" else draw(st.integers(1, 3))
        first = {"gap": last + 3, "old": last - 2, "overlap": last}.get(kind, last + 1)
        end = first + width - 1
        price = draw(st.sampled_from([99.0, 99.5, 100.0, 100.5]))
        size = draw(st.sampled_from([0.0, 1.0, 2.5]))
        asks = [(price - 1.0, 1.0)] if kind == "cross" else []
        if kind == "snapshot":
            events.append(snap(inst, end))
        elif kind == "reversed":
            events.append(delta(inst, end + 1, end, [(price, size)], pu=last))
        elif kind == "foreign":
            other = ("binance", "ETH/USDT") if inst != ("binance", "ETH/USDT") else SPOT
            events.append(delta(other, first, end, [(price, size)], pu=last))
        else:
            pu = None if kind == "nopu" else last
            events.append(delta(inst, first, end, [(price, size)], asks, pu=pu))
        if kind in ("next", "gap", "overlap", "cross", "snapshot"):
            last = max(last, end)
    return market, events


@given(_delta_runs())
@settings(max_examples=300, deadline=None)
def test_fast_path_matches_the_general_rules(
    run: tuple[str, list[BookDelta | BookSnapshot]],
) -> None:
    market, events = run
    fast = make_synchronizer(*_INSTRUMENTS[market], bad=BadInputLog())
    slow = make_synchronizer(*_INSTRUMENTS[market], bad=BadInputLog())
    for event in events:
        if isinstance(event, BookSnapshot):
            assert fast.on_snapshot(event) == slow.on_snapshot(event)
        else:
            assert fast.on_delta(event) == _general_on_delta(slow, event)
        assert (fast.state, fast.last_update_id, fast.buffered) == (
            slow.state,
            slow.last_update_id,
            slow.buffered,
        )
        assert fast.stats == slow.stats
        assert fast.book.top_bids() == slow.book.top_bids()
        assert fast.book.top_asks() == slow.book.top_asks()
