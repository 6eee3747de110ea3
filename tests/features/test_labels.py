"""Labels: forward returns, direction and the triple barrier, against plain-Python loops on
real candles and on hand-made bars for every barrier rule."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.features.labels import (
    STOP_LOSS,
    TAKE_PROFIT,
    TIME_LIMIT,
    BarrierSpec,
    LabelError,
    direction,
    duration_text,
    forward_returns,
    forward_returns_time,
    parse_duration_ns,
    triple_barrier,
)

MIN = 60_000_000_000


@pytest.fixture(scope="module")
def bars(data_dir: Path) -> pd.DataFrame:
    """2,000 real BTC/USDT 1m candles."""
    frame = pd.read_feather(data_dir / "candles_filimonov/BTC_USDT-1m.feather")
    frame = frame.iloc[50_000:52_000].reset_index(drop=True)
    frame["time_ns"] = frame["date"].dt.tz_convert("UTC").dt.tz_localize(None).astype("int64")
    return frame


# --------------------------------------------------------------------------- references


def ref_forward(price: list[float], h: int) -> list[float]:
    out = []
    for t in range(len(price)):
        out.append(price[t + h] / price[t] - 1.0 if t + h < len(price) else math.nan)
    return out


def ref_forward_time(times: list[int], price: list[float], h: int) -> list[float]:
    out = []
    for t in range(len(price)):
        target = times[t] + h
        if target > times[-1]:
            out.append(math.nan)
            continue
        j = t
        while j + 1 < len(times) and times[j + 1] <= target:
            j += 1
        out.append(price[j] / price[t] - 1.0)
    return out


def ref_direction(r: float, band: float) -> float:
    if math.isnan(r):
        return math.nan
    if abs(r) < band or r == 0.0:
        return 0.0
    return 1.0 if r > 0 else -1.0


def _beyond(a: float, b: float, side: int) -> bool:
    """``a`` at or past ``b`` in the trade's favour."""
    return a >= b if side == 1 else a <= b


def ref_barrier(
    o: list[float],
    h: list[float],
    lo: list[float],
    c: list[float],
    tp: float,
    sl: float,
    fee: float,
    side: int,
    max_bars: int,
    band: float,
) -> list[tuple[float, float, int, float]]:
    """(label, barrier, exit index, exit price) per entry, by the documented rules."""
    out: list[tuple[float, float, int, float]] = []
    n = len(c)
    for t in range(n):
        entry = c[t]
        if side == 1:
            tp_px, sl_px = entry * (1 + tp + fee), entry * (1 - (sl - fee))
        else:
            tp_px, sl_px = entry * (1 - tp - fee), entry * (1 + (sl - fee))
        result: tuple[float, float, int, float] | None = None
        for j in range(t + 1, min(t + max_bars, n - 1) + 1):
            best, worst = (h[j], lo[j]) if side == 1 else (lo[j], h[j])
            if _beyond(o[j], tp_px, side):
                result = (1.0, 1.0, j, o[j])
            elif _beyond(sl_px, o[j], side):
                result = (-1.0, -1.0, j, o[j])
            elif _beyond(sl_px, worst, side):
                result = (-1.0, -1.0, j, sl_px)
            elif _beyond(best, tp_px, side):
                result = (1.0, 1.0, j, tp_px)
            if result is not None:
                break
        if result is None and t + max_bars < n:
            exit_px = c[t + max_bars]
            net = side * (exit_px / entry - 1) - fee
            result = (ref_direction(net, band), 0.0, t + max_bars, exit_px)
        out.append(result if result is not None else (math.nan, math.nan, -1, math.nan))
    return out


# --------------------------------------------------------------------------- forward returns


@pytest.mark.parametrize("h", [1, 5, 60])
def test_forward_returns_match_a_loop_on_real_candles(bars: pd.DataFrame, h: int) -> None:
    close = bars["close"].to_numpy()
    got = forward_returns(close, h)
    want = np.array(ref_forward(close.tolist(), h))
    np.testing.assert_array_equal(got, want)
    assert np.isnan(got[-h:]).all()
    assert np.isfinite(got[:-h]).all()


@pytest.mark.parametrize("seconds", [60, 300, 1800])
def test_time_horizon_returns_match_a_loop_on_gappy_real_series(
    bars: pd.DataFrame, seconds: int
) -> None:
    rng = np.random.default_rng(3)
    kept = bars.loc[np.sort(rng.choice(len(bars), 1200, replace=False))]
    times = kept["time_ns"].to_numpy()
    close = kept["close"].to_numpy()
    got = forward_returns_time(times, close, seconds * 1_000_000_000)
    want = np.array(ref_forward_time(times.tolist(), close.tolist(), seconds * 1_000_000_000))
    np.testing.assert_array_equal(got, want)
    unknown = times + seconds * 1_000_000_000 > times[-1]
    assert np.isnan(got[unknown]).all()
    assert np.isfinite(got[~unknown]).all()


