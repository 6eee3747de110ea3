"""``mftbot demo``: a paper-trading session over recorded (or synthetic) markets, live.

Runs the engine in paper mode (:class:`~mftbot.engine.paper.PaperSession`) against a simulated
venue, with every order intent, status, fill, signal and equity snapshot in a SQL ledger
(SQLite by default), over the Binance spot BTC/USDT and ETH/USDT recordings when they are found
(``--data``, ``MFTBOT_DATA_DIR``, ``../shared/data``) or else over the built-in synthetic
market. The live view shows the books and the trading; at the end the HTML report, Parquet
files (candles, signals, orders, fills, trades, equity) and a summary.

The strategy is ``sma_cross`` with :data:`DEMO_PARAMS` on ``--timeframe`` candles built from
the trades (default 5 s: the ten recorded minutes give 130 bars per symbol); ``--strategy
NAME`` trades any registered strategy with its default parameters instead (an order-book
strategy such as ``imbalance`` gets the book columns built from the replayed books; it trades
best on ``--timeframe 1s``).

Every order passes the rule-based risk engine built from the settings' ``risk:`` section
(``--config FILE``, else :func:`~mftbot.core.config.load_settings`'s defaults and
``MFTBOT_*`` variables) in paper mode: its kill switch (``risk.kill_switch_file``) is watched
on a 750 ms timer, and HALTED is persisted to ``OUT/risk_state.json`` (started afresh). The
summary shows the final trading state and the count of rejections and resizes.
"""

from __future__ import annotations

import itertools
import shutil
from collections.abc import Iterator
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from mftbot.core.errors import ConfigError, DataNotFoundError, MftbotError
from mftbot.core.paths import find_data_dir

if TYPE_CHECKING:
    import pandas as pd

    from mftbot.core.clock import SimulatedClock
    from mftbot.domain.events import MarketEvent
    from mftbot.engine.paper import PaperResult, PaperSession
    from mftbot.execution.sql_ledger import SqlLedger
    from mftbot.execution.venue import Venue
    from mftbot.risk.base import RiskEngine

app = typer.Typer(help="Paper-trading demo.")

DEMO_SYMBOLS = ("BTC/USDT", "ETH/USDT")
DEMO_STRATEGY = "sma_cross"
DEMO_PARAMS: dict[str, Any] = {"fast": 5, "slow": 20}
"""On the recorded 5 s bars: 7 round trips (4 BTC/USDT, 3 ETH/USDT)."""
DEMO_BOT_ID = "demo"
DEFAULT_OUT = Path("mftbot-demo")


class VenueChoice(StrEnum):
    """Which simulated venue fills the orders."""

    BOOK = "book"
    CANDLE = "candle"


def _recorded_files(data_dir: Path) -> list[Path]:
    from mftbot.data.recordings import find_binance_recordings

    found = find_binance_recordings(data_dir, "spot")
    missing = [s for s in DEMO_SYMBOLS if s not in found]
    if missing:
        raise DataNotFoundError(
            f"no Binance spot recordings of {', '.join(missing)} under {data_dir}"
        )
    return [path for symbol in DEMO_SYMBOLS for path in found[symbol]]


def _first_minutes(events: Iterator[MarketEvent], minutes: float | None) -> Iterator[MarketEvent]:
    """The events of the first ``minutes`` of receive time (all of them for ``None``)."""
    if minutes is None:
        return events
    first = next(events, None)
    if first is None:
        return iter(())
    end = first.ts_recv + int(minutes * 60e9)
    return itertools.takewhile(lambda e: e.ts_recv < end, itertools.chain((first,), events))


def _make_venue(choice: VenueChoice, cash: float, quote: str) -> Venue:
    """The venue: the realistic simulator (book walking), or the candle venue."""
    if choice is VenueChoice.BOOK:
        from mftbot.execution.sim.venue import SimulatedVenue

        return SimulatedVenue({quote: cash})
    from mftbot.execution.sim import CandleSimVenue

    return CandleSimVenue({quote: cash}, fee=0.001)


def _risk_engine(config: Path | None, out: Path, clock: SimulatedClock) -> RiskEngine:
    """The paper-mode risk engine of the settings (``config`` or the defaults), persisting its
    trading state to ``out/risk_state.json`` (a previous demo's file is removed)."""
    from mftbot.core.config import load_settings
    from mftbot.core.modes import TradingMode
    from mftbot.risk.config import RiskConfig
    from mftbot.risk.factory import build_risk_engine

    settings = load_settings(config) if config is not None else load_settings()
    state_file = out / "risk_state.json"
    state_file.unlink(missing_ok=True)
    risk = RiskConfig.from_settings(settings.risk, {"limits": {"state_file": state_file}})
    return build_risk_engine(risk, clock=clock, mode=TradingMode.PAPER)


