"""Monte Carlo: trade-order bootstrap / permutation and block bootstrap of returns."""

from __future__ import annotations

import itertools
import json
import math
import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest.metrics import compute_metrics
from mftbot.backtest.montecarlo import (
    MonteCarloError,
    report_section,
    return_bootstrap,
    trade_bootstrap,
)
from mftbot.backtest.report import render_report
from mftbot.data.candles import read_candles


def max_drawdown(pnl: list[float] | np.ndarray, cash: float) -> float:
    """Independent loop over an additive equity path."""
    equity, peak, worst = cash, cash, 0.0
    for p in pnl:
        equity = max(equity + p, 0.0)
        peak = max(peak, equity)
        worst = max(worst, 1 - equity / peak)
    return worst


def hourly(values: np.ndarray) -> pd.Series:
    return pd.Series(
        values, index=pd.date_range("2024-01-01", periods=len(values), freq="1h", tz="UTC")
    )


# ---------------------------------------------------------------- trade order


def test_all_positive_trades_never_ruin() -> None:
    pnl = np.array([5.0, 1.0, 30.0, 2.5])
    for replace in (True, False):
        res = trade_bootstrap(pnl, initial_cash=100.0, n_paths=500, replace=replace, seed=1)
        assert res.prob_ruin == 0.0
        assert np.all(res.max_drawdowns == 0.0)
        assert np.all(res.final_returns > 0)


def test_one_trade_permutations_equal_the_original() -> None:
    res = trade_bootstrap([-300.0], initial_cash=1000.0, n_paths=200, replace=False, seed=3)
    assert res.original_max_drawdown == pytest.approx(0.3)
    assert np.all(res.max_drawdowns == res.original_max_drawdown)
    assert np.all(res.final_returns == res.original_final_return)
    assert res.prob_ruin == 0.0
    boot = trade_bootstrap([-300.0], initial_cash=1000.0, n_paths=200, seed=3)
    assert np.all(boot.max_drawdowns == boot.original_max_drawdown)


def test_seeded_runs_are_deterministic() -> None:
    pnl = np.random.default_rng(0).normal(1, 50, 300)
    a = trade_bootstrap(pnl, initial_cash=2000.0, n_paths=3000, seed=42)
    b = trade_bootstrap(pnl, initial_cash=2000.0, n_paths=3000, seed=42)
    c = trade_bootstrap(pnl, initial_cash=2000.0, n_paths=3000, seed=43)
    np.testing.assert_array_equal(a.final_returns, b.final_returns)
    np.testing.assert_array_equal(a.max_drawdowns, b.max_drawdowns)
    np.testing.assert_array_equal(a.ruined, b.ruined)
    assert not np.array_equal(a.final_returns, c.final_returns)
    assert a.to_dict() == b.to_dict()


def test_permutation_keeps_final_equity_exactly() -> None:
    rng = np.random.default_rng(5)
    pnl = rng.normal(2.0, 40.0, 250)
    cash = 5000.0
    res = trade_bootstrap(pnl, initial_cash=cash, n_paths=2000, replace=False, seed=9)
    assert res.method == "trade_permutation"
    expected = (cash + math.fsum(pnl.tolist())) / cash - 1
    assert res.original_final_return == expected
    assert np.all(res.final_returns == expected)  # exactly, on every path
    stats = res.final_return_stats()
    assert stats["p5"] <= res.original_final_return <= stats["p95"]
    # the order does change the drawdown: a spread around the original
    assert res.max_drawdowns.std() > 0
    assert res.original_max_drawdown == pytest.approx(max_drawdown(pnl, cash), rel=1e-12)


def test_permutation_drawdowns_match_exact_enumeration() -> None:
    pnl = [40.0, -70.0, 25.0, -30.0]
    cash = 200.0
    exact = [max_drawdown(list(p), cash) for p in itertools.permutations(pnl)]
    res = trade_bootstrap(pnl, initial_cash=cash, n_paths=24_000, replace=False, seed=11)
    values, counts = np.unique(np.round(res.max_drawdowns, 12), return_counts=True)
    exact_values, exact_counts = np.unique(np.round(exact, 12), return_counts=True)
    np.testing.assert_allclose(values, exact_values)
    expected = exact_counts / len(exact)
    se = np.sqrt(expected * (1 - expected) / res.n_paths)
    assert np.all(np.abs(counts / res.n_paths - expected) < 5 * se)


