"""The chunked, copy-free metrics give exactly the numbers of a whole-array computation."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest.metrics import bar_seconds, compute_metrics, equity_path, std_in_place

M = 60_000_000_000


def reference(equity: pd.Series, cash: float | None) -> dict[str, float]:
    """The path materialised, then plain numpy over whole arrays."""
    path = equity_path(equity, cash)
    v = path.to_numpy()
    t = pd.DatetimeIndex(path.index).as_unit("ns").asi8
    peak = np.maximum.accumulate(v)
    r = v[1:] / v[:-1] - 1.0
    steps = np.diff(t)
    periods = 365.25 * 86_400 / (float(np.median(steps[steps > 0])) / 1e9)
    return {
        "max_drawdown": float(np.max(1.0 - v / peak)),
        "max_drawdown_money": float(np.max(peak - v)),
        "volatility": float(r.std(ddof=1)) * math.sqrt(periods),
        "sharpe": float(r.mean()) / float(r.std(ddof=1)) * math.sqrt(periods),
        "bars": len(v) - 1,
        "initial_cash": float(v[0]),
        "periods_per_year": periods,
    }


@pytest.mark.parametrize(("n", "cash"), [(3, None), (200_003, 9_500.0), (140_000, None)])
def test_metrics_over_chunks_equal_whole_array_numbers(n: int, cash: float | None) -> None:
    rng = np.random.default_rng(n)
    times = 1_700_000_000 * 10**9 + np.cumsum(rng.choice([1, 1, 1, 2], n)) * M
    values = 10_000.0 * np.exp(np.cumsum(rng.normal(0.0, 0.002, n)))
    equity = pd.Series(values, index=pd.to_datetime(times, unit="ns", utc=True))
    got = compute_metrics(None, equity, initial_cash=cash)
    for key, want in reference(equity, cash).items():
        assert got[key] == want, key  # the same floats, not merely close


def test_std_in_place_is_numpys_std_to_the_last_bit() -> None:
    rng = np.random.default_rng(7)
    for n in (2, 3, 17, 1_000, 65_537):
        x = rng.normal(rng.normal(), 10 ** rng.uniform(-6, 2), n)
        assert std_in_place(x.copy()) == float(x.std(ddof=1))


def test_bar_seconds_is_the_median_positive_gap() -> None:
    rng = np.random.default_rng(3)
    for n in (1, 2, 5, 70_001):
        t = np.cumsum(rng.integers(0, 4, n)).astype(np.int64) * 10**9
        steps = np.diff(t)
        positive = steps[steps > 0]
        want = float(np.median(positive)) / 1e9 if positive.size else None
        assert bar_seconds(t) == want
