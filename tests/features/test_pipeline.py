"""The 110-feature pipeline: names and views, candle alignment, the NaN policy, batch /
incremental parity on the recorded books and on a long real candle file, and the
look-ahead check over the registered candle channels."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from typer.testing import CliRunner

from mftbot.analysis.lookahead import check_lookahead
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.cli import check_cmd
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.data.resample import trades_to_candles
from mftbot.domain.events import MarketEvent, TradeTick
from mftbot.features import candle, indicator
from mftbot.features.candle import FeatureError
from mftbot.features.orderbook import ORDERBOOK_FEATURE_NAMES
from mftbot.features.pipeline import (
    CANDLE_SLICE,
    CHANNEL_SLICES,
    CHANNELS,
    DEFAULT_WINDOW,
    FEATURE_NAMES,
    CandleWindow,
    FeatureMatrix,
    IncrementalFeatures,
    batch_features,
    candle_channels,
    channel_view,
    feature_index,
)
from mftbot.features.sampling import SampledBook, sample_events

MINUTE = 60_000_000_000
RTOL = 1e-9


def assert_parity(batch: np.ndarray, live: np.ndarray, names: tuple[str, ...]) -> None:
    """Equal to ``RTOL`` relative, NaN where the other is NaN. The absolute floor for values
    near zero is ``RTOL`` times the column's typical magnitude (its median |value|)."""
    assert batch.shape == live.shape
    both_nan = np.isnan(batch) & np.isnan(live)
    assert np.array_equal(np.isnan(batch), np.isnan(live)), [
        names[j] for j in np.flatnonzero((np.isnan(batch) != np.isnan(live)).any(axis=0))
    ]
    scale = np.array(
        [
            np.median(np.abs(col[np.isfinite(col)])) if np.isfinite(col).any() else 0.0
            for col in batch.T
        ]
    )
    floor = RTOL * scale + 1e-300
    diff = np.abs(batch - live)
    limit = np.maximum(RTOL * np.maximum(np.abs(batch), np.abs(live)), floor)
    bad = ~both_nan & ~(diff <= limit)
    worst = {
        names[j]: float(np.nanmax(np.where(bad[:, j], diff[:, j], np.nan)))
        for j in np.flatnonzero(bad.any(axis=0))
    }
    assert worst == {}


# --------------------------------------------------------------------------- names, views


def test_names_channels_and_views() -> None:
    assert len(FEATURE_NAMES) == 110
    assert len(set(FEATURE_NAMES)) == 110
    assert list(CHANNELS) == ["orderbook", "candle", "indicator"]
    assert CHANNELS["orderbook"] == ORDERBOOK_FEATURE_NAMES
    assert CHANNELS["candle"] == candle.CANDLE_FEATURE_NAMES
    assert CHANNELS["indicator"] == indicator.INDICATOR_FEATURE_NAMES
    assert [len(CHANNELS[c]) for c in CHANNELS] == [50, 25, 35]
    for channel, names in CHANNELS.items():
        assert FEATURE_NAMES[CHANNEL_SLICES[channel]] == names
    assert FEATURE_NAMES[CANDLE_SLICE] == CHANNELS["candle"] + CHANNELS["indicator"]
    vector = np.arange(110.0)
    view = channel_view(vector, "indicator")
    assert np.shares_memory(view, vector)
    assert view[0] == feature_index("sma_10") == 75
    matrix = FeatureMatrix(np.arange(3, dtype=np.int64), np.tile(vector, (3, 1)))
    assert np.shares_memory(matrix.channel("candle"), matrix.values)
    assert matrix.column("rsi_14").tolist() == [feature_index("rsi_14")] * 3
    assert list(matrix.to_frame().columns) == list(FEATURE_NAMES)
    with pytest.raises(FeatureError):
        channel_view(vector, "nope")
    with pytest.raises(FeatureError):
        feature_index("nope")
    with pytest.raises(FeatureError):
        channel_view(np.zeros(60), "candle")


# --------------------------------------------------------------------------- recorded books


def _trade_candles(events: list[MarketEvent], symbol: str) -> CandleArrays:
    """1m candles from the recording's trades, on the receive clock the samples use."""
    trades = [e for e in events if type(e) is TradeTick and e.symbol == symbol]
    frame = trades_to_candles(
        np.array([t.ts_recv for t in trades], dtype=np.int64),
        np.array([t.price for t in trades]),
        np.array([t.size for t in trades]),
        "1m",
    )
    return CandleArrays.from_frame(frame)


@pytest.fixture(scope="module")
def recorded(data_dir: Path) -> dict[str, tuple[SampledBook, CandleArrays]]:
    """Spot BTC/USDT and ETH/USDT (Binance, ~11 minutes each) sampled every second, with 1m
    candles built from their trades."""
    found = find_binance_recordings(data_dir, "spot")
    files = [*found["BTC/USDT"], *found["ETH/USDT"]]
    events = list(replay_files(files))
    sampled = sample_events(events)
    out = {}
    for (_, symbol), book in sampled.items():
        out[symbol] = (book, _trade_candles(events, symbol))
    assert set(out) == {"BTC/USDT", "ETH/USDT"}
    return out


