"""Determinism, any symbols, streaming and argument checking of the synthetic market."""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
import tracemalloc
from collections import deque
from itertools import islice

import msgspec
import pytest
from pydantic import ValidationError

from mftbot.data.synthetic import (
    InstrumentSpec,
    SyntheticMarket,
    SyntheticMarketConfig,
)
from mftbot.domain.events import BookDelta, BookSnapshot, CandleClosed, MarketEvent, TradeTick

START = 1_704_067_200_000_000_000
MINUTE = 60 * 1_000_000_000


def _events(symbols: tuple[str, ...], seed: int, minutes: float = 2.0) -> list[MarketEvent]:
    market = SyntheticMarket(SyntheticMarketConfig(), symbols, seed)
    return list(market.events(START, int(minutes * MINUTE)))


def _without_recv(events: list[MarketEvent]) -> list[MarketEvent]:
    return [msgspec.structs.replace(e, ts_recv=0) for e in events]


def test_same_seed_same_events() -> None:
    first = _events(("BTC/USDT", "ETH/USDT"), seed=11)
    second = _events(("BTC/USDT", "ETH/USDT"), seed=11)
    assert len(first) > 1000
    assert first == second


_DIGEST = """
import hashlib, msgspec
from mftbot.data.synthetic import SyntheticMarket, SyntheticMarketConfig
market = SyntheticMarket(SyntheticMarketConfig(), ["BTC/USDT", "ETH/USDT"], 11)
digest = hashlib.sha256()
for event in market.events({start}, {duration}):
    digest.update(msgspec.json.encode(event))
print(digest.hexdigest())
"""