def test_direction_dead_band() -> None:
    r = np.array([0.002, -0.002, 0.0005, -0.0005, 0.001, -0.001, 0.0, np.nan])
    got = direction(r, band=0.001)
    np.testing.assert_array_equal(got, [1, -1, 0, 0, 1, -1, 0, np.nan])
    np.testing.assert_array_equal(direction(r, 0.0), [1, -1, 1, -1, 1, -1, 0, np.nan])
    with pytest.raises(LabelError):
        direction(r, -1.0)


# --------------------------------------------------------------------------- triple barrier


@pytest.mark.parametrize(
    ("tp", "sl", "fee", "side", "max_bars"),
    [
        (0.002, 0.002, 0.0, 1, 30),
        (0.003, 0.0015, 0.001, 1, 60),
        (0.002, 0.003, 0.0008, -1, 45),
    ],
)
def test_triple_barrier_matches_a_loop_on_real_candles(
    bars: pd.DataFrame, tp: float, sl: float, fee: float, side: int, max_bars: int
) -> None:
    o, h, lo, c = (bars[k].to_numpy() for k in ("open", "high", "low", "close"))
    spec = BarrierSpec(take_profit=tp, stop_loss=sl, fee=fee, side=side, band=0.0005)
    got = triple_barrier(
        bars["time_ns"].to_numpy(), c, spec, max_bars=max_bars, open_=o, high=h, low=lo
    )
    want = ref_barrier(
        o.tolist(), h.tolist(), lo.tolist(), c.tolist(), tp, sl, fee, side, max_bars, 0.0005
    )
    np.testing.assert_array_equal(got.label, [w[0] for w in want])
    np.testing.assert_array_equal(got.barrier, [w[1] for w in want])
    np.testing.assert_array_equal(got.exit_index, [w[2] for w in want])
    np.testing.assert_allclose(got.exit_price, [w[3] for w in want], rtol=1e-14)
    known = got.exit_index >= 0
    times = bars["time_ns"].to_numpy()
    np.testing.assert_array_equal(got.exit_time_ns[known], times[got.exit_index[known]])
    np.testing.assert_allclose(
        got.net_return[known], side * (got.exit_price[known] / c[known] - 1) - fee, rtol=1e-12
    )
    # Every outcome occurs on real data, and the unknown tail is only at the end.
    assert {TAKE_PROFIT, STOP_LOSS, TIME_LIMIT} <= set(got.barrier[known].astype(int).tolist())
    assert not known[-1]
    assert known[: len(c) - max_bars].all()


def _hand(
    rows: list[tuple[float, float, float, float]], spec: BarrierSpec, max_bars: int = 3
) -> tuple[float, float, int, float]:
    o, h, lo, c = (np.array(col) for col in zip(*rows, strict=True))
    res = triple_barrier(
        np.arange(len(rows), dtype=np.int64) * MIN,
        c,
        spec,
        max_bars=max_bars,
        open_=o,
        high=h,
        low=lo,
    )
    return (
        float(res.label[0]),
        float(res.barrier[0]),
        int(res.exit_index[0]),
        float(res.exit_price[0]),
    )


SPEC = BarrierSpec(take_profit=0.01, stop_loss=0.01)  # long: barriers at 101 and 99


def test_take_profit_hit_exits_at_the_barrier() -> None:
    rows = [(100, 100, 100, 100), (100, 100.5, 99.5, 100.2), (100.2, 101.3, 100, 101)]
    assert _hand(rows, SPEC) == (1.0, 1.0, 2, 101.0)


def test_stop_loss_hit_exits_at_the_barrier() -> None:
    rows = [(100, 100, 100, 100), (100, 100.4, 98.7, 99.2)]
    assert _hand(rows, SPEC, max_bars=1) == (-1.0, -1.0, 1, 99.0)


def test_both_barriers_in_one_bar_assume_the_stop() -> None:
    rows = [(100, 100, 100, 100), (100, 101.5, 98.5, 101.2)]
    assert _hand(rows, SPEC) == (-1.0, -1.0, 1, 99.0)
    short = BarrierSpec(take_profit=0.01, stop_loss=0.01, side=-1)
    assert _hand(rows, short) == (-1.0, -1.0, 1, 101.0)


def test_open_beyond_a_barrier_exits_at_the_open() -> None:
    gap_up = [(100, 100, 100, 100), (101.6, 101.8, 98.5, 99.0)]
    assert _hand(gap_up, SPEC) == (1.0, 1.0, 1, 101.6)
    gap_down = [(100, 100, 100, 100), (98.2, 101.5, 98.0, 101.0)]
    assert _hand(gap_down, SPEC) == (-1.0, -1.0, 1, 98.2)


