"""Recording files: naming, discovery, and raw line access."""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest

from mftbot.core.errors import DataError
from mftbot.data.recordings import (
    LineBlocks,
    RecordingFile,
    discover_recordings,
    find_binance_recordings,
    find_bybit_recordings,
    identify_file,
)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        (
            "d/binance_spot/btcusdt_20240808.gz",
            ("binance", "binance", "btcusdt", "BTC/USDT", "2024-08-08"),
        ),
        (
            "d/binance_usdm/ETHUSDT_20240719.gz",
            ("binance", "binanceusdm", "ethusdt", "ETH/USDT:USDT", "2024-07-19"),
        ),
        (
            "d/binance_coinm/btcusd_perp_20240809.gz",
            ("binance", "binancecoinm", "btcusd_perp", "BTC/USD:BTC", "2024-08-09"),
        ),
        ("d/elsewhere/btcusdt_20240808.gz", ("binance", None, "btcusdt", None, "2024-08-08")),
        ("d/binance_spot/capture.gz", ("binance", "binance", None, None, None)),
        (
            "d/bybit/2024-12-01_XRPUSDT_ob500.data",
            ("bybit", "bybit", "xrpusdt", "XRP/USDT:USDT", "2024-12-01"),
        ),
        ("d/x/xrpusdt-ob500.data.zip", ("bybit", "bybit", "xrpusdt", "XRP/USDT:USDT", None)),
        ("d/x/dump.zip", ("bybit", "bybit", None, None, None)),
    ],
)
def test_identify_file(path: str, expected: tuple[str | None, ...]) -> None:
    info = identify_file(path)
    assert info == RecordingFile(Path(path), *expected)  # type: ignore[arg-type]


def test_identify_rejects_other_files() -> None:
    with pytest.raises(DataError, match="not a recording"):
        identify_file("d/binance_spot/btcusdt_20240808.csv")


def _touch(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"")
    return path


def test_find_in_a_tree(tmp_path: Path) -> None:
    b2 = _touch(tmp_path / "a" / "binance_spot" / "btcusdt_20240809.gz")
    b1 = _touch(tmp_path / "a" / "binance_spot" / "btcusdt_20240808.gz")
    e1 = _touch(tmp_path / "b" / "c" / "binance" / "ethbtc_20240808.gz")
    _touch(tmp_path / "a" / "binance_spot" / "notes.txt")
    _touch(tmp_path / "a" / "binance_spot" / "capture.gz")  # no symbol in the name
    _touch(tmp_path / "1" / "2" / "3" / "binance_spot" / "solusdt_20240808.gz")  # too deep
    _touch(tmp_path / ".hidden" / "binance_spot" / "xrpusdt_20240808.gz")
    _touch(tmp_path / "a" / "binance_usdm" / "btcusdt_20240808.gz")
    assert find_binance_recordings(tmp_path) == {"BTC/USDT": [b1, b2], "ETH/BTC": [e1]}
    assert list(find_binance_recordings(tmp_path, "usdm")) == ["BTC/USDT:USDT"]
    assert find_binance_recordings(tmp_path, "coinm") == {}
    # the market folder itself can be the data dir
    assert find_binance_recordings(tmp_path / "a" / "binance_spot") == {"BTC/USDT": [b1, b2]}


def test_find_rejects_bad_arguments(tmp_path: Path) -> None:
    with pytest.raises(DataError, match="unknown Binance market"):
        find_binance_recordings(tmp_path, "options")
    with pytest.raises(DataError, match="no such data directory"):
        find_binance_recordings(tmp_path / "nope")


@pytest.mark.realdata
def test_real_recordings(data_dir: Path) -> None:
    spot = data_dir / "hftbacktest" / "binance_spot"
    assert find_binance_recordings(data_dir, "spot") == {
        "BTC/USDT": [spot / "btcusdt_20240808.gz", spot / "btcusdt_20240809.gz"],
        "ETH/USDT": [spot / "ethusdt_20240808.gz", spot / "ethusdt_20240809.gz"],
    }
    usdm = find_binance_recordings(data_dir, "usdm")
    assert [p.name for p in usdm["BTC/USDT:USDT"]] == [
        "btcusdt_20240718.gz",
        "btcusdt_20240719.gz",
        "btcusdt_20240808.gz",
    ]
    assert sorted(find_binance_recordings(data_dir, "coinm")) == ["BTC/USD:BTC", "ETH/USD:ETH"]
    assert find_bybit_recordings(data_dir) == {
        "XRP/USDT:USDT": [data_dir / "nautilus" / "bybit" / "xrpusdt-ob500.data.zip"]
    }
    found = discover_recordings(data_dir)
    assert [(r.venue, r.symbol, len(r.files)) for r in found] == [
        ("binance", "BTC/USDT", 2),
        ("binance", "ETH/USDT", 2),
        ("binanceusdm", "BTC/USDT:USDT", 3),
        ("binanceusdm", "ETH/USDT:USDT", 3),
        ("binancecoinm", "BTC/USD:BTC", 2),
        ("binancecoinm", "ETH/USD:ETH", 2),
        ("bybit", "XRP/USDT:USDT", 1),
    ]
    assert found[2].dates == ("2024-07-18", "2024-07-19", "2024-08-08")
    assert found[0].size_bytes == sum(p.stat().st_size for p in found[0].files)
    assert found[0].describe().startswith("binance BTC/USDT: 2 file(s), 2024-08-08 .. 2024-08-09")


# --- LineBlocks --------------------------------------------------------------------------------

LINES = [f"{i} line with some text {'x' * (i % 37)}".encode() for i in range(5000)]
TEXT = b"\n".join(LINES) + b"\n"


def _lines(data: bytes, block_size: int = 1000) -> tuple[list[bytes], str | None]:
    blocks = LineBlocks(io.BytesIO(data), block_size=block_size)
    return [line for block in blocks for line in block], blocks.error


@pytest.mark.parametrize(
    "data",
    [
        TEXT,
        TEXT[:-1],  # no newline at the end
        gzip.compress(TEXT),
        gzip.compress(TEXT[:70_000]) + gzip.compress(TEXT[70_000:]),  # two members
        gzip.compress(TEXT) + b"\0" * 600,  # zero padding
    ],
    ids=["plain", "plain-no-final-newline", "gzip", "two-members", "zero-padding"],
)
def test_line_blocks_give_every_line(data: bytes) -> None:
    assert _lines(data) == (LINES, None)
    assert _lines(data, block_size=1 << 18) == (LINES, None)


def test_line_blocks_truncated_and_corrupt() -> None:
    packed = gzip.compress(TEXT)
    lines, error = _lines(packed[: len(packed) // 2])
    assert error is not None
    assert error.startswith("truncated: ")
    assert 0 < len(lines) < len(LINES)
    assert lines == LINES[: len(lines)]
    lines, error = _lines(gzip.compress(TEXT) + b"garbage after the member")
    assert error is not None
    assert error.startswith("corrupt: ")
    assert lines == LINES