def test_bootstrap_ruin_matches_the_reflection_principle_and_a_plain_simulation() -> None:
    """i.i.d. ±1 trades from 10 with ruin at 5: ruin iff the walk falls 5 within N steps.
    P(min S_k <= -a) = 2 P(S_N < -a) + P(S_N = -a) for a simple symmetric random walk."""
    n_steps, a, paths = 60, 5, 40_000
    res = trade_bootstrap(
        [1.0, -1.0], initial_cash=10.0, n_paths=paths, n_trades=n_steps, seed=2024
    )

    def p_sn(k: int) -> float:  # P(S_N = k), S_N = 2X - N, X ~ Bin(N, 1/2)
        x2 = k + n_steps
        return (
            math.comb(n_steps, x2 // 2) / 2**n_steps
            if x2 % 2 == 0 and 0 <= x2 <= 2 * n_steps
            else 0.0
        )

    analytic = 2 * sum(p_sn(k) for k in range(-n_steps, -a)) + p_sn(-a)
    se = math.sqrt(analytic * (1 - analytic) / paths)
    assert abs(res.prob_ruin - analytic) < 5 * se
    # a plain simulation written here, with its own generator
    steps = np.random.default_rng(7).choice([-1.0, 1.0], size=(paths, n_steps))
    plain = float((np.cumsum(steps, axis=1).min(axis=1) <= -a).mean())
    assert abs(res.prob_ruin - plain) < 5 * math.sqrt(2) * se


def test_bootstrap_final_return_moments_of_a_random_walk() -> None:
    """±1 trades far from zero: the final PnL is a walk of N steps, mean 0 and std √N."""
    res = trade_bootstrap([1.0, -1.0], initial_cash=1000.0, n_paths=40_000, n_trades=60, seed=8)
    assert res.prob_ruin == 0.0
    assert res.final_returns.mean() == pytest.approx(0.0, abs=5 * math.sqrt(60 / 40_000) / 1000)
    assert res.final_returns.std() == pytest.approx(math.sqrt(60) / 1000, rel=0.03)


def test_wiped_out_paths_stay_at_zero() -> None:
    res = trade_bootstrap(
        [-2000.0, 5000.0], initial_cash=1000.0, n_paths=400, replace=False, seed=0
    )
    # order (-2000, +5000): wiped out first, stays at 0; order (+5000, -2000): ends at 4000
    assert set(np.round(res.final_returns, 12)) == {-1.0, 3.0}
    wiped = res.final_returns == -1.0
    assert np.all(res.max_drawdowns[wiped] == 1.0)
    assert np.all(res.ruined == wiped)
    assert np.all(res.max_drawdowns[~wiped] == pytest.approx(2000 / 6000))


def test_trades_frame_input_uses_closed_trades() -> None:
    t0 = pd.Timestamp("2024-01-01", tz="UTC")
    trades = pd.DataFrame(
        {
            "side": ["long", "long", "long"],
            "entry_time": [t0, t0 + pd.Timedelta(hours=1), t0 + pd.Timedelta(hours=2)],
            "exit_time": [t0 + pd.Timedelta(hours=5), t0 + pd.Timedelta(hours=3), pd.NaT],
            "entry_price": [1.0, 1.0, 1.0],
            "exit_price": [1.0, 1.0, np.nan],
            "qty": [1.0, 1.0, 1.0],
            "pnl": [-50.0, 20.0, 999.0],
            "fees": [0.0, 0.0, 0.0],
        }
    )
    res = trade_bootstrap(trades, initial_cash=100.0, n_paths=10, replace=False, seed=0)
    assert res.n_steps == 2  # the open trade is left out
    assert res.original_final_return == pytest.approx(-0.3)
    assert res.original_max_drawdown == pytest.approx(50 / 120)  # by exit time: +20, then -50


def test_no_trades_give_flat_paths() -> None:
    res = trade_bootstrap([], initial_cash=100.0, n_paths=50, seed=0)
    assert res.n_paths == 50
    assert res.prob_ruin == 0.0
    assert np.all(res.final_returns == 0.0)
    json.dumps(res.to_dict(), allow_nan=False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"ruin_level": -1.5}, "ruin_level"),
        ({"ruin_level": 0.0}, "ruin_level"),
        ({"percentiles": (5, 101)}, "percentiles"),
        ({"n_paths": 0}, "n_paths"),
        ({"initial_cash": -1.0}, "initial_cash"),
        ({"replace": False, "n_trades": 5}, "permutation"),
        ({"n_trades": -1}, "n_trades"),
    ],
)
def test_bad_parameters_raise(kwargs: dict[str, object], message: str) -> None:
    args: dict[str, object] = {"initial_cash": 100.0, "n_paths": 10}
    args.update(kwargs)
    with pytest.raises(MonteCarloError, match=message):
        trade_bootstrap([1.0, -1.0, 2.0], **args)  # type: ignore[arg-type]


def test_non_finite_pnl_raises() -> None:
    with pytest.raises(MonteCarloError, match="finite"):
        trade_bootstrap([1.0, np.nan], initial_cash=100.0)


