"""The look-ahead checker: clean on everything registered, and it catches leaks."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

import mftbot.analysis.indicators
import mftbot.analysis.levels
import mftbot.analysis.regime
import mftbot.features.candle
import mftbot.features.indicator  # noqa: F401  (registers the indicator feature channel)
from mftbot.analysis.lookahead import (
    check_entry,
    check_lookahead,
    cut_points,
    first_mismatch,
    synthetic_candles,
)
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind, Registry


def test_every_registered_entry_is_causal_on_real_candles(bars: CandleArrays) -> None:
    report = check_lookahead(bars, cuts=20, seed=7)
    assert len(report.results) == len(REGISTRY) >= 29
    assert [str(v) for v in report.violations] == []
    assert {r.name: r.error for r in report.results if r.error} == {}
    assert report.ok
    assert all(len(r.cuts) == 20 for r in report.results)


def _centred_ma(c: CandleArrays) -> dict[str, np.ndarray]:
    return {"centred_ma": pd.Series(c.close).rolling(5, center=True).mean().to_numpy()}


def _next_close(c: CandleArrays) -> dict[str, np.ndarray]:
    return {"next_close": pd.Series(c.close).shift(-1).to_numpy()}


def _zscore(c: CandleArrays) -> dict[str, np.ndarray]:
    return {"zscore": (c.close - c.close.mean()) / c.close.std()}


@pytest.mark.parametrize(
    ("name", "compute", "lag", "first_visible"),
    [
        ("centred_ma", _centred_ma, 2, 3),
        ("next_close", _next_close, 1, 1),
        ("zscore", _zscore, None, 1),
    ],
)
def test_a_leaky_entry_is_caught_and_the_registry_restored(
    btc: CandleArrays, name: str, compute: object, lag: int | None, first_visible: int
) -> None:
    before = REGISTRY.output_names()
    with REGISTRY.scoped():
        REGISTRY.register(name, compute, kind=Kind.FEATURE, warmup=4)  # type: ignore[arg-type]
        report = check_lookahead(btc, cuts=10, seed=1)
    assert REGISTRY.output_names() == before
    assert not report.ok
    assert [r.name for r in report.failed] == [name]
    (violation,) = report.violations
    assert violation.output == name
    # Every cut from the first one that leaves a finite value before it exposes the leak.
    (result,) = report.failed
    assert violation.failed_cuts == sum(c >= first_visible for c in result.cuts)
    if lag is not None:
        # The first changed value is `lag` bars before the (smallest) cut.
        assert violation.index == violation.cut - lag
        assert np.isnan(violation.truncated)
    else:
        assert violation.index == 0


def test_relative_tolerance_for_recursive_computations(btc: CandleArrays) -> None:
    reg = Registry()

    def wobble(scale: float) -> object:
        def compute(c: CandleArrays) -> dict[str, np.ndarray]:
            return {"out": c.close * (1.0 + scale * (len(c) % 2))}

        return compute

    reg.register("tiny", wobble(1e-12), outputs=("out",))  # type: ignore[arg-type]
    reg.register("large", wobble(1e-6), outputs=("out",))  # type: ignore[arg-type]
    report = check_lookahead(btc, registry=reg, cuts=12, seed=3)
    assert [r.name for r in report.failed] == ["large"]
    assert report.to_dict()["violations"][0]["output"] == "large.out"


def test_failing_and_input_mutating_entries_are_reported(btc: CandleArrays) -> None:
    reg = Registry()

    def raises_when_short(c: CandleArrays) -> dict[str, np.ndarray]:
        if len(c) < 1000:
            raise ValueError("too short")
        return {"raises_when_short": c.close.copy()}

    def mutates(c: CandleArrays) -> dict[str, np.ndarray]:
        c.close[0] = 0.0
        return {"mutates": c.close}

    reg.register("raises_when_short", raises_when_short)
    reg.register("mutates", mutates)
    report = check_lookahead(btc, registry=reg, cuts=5)
    errors = report.to_dict()["errors"]
    assert "too short" in errors["raises_when_short"]
    assert "read-only" in errors["mutates"]
    assert not report.ok


def test_cut_points_cover_the_warmup_and_are_seeded() -> None:
    rng = np.random.default_rng
    cuts = cut_points(3000, 77, 20, rng(0))
    assert len(cuts) == 20
    assert cuts == sorted(set(cuts))
    assert all(1 <= c < 3000 for c in cuts)
    assert sum(c <= 78 for c in cuts) == 5
    assert cuts == cut_points(3000, 77, 20, rng(0))
    assert cuts != cut_points(3000, 77, 20, rng(1))
    assert cut_points(5, 100, 20, rng(0)) == [1, 2, 3, 4]
    assert cut_points(1, 0, 20, rng(0)) == []


def test_first_mismatch() -> None:
    nan = np.nan
    a = np.array([nan, 1.0, 2.0, 3.0])
    assert first_mismatch(a, a.copy(), 1e-9) == -1
    assert first_mismatch(a, np.array([nan, 1.0, 2.0 * (1 + 1e-12), 3.0]), 1e-9) == -1
    assert first_mismatch(a, np.array([nan, 1.0, 2.0 * (1 + 1e-8), 3.0]), 1e-9) == 2
    assert first_mismatch(a, np.array([0.0, 1.0, 2.0, 3.0]), 1e-9) == 0
    assert first_mismatch(a, np.array([nan, 1.0, 2.0, nan]), 1e-9) == 3
    assert first_mismatch(np.array([1, 2, 3]), np.array([1, 2, 4]), 1e-9) == 2
    assert first_mismatch(np.array([0.0, 1e-300]), np.array([0.0, 2e-300]), 1e-9) == 1


def test_synthetic_candles_are_consistent_and_causal() -> None:
    candles = synthetic_candles(3000, seed=5)
    assert len(candles) == 3000
    assert (candles.high >= np.maximum(candles.open, candles.close)).all()
    assert (candles.low <= np.minimum(candles.open, candles.close)).all()
    assert (candles.volume == 0.0).any()
    assert (np.diff(candles.time_ns) == 60 * 10**9).all()
    np.testing.assert_array_equal(candles.close, synthetic_candles(3000, seed=5).close)
    result = check_entry(REGISTRY.get("vwap"), candles, cuts=10)
    assert result.ok
    assert check_lookahead(candles, cuts=5).ok