def test_time_limit_labels_the_net_return_with_the_dead_band() -> None:
    rows = [(100, 100, 100, 100), (100, 100.5, 99.5, 100.3), (100.3, 100.6, 99.8, 100.5)]
    spec = BarrierSpec(take_profit=0.01, stop_loss=0.01, fee=0.002, band=0.001)
    label, barrier, index, price = _hand(rows, spec, max_bars=2)
    assert (barrier, index, price) == (0.0, 2, 100.5)
    assert label == 1.0  # net 0.5 % - 0.2 % fee = 0.3 % >= band
    spec_fee = BarrierSpec(take_profit=0.01, stop_loss=0.01, fee=0.0045, band=0.001)
    assert _hand(rows, spec_fee, max_bars=2)[:2] == (0.0, 0.0)  # net 0.05 % inside the band
    spec_loss = BarrierSpec(take_profit=0.01, stop_loss=0.02, fee=0.008, band=0.001)
    assert _hand(rows, spec_loss, max_bars=2)[:2] == (-1.0, 0.0)  # fee turns it into a loss


def test_fees_move_both_barriers() -> None:
    # fee 0.4 %: take-profit at 101.4 (net +1 %), stop at 99.4 (net -1 %).
    spec = BarrierSpec(take_profit=0.01, stop_loss=0.01, fee=0.004)
    tp_px, sl_px = spec.barrier_prices(np.array([100.0]))
    assert tp_px[0] == pytest.approx(101.4)
    assert sl_px[0] == pytest.approx(99.4)
    no_tp = [(100, 100, 100, 100), (100, 101.2, 99.8, 101)]
    assert _hand(no_tp, spec, max_bars=1)[1] == 0.0  # 101.2 would be a hit without the fee
    stop = [(100, 100, 100, 100), (100, 100.1, 99.3, 99.6)]
    assert _hand(stop, spec, max_bars=1)[:2] == (-1.0, -1.0)  # 99.3: net -1.1 %


def test_unknown_future_gets_no_label() -> None:
    rows = [(100, 100, 100, 100), (100, 100.5, 99.5, 100.2), (100.2, 100.4, 99.9, 100.1)]
    o, h, lo, c = (np.array(col) for col in zip(*rows, strict=True))
    res = triple_barrier(np.arange(3) * MIN, c, SPEC, max_bars=5, open_=o, high=h, low=lo)
    assert np.isnan(res.label).all()
    assert np.isnan(res.barrier).all()
    assert (res.exit_index == -1).all()
    assert (res.exit_time_ns == -1).all()
    # ... but a barrier hit before the data ends is known even when the limit is beyond it.
    rows.append((100.1, 101.2, 100.0, 101.1))
    o, h, lo, c = (np.array(col) for col in zip(*rows, strict=True))
    res = triple_barrier(np.arange(4) * MIN, c, SPEC, max_bars=5, open_=o, high=h, low=lo)
    assert res.barrier[0] == 1.0
    assert res.exit_index[0] == 3


def test_time_horizon_barrier_on_book_samples() -> None:
    times = np.array([0, 1, 2, 3, 5, 8], dtype=np.int64) * 1_000_000_000
    mid = np.array([100.0, 100.2, 100.4, 100.3, 100.3, 101.5])
    res = triple_barrier(times, mid, SPEC, horizon_ns=3_000_000_000)
    # t=0: limit at 3 s -> exits at the 3 s sample (100.3); t=1: as of 4 s -> the 3 s sample.
    assert res.exit_index.tolist()[:2] == [3, 3]
    assert res.barrier.tolist()[:2] == [0.0, 0.0]
    # t=4 (5 s): limit 8 s is the last sample, which jumped past 101: exit at that sample.
    assert res.barrier[4] == 1.0
    assert res.exit_price[4] == 101.5
    assert np.isnan(res.barrier[5])


def test_bad_input_is_refused() -> None:
    with pytest.raises(LabelError, match="stop_loss"):
        BarrierSpec(take_profit=0.01, stop_loss=0.001, fee=0.002)
    with pytest.raises(LabelError, match="side"):
        BarrierSpec(take_profit=0.01, stop_loss=0.01, side=0)
    with pytest.raises(LabelError, match="non-positive"):
        forward_returns([100.0, np.nan, 101.0], 1)
    with pytest.raises(LabelError, match="strictly increasing"):
        forward_returns_time([0, 2, 1], [1.0, 1.0, 1.0], 5)
    with pytest.raises(LabelError, match="exactly one"):
        triple_barrier([0, 1], [1.0, 1.0], SPEC)
    with pytest.raises(LabelError, match="bound"):
        triple_barrier([0, 1], [1.0, 1.0], SPEC, max_bars=1, high=[1.0, 0.5])


def test_durations() -> None:
    assert parse_duration_ns("5s") == 5_000_000_000
    assert parse_duration_ns("250ms") == 250_000_000
    assert parse_duration_ns("2m") == 120_000_000_000
    assert duration_text(120_000_000_000) == "2m"
    assert duration_text(1_500_000_000) == "1500ms"
    for bad in ("", "5", "-1s", "xs", "0s"):
        with pytest.raises(LabelError):
            parse_duration_ns(bad)
