"""``mftbot backtest``: the quick form, one strategy on one candle file.

``mftbot backtest --strategy sma_cross --candles ETH_BTC-5m.feather [--fee 0.001]
[--fill next_open|close] [--mode fast|step] [--cash 10000] [--json]`` runs
:func:`mftbot.backtest.backtest` (all-in, long only, spot). ``--json`` prints one JSON object
``{"trades": [...], "final_equity": x, "metrics": {...}}``; otherwise a summary table. The
symbol (its quote is the cash currency) comes from a freqtrade file name unless ``--symbol``
says otherwise. Bad input exits with status 1 and a message on stderr.
"""

from __future__ import annotations

from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, NoReturn

import pandas as pd
import typer
from rich.console import Console
from rich.table import Table

from mftbot.core.errors import MftbotError

if TYPE_CHECKING:
    from mftbot.backtest.api import BacktestResult

app = typer.Typer(help="Backtests.", no_args_is_help=True)


class FillChoice(StrEnum):
    """Which price a market order fills at."""

    NEXT_OPEN = "next_open"
    CLOSE = "close"


class ModeChoice(StrEnum):
    """Which execution path runs the backtest."""

    FAST = "fast"
    STEP = "step"


def symbol_from_filename(path: Path) -> str:
    """The spot symbol a freqtrade file name names (``ETH_BTC-5m.feather`` → ``ETH/BTC``)."""
    from mftbot.backtest.api import DEFAULT_SYMBOL
    from mftbot.data.candles import parse_freqtrade_filename

    try:
        name = parse_freqtrade_filename(path)
    except MftbotError:
        return DEFAULT_SYMBOL
    return name.symbol.partition(":")[0]


@app.command("backtest")
def backtest_command(
    strategy: Annotated[str, typer.Option("--strategy", help="Registered strategy name.")],
    candles: Annotated[
        Path, typer.Option("--candles", help="Candle file (freqtrade .feather / .json / .json.gz).")
    ],
    fee: Annotated[float, typer.Option(help="Fee per side, as a fraction of notional.")] = 0.001,
    fill: Annotated[
        FillChoice, typer.Option(help="Fill at the next bar's open or the signal bar's close.")
    ] = FillChoice.NEXT_OPEN,
    mode: Annotated[
        ModeChoice, typer.Option(help="fast: compiled fill loop; step: the full event loop.")
    ] = ModeChoice.FAST,
    cash: Annotated[float, typer.Option(help="Starting cash, in the quote currency.")] = 10_000.0,
    symbol: Annotated[
        str | None, typer.Option(help="Spot symbol BASE/QUOTE (default: from the file name).")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Candle timeframe (default: from the file).")
    ] = None,
    json_output: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of tables.")
    ] = False,
) -> None:
    """Backtest one strategy on one candle file (all-in, long only, spot)."""
    # Imported here so that ``mftbot --help`` does not load numba and the engine.
    from mftbot.backtest.api import backtest
    from mftbot.data.candles import read_candles
    from mftbot.strategies import list_strategies

    if strategy not in list_strategies():
        _fail(f"unknown strategy {strategy!r}; registered: {', '.join(list_strategies())}")
    if not candles.is_file():
        _fail(f"{candles}: no such file")
    try:
        frame = read_candles(candles, timeframe=timeframe, infer=True)
        result = backtest(
            strategy,
            frame,
            fee=fee,
            fill=fill.value,
            mode=mode.value,
            cash=cash,
            symbol=symbol or symbol_from_filename(candles),
            timeframe=timeframe,
        )
    except MftbotError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(result.to_json())
    else:
        _print_summary(result, candles)


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _print_summary(result: BacktestResult, path: Path) -> None:
    console = Console()
    head = Table(title=f"{result.strategy} on {path.name}", show_header=False)
    for key, value in (
        ("symbol", result.symbol),
        ("timeframe", result.timeframe),
        ("bars", str(len(result.equity))),
        ("mode / fill", f"{result.mode} / {result.fill}"),
        ("fee", f"{result.fee:g}"),
        ("cash", f"{result.cash:,.8g}"),
        ("final equity", f"{result.final_equity:,.8g}"),
    ):
        head.add_row(key, value)
    for key, metric in result.metrics.items():
        head.add_row(key, "-" if metric is None else f"{metric:.6g}")
    console.print(head)
    trades = result.trades
    if len(trades):
        table = Table(title=f"last trades (of {len(trades)})")
        for column in ("entry_time", "entry_price", "exit_time", "exit_price", "pnl"):
            table.add_column(column)
        for row in trades.tail(10).itertuples(index=False):
            table.add_row(
                str(row.entry_time),
                f"{row.entry_price:.8g}",
                "open" if row.exit_time is pd.NaT else str(row.exit_time),
                f"{row.exit_price:.8g}",
                f"{row.pnl:.6g}",
            )
        console.print(table)
