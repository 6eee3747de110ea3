"""The ML collector over a real recording (spot BTC/USDT, ~11 minutes across a UTC midnight):
row counts, layout, schema, chunking, rows equal to the batch pipeline, and labels equal to
a direct computation."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.core.errors import DataError
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.data.resample import trades_to_candles
from mftbot.domain.events import MarketEvent, TradeTick
from mftbot.features.collector import (
    PRICE_COLUMNS,
    ROW_COLUMNS,
    CollectorSummary,
    FeatureCollector,
    LabelSpec,
    label_dataset,
    partitions,
    read_partition,
    row_schema,
    write_part,
)
from mftbot.features.labels import BarrierSpec, triple_barrier
from mftbot.features.pipeline import CANDLE_SLICE, FEATURE_NAMES, batch_features
from mftbot.features.sampling import sample_events

CHUNK = 256
SECOND = 1_000_000_000


@pytest.fixture(scope="module")
def events(data_dir: Path) -> list[MarketEvent]:
    files = find_binance_recordings(data_dir, "spot")["BTC/USDT"]
    return list(replay_files(files))


@pytest.fixture(scope="module")
def collected(
    events: list[MarketEvent], tmp_path_factory: pytest.TempPathFactory
) -> tuple[Path, CollectorSummary, pd.DataFrame]:
    out = tmp_path_factory.mktemp("collected")
    collector = FeatureCollector(out, chunk_rows=CHUNK)
    peak = 0
    for event in events:
        collector.on_event(event)
        peak = max(peak, collector.buffered_rows)
    summary = collector.finish()
    assert peak < CHUNK  # memory bounded: never more than one chunk buffered
    frame = pd.concat([read_partition(p) for p in partitions(out)], ignore_index=True)
    return out, summary, frame


def test_layout_counts_and_schema(
    events: list[MarketEvent], collected: tuple[Path, CollectorSummary, pd.DataFrame]
) -> None:
    out, summary, frame = collected
    ((_, sampled),) = sample_events(events).items()
    assert summary.rows == len(frame) == len(sampled) > 600
    assert summary.rows_by_symbol == {"BTC/USDT": len(sampled)}
    parts = partitions(out)
    assert [(p.venue, p.symbol, p.day) for p in parts] == [
        ("binance", "BTC/USDT", "2024-08-08"),
        ("binance", "BTC/USDT", "2024-08-09"),
    ]
    assert parts[0].path.relative_to(out).as_posix() == (
        "venue=binance/symbol=BTC%2FUSDT/date=2024-08-08"
    )
    files = sorted(out.rglob("part-*.parquet"))
    assert len(files) == summary.parts >= math.ceil(summary.rows / CHUNK)
    for f in files:
        assert pq.read_schema(f).equals(row_schema())
        assert pq.read_metadata(f).num_rows <= CHUNK
    assert list(frame.columns) == list(ROW_COLUMNS)
    assert frame["time_ns"].is_monotonic_increasing
    np.testing.assert_array_equal(frame["time_ns"], sampled.time_ns)
    day = pd.to_datetime(frame["time_ns"], unit="ns", utc=True).dt.strftime("%Y-%m-%d")
    assert day.value_counts().to_dict() == {p.day: len(read_partition(p)) for p in parts}


def test_rows_equal_the_batch_pipeline(
    events: list[MarketEvent], collected: tuple[Path, CollectorSummary, pd.DataFrame]
) -> None:
    _, summary, frame = collected
    ((_, sampled),) = sample_events(events).items()
    trades = [e for e in events if type(e) is TradeTick]
    candles = trades_to_candles(
        np.array([t.ts_recv for t in trades], dtype=np.int64),
        np.array([t.price for t in trades]),
        np.array([t.size for t in trades]),
        "1m",
    ).iloc[1:]  # the recording starts inside the first candle: partial, not used
    batch = batch_features(sampled, CandleArrays.from_frame(candles))
    got = frame[list(FEATURE_NAMES)].to_numpy()
    want = batch.values
    assert np.array_equal(np.isnan(got), np.isnan(want))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=0)
    # Prices for the labels.
    valid = frame["book_valid"].to_numpy()
    np.testing.assert_array_equal(valid, sampled.valid)
    mid = (sampled.bids[:, 0, 0] + sampled.asks[:, 0, 0]) / 2
    np.testing.assert_array_equal(frame["mid"].to_numpy()[valid], mid[valid])
    assert frame["mid"][~valid].isna().all()
    np.testing.assert_array_equal(frame["last_trade"], sampled.last_price)
    has_candle = frame["candle_open_ns"].to_numpy() >= 0
    assert summary.candles == len(candles) - 1  # the last one had not closed by the end
    np.testing.assert_array_equal(
        frame["candle_close"].to_numpy()[has_candle], frame["close"].to_numpy()[has_candle]
    )
    assert np.isnan(frame.loc[~has_candle, list(FEATURE_NAMES[CANDLE_SLICE])].to_numpy()).all()
    assert has_candle.any()
    assert not has_candle.all()


def _loop_forward(times: list[int], price: list[float], h: int) -> list[float]:
    out = []
    for i, (t, p) in enumerate(zip(times, price, strict=True)):
        if math.isnan(p) or t + h > max(
            tt for tt, pp in zip(times, price, strict=True) if pp == pp
        ):
            out.append(math.nan)
            continue
        later = [
            pp for tt, pp in zip(times[i:], price[i:], strict=True) if tt <= t + h and pp == pp
        ]
        out.append(later[-1] / p - 1)
    return out


def test_labels_equal_a_direct_computation(
    collected: tuple[Path, CollectorSummary, pd.DataFrame], tmp_path: Path
) -> None:
    source, _, frame = collected
    barrier = BarrierSpec(take_profit=0.0005, stop_loss=0.0005, fee=0.0002, band=0.0001)
    spec = LabelSpec(
        horizons_ns=(5 * SECOND, 30 * SECOND),
        band=0.0001,
        barrier=barrier,
        barrier_horizon_ns=60 * SECOND,
    )
    seen: list[str] = []
    summary = label_dataset(
        source, tmp_path / "labelled", spec, on_partition=lambda p, n: seen.append(p.day)
    )
    assert seen == ["2024-08-08", "2024-08-09"]
    labelled = pd.concat(
        [read_partition(p) for p in partitions(tmp_path / "labelled")], ignore_index=True
    )
    assert summary.rows == len(labelled) == len(frame)
    assert list(labelled.columns) == [*ROW_COLUMNS, *spec.columns()]
    pd.testing.assert_frame_equal(labelled[list(ROW_COLUMNS)], frame)
    times = frame["time_ns"].tolist()
    mid = frame["mid"].tolist()
    for h, name in ((5 * SECOND, "5s"), (30 * SECOND, "30s")):
        want = np.array(_loop_forward(times, mid, h))
        got = labelled[f"fwd_ret_{name}"].to_numpy()
        np.testing.assert_allclose(got, want, rtol=1e-12, atol=0)
        direction = labelled[f"fwd_dir_{name}"].to_numpy()
        expect = np.where(np.abs(want) < 0.0001, 0.0, np.sign(want))
        np.testing.assert_array_equal(direction, expect)
        assert summary.labelled[f"fwd_ret_{name}"] == int(np.isfinite(want).sum())
    # Labels at 23:59:5x were computed with the next day's rows (not left unknown).
    midnight = pd.Timestamp("2024-08-09", tz="UTC").value
    before = (frame["time_ns"] < midnight) & (frame["time_ns"] >= midnight - 20 * SECOND)
    assert labelled.loc[before, "fwd_ret_30s"].notna().all()
    # The barrier: the same function over the whole series in one piece.
    ok = frame["mid"].notna().to_numpy()
    direct = triple_barrier(
        frame["time_ns"].to_numpy()[ok],
        frame["mid"].to_numpy()[ok],
        barrier,
        horizon_ns=60 * SECOND,
    )
    np.testing.assert_array_equal(labelled["tb_label"].to_numpy()[ok], direct.label)
    np.testing.assert_array_equal(labelled["tb_barrier"].to_numpy()[ok], direct.barrier)
    np.testing.assert_array_equal(labelled["tb_exit_time_ns"].to_numpy()[ok], direct.exit_time_ns)
    np.testing.assert_array_equal(labelled["tb_exit_price"].to_numpy()[ok], direct.exit_price)
    assert labelled.loc[~ok, "tb_label"].isna().all()
    last = frame["time_ns"].iloc[-1]
    tail = frame["time_ns"] > last - 60 * SECOND
    assert labelled.loc[
        tail & labelled["tb_barrier"].eq(0), "tb_label"
    ].empty  # no time-outs in the unknown tail
    assert labelled["tb_barrier"].isin([1, -1, 0]).sum() == summary.labelled["tb_barrier"]


def test_parts_append_and_duplicates_are_refused(tmp_path: Path) -> None:
    schema = row_schema()
    row = {name: [1.0] for name in schema.names}
    row.update(time_ns=[5], book_valid=[True], candle_open_ns=[-1])
    table = pd.DataFrame(row)
    folder = tmp_path / "venue=x" / "symbol=A%2FB" / "date=2024-01-01"
    first = write_part(folder, pa.Table.from_pandas(table, schema=schema, preserve_index=False))
    second = write_part(folder, pa.Table.from_pandas(table, schema=schema, preserve_index=False))
    assert [first.name, second.name] == ["part-000000.parquet", "part-000001.parquet"]
    (part,) = partitions(tmp_path)
    assert part.symbol == "A/B"
    with pytest.raises(DataError, match="duplicate"):
        read_partition(part)
    with pytest.raises(DataError, match="other than its input"):
        label_dataset(tmp_path, tmp_path, LabelSpec())
    with pytest.raises(DataError, match="price"):
        LabelSpec(price="close")
    assert "mid" in PRICE_COLUMNS
