"""Book columns in the engine: candle buffers keep extra columns aligned, the engine builds the
book columns for strategies that need them (and only those), and a precomputed history with
the columns gives the same signals as the rolling windows."""

from __future__ import annotations

import itertools
import math
from collections.abc import Iterator
from pathlib import Path
from typing import ClassVar

import numpy as np
import pytest

from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.domain.events import CandleClosed
from mftbot.engine.market_state import CandleBuffer
from mftbot.engine.paper import PaperConfig, PaperSession
from mftbot.engine.signals import needs_book
from mftbot.execution.sim.venue import SimulatedVenue
from mftbot.features.bar_book import BOOK_COLUMNS, IMBALANCE_5
from mftbot.strategies import get_strategy, register_strategy, unregister_strategy
from mftbot.strategies.base import CandleWindow, Signals, StrategyConfig

S = 1_000_000_000
EVENTS = 40_000


class ProbeConfig(StrategyConfig):
    """No parameters."""


class _Probe:
    """Enters when the book is bid-heavy; remembers every window it was given."""

    name: ClassVar[str]
    warmup = 2
    lookback = 5
    windows: ClassVar[list[CandleWindow]]

    def __init__(self, config: ProbeConfig | None = None) -> None:
        self.config = config or ProbeConfig()

    def populate(self, window: CandleWindow) -> Signals:
        type(self).windows.append(window)
        n = len(window)
        imb = window.extra.get(IMBALANCE_5, np.full(n, np.nan))
        entry = np.asarray(imb > 0.7)
        exit_ = np.asarray(imb < 0.3)
        entry[: self.warmup] = exit_[: self.warmup] = False
        return Signals(entry_long=entry, exit_long=exit_)


class BookProbe(_Probe):
    name = "book_probe"
    windows: ClassVar[list[CandleWindow]] = []


class PlainProbe(_Probe):
    name = "plain_probe"
    windows: ClassVar[list[CandleWindow]] = []


class FlaggedProbe(_Probe):
    name = "flagged_probe"
    needs_book = True
    windows: ClassVar[list[CandleWindow]] = []


@pytest.fixture(scope="module", autouse=True)
def probes() -> Iterator[None]:
    register_strategy("book_probe", BookProbe, ProbeConfig, kind="orderbook", lookahead=False)
    register_strategy("plain_probe", PlainProbe, ProbeConfig, lookahead=False)
    register_strategy("flagged_probe", FlaggedProbe, ProbeConfig, lookahead=False)
    yield
    for name in ("book_probe", "plain_probe", "flagged_probe"):
        unregister_strategy(name)


def candle(i: int) -> CandleClosed:
    return CandleClosed("sim", "BTC/USDT", "1s", i * S, (i + 1) * S, (i + 1) * S, 1, 1, 1, 1, 1)


def test_buffer_keeps_extra_columns_aligned() -> None:
    buf = CandleBuffer(maxlen=4)
    buf.append(candle(0))
    buf.append(candle(1), {"a": 1.0})
    buf.append(candle(2), {"a": 2.0, "b": 20.0})
    buf.append(candle(3))
    window = buf.window()
    assert window.extra.keys() == {"a", "b"}
    np.testing.assert_array_equal(window.extra["a"], [np.nan, 1.0, 2.0, np.nan])
    np.testing.assert_array_equal(window.extra["b"], [np.nan, np.nan, 20.0, np.nan])
    assert math.isnan(buf.last_extra()["a"])
    for i in range(4, 13):  # trimming keeps the columns with their bars
        buf.append(candle(i), {"a": float(i)})
    window = buf.window(3)
    assert window.time_ns.tolist() == [10 * S, 11 * S, 12 * S]
    assert window.extra["a"].tolist() == [10.0, 11.0, 12.0]
    assert buf.last_extra() == {"a": 12.0, "b": pytest.approx(np.nan, nan_ok=True)}
    plain = CandleBuffer()
    plain.append(candle(0))
    assert dict(plain.window().extra) == {}
    assert plain.last_extra() == {}


def test_who_needs_the_book() -> None:
    assert needs_book(get_strategy("book_probe"))  # registered with kind "orderbook"
    assert needs_book(get_strategy("flagged_probe"))  # declares it
    assert not needs_book(get_strategy("plain_probe"))
    assert not needs_book(get_strategy("sma_cross"))
    assert needs_book(get_strategy("imbalance"))


def run(name: str, data_dir: Path, **kwargs: object) -> PaperSession:
    files = find_binance_recordings(data_dir, "spot")["BTC/USDT"][:1]
    config = PaperConfig(symbols=("BTC/USDT",), timeframe="1s", strategy=name)
    session = PaperSession(config, venue=SimulatedVenue({"USDT": 10_000.0}), **kwargs)  # type: ignore[arg-type]
    session.run(itertools.islice(replay_files(files), EVENTS))
    return session


@pytest.mark.slow
@pytest.mark.realdata
def test_the_engine_gives_book_columns_to_strategies_that_need_them(data_dir: Path) -> None:
    for probe in (BookProbe, FlaggedProbe, PlainProbe):
        probe.windows.clear()
    book = run("book_probe", data_dir)
    flagged = run("flagged_probe", data_dir)
    plain = run("plain_probe", data_dir)
    candles = book.finish().candles["BTC/USDT"]
    assert set(candles.extra) == set(BOOK_COLUMNS)
    assert len(candles) > 100
    assert candles.extra["book_valid"][10:].all()
    windows = BookProbe.windows
    assert len(windows) == len(candles) - BookProbe.warmup
    for window in windows[::7]:  # each rolling window holds the rows of its own bars
        assert set(window.extra) == set(BOOK_COLUMNS)
        rows = np.searchsorted(candles.time_ns, window.time_ns)
        for name in BOOK_COLUMNS:
            np.testing.assert_array_equal(window.extra[name], candles.extra[name][rows])
    assert [w.extra[IMBALANCE_5][-1] for w in FlaggedProbe.windows] == [
        w.extra[IMBALANCE_5][-1] for w in windows
    ]
    assert all(not w.extra for w in PlainProbe.windows)
    assert not plain.finish().candles["BTC/USDT"].extra
    assert len(book.orders) > 0  # the probe traded on the columns
    assert [o.created_ts for o in flagged.orders] == [o.created_ts for o in book.orders]


@pytest.mark.slow
@pytest.mark.realdata
def test_a_precomputed_history_with_columns_gives_the_rolling_signals(data_dir: Path) -> None:
    rolling = run("book_probe", data_dir)
    history = rolling.finish().candles
    BookProbe.windows.clear()
    precomputed = run("book_probe", data_dir, history=history)
    assert len(BookProbe.windows) == 1  # one populate over the whole history
    assert precomputed.finish().candles["BTC/USDT"].extra == {}  # nothing rebuilt
    a = [(f.ts, f.price, f.qty) for f in rolling.fills]
    b = [(f.ts, f.price, f.qty) for f in precomputed.fills]
    assert a == b
    assert len(a) > 0
    assert [(n.ts, n.decision) for n in rolling.signals] == [
        (n.ts, n.decision) for n in precomputed.signals
    ]
