"""The indicator channel: every feature against TA-Lib called directly or a pandas /
plain-Python reference on real candles, warm-ups, scale invariance, no look-ahead."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import talib

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.features.candle import FeatureError
from mftbot.features.indicator import (
    ENTRY_NAME,
    INDICATOR_FEATURE_NAMES,
    INDICATOR_SCALE_FREE,
    INDICATOR_WARMUP,
    MEMORY,
    indicator_feature_columns,
    indicator_features,
    latest_indicator_features,
)

EXPECTED_NAMES = [
    "sma_10",
    "sma_20",
    "sma_50",
    "ema_10",
    "ema_20",
    "ema_50",
    "macd",
    "macd_signal",
    "macd_histogram",
    "adx",
    "plus_di",
    "minus_di",
    "rsi_14",
    "rsi_28",
    "stochastic_k",
    "stochastic_d",
    "williams_r",
    "cci",
    "momentum_10",
    "roc",
    "mfi",
    "bollinger_upper",
    "bollinger_middle",
    "bollinger_lower",
    "bollinger_width",
    "bollinger_pct",
    "atr_14",
    "keltner_upper",
    "keltner_lower",
    "obv",
    "vwap",
    "ad_line",
    "cmf",
    "vpt",
    "nvi",
]


@pytest.fixture(scope="module")
def frame(data_dir: Path) -> pd.DataFrame:
    """4,000 real BTC/USDT 1m candles (Binance, 2025-07; crosses UTC midnights)."""
    raw = pd.read_feather(data_dir / "candles_filimonov/BTC_USDT-1m.feather")
    return raw.iloc[70_000:74_000].reset_index(drop=True)


@pytest.fixture(scope="module")
def candles(frame: pd.DataFrame) -> CandleArrays:
    return CandleArrays.from_frame(frame)


@pytest.fixture(scope="module")
def cols(candles: CandleArrays) -> dict[str, np.ndarray]:
    return indicator_feature_columns(candles)


def _close(got: np.ndarray, want: np.ndarray | pd.Series, rtol: float = 1e-9) -> None:
    np.testing.assert_allclose(got, np.asarray(want, dtype=float), rtol=rtol, atol=1e-12)


def test_names_are_the_35_in_order(candles: CandleArrays) -> None:
    assert list(INDICATOR_FEATURE_NAMES) == EXPECTED_NAMES
    assert set(INDICATOR_WARMUP) == set(INDICATOR_SCALE_FREE) == set(EXPECTED_NAMES)
    matrix = indicator_features(candles)
    assert matrix.shape == (len(candles), 35)


def test_talib_features(frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    h, lo, c, v = (frame[k].to_numpy() for k in ("high", "low", "close", "volume"))
    for n in (10, 20, 50):
        _close(cols[f"sma_{n}"], talib.SMA(c, n) / c - 1)
        _close(cols[f"ema_{n}"], talib.EMA(c, n) / c - 1)
    line, signal, hist = talib.MACD(c, 12, 26, 9)
    _close(cols["macd"], line / c)
    _close(cols["macd_signal"], signal / c)
    _close(cols["macd_histogram"], hist / c)
    _close(cols["adx"], talib.ADX(h, lo, c, 14))
    _close(cols["plus_di"], talib.PLUS_DI(h, lo, c, 14))
    _close(cols["minus_di"], talib.MINUS_DI(h, lo, c, 14))
    _close(cols["rsi_14"], talib.RSI(c, 14))
    _close(cols["rsi_28"], talib.RSI(c, 28))
    k, d = talib.STOCH(h, lo, c, 14, 3, 0, 3, 0)
    _close(cols["stochastic_k"], k)
    _close(cols["stochastic_d"], d)
    _close(cols["williams_r"], talib.WILLR(h, lo, c, 14))
    _close(cols["cci"], talib.CCI(h, lo, c, 20))
    _close(cols["momentum_10"], talib.MOM(c, 10) / c)
    _close(cols["roc"], talib.ROC(c, 10))
    _close(cols["mfi"], talib.MFI(h, lo, c, v, 14))
    _close(cols["atr_14"], talib.ATR(h, lo, c, 14) / c)


def test_bands_against_pandas(frame: pd.DataFrame, cols: dict[str, np.ndarray]) -> None:
    h, lo, c = frame["high"], frame["low"], frame["close"]
    mid = c.rolling(20).mean()
    sd = c.rolling(20).std(ddof=0)
    upper, lower = mid + 2 * sd, mid - 2 * sd
    _close(cols["bollinger_upper"], upper / c - 1, rtol=1e-7)
    _close(cols["bollinger_middle"], mid / c - 1, rtol=1e-7)
    _close(cols["bollinger_lower"], lower / c - 1, rtol=1e-7)
    _close(cols["bollinger_width"], (upper - lower) / mid, rtol=1e-6)
    _close(cols["bollinger_pct"], (c - lower) / (upper - lower), rtol=1e-6)
    # Keltner: EMA20 (SMA seed) +- 2 * Wilder ATR10 (first value = mean of 10 true ranges).
    ema = talib.EMA(c.to_numpy(), 20)
    tr = np.maximum(h - lo, np.maximum((h - c.shift(1)).abs(), (lo - c.shift(1)).abs()))
    atr = np.full(len(c), np.nan)
    atr[10] = tr.iloc[1:11].mean()
    for i in range(11, len(c)):
        atr[i] = (atr[i - 1] * 9 + tr.iloc[i]) / 10
    _close(cols["keltner_upper"], (ema + 2 * atr) / c - 1, rtol=1e-7)
    _close(cols["keltner_lower"], (ema - 2 * atr) / c - 1, rtol=1e-7)


def test_volume_features_against_references(
    frame: pd.DataFrame, cols: dict[str, np.ndarray]
) -> None:
    h, lo, c, v = (frame[k] for k in ("high", "low", "close", "volume"))
    vol20 = v.rolling(20).sum()
    signed = np.sign(c.diff()) * v  # OBV steps; the first bar has none
    _close(cols["obv"], signed.rolling(20).sum() / vol20, rtol=1e-7)
    _close(cols["vpt"], (c.pct_change() * v).rolling(20).sum() / vol20, rtol=1e-6)
    mfm = ((c - lo) - (h - c)) / (h - lo)
    mfv = mfm.where(h > lo, 0.0) * v
    _close(cols["cmf"], mfv.rolling(20).sum() / vol20, rtol=1e-7)
    ad = mfv.cumsum().to_numpy()
    chaikin = talib.EMA(ad, 3) - talib.EMA(ad, 10)
    _close(cols["ad_line"], chaikin / v.rolling(10).mean(), rtol=1e-6)
    day = frame["date"].dt.floor("D")
    tp = (h + lo + c) / 3
    session = (tp * v).groupby(day).cumsum() / v.groupby(day).cumsum()
    _close(cols["vwap"], session / c - 1)
    nvi = [1000.0]
    for i in range(1, len(c)):
        step = c.iloc[i] / c.iloc[i - 1] - 1 if v.iloc[i] < v.iloc[i - 1] else 0.0
        nvi.append(nvi[-1] * (1 + step))
    nvi_s = pd.Series(nvi)
    _close(cols["nvi"], nvi_s / nvi_s.rolling(255).mean() - 1, rtol=1e-7)


def test_warmups_are_the_documented_ones(cols: dict[str, np.ndarray]) -> None:
    for name, column in cols.items():
        finite = np.flatnonzero(~np.isnan(column))
        assert int(finite[0]) == INDICATOR_WARMUP[name], name
        assert not np.isnan(column[finite[0] :]).any(), name


def test_every_feature_ignores_the_price_and_volume_level(
    frame: pd.DataFrame, cols: dict[str, np.ndarray]
) -> None:
    assert all(INDICATOR_SCALE_FREE.values())
    scaled = frame.copy()
    for k in ("open", "high", "low", "close"):
        scaled[k] *= 0.00731
    scaled["volume"] *= 412.0
    other = indicator_feature_columns(CandleArrays.from_frame(scaled))
    for name in INDICATOR_FEATURE_NAMES:
        np.testing.assert_allclose(other[name], cols[name], rtol=1e-6, atol=1e-9, err_msg=name)


def test_registered_and_free_of_lookahead(candles: CandleArrays) -> None:
    entry = REGISTRY.get(ENTRY_NAME)
    assert entry.kind is Kind.FEATURE
    assert entry.outputs == INDICATOR_FEATURE_NAMES
    assert entry.warmup == max(INDICATOR_WARMUP.values())
    result = check_entry(entry, candles, cuts=20, seed=5)
    assert result.error is None
    assert [str(v) for v in result.violations] == []


def latest_rows(candles: CandleArrays, stops: range, *, keep: int | None = None) -> np.ndarray:
    """:func:`latest_indicator_features` of each prefix ``candles[:stop]``; with ``keep``,
    of its last ``keep`` candles only (``trimmed``), extended back to the start of the
    newest candle's UTC day."""
    out = np.empty((len(stops), len(INDICATOR_FEATURE_NAMES)))
    day = 86_400_000_000_000
    for row, stop in enumerate(stops):
        start = 0
        if keep is not None and stop > keep:
            midnight = int(candles.time_ns[stop - 1]) // day * day
            start = min(stop - keep, int(np.searchsorted(candles.time_ns, midnight)))
        s = slice(start, stop)
        latest_indicator_features(
            candles.high[s],
            candles.low[s],
            candles.close[s],
            candles.volume[s],
            candles.time_ns[s],
            out[row],
            trimmed=start > 0,
        )
    return out


