"""Building blocks of the synthetic market: the matching book, the latent process, timeframes."""

from __future__ import annotations

import math

import numpy as np
import pytest

from mftbot.core.errors import BookError
from mftbot.data.synthetic.config import LatentConfig, decimals_of
from mftbot.data.synthetic.latent import LatentProcess, ar1, mean_vol_power
from mftbot.data.synthetic.matching import LevelBook
from mftbot.data.synthetic.randomness import RandomPool, make_rng
from mftbot.data.synthetic.timeframes import timeframe_ns


def _book() -> LevelBook:
    book = LevelBook()
    book.add(True, 100, 5, owner=0)
    book.add(True, 100, 3, owner=1)
    book.add(True, 99, 10, owner=2)
    book.add(False, 102, 4, owner=0)
    book.add(False, 103, 6, owner=1)
    book.pop_changes()
    return book


def test_taker_fills_in_price_then_time_priority() -> None:
    book = _book()
    execution = book.take(False, 12, limit_tick=90)
    assert execution.levels == [(100, 8), (99, 4)]
    assert execution.makers == [(0, 5), (1, 3), (2, 4)]
    assert book.best_bid() == 99
    assert book.level_lots(True, 99) == 6
    assert book.pop_changes() == ([(100, 0), (99, 6)], [])


def test_taker_stops_at_its_limit_and_drops_the_rest() -> None:
    book = _book()
    execution = book.take(True, 100, limit_tick=102)
    assert execution.levels == [(102, 4)]
    assert execution.lots == 4
    assert book.best_ask() == 103


def test_passive_orders_never_cross() -> None:
    book = _book()
    with pytest.raises(BookError, match="cross"):
        book.add(True, 102, 1)
    with pytest.raises(BookError, match="cross"):
        book.add(False, 100, 1)
    with pytest.raises(BookError, match="lots"):
        book.add(True, 101, 0)


def test_changes_are_net_and_cancel_is_idempotent() -> None:
    book = _book()
    order = book.add(True, 101, 2)
    assert book.cancel(order.oid) == 2
    assert book.cancel(order.oid) == 0
    assert book.pop_changes() == ([], [])  # added then removed: nothing to publish
    first = book.levels(True)[0]
    assert first == (100, 8)
    assert book.levels(False, depth=1) == [(102, 4)]
    assert len(book) == 5


def test_ar1_matches_the_recursion() -> None:
    rng = np.random.default_rng(0)
    innovations = rng.standard_normal(500)
    coef, x = 0.97, 0.3
    expected = []
    for value in innovations:
        x = coef * x + value
        expected.append(x)
    assert np.allclose(ar1(0.3, coef, innovations), expected, rtol=1e-9, atol=1e-9)


def test_latent_volatility_averages_to_the_instrument_volatility() -> None:
    cfg = LatentConfig()
    process = LatentProcess(
        cfg,
        annual_vol=0.8,
        price0=100.0,
        step_s=600.0,
        market_rng=make_rng(1, 1),
        symbol_rng=make_rng(1, 2, key="X"),
        chunk_steps=8192,
    )
    chunks = [process.next_chunk() for _ in range(60)]  # ~9 years: ~1700 slow half-lives
    ratio = np.concatenate([c.vol_ratio for c in chunks])
    assert np.mean(ratio**2) == pytest.approx(1.0, rel=0.1)
    assert np.mean(ratio) == pytest.approx(mean_vol_power(cfg, 1.0), rel=0.05)
    log_end = np.concatenate([c.log_end for c in chunks])
    log_start = np.concatenate([c.log_start for c in chunks])
    assert (log_start[1:] == log_end[:-1]).all()
    diffusion = np.diff(np.concatenate(([log_start[0]], log_end))) - np.concatenate(
        [c.jump for c in chunks]
    )
    annual = diffusion.std() * math.sqrt(365 * 24 * 6)
    assert annual == pytest.approx(0.8, rel=0.1)
    assert np.unique(np.round(ratio, 6)).size > 100  # continuous, not just three regimes


def test_random_pool_is_reproducible() -> None:
    a, b = RandomPool(make_rng(5, 3, key="S")), RandomPool(make_rng(5, 3, key="S"))
    draws_a = [a.uniform() + a.normal() + a.exponential() for _ in range(10_000)]
    draws_b = [b.uniform() + b.normal() + b.exponential() for _ in range(10_000)]
    assert draws_a == draws_b
    s, t = RandomPool(make_rng(5, 3, key="S")), RandomPool(make_rng(5, 3, key="T"))
    assert [s.uniform() for _ in range(5)] != [t.uniform() for _ in range(5)]


@pytest.mark.parametrize(
    ("text", "ns"),
    [("1s", 10**9), ("15m", 900 * 10**9), ("4h", 4 * 3600 * 10**9), ("1w", 7 * 86400 * 10**9)],
)
def test_timeframes(text: str, ns: int) -> None:
    assert timeframe_ns(text) == ns


@pytest.mark.parametrize("text", ["", "m", "0m", "1M", "1.5h", "5 m", "01m"])
def test_bad_timeframes(text: str) -> None:
    with pytest.raises(ValueError, match="timeframe"):
        timeframe_ns(text)


@pytest.mark.parametrize(("step", "decimals"), [(0.01, 2), (1.0, 0), (0.0001, 4), (0.5, 1)])
def test_decimals_of(step: float, decimals: int) -> None:
    assert decimals_of(step) == decimals
