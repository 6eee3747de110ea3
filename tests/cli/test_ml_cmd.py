"""``mftbot ml``: features-doc (and the committed docs/features.md is current), collect and
label through the Typer app."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest
from typer.testing import CliRunner

from mftbot.cli.ml_cmd import PRICE_CHOICES, app, parse_barrier, parse_horizons
from mftbot.features.catalog import CATALOG, render_markdown, scale_free_names
from mftbot.features.collector import PRICE_COLUMNS, ROW_COLUMNS, partitions, read_partition
from mftbot.features.labels import LabelError
from mftbot.features.pipeline import FEATURE_NAMES

runner = CliRunner()
REPO = Path(__file__).resolve().parents[2]


def test_committed_features_doc_is_current() -> None:
    committed = (REPO / "docs" / "features.md").read_text(encoding="utf-8")
    assert committed == render_markdown(), "stale: run `mftbot ml features-doc`"


def test_catalogue_has_110_unique_documented_names() -> None:
    names = [info.name for info in CATALOG]
    assert names == list(FEATURE_NAMES)
    assert len(set(names)) == 110
    assert [info.index for info in CATALOG] == list(range(110))
    assert all(info.definition.strip() for info in CATALOG)
    assert {info.channel for info in CATALOG} == {"orderbook", "candle", "indicator"}
    raw = {info.name for info in CATALOG if info.units == "price"}
    assert raw == {"close", "mid_price", "bid_ask_spread_abs"}
    assert "volume" not in scale_free_names()
    assert "rsi_14" in scale_free_names()
    text = render_markdown()
    for name in names:
        assert f"`{name}`" in text


def test_features_doc_writes_and_checks(tmp_path: Path) -> None:
    target = tmp_path / "features.md"
    result = runner.invoke(app, ["features-doc", "--check", "--output", str(target)])
    assert result.exit_code == 1
    result = runner.invoke(app, ["features-doc", "--output", str(target)])
    assert result.exit_code == 0, result.output
    assert target.read_text(encoding="utf-8") == render_markdown()
    assert runner.invoke(app, ["features-doc", "--check", "--output", str(target)]).exit_code == 0
    target.write_text(render_markdown() + "edited\n", encoding="utf-8")
    assert runner.invoke(app, ["features-doc", "--check", "--output", str(target)]).exit_code == 1


def test_help_names_the_collectors_price_columns() -> None:
    assert PRICE_CHOICES == PRICE_COLUMNS
    result = CliRunner().invoke(app, ["label", "--help"])
    assert result.exit_code == 0
    assert "candle_close" in result.output


def test_option_parsers() -> None:
    assert parse_horizons("5s, 1m") == (5_000_000_000, 60_000_000_000)
    spec, limit = parse_barrier("tp=0.003,sl=0.002,t=90s,fee=0.001,side=short")
    assert (spec.take_profit, spec.stop_loss, spec.fee, spec.side) == (0.003, 0.002, 0.001, -1)
    assert limit == 90_000_000_000
    for bad in ("tp=0.01,sl=0.01", "tp=0.01,sl=0.01,t=5s,x=1", "tp=a,sl=0.01,t=5s", "tp"):
        with pytest.raises(LabelError):
            parse_barrier(bad)


def test_collect_then_label(data_dir: Path, tmp_path: Path) -> None:
    raw, labelled = tmp_path / "raw", tmp_path / "labelled"
    result = runner.invoke(
        app,
        ["collect", "--data", str(data_dir), "--symbol", "ETH/USDT", "--output", str(raw)],
    )
    assert result.exit_code == 0, result.output
    assert "ETH/USDT" in result.stdout
    parts = partitions(raw)
    assert {p.symbol for p in parts} == {"ETH/USDT"}
    rows = sum(len(read_partition(p)) for p in parts)
    assert rows > 600
    result = runner.invoke(
        app,
        [
            "label",
            "--input",
            str(raw),
            "--output",
            str(labelled),
            "--horizons",
            "10s",
            "--dead-band",
            "0.0001",
            "--barrier",
            "tp=0.001,sl=0.001,t=30s,fee=0.0002",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "fwd_ret_10s" in result.stdout
    frame = pd.concat([read_partition(p) for p in partitions(labelled)], ignore_index=True)
    assert len(frame) == rows
    assert list(frame.columns)[: len(ROW_COLUMNS)] == list(ROW_COLUMNS)
    assert {"fwd_ret_10s", "fwd_dir_10s", "tb_label", "tb_exit_price"} <= set(frame.columns)
    assert frame["fwd_dir_10s"].dropna().isin([-1.0, 0.0, 1.0]).all()
    assert frame["fwd_ret_10s"].tail(5).isna().all()  # the future is not in the data


def test_bad_label_input_exits_2(tmp_path: Path) -> None:
    result = runner.invoke(
        app, ["label", "--input", str(tmp_path / "none"), "--output", str(tmp_path / "out")]
    )
    assert result.exit_code == 2
    assert "no such dataset" in result.output
    result = runner.invoke(
        app,
        ["label", "--input", str(tmp_path), "--output", str(tmp_path / "o"), "--barrier", "tp=1"],
    )
    assert result.exit_code == 2
    assert "barrier" in result.output
