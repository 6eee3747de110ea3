"""The weight optimiser: shrunk, clipped scores; a softmax; floors and caps that hold while
the weights sum to 1."""

from __future__ import annotations

import numpy as np
import pytest

from mftbot.strategies.performance import TradeStats
from mftbot.strategies.weights import (
    SCORE_CLIP,
    WeightError,
    WeightRule,
    capped_simplex,
    optimise_weights,
    score,
)


def stats(returns: list[float]) -> TradeStats:
    return TradeStats.of(returns)


WINNER = stats([0.01, 0.02, 0.015, 0.005] * 5)
LOSER = stats([-0.01, -0.02, 0.005, -0.015] * 5)
NOTHING = stats([])


def test_scores_shrink_with_few_trades_and_are_clipped() -> None:
    assert score(NOTHING, 10.0) == 0.0
    few = stats([0.01, 0.02])
    many = stats([0.01, 0.02] * 20)
    assert 0.0 < score(few, 10.0) < score(many, 10.0)
    assert score(few, 0.0) == pytest.approx(min(few.risk_adjusted, SCORE_CLIP))
    assert score(stats([0.01, 0.0100001] * 50), 0.0) == SCORE_CLIP
    assert score(LOSER, 10.0) < 0.0


def test_the_loser_gets_less_weight_and_everything_sums_to_one() -> None:
    rule = WeightRule(floor=0.1, cap=0.6, temperature=0.5, prior_trades=10.0)
    w = optimise_weights([WINNER, NOTHING, LOSER], rule)
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w[0] > w[1] > w[2]
    assert w.min() >= 0.1
    assert w.max() <= 0.6
    same = optimise_weights([WINNER, WINNER, WINNER], rule)
    np.testing.assert_allclose(same, 1 / 3, rtol=1e-12)
    hot = optimise_weights([WINNER, NOTHING, LOSER], WeightRule(0.0, 1.0, 0.05, 0.0))
    cold = optimise_weights([WINNER, NOTHING, LOSER], WeightRule(0.0, 1.0, 50.0, 0.0))
    assert hot[0] > cold[0]
    assert np.ptp(cold) < 0.05


def test_floor_and_cap_bind_and_the_rest_keeps_its_ratios() -> None:
    w = capped_simplex([100.0, 1.0, 2.0, 4.0], 0.1, 0.5)
    assert w[0] == 0.5  # capped
    assert w[1] == 0.1  # floored
    assert w.sum() == pytest.approx(1.0, abs=1e-12)
    assert w[3] / w[2] == pytest.approx(2.0)  # the free weights stay proportional
    np.testing.assert_allclose(capped_simplex([1.0, 5.0], 0.5, 0.9), [0.5, 0.5])
    np.testing.assert_allclose(capped_simplex([1.0, 5.0, 9.0], 0.0, 1 / 3), [1 / 3] * 3)
    np.testing.assert_allclose(capped_simplex([7.0], 0.0, 1.0), [1.0])


def test_random_inputs_always_meet_the_constraints() -> None:
    rng = np.random.default_rng(0)
    for _ in range(500):
        m = int(rng.integers(1, 10))
        raw = np.exp(rng.normal(0.0, 3.0, m))
        floor = float(rng.uniform(0.0, 1.0 / m))
        cap = float(rng.uniform(1.0 / m, 1.0))
        w = capped_simplex(raw, floor, cap)
        assert abs(w.sum() - 1.0) < 1e-12
        assert (w >= floor).all()
        assert (w <= cap).all()
        order = np.argsort(raw, kind="stable")
        assert (np.diff(w[order]) >= -1e-15).all()


@pytest.mark.parametrize(
    ("rule", "members", "message"),
    [
        (WeightRule(floor=0.3), 4, "floor <= 1/4"),
        (WeightRule(cap=0.2), 4, "floor <= 1/4 <= cap"),
        (WeightRule(floor=0.6, cap=0.5), 2, "floor <= cap"),
        (WeightRule(temperature=0.0), 2, "temperature"),
        (WeightRule(prior_trades=-1.0), 2, "prior_trades"),
        (WeightRule(), 0, "at least one"),
    ],
)
def test_inconsistent_rules_are_refused(rule: WeightRule, members: int, message: str) -> None:
    with pytest.raises(WeightError, match=message):
        rule.check(members)


def test_raw_weights_must_be_positive() -> None:
    with pytest.raises(WeightError, match="positive"):
        capped_simplex([1.0, 0.0], 0.0, 1.0)
    with pytest.raises(WeightError, match="positive"):
        capped_simplex([1.0, np.nan], 0.0, 1.0)
