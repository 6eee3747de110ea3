"""Support/resistance levels: swings, DBSCAN, breakouts, causality, real candles."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from sklearn.cluster import DBSCAN  # type: ignore[import-untyped]

from mftbot.analysis.levels import (
    LevelArrays,
    LevelConfig,
    dbscan_1d,
    find_levels,
    levels_at,
    rolling_levels,
    swing_points,
)
from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays
from mftbot.data.candles import read_candles

FloatArray = np.ndarray


# -- swings -------------------------------------------------------------------------------


def test_swing_points_by_hand() -> None:
    high = np.array([1, 2, 3, 2, 1, 2, 5, 5, 2, 1, 1], dtype=float)
    low = high - 0.5
    low[4] = 0.2  # the trough
    sw = swing_points(high, low, left=2, right=2)
    assert sw.bar.tolist() == [2, 4, 6]
    assert sw.kind.tolist() == [1, -1, 1]
    assert sw.price.tolist() == [3.0, 0.2, 5.0]  # the plateau 5, 5 gives one pivot, its first bar
    assert sw.confirmed.tolist() == [4, 6, 8]  # known two bars later
    # Truncated so that the last pivot is not yet confirmed: it is not there.
    part = swing_points(high[:8], low[:8], left=2, right=2)
    assert part.bar.tolist() == [2, 4]


def test_swing_points_are_known_only_after_right_bars() -> None:
    rng = np.random.default_rng(5)
    close = 100 + np.cumsum(rng.normal(0, 1, 400))
    high, low = close + 0.5, close - 0.5
    full = swing_points(high, low, left=4, right=3)
    for cut in (50, 123, 399):
        part = swing_points(high[:cut], low[:cut], left=4, right=3)
        known = full.confirmed < cut
        assert part.bar.tolist() == full.bar[known].tolist()
        assert part.price.tolist() == full.price[known].tolist()


# -- DBSCAN -------------------------------------------------------------------------------


def test_dbscan_1d_gives_scikit_learns_labels() -> None:
    rng = np.random.default_rng(0)
    for _ in range(120):
        n = int(rng.integers(1, 60))
        # clumps around a few centres, plus duplicates; no distance is exactly eps
        centres = rng.random(int(rng.integers(1, 6))) * 20
        x = rng.choice(centres, n) + rng.normal(0.0, 0.3, n)
        x[: n // 5] = x[n - n // 5 :] if n >= 5 else x[: n // 5]
        eps = float(rng.choice([0.05, 0.1, 0.3, 1.0, 2.5]))
        min_samples = int(rng.integers(1, 6))
        expected = DBSCAN(eps=eps, min_samples=min_samples).fit(x.reshape(-1, 1)).labels_
        np.testing.assert_array_equal(dbscan_1d(x, eps, min_samples), expected)


def test_dbscan_1d_border_point_goes_to_the_cluster_scikit_learn_picks() -> None:
    # 5 is a border point of both clusters (within eps of core 3 and of core 7); the
    # cluster listed first in the input claims it, as in scikit-learn.
    x = np.array([10, 9, 8, 7, 5, 3, 2, 1, 0], dtype=float)
    got = dbscan_1d(x, 2.0, 4)
    assert got.tolist() == [0, 0, 0, 0, 0, 1, 1, 1, 1]
    np.testing.assert_array_equal(got, DBSCAN(eps=2.0, min_samples=4).fit(x[:, None]).labels_)
    np.testing.assert_array_equal(dbscan_1d(x[::-1], 2.0, 4), [0, 0, 0, 0, 0, 1, 1, 1, 1])


# -- scripted levels and breakouts --------------------------------------------------------


def triangle(cycles: int, period: int = 40, lo: float = 100.0, hi: float = 110.0) -> FloatArray:
    half = period // 2
    up = np.linspace(lo, hi, half, endpoint=False)
    down = np.linspace(hi, lo, half, endpoint=False)
    return np.tile(np.concatenate((up, down)), cycles)


def candles(close: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    return close + 0.2, close - 0.2, close, np.full(close.size, 100.0)


def ranging(seed: int = 0) -> FloatArray:
    """Six swings between 100 and 110 (tops at 110.2, bottoms at 99.8 with the wicks)."""
    return triangle(6) + np.random.default_rng(seed).normal(0.0, 0.05, 240)


def test_levels_form_at_the_turning_points_of_a_range() -> None:
    high, low, close, volume = candles(ranging())
    levels = levels_at(high, low, close, volume, 239)
    assert [round(lv.price, 1) for lv in levels] == [99.8, 110.2]
    bottom, top = levels
    assert (bottom.lows, bottom.highs) == (5, 0)
    assert (top.highs, top.lows) == (6, 0)
    assert bottom.low <= bottom.price <= bottom.high
    assert top.strength == pytest.approx(top.touches * top.rel_volume)
    assert top.rel_volume == pytest.approx(1.0)  # constant volume: nothing special at levels
    result = rolling_levels(high, low, close, volume)
    assert result.support[230] == pytest.approx(bottom.price)
    assert result.resistance[230] == pytest.approx(top.price)
    assert result.support_touches[230] == 5
    assert result.levels[230] == 2
    assert not result.breakout.any()  # a range bounces between its levels: no breakout
    assert find_levels(high, low, close, volume) == levels


def test_heavy_volume_at_a_level_makes_it_stronger() -> None:
    high, low, close, volume = candles(ranging())
    volume = volume.copy()
    volume[np.abs(high - 110.2) < 0.5] = 300.0  # trading concentrates at the top
    bottom, top = levels_at(high, low, close, volume, 239)
    assert top.rel_volume > 1.5 > bottom.rel_volume
    assert top.strength > top.touches


def breakout_path(move: list[float]) -> FloatArray:
    return np.concatenate((ranging(), move))


def test_a_breakout_above_resistance_fires_once_with_volume() -> None:
    close = breakout_path([101, 103, 105, 107, 109, 112.5, 115, 117, 118, 118])
    high, low, close, volume = candles(close)
    volume[245] = 500.0
    result = rolling_levels(high, low, close, volume)
    assert np.flatnonzero(result.breakout).tolist() == [245]
    assert result.breakout[245] == 1
    assert result.breakout_level[245] == result.resistance[244]  # the resistance it broke
    assert result.breakout_level[245] == pytest.approx(110.2, abs=0.05)
    assert result.breakout_confirmed[245]
    assert np.isnan(result.breakout_level[result.breakout == 0]).all()
    assert np.isnan(result.resistance[245])  # nothing above any more
    assert result.support[245] == pytest.approx(110.2, abs=0.05)  # polarity flip


def test_a_breakout_below_support() -> None:
    close = breakout_path([109, 107, 105, 103, 101, 97.5, 95, 94, 94, 94])
    high, low, close, volume = candles(close)
    result = rolling_levels(high, low, close, volume)
    assert np.flatnonzero(result.breakout).tolist() == [245]
    assert result.breakout[245] == -1
    assert result.breakout_level[245] == result.support[244]  # the support it broke
    assert result.breakout_level[245] == pytest.approx(99.8, abs=0.1)
    assert not result.breakout_confirmed[245]  # ordinary volume


def test_volume_can_be_required() -> None:
    close = breakout_path([101, 103, 105, 107, 109, 112.5, 115, 117, 118, 118])
    high, low, close, volume = candles(close)
    strict = LevelConfig(require_volume=True)
    assert not rolling_levels(high, low, close, volume, strict).breakout.any()
    volume[245] = 500.0
    assert rolling_levels(high, low, close, volume, strict).breakout[245] == 1


def test_noise_around_a_level_is_not_a_breakout() -> None:
    rng = np.random.default_rng(9)
    # Up to the top, then 40 bars drifting around 110.2 within a fraction of the threshold.
    hover = 110.2 + rng.uniform(-0.4, 0.4, 40)
    close = breakout_path([101, 103, 105, 107, 109, *hover])
    high, low, close, volume = candles(close)
    result = rolling_levels(high, low, close, volume)
    assert not result.breakout.any()
    # With a threshold of zero the same wiggles do cross the level.
    zero = LevelConfig(breakout_atr=0.0)
    assert rolling_levels(high, low, close, volume, zero).breakout.any()


def test_bad_input_and_config_are_rejected() -> None:
    high, low, close, volume = candles(ranging())
    bad = close.copy()
    bad[7] = np.nan
    with pytest.raises(ValueError, match="close: non-finite value nan at index 7"):
        rolling_levels(high, low, bad, volume)
    with pytest.raises(ValueError, match="lengths differ"):
        rolling_levels(high, low, close[:-1], volume)
    swapped = high.copy()
    swapped[3] = low[3] - 1
    with pytest.raises(ValueError, match="high below low at index 3"):
        rolling_levels(swapped, low, close, volume)
    with pytest.raises(IndexError):
        levels_at(high, low, close, volume, 240)
    for kwargs in ({"left_bars": 0}, {"lookback": 5}, {"eps_atr": -1.0}, {"clusterer": "kmeans"}):
        with pytest.raises(ValueError, match=next(iter(kwargs))):
            LevelConfig(**kwargs)  # type: ignore[arg-type]


# -- real candles -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def btc_1h(data_dir: Path) -> CandleArrays:
    return CandleArrays.from_frame(
        read_candles(data_dir / "candles_paparocketeer/BTC_USDT-1h.feather")
    )


@pytest.fixture(scope="module")
def btc_15m(data_dir: Path) -> CandleArrays:
    frame = read_candles(data_dir / "candles_filimonov/BTC_USDT-15m.feather")
    return CandleArrays.from_frame(frame).tail(3000)


def arrays(c: CandleArrays) -> tuple[FloatArray, FloatArray, FloatArray, FloatArray]:
    return c.high, c.low, c.close, c.volume


def test_real_hourly_levels_sit_on_the_swings(btc_1h: CandleArrays) -> None:
    """A week of BTC/USDT hours (2026-04-17 .. 04-24): the market turned down at ~78.5k four
    times (swing highs 78,333 / 78,452 / 78,662 / 78,582) and up at ~74.8k three times
    (74,868 / 74,702 / 74,822); the lone spike to 79,473 was never retested."""
    levels = find_levels(*arrays(btc_1h))
    assert [lv.price for lv in levels] == sorted(lv.price for lv in levels)
    sw = swing_points(btc_1h.high, btc_1h.low)
    for lv in levels:
        assert lv.touches >= 2
        assert lv.highs + lv.lows == lv.touches
        members = (sw.price >= lv.low) & (sw.price <= lv.high)
        assert members.sum() >= lv.touches
        assert lv.high / lv.low - 1 < 0.01
    top = levels[-1]
    assert (top.highs, top.lows) == (4, 0)
    assert top.price == pytest.approx(78_507, rel=0.001)
    assert top.first_index == 16
    assert top.last_index == 170
    support = next(lv for lv in levels if lv.lows == 3)
    assert support.price == pytest.approx(74_797, rel=0.001)
    assert all(lv.price < 79_000 for lv in levels)  # the single spike is not a level
    result = rolling_levels(*arrays(btc_1h))
    assert result.resistance[-1] == pytest.approx(top.price)  # the last close is just below


def test_real_breakouts_are_sane(btc_15m: CandleArrays) -> None:
    result = rolling_levels(*arrays(btc_15m))
    close = btc_15m.close
    up = np.flatnonzero(result.breakout == 1)
    down = np.flatnonzero(result.breakout == -1)
    assert 0.01 < (up.size + down.size) / close.size < 0.2
    assert up.size > 0
    assert down.size > 0
    assert (close[up] > result.breakout_level[up]).all()
    assert (close[up - 1] <= result.breakout_level[up] * 1.05).all()
    assert (close[down] < result.breakout_level[down]).all()
    # A volume-confirmed breakout is, on average, on far more volume than the rest.
    conf = result.breakout_confirmed
    assert btc_15m.volume[conf].mean() > 2 * btc_15m.volume[result.breakout == 0].mean()
    has = ~np.isnan(result.support)
    assert has.mean() > 0.7
    assert (result.support[has] <= close[has]).all()
    res = ~np.isnan(result.resistance)
    assert (result.resistance[res] > close[res]).all()


def test_sweep_and_scikit_learn_give_the_same_levels(btc_15m: CandleArrays) -> None:
    part = btc_15m.tail(800)
    sweep = rolling_levels(*arrays(part))
    sk = rolling_levels(*arrays(part), LevelConfig(clusterer="sklearn"))
    for name, a, b in zip(LevelArrays._fields, sweep, sk, strict=True):
        np.testing.assert_array_equal(a, b, err_msg=name)


def test_truncating_changes_nothing_before_the_cut(btc_15m: CandleArrays) -> None:
    full = rolling_levels(*arrays(btc_15m))
    for cut in (40, 517, 1999):
        part = rolling_levels(*arrays(btc_15m.head(cut)))
        for name, a, b in zip(LevelArrays._fields, full, part, strict=True):
            np.testing.assert_array_equal(a[:cut], b, err_msg=f"{name} at cut {cut}")
        # levels_at(t) is the state the arrays used at t.
        t = cut - 1
        levels = levels_at(*arrays(btc_15m), t)
        below = [lv for lv in levels if lv.price <= btc_15m.close[t]]
        if below:
            assert full.support[t] == pytest.approx(below[-1].price)
        else:
            assert np.isnan(full.support[t])
        assert full.levels[t] == len(levels)


def test_levels_are_registered_and_causal_on_real_candles(btc_15m: CandleArrays) -> None:
    entry = REGISTRY.get("levels")
    assert entry.kind.value == "indicator"
    assert "breakout" in entry.outputs
    result = check_entry(entry, btc_15m, cuts=20, seed=3)
    assert result.error is None
    assert result.violations == ()


def test_a_changed_config_changes_the_levels(btc_15m: CandleArrays) -> None:
    base = LevelConfig()
    loose = dataclasses.replace(base, eps_atr=2.0)
    n_base = rolling_levels(*arrays(btc_15m), base).levels.mean()
    n_loose = rolling_levels(*arrays(btc_15m), loose).levels.mean()
    assert n_loose < n_base  # a wider eps merges nearby swings into fewer levels
