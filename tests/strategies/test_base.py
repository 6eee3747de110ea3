"""Signals validation and flags; the strategy registry and its link to the analysis registry."""

from __future__ import annotations

from collections.abc import Iterator

import numpy as np
import pytest

from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.strategies import (
    ENTRY_LONG,
    ENTRY_SHORT,
    EXIT_LONG,
    EXIT_SHORT,
    CandleWindow,
    Signals,
    Strategy,
    StrategyConfig,
    StrategyError,
    get_strategy,
    list_strategies,
    register_strategy,
    strategy_spec,
    unregister_strategy,
)

B = np.array


def test_flags_combine_the_arrays() -> None:
    s = Signals(
        entry_long=B([True, False, False, True]),
        exit_long=B([False, True, False, True]),
        entry_short=B([False, False, True, False]),
        exit_short=B([False, True, False, False]),
        confidence=B([0.5, np.nan, 1.0, 0.0]),
    )
    assert s.flags().tolist() == [
        ENTRY_LONG,
        EXIT_LONG | EXIT_SHORT,
        ENTRY_SHORT,
        ENTRY_LONG | EXIT_LONG,
    ]
    assert [s.flag_at(i) for i in range(4)] == s.flags().tolist()
    assert s.flag_at(-1) == ENTRY_LONG | EXIT_LONG
    assert s.direction().tolist() == [1, 0, -1, 1]
    assert s.has_short
    assert len(s) == 4


def test_long_only_outputs_fill_the_short_columns() -> None:
    s = Signals(entry_long=B([True, False]), exit_long=B([False, True]))
    out = s.outputs()
    assert out["entry_short"].tolist() == [False, False]
    assert np.isnan(out["confidence"]).all()
    assert not s.has_short


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"entry_long": B([1, 0]), "exit_long": B([False, True])}, "bool"),
        ({"entry_long": B([True]), "exit_long": B([False, True])}, "rows"),
        (
            {"entry_long": B([True]), "exit_long": B([False]), "entry_short": B([True])},
            "both",
        ),
        (
            {"entry_long": B([True]), "exit_long": B([False]), "confidence": B([1.5])},
            r"outside \[0, 1\]",
        ),
        (
            {
                "entry_long": B([True, False]),
                "exit_long": B([False, False]),
                "confidence": B([np.nan, -np.inf]),
            },
            r"confidence\[1\] = -inf is outside",
        ),
        (
            {"entry_long": B([True]), "exit_long": B([False]), "confidence": B([1], dtype=int)},
            "float64",
        ),
    ],
)
def test_malformed_signals_are_refused(kwargs: dict[str, np.ndarray], match: str) -> None:
    with pytest.raises(StrategyError, match=match):
        Signals(**kwargs)


class _EveryTenthConfig(StrategyConfig):
    offset: int = 0


class _EveryTenth:
    """Enters on bars ≡ offset (mod 10), exits five bars later (by bar index in the window's
    time grid, so it is causal)."""

    name = "every_tenth_test"

    def __init__(self, config: _EveryTenthConfig | None = None) -> None:
        self.config = config or _EveryTenthConfig()

    @property
    def warmup(self) -> int:
        return 0

    @property
    def lookback(self) -> int:
        return 1

    def populate(self, window: CandleWindow) -> Signals:
        minute = (window.time_ns // 60_000_000_000 - self.config.offset) % 10
        return Signals(entry_long=minute == 0, exit_long=minute == 5)


@pytest.fixture
def registered() -> Iterator[str]:
    register_strategy(_EveryTenth.name, _EveryTenth, _EveryTenthConfig, description="test")
    yield _EveryTenth.name
    unregister_strategy(_EveryTenth.name)


def test_register_get_list_and_unregister(registered: str) -> None:
    assert registered in list_strategies()
    assert "sma_cross" in list_strategies()
    strategy = get_strategy(registered, {"offset": 3})
    assert isinstance(strategy, Strategy)
    assert strategy.config == _EveryTenthConfig(offset=3)
    entry = REGISTRY.get(registered)
    assert entry.kind is Kind.STRATEGY
    assert entry.outputs == ("entry_long", "exit_long", "entry_short", "exit_short", "confidence")
    assert dict(entry.params) == {"offset": 0}
    candles = CandleArrays.from_arrays(
        open=np.ones(20),
        high=np.ones(20),
        low=np.ones(20),
        close=np.ones(20),
        volume=np.ones(20),
        time_ns=np.arange(20, dtype=np.int64) * 60_000_000_000,
    )
    assert np.flatnonzero(REGISTRY.compute(registered, candles)["entry_long"]).tolist() == [0, 10]
    unregister_strategy(registered)
    assert registered not in list_strategies()
    assert registered not in REGISTRY
    register_strategy(_EveryTenth.name, _EveryTenth, _EveryTenthConfig)


def test_a_taken_name_is_refused(registered: str) -> None:
    class Other(_EveryTenth):
        pass

    with pytest.raises(StrategyError, match="already registered"):
        register_strategy(registered, Other, _EveryTenthConfig)


def test_a_name_taken_by_an_indicator_is_refused() -> None:
    with REGISTRY.scoped():
        REGISTRY.register("clash_test", lambda c: {"clash_test": c.close})

        class Clash(_EveryTenth):
            name = "clash_test"

        with pytest.raises(StrategyError, match="indicator"):
            register_strategy("clash_test", Clash, _EveryTenthConfig)
    assert "clash_test" not in list_strategies()


def test_unknown_strategy_lists_the_known_ones() -> None:
    with pytest.raises(StrategyError, match=r"unknown strategy 'nope'.*sma_cross"):
        get_strategy("nope")
    with pytest.raises(StrategyError, match="takes SmaCrossConfig"):
        strategy_spec("sma_cross").config(_EveryTenthConfig())


def test_signals_of_keeps_the_short_side_only_when_asked() -> None:
    entry, exit_ = B([True, False]), B([False, True])
    entry_s, exit_s = B([False, True]), B([True, False])
    conf = B([0.5, np.nan])
    long_only = Signals.of(entry, exit_, entry_s, exit_s, conf, short=False)
    assert not long_only.has_short
    assert long_only.flags().tolist() == [ENTRY_LONG, EXIT_LONG]
    both = Signals.of(entry, exit_, entry_s, exit_s, conf, short=True)
    assert both.has_short
    assert both.flags().tolist() == [ENTRY_LONG | EXIT_SHORT, EXIT_LONG | ENTRY_SHORT]
