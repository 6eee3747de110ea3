"""Book columns per bar on the real Binance spot recording: each row matches a direct
computation from the book at the bar end, no later event changes a row, flows add up."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.book_metrics import depth_imbalance, padded_levels, side_depth, spread_bps
from mftbot.core.errors import DataError
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.domain.book_sync import make_synchronizer
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, TradeTick
from mftbot.features.bar_book import (
    BOOK_COLUMNS,
    BarBookBuilder,
    BarBookConfig,
    empty_row,
)

S = 1_000_000_000
SYMBOL = "BTC/USDT"
EVENTS = 60_000  # about three and a half minutes of the recording


def stream(data_dir: Path) -> Iterator[MarketEvent]:
    files = find_binance_recordings(data_dir, "spot")[SYMBOL][:1]
    return itertools.islice(replay_files(files), EVENTS)


def same(a: dict[str, float], b: dict[str, float]) -> bool:
    return all((math.isnan(a[k]) and math.isnan(b[k])) or a[k] == b[k] for k in BOOK_COLUMNS)


@pytest.mark.realdata
def test_rows_match_the_book_at_each_bar_end(data_dir: Path) -> None:
    builder = BarBookBuilder("1s", [SYMBOL], BarBookConfig(manipulation=None))
    sync = make_synchronizer("binance", SYMBOL)
    bar_end: int | None = None
    checked = 0
    for event in stream(data_dir):
        t = event.ts_recv
        if bar_end is None:
            bar_end = (t // S + 1) * S
        while t > bar_end:  # every event up to bar_end has been seen, none after it
            row = builder.row(SYMBOL, bar_end - S)
            if sync.is_ready:
                bids, asks = padded_levels(sync.book, 20)
                assert row["book_valid"] == 1.0
                assert row["imbalance_5"] == pytest.approx(
                    (float(depth_imbalance(bids, asks, 5)) + 1) / 2, rel=1e-12
                )
                assert row["imbalance_10"] == pytest.approx(
                    (float(depth_imbalance(bids, asks, 10)) + 1) / 2, rel=1e-12
                )
                assert row["spread_bps"] == pytest.approx(float(spread_bps(bids, asks)))
                assert row["depth_bid_10"] == pytest.approx(float(side_depth(bids, 10)))
                assert row["depth_ask_10"] == pytest.approx(float(side_depth(asks, 10)))
                assert row["mid"] == (bids[0, 0] + asks[0, 0]) / 2
                if math.isfinite(row["bid_wall_price"]):
                    assert row["bid_wall_price"] in bids[:, 0]
                if math.isfinite(row["ask_wall_price"]):
                    assert row["ask_wall_price"] in asks[:, 0]
                checked += 1
            bar_end += S
        if isinstance(event, BookSnapshot | BookDelta):
            sync.on_event(event)
        builder.on_event(event)
    assert checked > 150
    assert 0.0 <= row["imbalance_5"] <= 1.0


@pytest.mark.realdata
def test_no_event_after_the_bar_end_changes_a_row(data_dir: Path) -> None:
    events = list(stream(data_dir))
    first = events[0].ts_recv // S + 1
    cut = events[len(events) // 2].ts_recv
    full = BarBookBuilder("1s", [SYMBOL])
    part = BarBookBuilder("1s", [SYMBOL])
    for event in events:
        full.on_event(event)
        if event.ts_recv <= cut:
            part.on_event(event)
    ends = range(first * S, cut + 1, S)
    rows_full = [full.row(SYMBOL, t - S) for t in ends]
    rows_part = [part.row(SYMBOL, t - S) for t in ends]
    assert len(rows_full) > 60
    assert all(same(a, b) for a, b in zip(rows_full, rows_part, strict=True))
    # and a row asked for before the stream reached the bar end sees only what came so far
    early = BarBookBuilder("1s", [SYMBOL])
    for event in events:
        if event.ts_recv > cut:
            break
        early.on_event(event)
    late_bar = (cut // S) * S  # ends after the cut
    row = early.row(SYMBOL, late_bar)
    trades = [e for e in events if isinstance(e, TradeTick) and (late_bar - S) < e.ts_recv <= cut]
    bought = sum(e.size for e in trades if e.side is Side.BUY and e.ts_recv > late_bar)
    assert row["buy_volume"] == pytest.approx(bought, abs=1e-12)


@pytest.mark.realdata
def test_flows_add_up_and_cvd_runs(data_dir: Path) -> None:
    events = list(stream(data_dir))
    builder = BarBookBuilder("5s", [SYMBOL])
    for event in events:
        builder.on_event(event)
    start = events[0].ts_recv // (5 * S) * 5 * S
    last = events[-1].ts_recv // (5 * S) * 5 * S  # bars up to this open time are complete
    rows = [builder.row(SYMBOL, t) for t in range(start, last, 5 * S)]
    trades = [e for e in events if isinstance(e, TradeTick) and e.ts_recv <= last]
    buys = sum(e.size for e in trades if e.side is Side.BUY)
    sells = sum(e.size for e in trades if e.side is Side.SELL)
    assert sum(r["buy_volume"] for r in rows) == pytest.approx(buys, rel=1e-9)
    assert sum(r["sell_volume"] for r in rows) == pytest.approx(sells, rel=1e-9)
    cvd = np.cumsum([r["buy_volume"] - r["sell_volume"] for r in rows])
    np.testing.assert_allclose([r["cvd"] for r in rows], cvd, rtol=1e-9, atol=1e-9)
    whales = sum(r["whale_buy_volume"] + r["whale_sell_volume"] for r in rows)
    assert 0 < whales < buys + sells


@pytest.mark.realdata
def test_manipulation_flag_follows_the_monitor(data_dir: Path) -> None:
    files = find_binance_recordings(data_dir, "spot")[SYMBOL]
    builder = BarBookBuilder("1s", [SYMBOL])
    quiet = BarBookBuilder("1s", [SYMBOL], BarBookConfig(manipulation=None))
    first = last = None
    for event in replay_files(files):
        first = first if first is not None else event.ts_recv
        last = event.ts_recv
        builder.on_event(event)
        quiet.on_event(event)
    assert first is not None
    assert last is not None
    opens = range((first // S + 1) * S, (last // S - 1) * S, S)
    flags = np.array([builder.row(SYMBOL, t)["manipulation_active"] for t in opens])
    assert set(np.unique(flags)) == {0.0, 1.0}
    assert 0 < flags.mean() < 0.5
    assert all(quiet.row(SYMBOL, t)["manipulation_active"] == 0.0 for t in opens)


def test_an_unseen_symbol_or_bar_gives_an_empty_row() -> None:
    builder = BarBookBuilder("1s", ["BTC/USDT"])
    row = builder.row("BTC/USDT", 0)
    assert row.keys() == set(BOOK_COLUMNS)
    assert same(row, empty_row())
    assert row["book_valid"] == 0.0
    assert math.isnan(row["imbalance_5"])
    trade = TradeTick("binance", "BTC/USDT", 10 * S, 10 * S, 100.0, 2.0, Side.BUY, "1")
    builder.on_event(trade)
    builder.on_event(TradeTick("binance", "ETH/USDT", 10 * S, 10 * S, 5.0, 1.0, Side.BUY, "2"))
    before = builder.row("BTC/USDT", 5 * S)  # a bar that ended before the first event
    assert same(before, {**empty_row(), "cvd": 0.0})
    row = builder.row("BTC/USDT", 9 * S)  # the bar ending at the trade's receive time has it
    assert row["buy_volume"] == 2.0
    assert row["cvd"] == 2.0
    assert row["book_valid"] == 0.0
    assert not builder.watches("ETH/USDT")


def test_bad_configuration_is_refused() -> None:
    with pytest.raises(DataError, match="depth"):
        BarBookConfig(depth=5)
    with pytest.raises(DataError, match="fixed-length"):
        BarBookBuilder("1M")
    with pytest.raises(DataError):
        BarBookBuilder("7x")