def _default_db(out: Path) -> str:
    """``sqlite:///<out>/ledger.db``, started afresh (a previous demo's file is replaced)."""
    path = out / "ledger.db"
    for suffix in ("", "-wal", "-shm", "-journal"):
        stale = path.with_name(path.name + suffix)
        if stale.exists():
            stale.unlink()
    return f"sqlite:///{path}"


@app.command("demo")
def demo(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Recorded data folder (else MFTBOT_DATA_DIR, ../shared/data)."),
    ] = None,
    synthetic: Annotated[
        bool, typer.Option("--synthetic", help="Trade the built-in synthetic market.")
    ] = False,
    minutes: Annotated[
        float | None,
        typer.Option(
            "--minutes",
            min=0.1,
            help="Market minutes to trade (synthetic default 10; recordings: all).",
        ),
    ] = None,
    seed: Annotated[int, typer.Option("--seed", help="Synthetic market seed.")] = 7,
    speed: Annotated[
        str, typer.Option("--speed", help="Pace: 20x (default), any Nx, or max.")
    ] = "20x",
    timeframe: Annotated[
        str, typer.Option("--timeframe", help="Candle timeframe the strategy trades.")
    ] = "5s",
    cash: Annotated[
        float, typer.Option("--cash", min=1.0, help="Starting cash in USDT.")
    ] = 10_000.0,
    venue: Annotated[
        VenueChoice,
        typer.Option("--venue", help="book: orders walk the L2 book; candle: next bar's open."),
    ] = VenueChoice.BOOK,
    db: Annotated[
        str | None,
        typer.Option("--db", help="Ledger URL (default: sqlite:///OUT/ledger.db, fresh)."),
    ] = None,
    out: Annotated[
        Path, typer.Option("--out", help="Folder for the report, Parquet files and ledger.")
    ] = DEFAULT_OUT,
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Show the live view while trading.")
    ] = True,
    config_file: Annotated[
        Path | None,
        typer.Option("--config", help="Settings file whose risk: section the risk engine uses."),
    ] = None,
    strategy: Annotated[
        str,
        typer.Option(
            "--strategy",
            help="Registered strategy to trade, default parameters (mftbot strategies list).",
        ),
    ] = DEMO_STRATEGY,
) -> None:
    """Paper-trade sma_cross (or --strategy) on BTC/USDT and ETH/USDT over the recorded (or
    synthetic) market with a live view; write the ledger, Parquet files and an HTML report."""
    from mftbot.core.clock import SimulatedClock
    from mftbot.data.replay import replay_files
    from mftbot.data.replay_session import Pacer, parse_speed
    from mftbot.engine.paper import PaperConfig, PaperSession
    from mftbot.execution.sql_ledger import SqlLedger
    from mftbot.storage.database import Database, redacted
    from mftbot.strategies import strategy_spec

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    try:
        pace = parse_speed(speed)
        data_dir = None if synthetic else find_data_dir(data)
        files = [] if data_dir is None else _recorded_files(data_dir)
        strategy_spec(strategy)  # an unknown name fails here, with the registered ones
        params = DEMO_PARAMS if strategy == DEMO_STRATEGY else {}
        config = PaperConfig(
            symbols=DEMO_SYMBOLS,
            timeframe=timeframe,
            strategy=strategy,
            params=params,
            cash=cash,
            bot_id=DEMO_BOT_ID,
        )
        out.mkdir(parents=True, exist_ok=True)
        url = db if db is not None else _default_db(out)
        database = Database(url)
        database.upgrade()
        clock = SimulatedClock()
        risk = _risk_engine(config_file, out, clock)
        ledger = SqlLedger(database, clock=clock)
        if ledger.entries(bot_id=DEMO_BOT_ID):
            raise ConfigError(
                f"--db {redacted(url)} already holds a demo session: use a fresh database "
                "(or leave out --db for a fresh SQLite file in --out)"
            )
    except (MftbotError, OSError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    paper = PaperSession(
        config,
        venue=_make_venue(venue, cash, config.quote),
        ledger=ledger,
        journal=ledger,
        risk=risk,
        clock=clock,
    )
    events: Iterator[MarketEvent]
    if files:
        source = "Binance spot recordings " + ", ".join(p.name for p in files)
        events = _first_minutes(replay_files(files, bad=paper.replay.bad), minutes)
    else:
        reason = "as asked" if synthetic else "no recorded market data was found"
        length = minutes if minutes is not None else 10.0
        source = f"{length:g} minutes of the synthetic market (seed {seed}; {reason})"
        events = _synthetic_events(length, seed)
    console.print(
        f"paper trading {strategy} {params or 'defaults'} on {config.timeframe} candles of "
        f"{', '.join(DEMO_SYMBOLS)} over {source}; venue: {venue.value}; "
        f"ledger: {redacted(url)}",
        highlight=False,
    )
    try:
        result = _run(paper, events, Pacer(pace), live=live, speed=speed, console=console)
        paths = _write_outputs(paper, result, out)
        ledger.audit(
            "demo_session",
            actor=DEMO_BOT_ID,
            ts=clock.now_ns(),
            details={
                "source": source,
                "venue": venue.value,
                "first_event_ns": paper.replay.first_ts_ns,
                "signals": len(result.signals),
                "orders": len(result.engine.orders),
                "fills": len(result.engine.fills),
                "final_equity": paper.equity(),
            },
        )
    except MftbotError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(1) from exc
    finally:
        database.dispose()
    _print_summary(console, paper, result, paths, ledger, redacted(url), speed)


def _synthetic_events(minutes: float, seed: int) -> Iterator[MarketEvent]:
    from mftbot.data.synthetic import DEFAULT_START_NS, SyntheticMarket, SyntheticMarketConfig

    market = SyntheticMarket(SyntheticMarketConfig(), list(DEMO_SYMBOLS), seed)
    return market.events(DEFAULT_START_NS, int(minutes * 60e9))


def _run(
    paper: PaperSession,
    events: Iterator[MarketEvent],
    pacer: Any,
    *,
    live: bool,
    speed: str,
    console: Console,
) -> PaperResult:
    from rich.live import Live

    from mftbot.cli.views import demo_view

    if not live:
        return paper.run(events, pacer=pacer)
    with Live(console=console, refresh_per_second=8, transient=True) as view:

        def redraw(session: PaperSession) -> None:
            view.update(demo_view(session, speed))

        return paper.run(events, pacer=pacer, on_refresh=redraw)


def _frames(paper: PaperSession, result: PaperResult) -> dict[str, pd.DataFrame]:
    """The session as tables: candles, signals, orders, fills, trades and equity."""
    import pandas as pd

    from mftbot.backtest.api import trades_frame

    def times(values: Any) -> pd.DatetimeIndex:
        return pd.DatetimeIndex(pd.to_datetime(values, unit="ns", utc=True))

    candles = pd.concat(
        [
            pd.DataFrame(
                {
                    "symbol": symbol,
                    "time": times(c.time_ns),
                    "open": c.open,
                    "high": c.high,
                    "low": c.low,
                    "close": c.close,
                    "volume": c.volume,
                }
            )
            for symbol, c in result.candles.items()
        ],
        ignore_index=True,
    )
    trades = [
        trades_frame(trips).assign(
            symbol=symbol, strategy=paper.config.strategy, timeframe=paper.timeframe
        )
        for symbol, trips in result.trips.items()
    ]
    fills = result.engine.fills
    orders = result.engine.orders
    return {
        "candles": candles,
        "signals": pd.DataFrame(
            {
                "time": times([s.ts for s in result.signals]),
                "symbol": [s.symbol for s in result.signals],
                "direction": [s.direction for s in result.signals],
                "price": [s.price for s in result.signals],
                "decision": [s.decision for s in result.signals],
                "detail": [s.detail for s in result.signals],
            }
        ),
        "orders": pd.DataFrame(
            {
                "client_order_id": [o.client_order_id for o in orders],
                "created": times([o.created_ts for o in orders]),
                "symbol": [o.symbol for o in orders],
                "side": [o.side.value for o in orders],
                "type": [o.type.value for o in orders],
                "status": [o.status.value for o in orders],
                "qty": [o.qty for o in orders],
                "filled_qty": [o.filled_qty for o in orders],
                "avg_fill_price": [o.avg_fill_price for o in orders],
            }
        ),
        "fills": pd.DataFrame(
            {
                "time": times([f.ts for f in fills]),
                "client_order_id": [f.client_order_id for f in fills],
                "trade_id": [f.trade_id for f in fills],
                "symbol": [f.symbol for f in fills],
                "side": [f.side.value for f in fills],
                "price": [f.price for f in fills],
                "qty": [f.qty for f in fills],
                "fee": [f.fee for f in fills],
                "fee_currency": [f.fee_currency for f in fills],
                "liquidity": [f.liquidity.value for f in fills],
            }
        ),
        "trades": (
            pd.concat(trades, ignore_index=True)
            if trades
            else trades_frame(_no_trips()).assign(symbol="", strategy="", timeframe="")
        ),
        "equity": pd.DataFrame(
            {"time": times(result.engine.equity.ts), "equity": result.engine.equity.equity}
        ),
    }


def _no_trips() -> Any:
    from mftbot.engine.results import FillLog, round_trips

    return round_trips(FillLog.from_fills([]), 0.0)


def _write_outputs(paper: PaperSession, result: PaperResult, out: Path) -> dict[str, Path]:
    """Parquet files and the HTML report under ``out``; returns their paths by name."""
    import pandas as pd

    from mftbot.backtest.metrics import compute_metrics
    from mftbot.backtest.report import write_report

    frames = _frames(paper, result)
    parquet = out / "parquet"
    if parquet.exists():
        shutil.rmtree(parquet)
    parquet.mkdir(parents=True)
    paths: dict[str, Path] = {}
    for name, frame in frames.items():
        paths[name] = parquet / f"{name}.parquet"
        frame.to_parquet(paths[name], index=False)
    equity_frame = frames["equity"]
    if len(equity_frame) < 2:
        return paths
    equity = pd.Series(
        equity_frame["equity"].to_numpy(),
        index=pd.DatetimeIndex(equity_frame["time"], name="time"),
        name="equity",
    )
    cash = paper.config.cash
    candles = frames["candles"]
    per_symbol = {
        str(symbol): group.set_index("time")[["open", "high", "low", "close", "volume"]]
        for symbol, group in candles.groupby("symbol", sort=False)
        if len(group)
    }
    trades = frames["trades"]
    metrics = compute_metrics(trades, equity, initial_cash=cash)
    paths["report"] = write_report(
        out / "report.html",
        trades=trades,
        equity=equity,
        candles=per_symbol,
        metrics=metrics,
        title=f"mftbot demo: paper {paper.config.strategy} on {', '.join(DEMO_SYMBOLS)}",
        extra_tables={"signals": frames["signals"], "orders": frames["orders"]},
        initial_cash=cash,
    )
    return paths


def _print_summary(
    console: Console,
    paper: PaperSession,
    result: PaperResult,
    paths: dict[str, Path],
    ledger: SqlLedger,
    url: str,
    speed: str,
) -> None:
    from mftbot.cli.views import book_table, equity_text, replay_header, trading_table

    console.print(replay_header(paper.replay, speed))
    console.print(book_table(paper.replay, final=True))
    console.print(trading_table(paper, final=True))
    engine = result.engine
    signals = result.signals
    sent = sum(1 for s in signals if s.decision == "order_sent")
    statuses: dict[str, int] = {}
    for order in engine.orders:
        statuses[order.status.value] = statuses.get(order.status.value, 0) + 1
    entries = ledger.entries(bot_id=DEMO_BOT_ID)
    stored_fills = sum(len(e.fills) for e in entries)
    open_positions = {s: p for s, p in engine.portfolio.positions.items() if p.qty > 0.0}
    summary = Table(title="Demo summary", title_justify="left", show_header=False)
    summary.add_column("what")
    summary.add_column("value")
    rows = [
        ("signals", f"{len(signals):,} ({sent:,} sent an order)"),
        (
            "orders",
            f"{len(engine.orders):,} ("
            + (", ".join(f"{n} {s}" for s, n in sorted(statuses.items())) or "none")
            + ")",
        ),
        ("fills", f"{len(engine.fills):,}"),
        ("trading state", engine.trading_state or "n/a"),
        (
            "risk",
            f"{len(engine.risk['rejections']):,} rejected, {len(engine.risk['resizes']):,} resized",
        ),
        (
            "positions",
            ", ".join(f"{s} {p.qty:.6g}" for s, p in open_positions.items()) or "all flat",
        ),
        ("round trips", f"{sum(len(t) for t in result.trips.values()):,}"),
        ("ledger", f"{url}: {len(entries):,} orders, {stored_fills:,} fills"),
        ("report", str(paths.get("report", "not written (fewer than two equity points)"))),
        ("parquet", str(paths["fills"].parent)),
    ]
    for key, value in rows:
        summary.add_row(key, value)
    console.print(summary)
    console.print(equity_text(paper))
    rate = result.events / result.wall_seconds if result.wall_seconds > 0 else 0.0
    console.print(
        f"{result.events:,} messages in {result.wall_seconds:,.2f} s wall ({rate:,.0f} msg/s); "
        f"{result.market_seconds:,.1f} s of market time; "
        f"{paper.replay.bad.total:,} bad input line(s)",
        highlight=False,
    )
