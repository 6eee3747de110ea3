"""Paced replay session: speed parsing, pacing arithmetic, book and tape statistics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from mftbot.core.errors import ConfigError
from mftbot.data import replay_session
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.data.replay_session import Pacer, ReplaySession, parse_speed


@pytest.mark.parametrize(("text", "expected"), [("1x", 1.0), ("10x", 10.0), ("2.5X", 2.5)])
def test_parse_speed(text: str, expected: float) -> None:
    assert parse_speed(text) == expected
    assert parse_speed("max") is None


@pytest.mark.parametrize("text", ["0x", "fast", "10", "-1x", ""])
def test_parse_speed_rejects_nonsense(text: str) -> None:
    with pytest.raises(ConfigError, match="speed"):
        parse_speed(text)


class _FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def now_ns(self) -> int:
        return self.now

    def monotonic_ns(self) -> int:
        return self.now


def test_pacer_waits_event_time_divided_by_speed(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = _FakeClock()
    waits: list[float] = []

    def fake_sleep(seconds: float) -> None:
        waits.append(seconds)
        clock.now += int(seconds * 1e9)

    monkeypatch.setattr(replay_session.time, "sleep", fake_sleep)
    pacer = Pacer(10.0, clock)  # type: ignore[arg-type]
    pacer.wait_until(5_000_000_000)  # origin
    pacer.wait_until(7_000_000_000)  # 2 s of event time -> 0.2 s of wall time
    assert waits == [pytest.approx(0.2)]
    clock.now += 1_000_000_000  # the consumer is 1 s late: no wait
    pacer.wait_until(8_000_000_000)
    assert len(waits) == 1
    Pacer(None, clock).wait_until(10**18)  # max speed never waits  # type: ignore[arg-type]
    assert len(waits) == 1


def _independent_trade_counts(files: list[Path]) -> tuple[int, float, float]:
    trades, buy, sell = 0, 0.0, 0.0
    for path in files:
        with gzip.open(path, "rt") as fh:
            for line in fh:
                msg = json.loads(line.split(" ", 1)[1])
                if msg.get("stream", "").endswith("@trade"):
                    trades += 1
                    qty = float(msg["data"]["q"])
                    if msg["data"]["m"]:
                        sell += qty
                    else:
                        buy += qty
    return trades, buy, sell


@pytest.mark.realdata
def test_session_over_real_spot_recordings(data_dir: Path) -> None:
    files = find_binance_recordings(data_dir, "spot")["BTC/USDT"]
    session = ReplaySession()
    refreshes: list[int] = []
    session.run(
        replay_files(files, bad=session.bad), on_refresh=lambda s: refreshes.append(s.events)
    )
    assert session.bad.total == 0
    (view,) = session.symbols()
    assert view.symbol == "BTC/USDT"
    assert view.book.sync.stats.resync_count == 0
    assert view.book.tickers.mismatched == 0
    assert view.book.tickers.aligned > 1000
    trades, buy, sell = _independent_trade_counts(files)
    assert view.tape.trades == trades == 9_757 + 10_147
    assert view.tape.taker_buy_volume == pytest.approx(buy, rel=1e-12)
    assert view.tape.taker_sell_volume == pytest.approx(sell, rel=1e-12)
    bid, ask = view.book.sync.book.best_bid, view.book.sync.book.best_ask
    assert bid is not None
    assert ask is not None
    assert bid[0] < ask[0]
    assert refreshes[-1] == session.events  # a final refresh shows the end state
    assert 640 < session.replayed_seconds < 660