def test_summary_table_and_dict() -> None:
    pnl = np.random.default_rng(1).normal(3, 30, 100)
    res = trade_bootstrap(pnl, initial_cash=1000.0, n_paths=1000, seed=4, percentiles=(10, 50, 90))
    table = res.summary_table()
    assert list(table.index) == ["final_return", "max_drawdown"]
    assert list(table.columns) == ["original", "mean", "std", "p10", "p50", "p90"]
    assert table.loc["final_return", "p50"] == pytest.approx(np.percentile(res.final_returns, 50))
    assert table.loc["max_drawdown", "mean"] == pytest.approx(res.max_drawdowns.mean())
    d = res.to_dict()
    json.dumps(d, allow_nan=False)
    assert d["prob_ruin"] == res.prob_ruin
    assert d["n_paths"] == 1000
    assert d["final_return"]["p90"] == table.loc["final_return", "p90"]


# ---------------------------------------------------------------- return resampling


def test_block_of_full_length_rotates_the_returns() -> None:
    """With one block as long as the series each path is a rotation of the original returns,
    so every path ends at the original final return."""
    rng = np.random.default_rng(8)
    equity = hourly(1000 * np.exp(np.cumsum(rng.normal(0, 0.02, 400))))
    res = return_bootstrap(equity, n_paths=300, block_size=399, seed=1)
    assert res.n_steps == 399
    np.testing.assert_allclose(res.final_returns, res.original_final_return, rtol=1e-9)
    assert res.max_drawdowns.std() > 0
    assert res.original_max_drawdown == pytest.approx(compute_metrics(None, equity)["max_drawdown"])


def test_constant_returns_give_identical_paths() -> None:
    equity = hourly(100 * 1.01 ** np.arange(50))
    res = return_bootstrap(equity, n_paths=100, horizon=120, seed=3)
    np.testing.assert_allclose(res.final_returns, 1.01**120 - 1, rtol=1e-9)
    assert np.all(res.max_drawdowns < 1e-12)
    assert res.prob_ruin == 0.0


def test_return_bootstrap_is_seeded_and_bounded() -> None:
    rng = np.random.default_rng(2)
    equity = hourly(100 * np.exp(np.cumsum(rng.normal(0, 0.01, 3000))))
    a = return_bootstrap(equity, n_paths=2000, seed=5)  # several chunks of paths
    b = return_bootstrap(equity, n_paths=2000, seed=5)
    np.testing.assert_array_equal(a.max_drawdowns, b.max_drawdowns)
    assert a.block_size == round(3000 ** (1 / 3))
    assert a.max_drawdowns.min() >= 0
    assert a.max_drawdowns.max() <= 1


def test_return_bootstrap_ruin_against_a_plain_simulation() -> None:
    """Returns of ±10 % with block size 1 are i.i.d.; ruin at −50 % checked by a plain loop."""
    r = np.tile([0.1, -0.1], 50)
    equity = hourly(100 * np.cumprod(np.concatenate(([1.0], 1 + r))))
    res = return_bootstrap(equity, n_paths=20_000, block_size=1, horizon=60, seed=6)
    steps = np.random.default_rng(99).choice(np.log1p([0.1, -0.1]), size=(20_000, 60))
    plain = float((np.cumsum(steps, axis=1).min(axis=1) <= math.log(0.5)).mean())
    se = math.sqrt(plain * (1 - plain) / 20_000)
    assert plain > 0.05  # the check means something
    assert abs(res.prob_ruin - plain) < 5 * math.sqrt(2) * se


# ---------------------------------------------------------------- report


def test_report_section_renders_in_the_report() -> None:
    rng = np.random.default_rng(4)
    equity = hourly(1000 * np.exp(np.cumsum(rng.normal(0, 0.01, 500))))
    res = trade_bootstrap(rng.normal(1, 20, 80), initial_cash=1000.0, n_paths=777, seed=1)
    boot = return_bootstrap(equity, n_paths=333, seed=1)
    html = render_report(
        trades=None, equity=equity, sections=[report_section(res), report_section(boot)]
    )
    assert 'id="mc-trade-bootstrap"' in html
    assert 'id="mc-return-bootstrap"' in html
    part = re.search(r'<section id="mc-trade-bootstrap">(.*?)</section>', html, re.S)
    assert part
    counts = [int(c) for c in re.findall(r'class="bar mc"[^>]*data-count="(\d+)"', part.group(1))]
    assert sum(counts) == 777  # the drawdown histogram holds every path
    assert f"{100 * res.prob_ruin:.2f} %" in part.group(1)
    assert "https://" not in html


@pytest.mark.realdata
def test_return_bootstrap_on_real_buy_and_hold(data_dir: Path) -> None:
    candles = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-15m.feather")
    equity = 10_000 * candles["close"] / candles["close"].iloc[0]
    res = return_bootstrap(equity, n_paths=2000, seed=0)
    m = compute_metrics(None, equity)
    assert res.original_final_return == pytest.approx(m["total_return"], rel=1e-12)
    assert res.original_max_drawdown == pytest.approx(m["max_drawdown"], rel=1e-9)
    stats = res.final_return_stats()
    # block resampling keeps the drift: the realised return lies inside the 5–95 % band
    assert stats["p5"] < res.original_final_return < stats["p95"]
