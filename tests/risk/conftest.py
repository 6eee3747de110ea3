"""Fixtures for the risk tests: an event clock, bar builders, engines whose files live in
``tmp_path``, and real 1m candles from ``candles_paparocketeer``."""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from mftbot.core.clock import SimulatedClock, datetime_to_ns
from mftbot.data.candles import read_candles
from mftbot.domain.events import CandleClosed
from mftbot.risk.engine import RuleBasedRiskEngine

T0 = datetime_to_ns(datetime(2026, 3, 23, 12, 0, tzinfo=UTC))
"""A Monday, 12:00 UTC."""
MINUTE = 60 * 1_000_000_000

BarMaker = Callable[..., list[CandleClosed]]
EngineMaker = Callable[..., RuleBasedRiskEngine]


def _merge(base: dict[str, Any], extra: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in extra.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = _merge(dict(out[key]), value)
        else:
            out[key] = value
    return out


@pytest.fixture
def clock() -> SimulatedClock:
    """Event time starting at :data:`T0`."""
    return SimulatedClock(T0)


@pytest.fixture
def make_bars() -> BarMaker:
    """``make_bars(symbol, closes, start=T0, step=MINUTE, spread=0.001)``: 1m candles whose
    high/low lie ``spread`` around max/min(open, close); the open is the previous close."""

    def build(
        symbol: str,
        closes: Sequence[float],
        start: int = T0,
        step: int = MINUTE,
        spread: float = 0.001,
    ) -> list[CandleClosed]:
        out: list[CandleClosed] = []
        prev = closes[0]
        for i, close in enumerate(closes):
            open_ = prev
            high = max(open_, close) * (1 + spread)
            low = min(open_, close) * (1 - spread)
            open_time = start + i * step
            end = open_time + step
            out.append(
                CandleClosed("sim", symbol, "1m", open_time, end, end, open_, high, low, close, 1.0)
            )
            prev = close
        return out

    return build


@pytest.fixture
def risk_dict(tmp_path: Path) -> dict[str, Any]:
    """A config dict whose kill-switch and state files live in ``tmp_path``."""
    return {
        "kill_switch": {"file": str(tmp_path / "KILL")},
        "limits": {"state_file": str(tmp_path / "risk_state.json")},
    }


@pytest.fixture
def make_engine(clock: SimulatedClock, risk_dict: dict[str, Any]) -> EngineMaker:
    """``make_engine(overrides=None, **kwargs)``: an engine on ``clock`` with files in tmp."""

    def build(overrides: Mapping[str, Any] | None = None, **kwargs: Any) -> RuleBasedRiskEngine:
        config = _merge(risk_dict, overrides or {})
        return RuleBasedRiskEngine(config, clock=kwargs.pop("clock", clock), **kwargs)

    return build


def feed(engine: RuleBasedRiskEngine, clock: SimulatedClock, bars: Sequence[CandleClosed]) -> None:
    """Advance the clock to each bar and hand it to the engine (exits ignored)."""
    for bar in bars:
        clock.advance_to(bar.ts_recv)
        engine.on_bar(bar)


@pytest.fixture
def feed_bars() -> Callable[[RuleBasedRiskEngine, SimulatedClock, Sequence[CandleClosed]], None]:
    """:func:`feed` as a fixture."""
    return feed


@pytest.fixture(scope="session")
def real_bars(data_dir: Path) -> Callable[[str, int, int], list[CandleClosed]]:
    """``real_bars(base, start, n)``: ``n`` recorded 1m Binance candles of ``BASE/USDT`` from
    row ``start`` (``candles_paparocketeer``)."""
    cache: dict[str, Any] = {}

    def load(base: str, start: int, n: int) -> list[CandleClosed]:
        if base not in cache:
            path = data_dir / "candles_paparocketeer" / f"{base}_USDT-1m.feather"
            cache[base] = read_candles(path)
        df = cache[base].iloc[start : start + n]
        times = df.index.asi8
        cols = [df[c].to_numpy() for c in ("open", "high", "low", "close", "volume")]
        out = []
        for i, t in enumerate(times):
            end = int(t) + MINUTE
            o, h, lo, c, v = (float(col[i]) for col in cols)
            out.append(
                CandleClosed("binance", f"{base}/USDT", "1m", int(t), end, end, o, h, lo, c, v)
            )
        return out

    return load
