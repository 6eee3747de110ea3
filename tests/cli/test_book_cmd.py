"""``mftbot book replay``: real recordings and a small bad file."""

from __future__ import annotations

import gzip
import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner

from mftbot.cli import app

runner = CliRunner()


def _replay_json(*args: str) -> dict[str, Any]:
    result = runner.invoke(app, ["book", "replay", *args, "--json"])
    assert result.exit_code == 0, result.output
    doc: dict[str, Any] = json.loads(result.stdout)
    return doc


@pytest.mark.realdata
def test_replay_spot_btc_and_eth_both_days(data_dir: Path) -> None:
    spot = data_dir / "hftbacktest" / "binance_spot"
    files = [spot / f"{s}_{d}.gz" for s in ("btcusdt", "ethusdt") for d in ("20240808", "20240809")]
    doc = _replay_json(*map(str, files))
    assert set(doc["symbols"]) == {"BTC/USDT", "ETH/USDT"}
    assert doc["bad_input"]["total"] == 0
    for book in doc["symbols"].values():
        assert book["venue"] == "binance"
        assert book["state"] == "live"
        bids, asks = book["bids"], book["asks"]
        assert len(bids) == len(asks) == 20
        assert book["best_bid"] == bids[0]
        assert book["best_ask"] == asks[0]
        assert [p for p, _ in bids] == sorted((p for p, _ in bids), reverse=True)
        assert [p for p, _ in asks] == sorted(p for p, _ in asks)
        assert bids[0][0] < asks[0][0]
        assert all(size > 0 for _, size in bids + asks)
        assert book["deltas"] > 6_000
        assert book["resyncs"] == 0
        assert book["bad_messages"] == 0
        assert book["ticker_checks"]["mismatched"] == 0
        assert book["ticker_checks"]["aligned"] > 1_000


@pytest.mark.realdata
def test_replay_table_output(data_dir: Path) -> None:
    path = data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip"
    result = runner.invoke(app, ["book", "replay", str(path)])
    assert result.exit_code == 0, result.output
    assert "XRP/USDT:USDT" in result.stdout
    assert "live" in result.stdout


@pytest.mark.realdata
def test_replay_stale_after_resyncs_a_quiet_book(data_dir: Path) -> None:
    path = str(data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip")
    assert _replay_json(path)["symbols"]["XRP/USDT:USDT"]["resyncs"] == 0
    # Updates come ~100 ms apart: with a 1 ms limit the once-a-second check finds it stale.
    book = _replay_json(path, "--stale-after", "0.001")["symbols"]["XRP/USDT:USDT"]
    assert book["resync_reasons"] == {"stale": 1}
    assert book["state"] == "resync"


def _line(ts: int, body: dict[str, Any]) -> str:
    return f"{ts} {json.dumps(body)}\n"


def _depth(ts: int, first: int, last: int, bids: list[list[str]]) -> str:
    data = {"e": "depthUpdate", "E": ts // 1_000_000, "s": "BTCUSDT", "U": first, "u": last}
    return _line(ts, {"stream": "btcusdt@depth@100ms", "data": {**data, "b": bids, "a": []}})


@pytest.fixture
def bad_recording(tmp_path: Path) -> Path:
    """A spot recording with a rejected line, a malformed line and then a sequence gap."""
    folder = tmp_path / "binance_spot"
    folder.mkdir()
    t = 1_723_161_254_000_000_000
    ms = 1_000_000
    ticker = {"u": 102, "s": "BTCUSDT", "b": "100.5", "B": "2", "a": "101", "A": "1"}
    lines = [
        _depth(t, 95, 99, [["99.5", "1"]]),
        _line(
            t + ms,
            {"lastUpdateId": 100, "bids": [["100", "1"], ["99", "2"]], "asks": [["101", "1"]]},
        ),
        _depth(t + 2 * ms, 96, 102, [["100.5", "2"]]),
        _line(t + 3 * ms, {"stream": "btcusdt@bookTicker", "data": ticker}),
        _depth(t + 4 * ms, 103, 105, [["nan", "1"]]),  # rejected by the reader
        "this is not a recording line\n",
        _depth(t + 6 * ms, 106, 108, [["99", "0"]]),  # 103..105 never arrived: a gap
    ]
    path = folder / "btcusdt_20240808.gz"
    with gzip.open(path, "wt") as fh:
        fh.writelines(lines)
    return path


def test_replay_bad_file_reports_rejections_and_resync(bad_recording: Path) -> None:
    doc = _replay_json(str(bad_recording))
    book = doc["symbols"]["BTC/USDT"]
    assert doc["bad_input"]["total"] == 2
    assert book["state"] == "resync"
    assert book["resyncs"] == 1
    assert book["resync_reasons"] == {"gap": 1}
    assert book["deltas"] == 1
    assert book["skipped"] == {"before_snapshot": 1}
    assert book["best_bid"] is None  # a book awaiting a snapshot shows nothing, not stale data
    assert book["bids"] == []
    assert book["ticker_checks"] == {"aligned": 1, "mismatched": 0}


def test_replay_bad_file_table(bad_recording: Path) -> None:
    result = runner.invoke(app, ["book", "replay", str(bad_recording)])
    assert result.exit_code == 0, result.output
    assert "resync" in result.stdout
    assert "rejected 2 line(s)" in result.stdout


def test_replay_unknown_file_kind_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.txt"
    path.write_text("hello\n")
    result = runner.invoke(app, ["book", "replay", str(path), "--json"])
    assert result.exit_code == 2
    assert "not a recording file" in result.output
    assert result.stdout == ""


def test_replay_missing_file_is_rejected(tmp_path: Path) -> None:
    result = runner.invoke(app, ["book", "replay", str(tmp_path / "missing.gz")])
    assert result.exit_code == 2
    assert "does not exist" in result.output


def test_replay_help() -> None:
    result = runner.invoke(app, ["book", "replay", "--help"])
    assert result.exit_code == 0
    assert "--json" in result.stdout
    assert "bookTicker" in result.stdout