def _live(book: SampledBook, candles: CandleArrays) -> np.ndarray:
    """The incremental form, fed as a live session would be: each candle when it closes,
    then the sample."""
    live = IncrementalFeatures(depth=book.depth, cadence_ns=book.cadence_ns)
    closes = candles.time_ns + MINUTE
    k = 0
    rows = []
    for i in range(len(book)):
        row = book.row(i)
        while k < len(candles) and closes[k] <= row.time_ns:
            live.candles.append(
                int(candles.time_ns[k]),
                float(candles.open[k]),
                float(candles.high[k]),
                float(candles.low[k]),
                float(candles.close[k]),
                float(candles.volume[k]),
            )
            k += 1
        rows.append(live.update(row))
    return np.array(rows)


@pytest.mark.parametrize("symbol", ["BTC/USDT", "ETH/USDT"])
def test_batch_and_incremental_agree_on_recorded_books(
    recorded: dict[str, tuple[SampledBook, CandleArrays]], symbol: str
) -> None:
    book, candles = recorded[symbol]
    batch = batch_features(book, candles)
    assert batch.values.shape == (len(book), 110)
    assert len(book) > 600
    live = _live(book, candles)
    assert_parity(batch.values, live, FEATURE_NAMES)
    # The comparison covered real values: most book features and the early candle ones.
    assert np.isfinite(batch.channel("orderbook")).mean() > 0.8
    assert np.isfinite(batch.column("sma_10")).sum() > 0


def test_candle_features_are_those_of_the_last_closed_candle(
    recorded: dict[str, tuple[SampledBook, CandleArrays]],
) -> None:
    book, candles = recorded["BTC/USDT"]
    batch = batch_features(book, candles)
    rows = candle_channels(candles)
    closes = candles.time_ns + MINUTE
    for i, t in enumerate(book.time_ns):
        done = np.flatnonzero(closes <= t)
        got = batch.values[i, CANDLE_SLICE]
        if done.size == 0:
            assert np.isnan(got).all()  # before the first close: NaN, not 0
            continue
        k = int(done[-1])
        np.testing.assert_array_equal(got, rows[k])  # untouched: no filling
        assert k + 1 == len(candles) or closes[k + 1] > t  # never the forming candle


# --------------------------------------------------------------------------- long candle file


@pytest.fixture(scope="module")
def long_candles(data_dir: Path) -> CandleArrays:
    """4,000 real BTC/USDT 1m candles crossing two UTC midnights."""
    frame = pd.read_feather(data_dir / "candles_filimonov/BTC_USDT-1m.feather")
    return CandleArrays.from_frame(frame.iloc[90_000:94_000])


def test_candle_window_agrees_with_the_full_history(long_candles: CandleArrays) -> None:
    batch = candle_channels(long_candles)
    window = CandleWindow(DEFAULT_WINDOW)
    live = np.empty_like(batch)
    held = []
    for i in range(len(long_candles)):
        c = long_candles
        live[i] = window.append(
            int(c.time_ns[i]), c.open[i], c.high[i], c.low[i], c.close[i], c.volume[i]
        )
        held.append(len(window))
    names = FEATURE_NAMES[CANDLE_SLICE]
    assert_parity(batch, live, names)
    # The window did trim (so parity is not just the same computation), within its bound.
    day = 1440
    assert max(held) <= max(DEFAULT_WINDOW, day) + 1
    assert held[-1] < len(long_candles)
    assert min(held[DEFAULT_WINDOW:]) >= DEFAULT_WINDOW


def test_candle_window_refuses_bad_candles_without_keeping_them() -> None:
    window = CandleWindow()
    assert np.isnan(window.latest).all()
    window.append(0, 100.0, 101.0, 99.0, 100.5, 2.0)
    first = window.latest.copy()
    with pytest.raises(FeatureError, match="not after"):
        window.append(0, 100.0, 101.0, 99.0, 100.5, 2.0)
    with pytest.raises(FeatureError, match="high below"):
        window.append(MINUTE, 100.0, 99.0, 101.0, 100.5, 2.0)
    with pytest.raises(FeatureError, match="volume"):
        window.append(MINUTE, 100.0, 101.0, 99.0, 100.5, float("nan"))
    assert len(window) == 1
    np.testing.assert_array_equal(window.latest, first)
    with pytest.raises(FeatureError, match="window"):
        CandleWindow(100)


# --------------------------------------------------------------------------- look-ahead


def test_candle_channels_are_registered_and_free_of_lookahead(long_candles: CandleArrays) -> None:
    names = [candle.ENTRY_NAME, indicator.ENTRY_NAME]
    assert all(REGISTRY.get(n).kind is Kind.FEATURE for n in names)
    report = check_lookahead(long_candles, names=names, cuts=20, seed=3)
    assert report.ok
    assert [str(v) for v in report.violations] == []
    assert sum(len(r.outputs) for r in report.results) == 60


def test_check_lookahead_cli_covers_the_channels(data_dir: Path) -> None:
    # The sub-app itself (a one-command Typer app takes no command name): the root app's
    # callback would point structlog at CliRunner's stream, closed after the call.
    result = CliRunner().invoke(
        check_cmd.app,
        [
            "--data",
            str(data_dir),
            "--bars",
            "1500",
            "--cuts",
            "4",
            "--json",
            "--module",
            "mftbot.features.pipeline",
        ],
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    ours = [r for r in report["results"] if r["name"] in (candle.ENTRY_NAME, indicator.ENTRY_NAME)]
    assert [r["ok"] for r in ours] == [True, True]
    assert report["violations"] == []
