"""The candle channel: each feature against an independent pandas / plain-Python computation
on real candles, warm-ups, scale invariance, the NaN policy, bad input, no look-ahead."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.features.candle import (
    CANDLE_FEATURE_NAMES,
    CANDLE_SCALE_FREE,
    CANDLE_WARMUP,
    ENTRY_NAME,
    FeatureError,
    candle_feature_columns,
    candle_features,
    latest_candle_features,
    validate_candle,
)

EXPECTED_NAMES = [
    "open",
    "high",
    "low",
    "close",
    "volume",
    "typical_price",
    "returns",
    "log_returns",
    "high_low_range",
    "close_open_diff",
    "upper_shadow",
    "lower_shadow",
    "body_size",
    "realized_volatility",
    "parkinson_volatility",
    "garman_klass_volatility",
    "volume_ma_ratio",
    "volume_change_rate",
    "price_volume_trend",
    "volume_weighted_price",
    "money_flow",
    "doji_strength",
    "hammer_strength",
    "engulfing_strength",
    "gap_size",
]


@pytest.fixture(scope="module")
def frame(data_dir: Path) -> pd.DataFrame:
    """3,000 real ETH/USDT 1m candles (Binance, 2025-06)."""
    raw = pd.read_feather(data_dir / "candles_filimonov/ETH_USDT-1m.feather")
    return raw.iloc[20_000:23_000].reset_index(drop=True)


@pytest.fixture(scope="module")
def candles(frame: pd.DataFrame) -> CandleArrays:
    return CandleArrays.from_frame(frame)


@pytest.fixture(scope="module")
def cols(candles: CandleArrays) -> dict[str, np.ndarray]:
    return candle_feature_columns(candles)


def _close(got: np.ndarray, want: np.ndarray | pd.Series, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(got, np.asarray(want, dtype=float), rtol=rtol, atol=1e-15)


def test_names_are_the_25_in_order() -> None:
    assert list(CANDLE_FEATURE_NAMES) == EXPECTED_NAMES
    assert set(CANDLE_WARMUP) == set(CANDLE_SCALE_FREE) == set(EXPECTED_NAMES)
    assert [n for n, free in CANDLE_SCALE_FREE.items() if not free] == ["close", "volume"]


def test_matrix_matches_the_columns(candles: CandleArrays, cols: dict[str, np.ndarray]) -> None:
    matrix = candle_features(candles)
    assert matrix.shape == (len(candles), 25)
    for j, name in enumerate(CANDLE_FEATURE_NAMES):
        np.testing.assert_array_equal(matrix[:, j], cols[name])


def test_bar_shape_features_against_pandas(
    frame: pd.DataFrame, cols: dict[str, np.ndarray]
) -> None:
    o, h, lo, c, v = (frame[k] for k in ("open", "high", "low", "close", "volume"))
    pc = c.shift(1)
    _close(cols["open"], o / c - 1)
    _close(cols["high"], h / c - 1)
    _close(cols["low"], lo / c - 1)
    _close(cols["close"], c)
    _close(cols["volume"], v)
    _close(cols["typical_price"], (h + lo + c) / (3 * c) - 1)
    _close(cols["returns"], c.pct_change())
    _close(cols["log_returns"], np.log(c).diff())
    _close(cols["high_low_range"], (h - lo) / c)
    _close(cols["close_open_diff"], (c - o) / o)
    _close(cols["upper_shadow"], (h - np.maximum(o, c)) / c)
    _close(cols["lower_shadow"], (np.minimum(o, c) - lo) / c)
    _close(cols["body_size"], (c - o).abs() / c)
    _close(cols["gap_size"], (o - pc) / pc)


def test_rolling_features_against_pandas(frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    o, h, lo, c, v = (frame[k] for k in ("open", "high", "low", "close", "volume"))
    logret = np.log(c).diff()
    _close(cols["realized_volatility"], logret.rolling(20).std(ddof=1), rtol=1e-7)
    hl = np.log(h / lo)
    _close(
        cols["parkinson_volatility"], np.sqrt((hl**2).rolling(20).mean() / (4 * math.log(2))), 1e-7
    )
    gk = 0.5 * hl**2 - (2 * math.log(2) - 1) * np.log(c / o) ** 2
    _close(cols["garman_klass_volatility"], np.sqrt(gk.rolling(20).mean().clip(lower=0)), 1e-7)
    vma = v.rolling(20).mean()
    _close(cols["volume_ma_ratio"], v / vma, rtol=1e-7)
    _close(cols["volume_change_rate"], v / v.shift(1) - 1)
    _close(cols["price_volume_trend"], c.pct_change() * v / vma, rtol=1e-7)
    tp = (h + lo + c) / 3
    _close(cols["volume_weighted_price"], (tp * v).rolling(20).sum() / v.rolling(20).sum() / c - 1)
    mfm = ((c - lo) - (h - c)) / (h - lo)
    _close(cols["money_flow"], mfm.where(h > lo, 0.0) * v / vma, rtol=1e-7)


def test_patterns_against_a_loop(frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    rows = frame[["open", "high", "low", "close"]].to_numpy().tolist()
    doji, hammer, engulf = [], [], []
    for i, (o, h, lo, c) in enumerate(rows):
        span = h - lo
        doji.append(1 - abs(c - o) / span if span > 0 else math.nan)
        lower, upper = min(o, c) - lo, h - max(o, c)
        hammer.append((lower - upper) / span if span > 0 else math.nan)
        if i == 0:
            engulf.append(math.nan)
            continue
        po, _, _, pc = rows[i - 1]
        value = 0.0
        if c > o and pc < po and o <= pc and c >= po:
            value = 1 - (po - pc) / (c - o)
        elif c < o and pc > po and o >= pc and c <= po:
            value = -(1 - (pc - po) / (o - c))
        engulf.append(value)
    _close(cols["doji_strength"], doji)
    _close(cols["hammer_strength"], hammer)
    _close(cols["engulfing_strength"], engulf)
    # Real data holds both engulfing directions.
    assert (cols["engulfing_strength"] > 0).any()
    assert (cols["engulfing_strength"] < 0).any()


def test_warmups_are_the_documented_ones(cols: dict[str, np.ndarray]) -> None:
    for name, column in cols.items():
        finite = np.flatnonzero(~np.isnan(column))
        assert int(finite[0]) == CANDLE_WARMUP[name], name


def test_scale_free_features_ignore_the_price_and_volume_level(
    frame: pd.DataFrame, cols: dict[str, np.ndarray]
) -> None:
    scaled = frame.copy()
    for k in ("open", "high", "low", "close"):
        scaled[k] *= 1234.5
    scaled["volume"] *= 0.37
    other = candle_feature_columns(CandleArrays.from_frame(scaled))
    for name, free in CANDLE_SCALE_FREE.items():
        if free:
            np.testing.assert_allclose(other[name], cols[name], rtol=1e-8, atol=1e-10, err_msg=name)
        else:
            assert not np.allclose(other[name], cols[name]), name


def _bars(rows: list[tuple[float, float, float, float, float]]) -> CandleArrays:
    o, h, lo, c, v = (list(x) for x in zip(*rows, strict=True))
    minutes = np.arange(len(rows), dtype=np.int64) * 60_000_000_000
    return CandleArrays.from_arrays(open=o, high=h, low=lo, close=c, volume=v, time_ns=minutes)


def test_undefined_values_are_nan_not_zero() -> None:
    rows = [(100.0, 101.0, 99.0, 100.5, 0.0)] + [(100.0, 100.0, 100.0, 100.0, 2.0)] * 24
    cols = candle_feature_columns(_bars(rows))
    assert np.isnan(cols["doji_strength"][1:]).all()  # flat candles: no range
    assert np.isnan(cols["hammer_strength"][1:]).all()
    assert np.isnan(cols["volume_change_rate"][1])  # previous volume 0
    assert cols["volume_change_rate"][2] == 0.0
    assert (cols["money_flow"][19:] == 0.0).all()  # Chaikin multiplier is 0 on a flat bar
    zero_volume = [(100.0, 101.0, 99.0, 100.5, 0.0)] * 25
    dry = candle_feature_columns(_bars(zero_volume))
    assert np.isnan(dry["volume_ma_ratio"]).all()
    assert np.isnan(dry["volume_weighted_price"]).all()


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ((100.0, 101.0, 99.0, math.nan, 1.0), "close"),
        ((100.0, 99.0, 101.0, 100.0, 1.0), "high below"),
        ((100.0, 101.0, 100.5, 100.0, 1.0), "low above"),
        ((100.0, 101.0, 99.0, 100.0, -1.0), "volume"),
        ((0.0, 101.0, 0.0, 100.0, 1.0), "open"),
    ],
)
def test_bad_candles_raise(row: tuple[float, ...], match: str) -> None:
    good = (100.0, 101.0, 99.0, 100.0, 1.0)
    with pytest.raises(FeatureError, match=match):
        candle_features(_bars([good, row, good]))  # type: ignore[list-item]


def test_times_must_increase() -> None:
    bars = CandleArrays.from_arrays(
        open=[1.0, 1.0],
        high=[1.0, 1.0],
        low=[1.0, 1.0],
        close=[1.0, 1.0],
        volume=[1.0, 1.0],
        time_ns=[5, 5],
    )
    with pytest.raises(FeatureError, match="open time"):
        candle_features(bars)


def test_registered_and_free_of_lookahead(candles: CandleArrays) -> None:
    entry = REGISTRY.get(ENTRY_NAME)
    assert entry.kind is Kind.FEATURE
    assert entry.outputs == CANDLE_FEATURE_NAMES
    result = check_entry(entry, candles, cuts=20, seed=11)
    assert result.error is None
    assert [str(v) for v in result.violations] == []


def edge_candles(n: int = 400, seed: int = 5) -> CandleArrays:
    """Candles that hit every special case: a random walk with flat candles (high == low),
    runs of zero volume, repeated bars, dojis and gaps, crossing a UTC midnight."""
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.roll(close, 1) * np.exp(rng.normal(0.0, 0.002, n))
    open_[0] = close[0]
    high = np.maximum(open_, close) * np.exp(rng.uniform(0.0, 0.003, n))
    low = np.minimum(open_, close) * np.exp(-rng.uniform(0.0, 0.003, n))
    volume = rng.exponential(5.0, n)
    flat = rng.random(n) < 0.1
    open_[flat] = high[flat] = low[flat] = close[flat]
    volume[60:90] = 0.0
    volume[rng.random(n) < 0.05] = 0.0
    for i in range(200, 230):  # the same bar again and again
        open_[i], high[i], low[i], close[i] = open_[199], high[199], low[199], close[199]
    doji = rng.random(n) < 0.05
    close[doji] = open_[doji]
    high, low = (
        np.maximum(high, np.maximum(open_, close)),
        np.minimum(low, np.minimum(open_, close)),
    )
    start = (
        1_700_000_000_000_000_000 // 86_400_000_000_000 * 86_400_000_000_000 - 100 * 60_000_000_000
    )
    times = start + np.arange(n, dtype=np.int64) * 60_000_000_000
    return CandleArrays.from_arrays(
        open=open_, high=high, low=low, close=close, volume=volume, time_ns=times
    )


def assert_rows_match(batch: np.ndarray, live: np.ndarray, names: tuple[str, ...]) -> None:
    """NaN exactly where the batch is NaN, else equal to 1e-9 relative (absolute floor:
    1e-9 of the column's median magnitude)."""
    assert np.array_equal(np.isnan(batch), np.isnan(live)), [
        names[j] for j in np.flatnonzero((np.isnan(batch) != np.isnan(live)).any(axis=0))
    ]
    scale = np.array(
        [np.median(np.abs(c[np.isfinite(c)])) if np.isfinite(c).any() else 0.0 for c in batch.T]
    )
    limit = np.maximum(1e-9 * np.maximum(np.abs(batch), np.abs(live)), 1e-9 * scale + 1e-300)
    bad = ~np.isnan(batch) & ~(np.abs(batch - live) <= limit)
    assert [names[j] for j in np.flatnonzero(bad.any(axis=0))] == []


def latest_rows(candles: CandleArrays, stops: range) -> np.ndarray:
    """:func:`latest_candle_features` of each prefix ``candles[:stop]``."""
    out = np.empty((len(stops), len(CANDLE_FEATURE_NAMES)))
    for row, stop in enumerate(stops):
        latest_candle_features(
            candles.open[:stop],
            candles.high[:stop],
            candles.low[:stop],
            candles.close[:stop],
            candles.volume[:stop],
            out[row],
        )
    return out


@pytest.mark.parametrize("source", ["real", "edge cases"])
def test_latest_row_is_the_batch_row(candles: CandleArrays, source: str) -> None:
    bars = candles if source == "real" else edge_candles()
    batch = candle_features(bars)
    stops = range(1, len(bars) + 1)
    assert_rows_match(batch, latest_rows(bars, stops), CANDLE_FEATURE_NAMES)
    # Only the last LATEST_LOOKBACK candles are read: a long tail gives the same row.
    tail = CandleArrays.from_arrays(
        open=bars.open[-21:],
        high=bars.high[-21:],
        low=bars.low[-21:],
        close=bars.close[-21:],
        volume=bars.volume[-21:],
        time_ns=bars.time_ns[-21:],
    )
    assert_rows_match(batch[-1:], latest_rows(tail, range(21, 22)), CANDLE_FEATURE_NAMES)


@pytest.mark.parametrize(
    ("row", "match"),
    [
        ((100.0, 101.0, 99.0, math.nan, 1.0), "close"),
        ((100.0, 99.0, 101.0, 100.0, 1.0), "high below"),
        ((100.0, 101.0, 100.5, 100.0, 1.0), "low above"),
        ((100.0, 101.0, 99.0, 100.0, -1.0), "volume"),
        ((0.0, 101.0, 0.0, 100.0, 1.0), "open"),
        ((100.0, math.inf, 99.0, 100.0, 1.0), "high is NaN, infinite"),
    ],
)
def test_one_candle_is_validated_like_an_array(row: tuple[float, ...], match: str) -> None:
    with pytest.raises(FeatureError, match=match) as one:
        validate_candle(7, *row)
    with pytest.raises(FeatureError) as many:
        candle_features(_bars([row]))  # type: ignore[list-item]
    assert str(one.value) == str(many.value).replace("open time 0 ns", "open time 7 ns")
    validate_candle(7, 100.0, 101.0, 99.0, 100.0, 0.0)  # a good one passes
