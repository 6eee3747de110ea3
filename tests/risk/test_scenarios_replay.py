"""Scenarios on replays of recorded Binance 1m candles (``candles_paparocketeer``) through the
engine with the rule-based risk engine: a forced losing streak trips the circuit breaker, the
kill-switch file stops entries and flattens, and a correlated basket is cut back by the
portfolio rule."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pandas as pd
import pytest

from mftbot.analysis.registry import CandleArrays
from mftbot.backtest.api import validate_candles
from mftbot.core.clock import SimulatedClock
from mftbot.data.candles import read_candles
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed
from mftbot.engine.engine import Engine, EngineResult, StrategyBinding
from mftbot.engine.feed import CandleFeed, MergedFeed
from mftbot.engine.portfolio import Portfolio
from mftbot.execution.sim import CandleSimVenue
from mftbot.risk import RiskAction, RuleBasedRiskEngine, TradingState
from mftbot.risk.sizing import loss_per_unit
from mftbot.strategies import CandleWindow, Signals, StrategyConfig

FEE = 0.001
MINUTE = 60_000_000_000
BASKET = ("BTC", "ETH", "SOL", "XRP", "BNB")
FloatArray = npt.NDArray[np.float64]


def load(data_dir: Path, base: str, start: int, rows: int) -> CandleArrays:
    path = data_dir / "candles_paparocketeer" / f"{base}_USDT-1m.feather"
    frame: pd.DataFrame = read_candles(path)
    return validate_candles(frame.iloc[start : start + rows])


def files(tmp_path: Path, **sections: dict[str, Any]) -> dict[str, Any]:
    """A risk config whose kill-switch and state files live in ``tmp_path``."""
    doc: dict[str, Any] = {
        "kill_switch": {"file": str(tmp_path / "KILL")},
        "limits": {"state_file": str(tmp_path / "risk_state.json")},
    }
    for name, values in sections.items():
        doc[name] = {**doc.get(name, {}), **values}
    return doc


class FlagsConfig(StrategyConfig):
    enter: bool = True
    exit: bool = False
    enter_at: int | None = None
    """Enter only on the bar opening at this time (ns); ``None``: on every bar."""
    stop_pct: float | None = None


class Flags:
    """Entry on every bar (or at one bar), exit on every bar or never; optional stop."""

    name = "flags"

    def __init__(self, config: FlagsConfig) -> None:
        self.config = config

    @property
    def warmup(self) -> int:
        return 0

    @property
    def lookback(self) -> int:
        return 1

    def populate(self, window: CandleWindow) -> Signals:
        n = len(window)
        cfg = self.config
        entry = np.full(n, cfg.enter)
        if cfg.enter_at is not None:
            entry &= window.time_ns == cfg.enter_at
        return Signals(entry_long=entry, exit_long=np.full(n, cfg.exit))

    def protection(self, window: CandleWindow) -> tuple[FloatArray, FloatArray]:
        pct = self.config.stop_pct
        nan = np.full(len(window), np.nan)
        return (nan if pct is None else window.close * (1.0 - pct)), nan


def engine_for(
    series: dict[str, CandleArrays],
    strategy: Flags,
    risk: RuleBasedRiskEngine,
    clock: SimulatedClock,
    *,
    cash: float,
    fill: str,
) -> tuple[Engine, MergedFeed]:
    symbols = [f"{base}/USDT" for base in series]
    engine = Engine(
        venue=CandleSimVenue({"USDT": cash}, fee=FEE, fill=fill),
        portfolio=Portfolio({"USDT": cash}, account_currency="USDT"),
        strategies=[StrategyBinding(strategy, s, "1m") for s in symbols],
        clock=clock,
        risk=risk,
    )
    feeds = [
        CandleFeed(arrays, symbol=f"{base}/USDT", timeframe="1m") for base, arrays in series.items()
    ]
    return engine, MergedFeed(feeds)


def buys_after(result: EngineResult, ts: int) -> int:
    return sum(1 for f in result.fills if f.side is Side.BUY and f.ts > ts)


# --------------------------------------------------------------------------- losing streak


def test_a_forced_losing_streak_trips_the_breaker_and_halts(data_dir: Path, tmp_path: Path) -> None:
    """In on every bar, out on the next: each round trip pays two fees on a one-minute move,
    so on real BTC 1m candles losses come in a row until five trip the breaker."""
    data = load(data_dir, "BTC", 3000, 600)
    clock = SimulatedClock()
    risk = RuleBasedRiskEngine(files(tmp_path), clock=clock, persist=False)
    engine, feed = engine_for(
        {"BTC": data}, Flags(FlagsConfig(exit=True)), risk, clock, cash=10_000.0, fill="next_open"
    )
    result = engine.run(feed)

    assert result.trading_state == "halted"
    assert risk.trading_state is TradingState.HALTED
    states = result.risk["states"]
    assert [s["reason"] for s in states] == [
        "normal → reducing: 3 consecutive losses ≥ 3",
        "reducing → halted: 5 consecutive losses ≥ limit 5",
    ]
    halt_ts = states[-1]["ts"]
    pnls = [t.pnl for t in risk.state.trades("flags")]
    assert len(pnls) == 5
    assert all(p < 0 for p in pnls)
    sells = [f for f in result.fills if f.side is Side.SELL]
    assert sells[-1].ts == halt_ts  # the fifth losing exit's fill halted trading
    assert result.portfolio.positions == {}
    # no entry after the halt: every later bar's entry signal is refused by trading_state
    assert buys_after(result, halt_ts) == 0
    later_bars = int(np.count_nonzero(data.time_ns >= halt_ts))
    assert later_bars > 500
    rejections = result.risk["rejections"]
    assert len(rejections) == len(result.rejected) == later_bars
    assert {tuple(r["name"] for r in row["rules"] if not r["passed"]) for row in rejections} == {
        ("trading_state",)
    }
    assert all(row["trading_state"] == "halted" for row in rejections)
    # REDUCING halved the two entries after the third loss
    entries = [r for r in result.risk_records if r.intent_kind == "entry" and r.sizing]
    assert len(entries) == 5
    for record in entries:
        assert record.sizing is not None
        factor = {f.name: f.value for f in record.sizing.factors}["trading_state"]
        assert factor == (0.5 if record.trading_state == "reducing" else 1.0)
    assert [r.trading_state for r in entries] == ["normal"] * 3 + ["reducing"] * 2
    final = result.portfolio.equity()
    assert final == pytest.approx(10_000.0 + sum(pnls), rel=1e-12)
    assert result.equity.equity[-1] == pytest.approx(final, rel=1e-12)


# --------------------------------------------------------------------------- kill switch


class KillFileAt:
    """A feed that creates the kill-switch file just before the first event at ``at_ns``."""

    def __init__(self, feed: MergedFeed, path: Path, at_ns: int) -> None:
        self.feed = feed
        self.path = path
        self.at_ns = at_ns

    def history(self, symbol: str, timeframe: str) -> CandleArrays | None:
        return self.feed.history(symbol, timeframe)

    def __iter__(self) -> Iterator[CandleClosed]:
        for event in self.feed:
            if event.ts_recv >= self.at_ns and not self.path.exists():
                self.path.write_text("operator\n")
            yield event


@pytest.mark.parametrize("flatten", [True, False])
def test_the_kill_switch_file_stops_entries_and_flattens(
    data_dir: Path, tmp_path: Path, flatten: bool
) -> None:
    bases = ("BTC", "ETH")
    series = {base: load(data_dir, base, 6000, 240) for base in bases}
    clock = SimulatedClock()
    config = files(tmp_path, kill_switch={"flatten": flatten}, stops={"monitor": False})
    risk = RuleBasedRiskEngine(config, clock=clock, persist=False)
    engine, merged = engine_for(
        series, Flags(FlagsConfig()), risk, clock, cash=10_000.0, fill="next_open"
    )
    times = series["BTC"].time_ns
    kill_bar = 120
    at = int(times[kill_bar]) + MINUTE  # the close of bar 120: its candle events
    result = engine.run(KillFileAt(merged, tmp_path / "KILL", at))

    assert risk.kill_switch.engaged_since == at  # seen at the first event after creation
    assert result.risk["summary"]["kill_switch"] is True
    entries = [f for f in result.fills if f.side is Side.BUY]
    assert sorted(f.symbol for f in entries) == ["BTC/USDT", "ETH/USDT"]
    assert all(f.ts == int(times[1]) for f in entries)  # bar 0's signals, bar 1's open
    assert buys_after(result, at) == 0
    rejected = result.risk["rejections"]
    if not flatten:
        assert [o for o in result.orders if o.client_order_id.split("-")[1] == "fl"] == []
        assert result.risk["exits"] == []
        assert sorted(result.portfolio.positions) == ["BTC/USDT", "ETH/USDT"]
        assert rejected == []  # held positions: no entry signal applies
        return
    flattens = result.risk["exits"]
    assert [(r["action"], r["symbol"], r["ts"]) for r in flattens] == [
        ("flatten", "BTC/USDT", at),
        ("flatten", "ETH/USDT", at),
    ]
    assert all(r["reason"] == f"kill switch {tmp_path / 'KILL'} engaged" for r in flattens)
    sells = [f for f in result.fills if f.side is Side.SELL]
    assert [(f.symbol, f.ts) for f in sells] == [("BTC/USDT", at), ("ETH/USDT", at)]
    next_open = {base: float(series[base].open[kill_bar + 1]) for base in bases}
    for sell, buy in zip(sells, sorted(entries, key=lambda f: f.symbol), strict=True):
        assert sell.qty == buy.qty  # the whole position
        assert sell.price == next_open[sell.symbol.split("/")[0]]
    assert result.portfolio.positions == {}
    assert {tuple(r["name"] for r in row["rules"] if not r["passed"]) for row in rejected} == {
        ("kill_switch",)
    }
    # flat from bar 121 on, each later bar's entry in both symbols is refused
    later_bars = int(np.count_nonzero(times >= at))
    assert later_bars == 240 - kill_bar - 1
    assert len(rejected) == 2 * later_bars
    assert {row["ts"] for row in rejected} == {int(t) + MINUTE for t in times[kill_bar + 1 :]}


# --------------------------------------------------------------------------- correlated basket


def test_a_correlated_basket_is_cut_back_by_the_portfolio_rule(
    data_dir: Path, tmp_path: Path
) -> None:
    """Five entries at one bar after 250 minutes of common history: at 0.2 % risk each the
    first four fit under an effective risk of 0.8 % of equity; the fifth is cut to fit."""
    series = {base: load(data_dir, base, 20_000, 300) for base in BASKET}
    clock = SimulatedClock()
    config = files(
        tmp_path,
        checks={"max_open_positions": 5, "max_leverage": 5.0, "max_symbol_exposure": 5.0},
        portfolio={"max_portfolio_risk": 0.008, "max_cluster_risk": 0.05, "min_obs": 100},
        sizing={"methods": ["fixed_fractional"], "risk_per_trade": 0.002},
        adapters={"vol_bands": [[1.0, 1.0]], "equity_below_ma_factor": 1.0},
        stops={"monitor": False},
    )
    risk = RuleBasedRiskEngine(config, clock=clock, persist=False)
    entry_bar = 250
    enter_at = int(series["BTC"].time_ns[entry_bar])
    strategy = Flags(FlagsConfig(enter_at=enter_at, stop_pct=0.01))
    engine, feed = engine_for(series, strategy, risk, clock, cash=100_000.0, fill="close")
    result = engine.run(feed)

    decisions = [r for r in result.risk_records if r.intent_kind == "entry"]
    assert len(decisions) == 5
    assert [r.action for r in decisions] == [RiskAction.RESIZED] * 5  # from all-in
    fills = {f.symbol: f for f in result.fills}
    assert sorted(fills) == sorted(f"{b}/USDT" for b in BASKET)
    close_ns = enter_at + MINUTE
    assert {f.ts for f in fills.values()} == {close_ns}
    scales = []
    for record in decisions:
        assert record.portfolio is not None
        assert record.sizing is not None
        scales.append(record.portfolio.scale)
        assert fills[record.symbol].qty == pytest.approx(record.final_qty, rel=1e-12)
    first_four, last = decisions[:4], decisions[4]
    assert all(s == 1.0 for s in scales[:4])
    for record in first_four:  # whole: 0.2 % of equity at the 1 % stop, fees included
        assert record.sizing is not None
        assert record.sizing.binding == "method:fixed_fractional"
        price = record.sizing.price
        per_unit = loss_per_unit(Side.BUY, price, price * 0.99, FEE)
        assert record.final_qty == pytest.approx(record.sizing.qty, rel=1e-12)
        assert record.sizing.qty * per_unit == pytest.approx(0.002 * 100_000.0, rel=2e-3)
    cut = last.portfolio
    assert cut is not None
    assert last.sizing is not None
    assert 0.1 < cut.scale < 1.0
    assert last.final_qty == pytest.approx(last.sizing.qty * cut.scale, rel=1e-12)
    assert cut.effective_risk > 0.008
    assert cut.final_effective_risk == pytest.approx(0.008, rel=1e-9)
    assert cut.symbols[-1] == last.symbol
    assert cut.risks[-1] == pytest.approx(0.002, rel=2e-3)  # the new entry at full size
    assert all(0.0015 < r < 0.002 for r in cut.risks[:4])  # open: at the last price vs stop
    assert cut.sum_risk == pytest.approx(sum(cut.risks), rel=1e-12)
    assert cut.correlation_factor == pytest.approx(cut.effective_risk / cut.sum_risk, rel=1e-9)
    assert cut.correlation_factor > 0.85  # far above 1/√5 = 0.45 for independent returns
    off_diagonal = np.asarray(cut.correlation)[~np.eye(5, dtype=bool)]
    assert off_diagonal.min() > 0.6
    assert "portfolio_risk: entry cut to" in last.reason
    (listed,) = [r for r in result.risk["resizes"] if r["portfolio"]["scale"] < 1.0]
    assert listed["symbol"] == last.symbol
    assert listed["portfolio"]["final_effective_risk"] == pytest.approx(0.008, rel=1e-9)
    assert result.risk["rejections"] == []
    assert sorted(result.portfolio.positions) == sorted(fills)
