"""The consensus rules on scripted members: agreement, the hold of a vote, the conflict rule
and its count, the weighted and short sides, and weights that follow performance."""

from __future__ import annotations

from collections.abc import Iterator, Mapping

import numpy as np
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.strategies import (
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    CandleWindow,
    Signals,
    StrategyConfig,
    get_strategy,
    register_strategy,
    unregister_strategy,
)
from mftbot.strategies.consensus import Consensus

SCRIPTS = ("script_a", "script_b", "script_c")
MINUTE = 60_000_000_000
T0 = 1_700_004_000 * 1_000_000_000  # a multiple of the 100-minute re-weight blocks


class ScriptConfig(StrategyConfig):
    """A scripted member has no parameters."""


def scripted(name: str) -> type:
    """A member that replays the flags (and a confidence of 0.5) from ``extra[name]``."""

    class Scripted:
        def __init__(self, config: ScriptConfig | None = None) -> None:
            self.config = config or ScriptConfig()

        warmup = 0
        lookback = 1

        def populate(self, window: CandleWindow) -> Signals:
            flags = np.asarray(window.extra[name], dtype=np.int8)
            entry = (flags & (ENTRY_LONG | ENTRY_SHORT)) != 0
            return Signals(
                entry_long=(flags & ENTRY_LONG) != 0,
                exit_long=(flags & EXIT_LONG) != 0,
                entry_short=(flags & ENTRY_SHORT) != 0,
                exit_short=(flags & 8) != 0,
                confidence=np.where(entry, 0.5, np.nan),
            )

    Scripted.name = name  # type: ignore[attr-defined]
    return Scripted


@pytest.fixture(scope="module", autouse=True)
def scripts() -> Iterator[None]:
    for name in SCRIPTS:
        register_strategy(name, scripted(name), ScriptConfig, lookahead=False)
    yield
    for name in SCRIPTS:
        unregister_strategy(name)


def candles(close: np.ndarray, flags: Mapping[str, dict[int, int]]) -> CandleArrays:
    n = close.size
    extra = {}
    for name in SCRIPTS:
        column = np.zeros(n, dtype=np.int8)
        for bar, value in flags.get(name, {}).items():
            column[bar] = value
        extra[name] = column
    open_ = np.concatenate(([close[0]], close[:-1]))
    return CandleArrays.from_arrays(
        open=open_,
        high=np.maximum(open_, close) * 1.001,
        low=np.minimum(open_, close) * 0.999,
        close=close,
        volume=np.ones(n),
        time_ns=T0 + MINUTE * np.arange(n),
        extra=extra,
    )


def consensus(**params: object) -> Consensus:
    strategy = get_strategy("consensus", {"members": list(SCRIPTS), **params})
    assert isinstance(strategy, Consensus)
    return strategy


L, X, S = ENTRY_LONG, EXIT_LONG, ENTRY_SHORT


def test_agreement_hold_and_the_conflict_rule() -> None:
    window = candles(
        np.full(40, 100.0),
        {
            "script_a": {5: L, 20: L, 32: L, 36: L},
            "script_b": {5: X, 20: X},
            "script_c": {3: L, 30: L, 38: L | X},
        },
    )
    strategy = consensus(mode="majority", min_agree=2, hold=5)
    signals = strategy.populate(window)
    # 5: a enters while c (entered at 3) still holds: two agree, b's exit is overruled.
    # 20: a alone is long: b's exit stands. 32: c (30) still holds. 36: c's vote expired.
    # 38: c enters (its own exit on the same bar does not cancel it) while a (36) holds.
    assert np.flatnonzero(signals.entry_long).tolist() == [5, 32, 38]
    assert np.flatnonzero(signals.exit_long).tolist() == [20]
    report = strategy.diagnostics(window)
    assert report.conflicts == 2  # 5 and 20; one member entering and exiting is no conflict
    assert (report.entries, report.exits) == (3, 1)
    # confidence: the agreeing members' confidence (0.5 each), a third of the weight each
    assert signals.confidence is not None
    np.testing.assert_allclose(signals.confidence[[5, 32, 38]], [1 / 3] * 3)
    assert np.isnan(signals.confidence[20])