def edge_candles(n: int = 700, seed: int = 9) -> CandleArrays:
    """A random walk with flat candles (high == low), runs of zero volume, a stretch of one
    repeated bar and dojis, crossing a UTC midnight."""
    rng = np.random.default_rng(seed)
    close = 50.0 * np.exp(np.cumsum(rng.normal(0.0, 0.004, n)))
    open_ = np.concatenate(([close[0]], close[:-1])) * np.exp(rng.normal(0.0, 0.002, n))
    high = np.maximum(open_, close) * np.exp(rng.uniform(0.0, 0.003, n))
    low = np.minimum(open_, close) * np.exp(-rng.uniform(0.0, 0.003, n))
    volume = rng.exponential(5.0, n)
    flat = rng.random(n) < 0.1
    open_[flat] = high[flat] = low[flat] = close[flat]
    volume[60:90] = 0.0
    volume[rng.random(n) < 0.05] = 0.0
    for i in range(300, 340):
        open_[i], high[i], low[i], close[i] = open_[299], high[299], low[299], close[299]
    doji = rng.random(n) < 0.05
    close[doji] = open_[doji]
    high = np.maximum(high, np.maximum(open_, close))
    low = np.minimum(low, np.minimum(open_, close))
    day = 86_400_000_000_000
    times = 19_000 * day - 100 * 60_000_000_000 + np.arange(n, dtype=np.int64) * 60_000_000_000
    return CandleArrays.from_arrays(
        open=open_, high=high, low=low, close=close, volume=volume, time_ns=times
    )


