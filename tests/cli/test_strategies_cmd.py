"""``mftbot strategies list`` and ``mftbot strategies doc``, and the generated
``docs/strategies.md`` kept in step with the registry and the backtests."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from mftbot.cli import app as root
from mftbot.cli.strategies_cmd import (
    BEGIN,
    COLUMNS,
    DATASETS,
    WARNING,
    app,
    table_names,
    table_row,
)
from mftbot.data.candles import read_candles
from mftbot.strategies import (
    STRATEGY_KINDS,
    list_strategies,
    strategy_spec,
    unregister_strategy,
)

runner = CliRunner()
DOC = Path(__file__).resolve().parents[2] / "docs" / "strategies.md"


def tables(text: str) -> dict[str, list[list[str]]]:
    """Dataset path -> the rows of its table (cells stripped, header and rule dropped)."""
    out: dict[str, list[list[str]]] = {}
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if not line.startswith("### ") or ": `" not in line:
            continue  # not a table heading (the parameter headings name a strategy)
        key = line.split("`")[1]
        rows = []
        for row in lines[i + 4 :]:  # heading, blank line, header, rule
            if not row.startswith("|"):
                break
            rows.append([c.strip() for c in row.strip("|").split("|")])
        out[key] = rows
    return out


def test_list_json_shows_every_strategy_with_kind_and_parameters() -> None:
    result = runner.invoke(app, ["list", "--json"])
    assert result.exit_code == 0, result.output
    docs = {d["name"]: d for d in json.loads(result.output)["strategies"]}
    assert sorted(docs) == list_strategies()
    assert {d["kind"] for d in docs.values()} <= set(STRATEGY_KINDS)
    assert docs["mtf"]["kind"] == "composite"
    assert docs["momentum"]["kind"] == "candle"
    params = {p["name"]: p for p in docs["momentum"]["parameters"]}
    assert params["roc_period"]["default"] == 12
    assert params["roc_period"]["description"] == "Rate-of-change period (bars)."
    assert params["roc_period"]["search"] == {
        "type": "int",
        "low": 3,
        "high": 48,
        "step": 1,
        "log": False,
    }
    assert params["short"]["search"] is None  # a venue capability, not tuned
    mtf = {p["name"]: p for p in docs["mtf"]["parameters"]}
    assert mtf["mode"]["search"] == {
        "type": "choice",
        "options": ["top_down", "confluence", "weighted"],
    }
    assert mtf["timeframes"]["default"] is None
    for doc in docs.values():
        assert doc["description"]
        assert all(p["description"] for p in doc["parameters"]), doc["name"]


def test_list_text_and_the_root_command() -> None:
    result = runner.invoke(root, ["strategies", "list"])
    assert result.exit_code == 0, result.output
    assert "mtf (composite): Multi-timeframe trend" in result.output
    assert "    roc_period = 12 [tunable]: Rate-of-change period (bars)." in result.output


def test_list_includes_the_strategies_of_a_user_folder() -> None:
    folder = DOC.parent / "examples"
    had = "my_rsi_dip" in list_strategies()
    try:
        result = runner.invoke(app, ["list", "--json", "--dir", str(folder)])
        assert result.exit_code == 0, result.output
        docs = {d["name"]: d for d in json.loads(result.output)["strategies"]}
        assert docs["my_rsi_dip"]["kind"] == "candle"
        assert docs["my_rsi_dip"]["parameters"]
    finally:
        if not had and "my_rsi_dip" in list_strategies():
            unregister_strategy("my_rsi_dip")


def test_a_missing_user_folder_is_an_error(tmp_path: Path) -> None:
    result = runner.invoke(app, ["list", "--dir", str(tmp_path / "nope")])
    assert result.exit_code == 1
    assert "nope" in result.output


def test_doc_writes_the_tables_for_chosen_strategies(tmp_path: Path, data_dir: Path) -> None:
    out = tmp_path / "strategies.md"
    result = runner.invoke(
        app,
        ["doc", "--out", str(out), "--data", str(data_dir), "-s", "momentum", "--no-book"],
    )
    assert result.exit_code == 0, result.output
    text = out.read_text()
    assert BEGIN in text
    assert WARNING in text
    found = tables(text)
    assert set(found) == {d.path for d in DATASETS}
    for rows in found.values():
        assert [r[0] for r in rows] == ["momentum"]
        assert len(rows[0]) == len(COLUMNS)
        assert int(rows[0][5]) >= 10  # trades
    for name in list_strategies():  # every strategy's parameters are documented
        assert f"### `{name}` ({strategy_spec(name).kind})" in text


def test_doc_refuses_bad_input(tmp_path: Path, data_dir: Path) -> None:
    unknown = runner.invoke(
        app, ["doc", "--out", str(tmp_path / "a.md"), "--data", str(data_dir), "-s", "nope"]
    )
    assert unknown.exit_code == 1
    assert "unknown strategy 'nope'" in unknown.output
    empty = runner.invoke(app, ["doc", "--out", str(tmp_path / "b.md"), "--data", str(tmp_path)])
    assert empty.exit_code == 1
    assert "lacks" in empty.output
    assert not (tmp_path / "b.md").exists()


def test_the_generated_doc_matches_the_registry_and_the_backtests(data_dir: Path) -> None:
    text = DOC.read_text()
    assert BEGIN in text
    assert WARNING in text
    found = tables(text)
    for dataset in DATASETS:
        rows = found[dataset.path]
        assert [r[0] for r in rows] == table_names(), dataset.path
        assert all(len(r) == len(COLUMNS) for r in rows)
        assert not any(r[2].startswith("error") for r in rows)
    for name in list_strategies():
        assert f"| `{name}` | {strategy_spec(name).kind} |" in text
    dataset = DATASETS[0]
    candles = read_candles(data_dir / dataset.path)
    rows = {r[0]: r for r in found[dataset.path]}
    for name in ("momentum", "mtf"):  # recomputed now: the page is current
        assert table_row(name, candles, dataset) == rows[name], name


@pytest.mark.parametrize("name", ["consensus", "mtf"])
def test_composites_are_in_the_tables(name: str) -> None:
    assert name in list_strategies()
    assert name in table_names()
