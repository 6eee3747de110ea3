"""Loading user strategies from a folder: the worked example in docs/, reloads, errors."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from mftbot.analysis.lookahead import check_entry
from mftbot.analysis.registry import REGISTRY, CandleArrays, Kind
from mftbot.backtest.api import backtest
from mftbot.data.candles import read_candles
from mftbot.strategies import (
    StrategyError,
    get_strategy,
    list_strategies,
    strategy_spec,
    unregister_strategy,
)
from mftbot.strategies.loader import PACKAGE, load_user_strategies, module_name, strategy_files
from mftbot.strategies.params import SearchSpace

EXAMPLE = Path(__file__).resolve().parents[2] / "docs" / "examples" / "my_strategy.py"

BROKEN = """
from mftbot.strategies import register_strategy
raise RuntimeError("this file is broken on purpose")
"""


@pytest.fixture
def folder(tmp_path: Path) -> Iterator[Path]:
    """A user's strategy folder holding a copy of the worked example; cleaned up after."""
    shutil.copy(EXAMPLE, tmp_path / "my_strategy.py")
    yield tmp_path
    if "my_rsi_dip" in list_strategies():
        unregister_strategy("my_rsi_dip")
    for name in [m for m in sys.modules if m.startswith(PACKAGE + ".")]:
        del sys.modules[name]


def candles(data_dir: Path, bars: int) -> tuple[pd.DataFrame, CandleArrays]:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-5m.feather").iloc[:bars]
    return df, CandleArrays.from_frame(df)


def test_the_worked_example_loads_and_trades(folder: Path, data_dir: Path) -> None:
    assert "my_rsi_dip" not in list_strategies()
    assert load_user_strategies(folder) == ["my_rsi_dip"]
    assert module_name(folder / "my_strategy.py") in sys.modules
    strategy = get_strategy("my_rsi_dip", {"oversold": 30.0})
    assert strategy.config.model_dump()["oversold"] == 30.0
    assert list(SearchSpace.of(strategy_spec("my_rsi_dip").config_type)) == [
        "stop_atr",
        "take_atr",
        "stop_atr_period",
        "rsi_period",
        "oversold",
        "overbought",
        "trend_period",
    ]
    df, arrays = candles(data_dir, 20_000)
    fast = backtest("my_rsi_dip", df, mode="fast")
    step = backtest("my_rsi_dip", df, mode="step")
    assert fast.metrics["trades"] >= 10
    assert fast.final_equity == step.final_equity
    assert fast.trades.equals(step.trades)
    entry = REGISTRY.get("my_rsi_dip")
    assert entry.kind is Kind.STRATEGY
    verdict = check_entry(entry, arrays.head(5000), cuts=15, seed=2)
    assert verdict.ok, [str(v) for v in verdict.violations]


def test_loading_again_replaces_the_strategy(folder: Path) -> None:
    load_user_strategies(folder)
    first = strategy_spec("my_rsi_dip")
    text = (folder / "my_strategy.py").read_text()
    (folder / "my_strategy.py").write_text(text.replace('"RSI dip inside an up-trend"', '"v2"'))
    assert load_user_strategies(folder) == ["my_rsi_dip"]
    assert strategy_spec("my_rsi_dip") is not first
    assert strategy_spec("my_rsi_dip").description == "v2"


def test_private_and_non_python_files_are_skipped(folder: Path) -> None:
    (folder / "_helpers.py").write_text(BROKEN)
    (folder / "notes.txt").write_text("not python")
    (folder / "sub").mkdir()
    (folder / "sub" / "other.py").write_text(BROKEN)
    assert strategy_files(folder) == [folder / "my_strategy.py"]
    assert load_user_strategies(folder) == ["my_rsi_dip"]


def test_a_broken_file_is_named_and_leaves_no_module(folder: Path) -> None:
    bad = folder / "zz_broken.py"
    bad.write_text(BROKEN)
    with pytest.raises(StrategyError, match=r"zz_broken\.py: RuntimeError: this file is broken"):
        load_user_strategies(folder)
    assert module_name(bad) not in sys.modules
    assert "my_rsi_dip" in list_strategies()  # files before it stay loaded


def test_a_file_claiming_a_built_in_name_is_refused(folder: Path) -> None:
    text = EXAMPLE.read_text().replace('name = "my_rsi_dip"', 'name = "sma_cross"')
    (folder / "my_strategy.py").write_text(text)
    with pytest.raises(StrategyError, match="'sma_cross' is already registered"):
        load_user_strategies(folder)
    assert get_strategy("sma_cross").name == "sma_cross"


@pytest.mark.parametrize("make", ["missing", "file"])
def test_a_bad_folder_is_refused(tmp_path: Path, make: str) -> None:
    target = tmp_path / "nowhere"
    if make == "file":
        target.write_text("x = 1\n")
    with pytest.raises(StrategyError, match="does not exist" if make == "missing" else "not a"):
        load_user_strategies(target)


def test_same_file_name_in_two_folders_gets_two_modules(tmp_path: Path) -> None:
    a, b = tmp_path / "a" / "s.py", tmp_path / "b" / "s.py"
    assert module_name(a) != module_name(b)
    assert module_name(a) == module_name(tmp_path / "a" / ".." / "a" / "s.py")
    assert module_name(a).startswith(PACKAGE + ".s_")