def assert_rows_match(batch: np.ndarray, live: np.ndarray) -> None:
    """NaN exactly where the batch is NaN, else equal to 1e-9 relative (absolute floor:
    1e-9 of the column's median magnitude), as the pipeline's parity test."""
    names = INDICATOR_FEATURE_NAMES
    assert np.array_equal(np.isnan(batch), np.isnan(live)), [
        names[j] for j in np.flatnonzero((np.isnan(batch) != np.isnan(live)).any(axis=0))
    ]
    scale = np.array(
        [np.median(np.abs(c[np.isfinite(c)])) if np.isfinite(c).any() else 0.0 for c in batch.T]
    )
    limit = np.maximum(1e-9 * np.maximum(np.abs(batch), np.abs(live)), 1e-9 * scale + 1e-300)
    bad = ~np.isnan(batch) & ~(np.abs(batch - live) <= limit)
    assert [names[j] for j in np.flatnonzero(bad.any(axis=0))] == []


@pytest.mark.parametrize("source", ["real", "edge cases"])
def test_latest_row_is_the_batch_row(candles: CandleArrays, source: str) -> None:
    bars = candles if source == "real" else edge_candles()
    stops = range(1, min(len(bars), 700) + 1)
    batch = indicator_features(bars)[: len(stops)]
    assert_rows_match(batch, latest_rows(bars, stops))


def test_latest_row_over_a_trimmed_window_is_the_batch_row(candles: CandleArrays) -> None:
    # Each recursion runs over its MEMORY only: the seeds are forgotten to 1e-9.
    keep = max(MEMORY.values())
    stops = range(keep + 1, len(candles) + 1, 7)
    batch = indicator_features(candles)[[stop - 1 for stop in stops]]
    assert_rows_match(batch, latest_rows(candles, stops, keep=keep))


def test_latest_row_needs_a_candle() -> None:
    empty = np.empty(0)
    with pytest.raises(FeatureError, match="no candle"):
        latest_indicator_features(empty, empty, empty, empty, np.empty(0, np.int64), np.empty(35))