def test_same_seed_same_events_in_another_process() -> None:
    """Nothing depends on per-process state such as str hash randomisation."""
    digest = hashlib.sha256()
    for event in _events(("BTC/USDT", "ETH/USDT"), seed=11, minutes=0.5):
        digest.update(msgspec.json.encode(event))
    code = _DIGEST.format(start=START, duration=MINUTE // 2)
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    result = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert result.stdout.strip() == digest.hexdigest()


def test_different_seed_different_events() -> None:
    first = _events(("BTC/USDT",), seed=1)
    second = _events(("BTC/USDT",), seed=2)
    trades_1 = [(e.ts_event, e.price) for e in first if isinstance(e, TradeTick)]
    trades_2 = [(e.ts_event, e.price) for e in second if isinstance(e, TradeTick)]
    assert trades_1
    assert trades_2
    assert trades_1 != trades_2
    assert first[0] != second[0]  # even the opening book differs


def test_a_symbol_stream_does_not_depend_on_the_other_symbols() -> None:
    alone = _events(("ETH/USDT",), seed=5)
    together = _events(("BTC/USDT", "ETH/USDT", "XRP/USDT"), seed=5)
    eth = [e for e in together if e.symbol == "ETH/USDT"]
    assert _without_recv(eth) == _without_recv(alone)


def test_shorter_run_is_a_prefix_of_a_longer_one() -> None:
    short = _events(("BTC/USDT",), seed=3, minutes=2)
    long = _events(("BTC/USDT",), seed=3, minutes=4)
    assert long[: len(short)] == short
    assert len(long) > len(short)
    assert isinstance(short[-1], CandleClosed)  # the candle closing at the end is included


def test_any_symbol_gets_an_instrument() -> None:
    symbols = ("BTC/USDT:USDT", "DOGE/USDT", "FOO/BAR")
    events = _events(symbols, seed=9, minutes=1)
    snapshots = {e.symbol: e for e in events if isinstance(e, BookSnapshot)}
    assert set(snapshots) == set(symbols)
    btc_mid = (snapshots["BTC/USDT:USDT"].bids[0][0] + snapshots["BTC/USDT:USDT"].asks[0][0]) / 2
    assert btc_mid == pytest.approx(60_000, rel=0.01)  # perp form falls back to the spot spec
    for symbol in ("DOGE/USDT", "FOO/BAR"):
        mid = (snapshots[symbol].bids[0][0] + snapshots[symbol].asks[0][0]) / 2
        assert mid == pytest.approx(100, rel=0.01)
        assert any(isinstance(e, TradeTick) and e.symbol == symbol for e in events)


def test_configured_instrument_is_used() -> None:
    config = SyntheticMarketConfig(
        instruments={"SOL/USDT": InstrumentSpec(price=150.0, tick_size=0.001, lot_size=0.1)}
    )
    market = SyntheticMarket(config, ["SOL/USDT"], seed=1)
    snapshot = next(iter(market.events(START, MINUTE)))
    assert isinstance(snapshot, BookSnapshot)
    assert snapshot.bids[0][0] == pytest.approx(150, rel=0.01)
    for price, size in snapshot.bids + snapshot.asks:
        assert round(price, 3) == price
        assert round(size / 0.1) * 0.1 == pytest.approx(size)


def test_long_horizon_streams_lazily_with_bounded_memory() -> None:
    """A century-long request starts at once; consuming it does not accumulate memory."""
    config = SyntheticMarketConfig(activity=0.05)  # sparse flow: many latent chunks per event
    market = SyntheticMarket(config, ["BTC/USDT"], seed=4)
    tracemalloc.start()
    try:
        stream = market.events(START, 100 * 365 * 86_400 * 1_000_000_000)
        for _ in islice(stream, 1_500):
            pass
        early, _ = tracemalloc.get_traced_memory()
        last = deque(islice(stream, 3_000), maxlen=1).pop()
        late, _ = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert last.ts_event - START > 3600 * 1_000_000_000  # several latent chunks later
    assert late - early < 200_000


@pytest.mark.parametrize(
    ("symbols", "seed"),
    [
        ([], 1),
        (["BTC/USDT", "BTC/USDT"], 1),
        (["BTC/USDT", ""], 1),
        (["BTC/USDT"], -1),
        (["BTC/USDT"], 1.5),
    ],
)
def test_bad_market_arguments_are_rejected(symbols: list[str], seed: int) -> None:
    with pytest.raises(ValueError, match=r"symbol|seed"):
        SyntheticMarket(SyntheticMarketConfig(), symbols, seed)


def test_a_single_string_is_not_a_symbol_list() -> None:
    with pytest.raises(TypeError, match="sequence"):
        SyntheticMarket(SyntheticMarketConfig(), "BTC/USDT", 1)


@pytest.mark.parametrize(("start", "duration"), [(-1, MINUTE), (START, 0), (START, -5)])
def test_bad_event_windows_are_rejected(start: int, duration: int) -> None:
    market = SyntheticMarket(SyntheticMarketConfig(), ["BTC/USDT"], 1)
    with pytest.raises(ValueError, match=r"start_ns|duration_ns"):
        market.events(start, duration)


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"timeframes": ("1x",)}, "timeframe"),
        ({"timeframes": ("1m", "1m")}, "unique"),
        ({"activity": 0}, "activity"),
        ({"default_instrument": {"price": 1.0, "tick_size": 0.01}}, "ticks"),
        ({"latent": {"regime_multipliers": (1.0, 0.0, 2.0)}}, "regime_multipliers"),
        ({"makers": {"count": 0}}, "count"),
        ({"timestamp_resolution_ns": 7_000_000}, "multiple"),
        ({"flow": {"unknown": 1}}, "unknown"),
    ],
)
def test_bad_config_fails_with_the_field(kwargs: dict[str, object], field: str) -> None:
    with pytest.raises(ValidationError, match=field):
        SyntheticMarketConfig.model_validate(kwargs)


def test_ts_event_resolution_follows_the_config() -> None:
    config = SyntheticMarketConfig(timestamp_resolution_ns=1)
    market = SyntheticMarket(config, ["BTC/USDT"], seed=2)
    deltas = [e for e in market.events(START, MINUTE) if isinstance(e, BookDelta)]
    assert any(d.ts_event % 1_000_000 for d in deltas)
    coarse = SyntheticMarket(SyntheticMarketConfig(), ["BTC/USDT"], seed=2)
    assert all(e.ts_event % 1_000_000 == 0 for e in coarse.events(START, MINUTE))
