"""Sampling books on a fixed cadence: a scripted stream by hand, and causality on real data."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.orderflow import WhaleRule
from mftbot.core.errors import DataError
from mftbot.data.binance_recording import read_binance_recording
from mftbot.data.replay import merge_streams
from mftbot.domain.enums import Side
from mftbot.domain.events import BookDelta, BookSnapshot, MarketEvent, QuoteTick, TradeTick
from mftbot.features.sampling import (
    BookSampler,
    SampledBook,
    SamplerConfig,
    SampleRow,
    sample_events,
)

S = 1_000_000_000
V, X = "binance", "X/USDT"
NAN = math.nan


def snap(
    t: float, uid: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> BookSnapshot:
    ns = int(t * S)
    return BookSnapshot(V, X, ns, ns, uid, bids, asks)


def delta(
    t: float, uid: int, bids: list[tuple[float, float]], asks: list[tuple[float, float]]
) -> BookDelta:
    ns = int(t * S)
    return BookDelta(V, X, ns, ns, uid, uid, bids, asks)


def trade(t: float, price: float, size: float, side: Side, symbol: str = X) -> TradeTick:
    ns = int(t * S)
    return TradeTick(V, symbol, ns, ns, price, size, side, str(ns))


SCRIPT: list[MarketEvent] = [
    snap(0.5, 10, [(100.0, 1.0), (99.0, 2.0)], [(101.0, 1.0), (102.0, 3.0)]),
    trade(0.7, 101.0, 0.5, Side.BUY),
    delta(1.0, 11, [(100.0, 3.0)], []),  # exactly on the grid: part of the 1 s sample
    trade(1.2, 100.0, 1.0, Side.SELL),
    delta(3.5, 12, [], [(101.0, 0.0)]),  # the best ask goes: 102 is best
    trade(4.0, 102.0, 2.0, Side.BUY),
]
CONFIG = SamplerConfig(
    cadence_ns=S, depth=3, band_bps=100.0, whale=WhaleRule(window=10, min_history=1)
)


def eff(price: float, mid: float) -> float:
    return 2 * abs(price - mid) / mid * 1e4


def test_a_scripted_stream_by_hand() -> None:
    ((key, sampled),) = sample_events(SCRIPT, CONFIG).items()
    assert key == (V, X)
    assert sampled.time_ns.tolist() == [1 * S, 2 * S, 3 * S, 4 * S]
    assert sampled.valid.all()
    np.testing.assert_array_equal(sampled.bids[0], [[100, 3], [99, 2], [NAN, NAN]])
    np.testing.assert_array_equal(sampled.asks[3], [[102, 3], [NAN, NAN], [NAN, NAN]])
    assert sampled.book_updates.tolist() == [2, 0, 0, 1]
    assert sampled.bbo_changes.tolist() == [1, 0, 0, 1]
    assert sampled.bid_level_updates.tolist() == [1, 0, 0, 0]
    assert sampled.ask_level_updates.tolist() == [0, 0, 0, 1]
    # OFI: bid size 1 -> 3 at the same price: +2; the ask moving up frees its old size: +1
    assert sampled.ofi.tolist() == [2.0, 0.0, 0.0, 1.0]
    assert sampled.trade_count.tolist() == [1, 1, 0, 1]
    assert sampled.buy_volume.tolist() == [0.5, 0.0, 0.0, 2.0]
    assert sampled.sell_notional.tolist() == [0.0, 100.0, 0.0, 0.0]
    assert sampled.last_price.tolist() == [101.0, 100.0, 100.0, 102.0]  # carried over 3 s
    np.testing.assert_allclose(
        sampled.eff_spread_sum, [0.5 * eff(101, 100.5), eff(100, 100.5), 0, 2 * eff(102, 101)]
    )
    assert sampled.eff_spread_volume.tolist() == [0.5, 1.0, 0.0, 2.0]
    # one (dp_t, dp_t-1) pair: (102 - 100, 100 - 101)
    assert sampled.roll_pairs.tolist() == [0, 0, 0, 1]
    assert (sampled.roll_sum_x[3], sampled.roll_sum_y[3], sampled.roll_sum_xy[3]) == (2, -1, -2)
    # whales: k x median of earlier sizes, from the second trade on
    assert sampled.whale_buy_volume.tolist() == [0.0, 0.0, 0.0, 0.0]


def test_samples_are_emitted_once_time_has_passed() -> None:
    sampler = BookSampler(CONFIG)
    emitted = [[r.time_ns for r in sampler.on_event(e)] for e in SCRIPT]
    assert emitted == [[], [], [], [S], [2 * S, 3 * S], []]
    assert [r.time_ns for r in sampler.finish()] == [4 * S]  # the last event is at 4 s
    assert sampler.finish() == []
    with pytest.raises(DataError, match="order"):
        sampler.on_event(trade(3.0, 1.0, 1.0, Side.BUY))


def test_every_instrument_shares_the_grid_and_other_events_move_the_clock() -> None:
    late = trade(2.5, 5.0, 1.0, Side.SELL, symbol="Y/USDT")
    quote = QuoteTick(V, X, int(5.2 * S), int(5.2 * S), 1.0, 1.0, 2.0, 1.0)
    out = sample_events([*SCRIPT[:4], late, *SCRIPT[4:], quote], CONFIG)
    assert out[(V, X)].time_ns.tolist() == [S * i for i in range(1, 6)]
    y = out[(V, "Y/USDT")]
    assert y.time_ns.tolist() == [3 * S, 4 * S, 5 * S]
    assert not y.valid.any()
    assert np.isnan(y.bids).all()
    assert np.isnan(y.ofi).all()
    assert y.sell_volume.tolist() == [1.0, 0.0, 0.0]


def test_a_stale_book_is_dropped_at_sample_time() -> None:
    cfg = SamplerConfig(cadence_ns=S, depth=3, stale_after_ns=int(1.5 * S))
    sampled = sample_events([*SCRIPT[:4], trade(3.2, 100.0, 1.0, Side.BUY)], cfg)[(V, X)]
    assert sampled.valid.tolist() == [True, True, False]
    assert np.isnan(sampled.ofi[2])


def test_sampled_book_checks_and_round_trips() -> None:
    sampled = sample_events(SCRIPT, CONFIG)[(V, X)]
    row = sampled.row(3)
    assert isinstance(row, SampleRow)
    assert row.time_ns == 4 * S
    assert row.buy_volume == 2.0
    assert row.roll_pairs == 1
    again = SampledBook.from_rows(V, X, [sampled.row(i) for i in range(len(sampled))], S, 3)
    for name, arr in sampled.columns().items():
        np.testing.assert_array_equal(arr, again.columns()[name])
    assert len(sampled.head(2)) == 2
    assert not sampled.bids.flags.writeable
    cols = sampled.columns()
    with pytest.raises(DataError, match="step"):
        SampledBook.from_columns(V, X, 2 * S, cols)
    bad = dict(cols, valid=~sampled.valid)
    with pytest.raises(DataError, match="valid"):
        SampledBook.from_columns(V, X, S, bad)
    with pytest.raises(DataError, match="missing"):
        SampledBook.from_columns(V, X, S, {"time_ns": cols["time_ns"]})
    with pytest.raises(ValueError, match="cadence"):
        SamplerConfig(cadence_ns=0)


# -- real data --------------------------------------------------------------------------------


def _spot(data_dir: Path, minutes: float) -> list[MarketEvent]:
    streams = [
        read_binance_recording(data_dir / "hftbacktest" / "binance_spot" / name)
        for name in ("btcusdt_20240808.gz", "ethusdt_20240808.gz")
    ]
    events: Iterator[MarketEvent] = merge_streams(streams)
    first = next(events)
    stop = first.ts_recv + int(minutes * 60 * S)
    return [first, *itertools.takewhile(lambda e: e.ts_recv < stop, events)]


@pytest.fixture(scope="module")
def spot(data_dir: Path) -> list[MarketEvent]:
    """The first three minutes of spot BTC/USDT and ETH/USDT, merged."""
    return _spot(data_dir, 3)


def _same(a: np.ndarray, b: np.ndarray) -> bool:
    return bool(np.array_equal(a, b, equal_nan=a.dtype.kind == "f"))


@pytest.mark.realdata
def test_real_samples_use_only_events_at_or_before_their_time(spot: list[MarketEvent]) -> None:
    full = sample_events(spot)
    assert set(full) == {(V, "BTC/USDT"), (V, "ETH/USDT")}
    rng = np.random.default_rng(5)
    for cut in sorted(rng.choice(np.arange(1000, len(spot)), size=4, replace=False)):
        part = sample_events(spot[:cut])
        last = spot[cut - 1].ts_recv
        for key, sampled in part.items():
            whole = full[key]
            k = len(sampled)
            assert k > 0
            assert sampled.time_ns[-1] <= last < sampled.time_ns[-1] + S
            for name, arr in sampled.columns().items():
                assert _same(arr, whole.columns()[name][:k]), (key, name, cut)


@pytest.mark.realdata
def test_real_samples_account_for_every_trade_and_update(spot: list[MarketEvent]) -> None:
    sampled = sample_events(spot)
    for (venue, symbol), book in sampled.items():
        end = int(book.time_ns[-1])
        trades = [
            e for e in spot if isinstance(e, TradeTick) and e.symbol == symbol and e.ts_recv <= end
        ]
        buys = [t.size for t in trades if t.side is Side.BUY]
        assert book.trade_count.sum() == len(trades) > 1000
        assert book.buy_volume.sum() == pytest.approx(math.fsum(buys), rel=1e-9)
        notional = math.fsum(t.price * t.size for t in trades if t.side is Side.SELL)
        assert book.sell_notional.sum() == pytest.approx(notional, rel=1e-9)
        first_valid = int(np.argmax(book.valid))
        assert book.valid[first_valid:].all()
        assert (book.book_updates[first_valid + 1 :] > 0).mean() > 0.95  # 100 ms depth stream
        assert np.isfinite(book.bids[first_valid:, :, 0]).all()  # 20 levels always present
        spread = book.asks[first_valid:, 0, 0] - book.bids[first_valid:, 0, 0]
        assert (spread > 0).all()
        assert venue == V
    btc, eth = sampled[(V, "BTC/USDT")], sampled[(V, "ETH/USDT")]
    common = np.intersect1d(btc.time_ns, eth.time_ns)
    assert len(common) >= min(len(btc), len(eth)) - 1
    assert (btc.time_ns % S == 0).all()
