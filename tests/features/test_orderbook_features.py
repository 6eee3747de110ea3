"""The 50 order-book features: names, a hand-computed book, batch/incremental parity and no
look-ahead on the real spot recordings."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from mftbot.analysis.lookahead import check_lookahead
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, Registry
from mftbot.data.replay import replay_files
from mftbot.features.orderbook import (
    ORDERBOOK_FEATURE_DOCS,
    ORDERBOOK_FEATURE_NAMES,
    RAW_PRICE_FEATURES,
    OrderBookFeatureConfig,
    OrderBookFeatureState,
    orderbook_features_batch,
    register_orderbook_features,
    sampled_candles,
)
from mftbot.features.sampling import SampledBook, sample_events

S = 1_000_000_000
NAN = math.nan
ISSUE_NAMES = """
bid_ask_spread_abs, bid_ask_spread_rel, mid_price, micro_price, vwap_bid_5, vwap_ask_5,
vwap_bid_10, vwap_ask_10, depth_bid_5, depth_ask_5, depth_bid_10, depth_ask_10,
total_bid_volume, total_ask_volume, book_depth_ratio, imbalance_5, imbalance_10,
imbalance_total, price_pressure, volume_delta_5, order_flow_imbalance, bid_intensity,
ask_intensity, buy_sell_ratio, smart_money_index, largest_bid_cluster_price,
largest_bid_cluster_volume, largest_ask_cluster_price, largest_ask_cluster_volume,
num_bid_clusters, num_ask_clusters, support_level_1, resistance_level_1, distance_to_support,
distance_to_resistance, liquidity_bid_5, liquidity_ask_5, liquidity_asymmetry,
effective_spread, kyle_lambda, amihud_illiquidity, roll_spread, depth_imbalance_ratio,
level_ttl_avg, level_ttl_std, orderbook_volatility, update_frequency, quote_intensity,
trade_arrival_rate, spread_volatility
"""
COL = {name: i for i, name in enumerate(ORDERBOOK_FEATURE_NAMES)}
WINDOWED = [
    "bid_intensity",
    "ask_intensity",
    "buy_sell_ratio",
    "smart_money_index",
    "effective_spread",
    "kyle_lambda",
    "amihud_illiquidity",
    "roll_spread",
    "level_ttl_avg",
    "level_ttl_std",
    "orderbook_volatility",
    "update_frequency",
    "quote_intensity",
    "trade_arrival_rate",
    "spread_volatility",
]


def test_names_follow_the_issue_and_are_documented() -> None:
    assert tuple(n.strip() for n in ISSUE_NAMES.split(",") if n.strip()) == ORDERBOOK_FEATURE_NAMES
    assert len(ORDERBOOK_FEATURE_NAMES) == 50
    assert list(ORDERBOOK_FEATURE_DOCS) == list(ORDERBOOK_FEATURE_NAMES)
    assert all(len(doc) > 20 and "\n" not in doc for doc in ORDERBOOK_FEATURE_DOCS.values())
    assert set(RAW_PRICE_FEATURES) <= set(ORDERBOOK_FEATURE_NAMES)
    assert all("RAW" in ORDERBOOK_FEATURE_DOCS[n] for n in RAW_PRICE_FEATURES)


def test_importing_registers_nothing_globally() -> None:
    assert "orderbook" not in REGISTRY


# -- a hand-computed book -------------------------------------------------------------------


def _side(levels: list[tuple[float, float]], shift: float) -> np.ndarray:
    out = np.full((10, 2), NAN)
    out[: len(levels)] = [(p + shift, q) for p, q in levels]
    return out


def _hand_book() -> SampledBook:
    bids = [(100.0, 2.0), (99.0, 1.0), (98.0, 3.0)]
    asks = [(101.0, 1.0), (102.0, 4.0)]
    shifts = [0.0, 1.0, 1.0]
    zeros = np.zeros(3)
    cols = {
        "time_ns": np.array([1, 2, 3]) * S,
        "valid": np.ones(3, dtype=bool),
        "bids": np.stack([_side(bids, s) for s in shifts]),
        "asks": np.stack([_side(asks, s) for s in shifts]),
        "book_updates": np.array([10, 8, 6]),
        "bbo_changes": np.array([3, 1, 1]),
        "bid_level_updates": np.array([4, 2, 0]),
        "ask_level_updates": np.array([1, 1, 1]),
        "trade_count": np.array([2, 3, 1]),
        "roll_pairs": np.array([0, 2, 1]),
        "ofi": np.array([0.5, -1.0, 2.0]),
        "buy_volume": np.array([1.0, 3.0, 0.0]),
        "sell_volume": np.array([1.0, 1.0, 2.0]),
        "buy_notional": np.array([100.0, 300.0, 0.0]),
        "sell_notional": np.array([100.0, 100.0, 200.0]),
        "whale_buy_volume": np.array([0.0, 3.0, 0.0]),
        "whale_sell_volume": zeros,
        "eff_spread_sum": np.array([1.0, 3.0, 0.0]),
        "eff_spread_volume": np.array([1.0, 1.0, 0.0]),
        "roll_sum_x": np.array([0.0, 1.0, -1.0]),
        "roll_sum_y": np.array([0.0, -1.0, 1.0]),
        "roll_sum_xy": np.array([0.0, -1.0, -1.0]),
        "last_price": np.array([101.0, 102.0, 100.0]),
    }
    return SampledBook.from_columns("binance", "X/USDT", S, cols)


HAND_CONFIG = OrderBookFeatureConfig(window=2, short_window=1, impact_notional=250.0)


def _bps(x: float, mid: float) -> float:
    return x / mid * 1e4


def test_features_of_a_hand_computed_book() -> None:
    book = _hand_book()
    f = orderbook_features_batch(book, HAND_CONFIG)
    state = OrderBookFeatureState(depth=10, cadence_ns=S, config=HAND_CONFIG)
    inc = np.array([state.update(book.row(i)) for i in range(3)])
    np.testing.assert_allclose(inc, f, rtol=1e-12, atol=1e-15)

    def at(name: str, row: int = 0) -> float:
        return float(f[row, COL[name]])

    mid = 100.5
    vb = (200 + 99 + 294) / 6
    va = (101 + 408) / 5
    expected = {
        "bid_ask_spread_abs": 1.0,
        "bid_ask_spread_rel": _bps(1.0, mid),
        "mid_price": mid,
        "micro_price": _bps((100 * 1 + 101 * 2) / 3 - mid, mid),
        "vwap_bid_5": _bps(mid - vb, mid),
        "vwap_ask_10": _bps(va - mid, mid),
        "depth_bid_5": 6.0,
        "depth_ask_10": 5.0,
        "total_bid_volume": 6.0,
        "book_depth_ratio": 1.2,
        "imbalance_5": 1 / 11,
        "price_pressure": _bps((vb * 5 + va * 6) / 11 - mid, mid),
        "volume_delta_5": 0.0,
        "order_flow_imbalance": 0.5,
        "largest_bid_cluster_price": _bps(mid - vb, mid),  # gaps 1, 1: one cluster
        "largest_bid_cluster_volume": 6.0,
        "num_bid_clusters": 1.0,
        "num_ask_clusters": 1.0,
        "support_level_1": _bps(mid - 98.0, mid),  # the 3-lot bid
        "resistance_level_1": _bps(102.0 - mid, mid),
        "distance_to_support": 2.5,
        "distance_to_resistance": 1.5,
        "liquidity_bid_5": 593.0,
        "liquidity_ask_5": 509.0,
        "depth_imbalance_ratio": 1.0,
    }
    # 250 quote: a buy takes 101 x 1 then 149 at 102; a sell 100 x 2 then 50 at 99
    buy_qty = 1 + 149 / 102
    sell_qty = 2 + 50 / 99
    buy = (0.5 + 149 / 102 * 1.5) / buy_qty / mid * 1e4
    sell = (2 * 0.5 + 50 / 99 * 1.5) / sell_qty / mid * 1e4
    expected["liquidity_asymmetry"] = (sell - buy) / (sell + buy)
    for name, value in expected.items():
        assert at(name) == pytest.approx(value, rel=1e-12), name

    # windows of 2 samples (1 s each); row 1 shifted the whole book up by 1
    r1 = math.log(101.5 / 100.5) * 1e4
    assert np.isnan(f[0, [COL[n] for n in WINDOWED]]).all()
    assert at("volume_delta_5", 1) == 0.5
    assert at("volume_delta_5", 2) == -1.0
    assert at("buy_sell_ratio", 1) == 2.0
    assert at("buy_sell_ratio", 2) == 1.0
    assert at("smart_money_index", 1) == 1.0
    assert at("trade_arrival_rate", 1) == 2.5
    assert at("update_frequency", 2) == 7.0
    assert at("bid_intensity", 2) == 1.0
    assert at("effective_spread", 1) == 2.0
    assert at("effective_spread", 2) == 3.0
    assert at("roll_spread", 1) == pytest.approx(_bps(2 * math.sqrt(0.5), 101.5))
    assert at("roll_spread", 2) == pytest.approx(_bps(2.0, 101.5))
    assert np.isnan(at("kyle_lambda", 1))  # the window holds the first (undefined) return
    assert at("kyle_lambda", 2) == pytest.approx((0 - r1) / (-2e-4 - 2e-4))
    assert at("amihud_illiquidity", 2) == pytest.approx((r1 / 4e-4 + 0.0) / 2)
    assert at("orderbook_volatility", 2) == pytest.approx(r1 / math.sqrt(2))
    assert np.isnan(at("level_ttl_avg", 2))  # every level's entry time is unknown


def test_a_sample_without_a_book_is_nan_but_trades_still_count() -> None:
    book = _hand_book()
    cols = dict(book.columns())
    for name in ("bids", "asks"):
        arr = cols[name].copy()
        arr[1] = NAN
        cols[name] = arr
    cols["valid"] = np.array([True, False, True])
    gap = SampledBook.from_columns("binance", "X/USDT", S, cols)
    f = orderbook_features_batch(gap, HAND_CONFIG)
    book_only = [n for n in ORDERBOOK_FEATURE_NAMES if n not in ("volume_delta_5", *WINDOWED)]
    assert np.isnan(f[1, [COL[n] for n in book_only]]).all()
    assert f[1, COL["volume_delta_5"]] == 0.5
    assert f[1, COL["buy_sell_ratio"]] == 2.0
    assert np.isnan(f[2, COL["spread_volatility"]])  # its window holds the missing book
    state = OrderBookFeatureState(depth=10, cadence_ns=S, config=HAND_CONFIG)
    inc = np.array([state.update(gap.row(i)) for i in range(3)])
    np.testing.assert_allclose(inc, f, rtol=1e-12, atol=1e-15)


def test_bad_input_is_rejected() -> None:
    book = _hand_book()
    state = OrderBookFeatureState(depth=10, cadence_ns=S)
    state.update(book.row(0))
    with pytest.raises(ValueError, match="cadence"):
        state.update(book.row(2))
    with pytest.raises(ValueError, match="levels"):
        OrderBookFeatureState(depth=20).update(book.row(0))
    with pytest.raises(ValueError, match=">= 10 levels"):
        OrderBookFeatureState(depth=5)
    with pytest.raises(ValueError, match="short_window"):
        OrderBookFeatureConfig(window=5, short_window=6)
    with pytest.raises(ValueError, match="sampled book"):
        register_orderbook_features(Registry()).run(
            CandleArrays.from_arrays(
                open=[1.0], high=[1.0], low=[1.0], close=[1.0], volume=[1.0], time_ns=[0]
            )
        )


# -- real data: spot BTC/USDT and ETH/USDT, both days, 1 s --------------------------------------


@pytest.fixture(scope="module")
def spot(data_dir: Path) -> dict[str, SampledBook]:
    files = sorted((data_dir / "hftbacktest" / "binance_spot").glob("*usdt_2024080[89].gz"))
    assert len(files) == 4
    sampled = sample_events(replay_files(files))
    return {symbol: book for (_, symbol), book in sampled.items()}


def _parity_failures(batch: np.ndarray, inc: np.ndarray) -> dict[str, int]:
    both_nan = np.isnan(batch) & np.isnan(inc)
    with np.errstate(invalid="ignore"):
        close = np.abs(batch - inc) <= 1e-9 * np.maximum(np.abs(batch), np.abs(inc)) + 1e-12
    ok = both_nan | close
    return {
        ORDERBOOK_FEATURE_NAMES[j]: int((~ok[:, j]).sum()) for j in range(50) if not ok[:, j].all()
    }


@pytest.mark.realdata
@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_batch_and_incremental_agree_on_real_books(
    spot: dict[str, SampledBook], symbol: str
) -> None:
    book = spot[symbol]
    assert len(book) > 640  # 10 min 50 s at 1 s
    batch = orderbook_features_batch(book)
    state = OrderBookFeatureState(depth=book.depth, cadence_ns=book.cadence_ns)
    inc = np.array([state.update(book.row(i)) for i in range(len(book))])
    assert _parity_failures(batch, inc) == {}
    # not vacuous: after the warm-up nearly every feature is a number
    warm = batch[61:]
    finite = np.isfinite(warm).mean(axis=0)
    rare = {ORDERBOOK_FEATURE_NAMES[j] for j in np.flatnonzero(finite < 0.9)}
    assert rare <= {"roll_spread"}, rare  # undefined while trade-price changes do not bounce
    assert np.isfinite(warm[:, COL["roll_spread"]]).any()
    assert (batch[:, COL["bid_ask_spread_abs"]][np.isfinite(batch[:, 0])] > 0).all()
    assert np.nanmax(np.abs(batch[:, COL["imbalance_5"]])) <= 1.0


@pytest.mark.realdata
def test_the_zero_roll_convention_keeps_parity(spot: dict[str, SampledBook]) -> None:
    book = spot["ETH/USDT"]
    cfg = OrderBookFeatureConfig(roll_nonnegative="zero")
    batch = orderbook_features_batch(book, cfg)
    state = OrderBookFeatureState(depth=book.depth, cadence_ns=book.cadence_ns, config=cfg)
    inc = np.array([state.update(book.row(i)) for i in range(len(book))])
    assert _parity_failures(batch, inc) == {}
    roll = batch[61:, COL["roll_spread"]]
    assert np.isfinite(roll).all()
    assert (roll == 0).mean() > 0.5


@pytest.mark.realdata
@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_no_look_ahead_on_real_books(spot: dict[str, SampledBook], symbol: str) -> None:
    reg = Registry()
    entry = register_orderbook_features(reg)
    assert entry.kind is Kind.FEATURE
    assert entry.outputs == ORDERBOOK_FEATURE_NAMES
    candles = sampled_candles(spot[symbol])
    report = check_lookahead(candles, registry=reg, cuts=20, seed=11)
    assert [str(v) for v in report.violations] == []
    assert report.ok
    assert len(report.results[0].cuts) == 20

    # the same check catches a feature that peeks one sample ahead
    def peek(c: CandleArrays) -> dict[str, np.ndarray]:
        out = entry.compute(c)["mid_price"]
        return {"next_mid": np.append(out[1:], np.nan)}

    reg.register("next_mid", peek, kind=Kind.FEATURE, warmup=1)
    leaky = check_lookahead(candles, registry=reg, names=["next_mid"], cuts=5, seed=1)
    assert not leaky.ok
    assert leaky.violations[0].output == "next_mid"
