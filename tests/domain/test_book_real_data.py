"""Books rebuilt from real recordings agree exactly with the venue's own best bid/offer.

Each Binance recording is replayed in receive-time order (both days of a pair, continuous).
Wherever a ``bookTicker`` update id equals the last update id of a depth event, the book's best
bid and ask (price and size) right after that event must equal the ticker's exactly.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.bybit_recording import read_bybit_orderbook
from mftbot.data.quality import BadInputLog
from mftbot.data.replay import merge_streams
from mftbot.domain.book_sync import BookEntry, BookSet, SyncState

pytestmark = pytest.mark.realdata

RECORDINGS: dict[str, tuple[str, ...]] = {
    "spot BTC/USDT": ("binance_spot/btcusdt_20240808.gz", "binance_spot/btcusdt_20240809.gz"),
    "spot ETH/USDT": ("binance_spot/ethusdt_20240808.gz", "binance_spot/ethusdt_20240809.gz"),
    "usdm BTC 0718": ("binance_usdm/btcusdt_20240718.gz", "binance_usdm/btcusdt_20240719.gz"),
    "usdm ETH 0718": ("binance_usdm/ethusdt_20240718.gz", "binance_usdm/ethusdt_20240719.gz"),
    "usdm BTC 0808": ("binance_usdm/btcusdt_20240808.gz",),
    "usdm ETH 0808": ("binance_usdm/ethusdt_20240808.gz",),
    "coinm BTC": (
        "binance_coinm/btcusd_perp_20240808.gz",
        "binance_coinm/btcusd_perp_20240809.gz",
    ),
    "coinm ETH": (
        "binance_coinm/ethusd_perp_20240808.gz",
        "binance_coinm/ethusd_perp_20240809.gz",
    ),
}

_cache: dict[str, tuple[BookEntry, BadInputLog]] = {}


def replay(data_dir: Path, name: str) -> tuple[BookEntry, BadInputLog]:
    """Replay one recording (cached for the module); its only book and the bad-input log."""
    if name not in _cache:
        bad = BadInputLog()
        books = BookSet(bad=bad)
        paths = [data_dir / "hftbacktest" / rel for rel in RECORDINGS[name]]
        for event in merge_streams([read_binance_recording(p, bad=bad) for p in paths]):
            books.on_event(event)
        assert len(books.entries) == 1
        _cache[name] = (next(iter(books.entries.values())), bad)
    return _cache[name]


@pytest.mark.parametrize("name", list(RECORDINGS))
def test_book_matches_book_ticker_exactly(data_dir: Path, name: str) -> None:
    entry, bad = replay(data_dir, name)
    sync, tickers = entry.sync, entry.tickers
    assert bad.total == 0, bad.samples[:3]
    assert sync.state is SyncState.LIVE
    assert sync.stats.resync_count == 0, sync.stats.resyncs
    assert sync.stats.bad_messages == 0
    assert set(sync.stats.skipped) <= {"before_snapshot"}
    assert sync.stats.snapshots == 1
    assert sync.stats.deltas_applied > 3_000
    assert tickers.mismatched == 0, tickers.mismatches[:3]
    assert tickers.aligned > 400


@pytest.mark.parametrize("name", ["spot BTC/USDT", "spot ETH/USDT"])
def test_spot_has_over_a_thousand_aligned_points(data_dir: Path, name: str) -> None:
    entry, _ = replay(data_dir, name)
    assert entry.tickers.mismatched == 0
    assert entry.tickers.aligned > 1_000


def test_usdm_has_over_a_thousand_aligned_points(data_dir: Path) -> None:
    # Each USD-M file pair alone aligns 550-840 times (depth@0ms batches many ids per event).
    names = [n for n in RECORDINGS if n.startswith("usdm")]
    entries = [replay(data_dir, n)[0] for n in names]
    assert sum(e.tickers.mismatched for e in entries) == 0
    assert sum(e.tickers.aligned for e in entries) > 1_000


def test_bybit_ob500_applies_without_gaps(data_dir: Path) -> None:
    bad = BadInputLog()
    books = BookSet(bad=bad)
    path = data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip"
    for event in read_bybit_orderbook(path, bad=bad):
        books.on_event(event)
    (entry,) = books.entries.values()
    sync = entry.sync
    assert bad.total == 0
    assert sync.venue == "bybit"
    assert sync.state is SyncState.LIVE
    assert sync.stats.snapshots == 1
    assert sync.stats.deltas_applied == 49
    assert sync.stats.resync_count == 0
    assert not sync.stats.skipped
    assert sync.last_update_id == 20254918
    assert sync.book.seq is not None
    assert not sync.book.is_crossed()
    # ob500 keeps exactly 500 levels a side: every level leaving the top 500 is deleted.
    assert len(sync.book.bids) == 500
    assert len(sync.book.asks) == 500


def test_gap_between_recordings_resyncs_and_recovers(data_dir: Path) -> None:
    # 2024-07-19 ends and 2024-08-08 begins three weeks later: the first 0808 delta's pu does
    # not follow, so the book resyncs, buffers, and is rebuilt from the 0808 snapshot.
    bad = BadInputLog()
    books = BookSet(bad=bad)
    rels = (*RECORDINGS["usdm BTC 0718"], *RECORDINGS["usdm BTC 0808"])
    paths = [data_dir / "hftbacktest" / rel for rel in rels]
    for event in merge_streams([read_binance_recording(p, bad=bad) for p in paths]):
        books.on_event(event)
    (entry,) = books.entries.values()
    sync = entry.sync
    assert sync.stats.resyncs == {"gap": 1}
    assert sync.stats.snapshots == 2
    assert sync.state is SyncState.LIVE
    alone = replay(data_dir, "usdm BTC 0808")[0].sync
    assert sync.last_update_id == alone.last_update_id
    assert sync.book.top_bids(50) == alone.book.top_bids(50)
    assert sync.book.top_asks(50) == alone.book.top_asks(50)
    assert entry.tickers.mismatched == 0
