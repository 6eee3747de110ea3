"""Search-space declarations, sampling and grids; the shared ATR stop parameters."""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from typing import Any

import numpy as np
import pytest
import talib
from pydantic import ValidationError

from mftbot.analysis.lookahead import synthetic_candles
from mftbot.strategies import StrategyConfig
from mftbot.strategies.params import (
    AtrStops,
    Choice,
    FloatRange,
    IntRange,
    SearchSpace,
    SearchSpaceError,
    atr_stop_levels,
    dimension_from_dict,
    settle_bars,
    tunable,
)


class _Config(StrategyConfig):
    period: int = tunable(14, "A period.", IntRange(5, 50), ge=2)
    width: float = tunable(2.0, "A width.", FloatRange(0.5, 4.0, step=0.5), gt=0)
    scale: float = tunable(0.01, "A log-scaled value.", FloatRange(0.001, 0.1, log=True), gt=0)
    mode: str = tunable("fast", "A mode.", Choice(("fast", "slow")))
    fixed: bool = False


class _Trial:
    """Records what it is asked and answers the low end (or the first option)."""

    def __init__(self) -> None:
        self.asked: list[tuple[Any, ...]] = []

    def suggest_int(
        self, name: str, low: int, high: int, *, step: int = 1, log: bool = False
    ) -> int:
        self.asked.append(("int", name, low, high, step, log))
        return low

    def suggest_float(
        self, name: str, low: float, high: float, *, step: float | None = None, log: bool = False
    ) -> float:
        self.asked.append(("float", name, low, high, step, log))
        return low

    def suggest_categorical(self, name: str, choices: Sequence[Any]) -> Any:
        self.asked.append(("choice", name, tuple(choices)))
        return choices[0]


def test_space_collects_tunable_fields_in_order() -> None:
    space = SearchSpace.of(_Config)
    assert list(space) == ["period", "width", "scale", "mode"]
    assert "fixed" not in space
    assert len(space) == 4
    assert space.contains(_Config().model_dump())
    assert not space.contains({"period": 60})
    schema = _Config.model_json_schema()["properties"]
    assert schema["period"]["search"] == {
        "type": "int",
        "low": 5,
        "high": 50,
        "step": 1,
        "log": False,
    }
    assert schema["period"]["description"] == "A period."
    assert "search" not in schema["fixed"]


def test_grid_spans_each_range_and_feeds_a_config() -> None:
    grid = SearchSpace.of(_Config).grid(points=4)
    assert grid["period"] == [5, 20, 35, 50]
    assert grid["width"] == [0.5, 1.5, 3.0, 4.0]
    assert grid["scale"] == pytest.approx([0.001, 0.0046415888, 0.0215443469, 0.1])
    assert grid["mode"] == ["fast", "slow"]
    assert IntRange(1, 3).grid(10) == [1, 2, 3]
    assert IntRange(0, 20, step=5).grid(3) == [0, 10, 20]
    for period in grid["period"]:
        assert _Config(period=period).period == period


def test_samples_are_seeded_and_inside_the_ranges() -> None:
    space = SearchSpace.of(_Config)
    first = [space.sample(np.random.default_rng(7)) for _ in range(3)]
    assert first[0] == first[1] == first[2]
    rng = np.random.default_rng(1)
    samples = [space.sample(rng) for _ in range(300)]
    for params in samples:
        assert space.contains(params)
        assert (params["width"] / 0.5).is_integer()
        _Config(**params)
    assert {p["mode"] for p in samples} == {"fast", "slow"}
    logs = np.log10([p["scale"] for p in samples])
    assert logs.min() < -2.5
    assert logs.max() > -1.5


def test_suggest_asks_a_trial_for_every_dimension() -> None:
    trial = _Trial()
    params = SearchSpace.of(_Config).suggest(trial)
    assert params == {"period": 5, "width": 0.5, "scale": 0.001, "mode": "fast"}
    assert trial.asked == [
        ("int", "period", 5, 50, 1, False),
        ("float", "width", 0.5, 4.0, 0.5, False),
        ("float", "scale", 0.001, 0.1, None, True),
        ("choice", "mode", ("fast", "slow")),
    ]


def test_json_round_trip() -> None:
    space = SearchSpace.of(_Config)
    text = json.dumps(space.to_dict())
    back = {name: dimension_from_dict(d) for name, d in json.loads(text).items()}
    assert back == dict(space.dimensions)


@pytest.mark.parametrize(
    ("make", "match"),
    [
        (lambda: IntRange(5, 1), "low <= high"),
        (lambda: IntRange(1, 5, step=0), "step"),
        (lambda: IntRange(0, 5, log=True), "log"),
        (lambda: FloatRange(1.0, math.inf), "finite"),
        (lambda: FloatRange(0.0, 1.0, log=True), "log"),
        (lambda: FloatRange(0.0, 1.0, step=-1.0), "step"),
        (lambda: Choice(()), "distinct"),
        (lambda: Choice(("a", "a")), "distinct"),
        (lambda: tunable(60, "x", IntRange(5, 50)), "outside its search range"),
        (lambda: tunable(2.5, "x", IntRange(1, 5)), "outside its search range"),
        (lambda: dimension_from_dict({"type": "normal"}), "unknown"),
        (lambda: SearchSpace.of(_Config).grid(0), "points"),
    ],
)
def test_malformed_ranges_are_refused(make: Any, match: str) -> None:
    with pytest.raises(SearchSpaceError, match=match):
        make()


def test_bool_is_not_an_int_in_a_range() -> None:
    assert not IntRange(0, 5).contains(True)
    assert not FloatRange(0.0, 5.0).contains(True)
    assert Choice((True, False)).contains(True)
    assert not Choice((1, 2)).contains(True)


def test_settle_bars_bounds_the_seed_of_a_wilder_average() -> None:
    candles = synthetic_candles(3000, seed=3)
    rsi_full = talib.RSI(candles.close, 14)
    start = 500
    rsi_part = talib.RSI(candles.close[start:], 14)
    k = settle_bars(14)
    assert k == 490
    gap = np.abs(rsi_full[start + 14 + k :] - rsi_part[14 + k :])
    assert gap.max() <= 1e-11
    early = np.abs(rsi_full[start + 20 : start + 40] - rsi_part[20:40])
    assert early.max() > 1e-6  # without settling the seed still shows
    assert settle_bars(14, depth=2) == 560
    with pytest.raises(ValueError, match="period"):
        settle_bars(0)


def test_atr_stops_scale_wilders_atr() -> None:
    candles = synthetic_candles(400, seed=9)

    class Config(AtrStops, StrategyConfig):
        pass

    config = Config(stop_atr=1.5, take_atr=4.0, stop_atr_period=10)
    levels = atr_stop_levels(candles, config)
    atr = talib.ATR(candles.high, candles.low, candles.close, 10)
    np.testing.assert_array_equal(levels.stop_distance, 1.5 * atr)
    np.testing.assert_array_equal(levels.take_distance, 4.0 * atr)
    stop, take = levels.long_levels(candles.close)
    assert (stop[10:] < candles.close[10:]).all()
    assert (take[10:] > candles.close[10:]).all()
    short_stop, short_take = levels.short_levels(candles.close)
    np.testing.assert_allclose(short_stop - candles.close, candles.close - stop)
    np.testing.assert_allclose(candles.close - short_take, take - candles.close)
    assert np.isnan(stop[:10]).all()
    with pytest.raises(ValidationError, match="stop_atr"):
        Config(stop_atr=0.0)
    assert list(SearchSpace.of(Config)) == ["stop_atr", "take_atr", "stop_atr_period"]