def test_an_exit_ends_a_vote_and_unanimity_needs_everyone() -> None:
    window = candles(
        np.full(30, 100.0),
        {
            "script_a": {2: L, 10: L},
            "script_b": {3: L, 9: L},
            "script_c": {4: L, 6: X, 12: L},
        },
    )
    unanimous = consensus(mode="unanimous", hold=8).populate(window)
    majority = consensus(mode="majority", hold=8).populate(window)
    # 4: all three long. 9/10: c left at 6. 12: c is back while a (10) and b (9) still hold.
    assert np.flatnonzero(unanimous.entry_long).tolist() == [4, 12]
    assert np.flatnonzero(majority.entry_long).tolist() == [3, 4, 9, 10, 12]
    assert not (unanimous.entry_long & ~majority.entry_long).any()


def test_weighted_side_with_static_weights_and_shorts() -> None:
    window = candles(
        np.full(30, 100.0),
        {
            "script_a": {6: S, 14: S},
            "script_b": {3: L, 8: L},
            "script_c": {8: L, 20: S},
        },
    )
    strategy = consensus(
        mode="weighted",
        min_agree=1,
        min_weight=0.5,
        short=True,
        hold=10,
        weights={"script_a": 3.0, "script_b": 1.0, "script_c": 1.0},
        adaptive={"enabled": False},
    )
    signals = strategy.populate(window)
    assert signals.entry_short is not None
    # 3: b long carries 0.2 < 0.5. 6: a short carries 0.6. 8: b + c long carry 0.4 only.
    # 14: a short (0.6) beats b + c long (0.4). 20: a (14) and c short carry 0.8.
    assert not signals.entry_long.any()
    assert np.flatnonzero(signals.entry_short).tolist() == [6, 14, 20]
    assert signals.confidence is not None
    np.testing.assert_allclose(signals.confidence[[6, 14, 20]], [0.3, 0.3, 0.4])
    history = strategy.diagnostics(window).weights
    assert len(history) == 1
    np.testing.assert_allclose(history.iloc[0, :3].to_numpy(), [0.6, 0.2, 0.2])


def sawtooth(n: int, period: int) -> np.ndarray:
    phase = np.arange(n) % period
    half = period // 2
    rng = np.random.default_rng(2)
    return 100.0 + np.where(phase < half, phase, period - phase) + rng.normal(0.0, 0.05, n)


def test_a_member_that_loses_gets_less_weight() -> None:
    n, period, switch = 2400, 20, 1200
    close = sawtooth(n, period)
    good: dict[int, int] = {}
    bad: dict[int, int] = {}
    for start in range(0, n - period, period):
        trough, peak = start, start + period // 2
        # buy the trough (decided a bar before, filled at the next open), sell the peak
        winner, loser = (good, bad) if start < switch else (bad, good)
        winner[max(trough - 1, 0)] = L
        winner[peak - 1] = X
        loser[peak - 1] = L
        loser[start + period - 1] = X
    window = candles(close, {"script_a": good, "script_b": bad})
    strategy = consensus(
        mode="weighted",
        min_agree=1,
        adaptive={
            "window": 300,
            "reweight_every": 100,
            "regime_aware": False,
            "cap": 0.9,
            "prior_trades": 2,
        },
    )
    history = strategy.diagnostics(window).weights
    weights = history[list(SCRIPTS)]
    np.testing.assert_allclose(weights.sum(axis=1), 1.0, atol=1e-12)
    assert ((weights >= 0.05 - 1e-15) & (weights <= 0.9 + 1e-15)).all().all()
    bars = (history.index.as_unit("ns").asi8 - T0) // MINUTE
    early = weights[(bars >= 300) & (bars < switch)]
    late = weights[bars >= switch + 300]
    assert len(early) >= 5
    assert len(late) >= 5
    assert (early["script_a"] > early["script_b"]).all()
    assert (early["script_a"] > early["script_c"]).all()  # c never trades: neutral
    assert (late["script_b"] > late["script_a"]).all()
    assert (late["script_a"] <= late["script_c"]).all()
    # the weights feed the vote: once a loses favour, its entries alone no longer suffice
    signals = strategy.populate(window)
    late_a_entries = [b for b, f in good.items() if f == L and b > switch + 400]
    assert not signals.entry_long[late_a_entries].any()


def test_a_book_member_makes_the_consensus_need_book_columns() -> None:
    register_strategy(
        "script_book", scripted("script_book"), ScriptConfig, kind="orderbook", lookahead=False
    )
    try:
        assert not consensus().needs_book
        with_book = get_strategy("consensus", {"members": ["script_a", "script_book"]})
        assert isinstance(with_book, Consensus)
        assert with_book.needs_book
    finally:
        unregister_strategy("script_book")
