"""Portfolio risk: √(rᵀCr), clusters, the scale that fits, and a real correlated basket (BTC,
ETH, SOL, XRP, BNB 1m) cut back where an uncorrelated synthetic basket is not."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest

from mftbot.core.clock import SimulatedClock
from mftbot.core.ids import IntentKind
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.risk.base import OrderIntent, RiskContext
from mftbot.risk.config import PortfolioConfig
from mftbot.risk.engine import RuleBasedRiskEngine, SignalInfo
from mftbot.risk.portfolio_risk import (
    PortfolioRiskRule,
    correlated_clusters,
    effective_risk,
    max_scale,
)
from mftbot.risk.records import RiskAction
from mftbot.risk.results import RiskError

BASKET = ["BTC", "ETH", "SOL", "XRP", "BNB"]


def test_effective_risk_between_hedged_and_fully_correlated() -> None:
    r = [0.005, 0.005]
    assert effective_risk(r, np.ones((2, 2))) == pytest.approx(0.01)
    assert effective_risk(r, np.eye(2)) == pytest.approx(0.005 * np.sqrt(2))
    assert effective_risk([0.005, -0.005], np.ones((2, 2))) == pytest.approx(0.0)
    with pytest.raises(RiskError, match="expected"):
        effective_risk(r, np.eye(3))


def test_clusters_link_by_threshold() -> None:
    corr = np.array([[1.0, 0.8, 0.1], [0.8, 1.0, 0.75], [0.1, 0.75, 1.0]])
    assert correlated_clusters(["a", "b", "c"], corr, 0.7) == [frozenset({"a", "b", "c"})]
    groups = correlated_clusters(["a", "b", "c"], corr, 0.78)
    assert sorted(sorted(g) for g in groups) == [["a", "b"], ["c"]]


def test_max_scale_solves_the_limit_exactly() -> None:
    corr = np.array([[1.0, 0.6], [0.6, 1.0]])
    existing = np.array([0.006])
    s = max_scale(existing, 0.006, corr, 0.009)
    assert 0 < s < 1
    assert effective_risk([0.006, 0.006 * s], corr) == pytest.approx(0.009)
    assert max_scale(existing, 0.001, corr, 0.05) == 1.0
    assert max_scale(np.array([0.02]), 0.005, corr, 0.01) == 0.0
    # a hedge fits even when the book alone is over the limit
    assert max_scale(np.array([0.012]), -0.004, corr, 0.011) == 1.0


def test_rule_reduces_by_the_cluster_cap_and_refuses_below_min_scale() -> None:
    rule = PortfolioRiskRule(
        PortfolioConfig(
            max_portfolio_risk=0.05, max_cluster_risk=0.01, cluster_threshold=0.7, min_scale=0.3
        )
    )
    corr = np.array([[1.0, 0.9, 0.9], [0.9, 1.0, 0.9], [0.9, 0.9, 1.0]])
    cut = rule.evaluate(["A", "B"], [0.004, 0.004], "C", 0.004, corr)
    assert cut.passed
    assert cut.scale == pytest.approx(0.5)
    assert cut.reason.startswith("entry cut to 50.00 % by the cluster limit")
    assert cut.cluster == ("A", "B", "C")
    refused = rule.evaluate(["A", "B"], [0.0045, 0.0045], "C", 0.004, corr)
    assert not refused.passed
    assert refused.scale == 0.0
    assert "refused (cluster limit; room for 25.00 % of the entry < 30.00 %)" in refused.reason


def _price_path(rng: np.random.Generator, n: int, start: float) -> np.ndarray:
    return start * np.exp(np.cumsum(rng.normal(0.0, 0.001, n)))


def _engine_with_basket(
    make_engine: Callable[..., RuleBasedRiskEngine],
    clock: SimulatedClock,
    series: dict[str, list[CandleClosed]],
) -> RuleBasedRiskEngine:
    config: dict[str, Any] = {
        "checks": {"max_open_positions": 5, "max_leverage": 5.0, "max_symbol_exposure": 5.0},
        "portfolio": {"max_portfolio_risk": 0.008, "max_cluster_risk": 0.05, "min_obs": 100},
        "sizing": {"methods": ["fixed_fractional"], "risk_per_trade": 0.002},
        "adapters": {"vol_bands": [[1.0, 1.0]]},
    }
    engine = make_engine(config, persist=False)
    n = len(next(iter(series.values())))
    for i in range(n):
        for bars in series.values():
            clock.advance_to(bars[i].ts_recv)
            engine.on_bar(bars[i])
    return engine


def _enter_all(engine: RuleBasedRiskEngine, clock: SimulatedClock, symbols: list[str]) -> None:
    """Open the first four symbols at 0.2 % risk each (all pass), then ask for the fifth."""
    equity = 100_000.0
    now = clock.now_ns()
    for i, sym in enumerate(symbols):
        price = engine.state.last_price[sym]
        stop = price * 0.99
        intent = OrderIntent("basket", sym, Side.BUY, IntentKind.ENTRY, now, qty=1e7)
        decision = engine.check(
            intent, RiskContext(now, equity, equity, 0.0, price), SignalInfo(stop_price=stop)
        )
        assert decision.approved, decision.reason
        if i < len(symbols) - 1:
            record = engine.decisions[-1].portfolio
            assert record is not None
            assert record.scale == 1.0
            assert decision.intent is not None
            assert decision.intent.qty is not None
            engine.on_position(sym, decision.intent.qty, price, now, strategy="basket")


def test_correlated_real_basket_is_cut_back_but_an_uncorrelated_one_is_not(
    make_engine: Callable[..., RuleBasedRiskEngine],
    clock: SimulatedClock,
    real_bars: Callable[[str, int, int], list[CandleClosed]],
) -> None:
    start, n = 20_000, 300
    real = {f"{b}/USDT": real_bars(b, start, n) for b in BASKET}
    clock.advance_to(real["BTC/USDT"][0].ts_recv - 1)
    engine = _engine_with_basket(make_engine, clock, real)
    symbols = list(real)
    _enter_all(engine, clock, symbols)
    last = engine.decisions[-1]
    assert last.symbol == "BNB/USDT"
    assert last.action is RiskAction.RESIZED
    assert last.portfolio is not None
    assert last.portfolio.scale < 0.9
    assert last.sizing is not None
    assert last.final_qty is not None
    assert last.final_qty == pytest.approx(last.sizing.qty * last.portfolio.scale)
    assert last.portfolio.correlation_factor > 0.75
    assert "entry cut to" in last.reason
    assert "by the portfolio limit" in last.reason
    corr = np.array(last.portfolio.correlation)
    assert corr[np.triu_indices(5, 1)].mean() > 0.5
    assert last.portfolio.final_effective_risk == pytest.approx(0.008, rel=1e-6)

    rng = np.random.default_rng(11)
    t0 = real["BTC/USDT"][-1].ts_event + 3600 * 10**9
    synthetic: dict[str, list[CandleClosed]] = {}
    for i, sym in enumerate(["S1/USDT", "S2/USDT", "S3/USDT", "S4/USDT", "S5/USDT"]):
        closes = _price_path(rng, n, 100.0 * (i + 1))
        synthetic[sym] = [
            CandleClosed(
                "sim",
                sym,
                "1m",
                t0 + k * 60 * 10**9,
                t0 + (k + 1) * 60 * 10**9,
                t0 + (k + 1) * 60 * 10**9,
                c,
                c * 1.0005,
                c * 0.9995,
                c,
                1.0,
            )
            for k, c in enumerate(closes)
        ]
    other = _engine_with_basket(make_engine, clock, synthetic)
    _enter_all(other, clock, list(synthetic))
    unc = other.decisions[-1]
    assert unc.portfolio is not None
    assert unc.sizing is not None
    assert unc.final_qty == unc.sizing.qty  # sized, not cut by the portfolio rule
    assert unc.portfolio.scale == 1.0
    assert unc.portfolio.correlation_factor < 0.6
    assert unc.portfolio.effective_risk < 0.6 * 0.008
