"""``mftbot backtest`` (quick form and ``--config``), ``walkforward``, ``stress``, ``montecarlo``.

* ``mftbot backtest --strategy sma_cross --candles ETH_BTC-5m.feather [--fee 0.001]
  [--fill next_open|close] [--mode fast|step] [--cash 10000] [--json]`` runs
  :func:`mftbot.backtest.backtest` (all-in, long only, spot). ``--json`` prints one JSON object
  ``{"trades": [...], "final_equity": x, "metrics": {...}}``; otherwise a summary table. The
  symbol (its quote is the cash currency) comes from a freqtrade file name unless ``--symbol``
  says otherwise.
* ``mftbot backtest --config FILE`` runs a config-driven backtest
  (:func:`mftbot.backtest.runner.run_config`): progress on stderr, results in the database,
  Parquet and an HTML report, a summary (or ``--json``) on stdout.
* ``mftbot walkforward``, ``mftbot stress`` and ``mftbot montecarlo`` take one strategy and one
  candle file like the quick form and write an HTML report (``--report``).

Bad input exits with status 1 and a message on stderr. :data:`app` holds ``backtest``;
:data:`analysis_app` holds the other three.
"""

from __future__ import annotations

import json
from enum import StrEnum
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.table import Table

from mftbot.core.errors import MftbotError

if TYPE_CHECKING:  # pandas and the backtest modules load inside the commands
    import pandas as pd

    from mftbot.backtest.api import BacktestResult
    from mftbot.backtest.runner import ConfigRunResult

app = typer.Typer(help="Backtests.", no_args_is_help=True)
analysis_app = typer.Typer(help="Walk-forward, stress scenarios and Monte Carlo.")


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


# Options shared by the commands that run one strategy on one candle file.
StrategyOpt = Annotated[str, typer.Option("--strategy", help="Registered strategy name.")]
CandlesOpt = Annotated[
    Path, typer.Option("--candles", help="Candle file (freqtrade .feather / .json / .json.gz).")
]
FeeOpt = Annotated[float, typer.Option(help="Fee per side, as a fraction of notional.")]
FillOpt = Annotated[
    FillChoice, typer.Option(help="Fill at the next bar's open or the signal bar's close.")
]
ModeOpt = Annotated[
    ModeChoice, typer.Option(help="fast: compiled fill loop; step: the full event loop.")
]
CashOpt = Annotated[float, typer.Option(help="Starting cash, in the quote currency.")]
SymbolOpt = Annotated[
    str | None, typer.Option(help="Spot symbol BASE/QUOTE (default: from the file name).")
]
TimeframeOpt = Annotated[
    str | None, typer.Option(help="Candle timeframe (default: from the file).")
]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON object instead of tables.")]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="HTML report path (default: under ./reports).")
]
ParamOpt = Annotated[
    list[str] | None,
    typer.Option("--param", help="Strategy parameter NAME=VALUE (repeatable)."),
]


@app.command("backtest")
def backtest_command(
    strategy: Annotated[
        str | None, typer.Option("--strategy", help="Registered strategy name.")
    ] = None,
    candles: Annotated[
        Path | None,
        typer.Option("--candles", help="Candle file (freqtrade .feather / .json / .json.gz)."),
    ] = None,
    fee: FeeOpt = 0.001,
    fill: FillOpt = FillChoice.NEXT_OPEN,
    mode: ModeOpt = ModeChoice.FAST,
    cash: CashOpt = 10_000.0,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    json_output: JsonOpt = False,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="Backtest config (YAML): strategies, symbols, period…"),
    ] = None,
    run_id: Annotated[
        str | None, typer.Option("--run-id", help="Run id with --config (default: random).")
    ] = None,
    output_dir: Annotated[
        Path | None, typer.Option("--output-dir", help="Overrides the config's output.dir.")
    ] = None,
    data: Annotated[
        Path | None, typer.Option("--data", help="Recorded-data folder (with --config).")
    ] = None,
) -> None:
    """Backtest one strategy on one candle file (all-in, long only, spot), or run a config."""
    if config is not None:
        if strategy is not None or candles is not None:
            _fail("--config cannot be combined with --strategy / --candles")
        _run_config(config, run_id, output_dir, data, json_output)
        return
    if strategy is None or candles is None:
        _fail("give --strategy and --candles, or --config FILE")
    if run_id is not None or output_dir is not None or data is not None:
        _fail("--run-id, --output-dir and --data apply to --config runs only")
    # Imported here so that ``mftbot --help`` does not load numba and the engine.
    from mftbot.backtest.api import backtest

    frame, symbol = _quick_inputs(strategy, candles, symbol, timeframe)
    try:
        result = backtest(
            strategy,
            frame,
            fee=fee,
            fill=fill.value,
            mode=mode.value,
            cash=cash,
            symbol=symbol,
            timeframe=timeframe,
        )
    except MftbotError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(result.to_json())
    else:
        _print_summary(result, candles)


def _quick_inputs(
    strategy: str, candles: Path, symbol: str | None, timeframe: str | None
) -> tuple[pd.DataFrame, str]:
    """Check the strategy name and read the candle file; the symbol defaults to the file's."""
    from mftbot.data.candles import read_candles
    from mftbot.strategies import list_strategies

    if strategy not in list_strategies():
        _fail(f"unknown strategy {strategy!r}; registered: {', '.join(list_strategies())}")
    if not candles.is_file():
        _fail(f"{candles}: no such file")
    try:
        frame = read_candles(candles, timeframe=timeframe, infer=True)
    except MftbotError as exc:
        _fail(str(exc))
    return frame, symbol or symbol_from_filename(candles)


def _run_config(
    path: Path, run_id: str | None, output_dir: Path | None, data: Path | None, as_json: bool
) -> None:
    from mftbot.backtest.config import load_backtest_config
    from mftbot.backtest.runner import run_config

    err = Console(stderr=True)
    try:
        cfg = load_backtest_config(path)
        if output_dir is not None:
            cfg = cfg.model_copy(
                update={"output": cfg.output.model_copy(update={"dir": output_dir})}
            )
        result = run_config(cfg, run_id=run_id, console=err, data_dir=data)
    except MftbotError as exc:
        _fail(str(exc))
    if as_json:
        typer.echo(json.dumps(result.to_dict(), allow_nan=False))
    else:
        _print_config_summary(result)


def _print_config_summary(result: ConfigRunResult) -> None:
    console = _wide_console()
    console.print(f"data: {result.data_source}")
    runs = Table(title=f"{result.config.name} · run {result.run_id}")
    columns = ("final_equity", "total_return", "sharpe", "max_drawdown", "trades", "win_rate")
    runs.add_column("run")
    for column in columns:
        runs.add_column(column, justify="right")
    for name, row in result.run_table.iterrows():
        runs.add_row(str(name), *(_fmt(row[c]) for c in columns))
    console.print(runs)
    portfolio = Table(title="portfolio", show_header=False)
    for key in ("initial_cash", "final_equity", *columns[1:], "profit_factor", "fees_paid"):
        portfolio.add_row(key, _fmt(result.metrics.get(key)))
    console.print(portfolio)
    if result.outputs is not None:
        for key, value in vars(result.outputs).items():
            if value is not None:
                console.print(f"{key}: {value}")


def _fmt(value: Any) -> str:
    import pandas as pd  # loaded already by the command that prints

    if value is None or (isinstance(value, float) and value != value):
        return "-"
    if isinstance(value, pd.Timestamp):
        return f"{value:%Y-%m-%d %H:%M}"
    return f"{value:.6g}" if isinstance(value, float) else str(value)


def _wide_console() -> Console:
    console = Console()
    return console if console.is_terminal else Console(width=160)


def _params(values: list[str] | None) -> dict[str, Any]:
    import yaml

    params: dict[str, Any] = {}
    for item in values or []:
        name, sep, raw = item.partition("=")
        if not sep or not name.strip():
            _fail(f"--param {item!r}: expected NAME=VALUE")
        params[name.strip()] = yaml.safe_load(raw)
    return params


def _report_path(given: Path | None, command: str, candles: Path, strategy: str) -> Path:
    if given is not None:
        return given
    stem = candles.name.split(".")[0]
    return Path("reports") / f"{command}-{strategy}-{stem}.html"


@analysis_app.command("walkforward")
def walkforward_command(
    strategy: StrategyOpt,
    candles: CandlesOpt,
    param: Annotated[
        list[str],
        typer.Option("--param", help="Grid of one parameter: NAME=V1,V2,... (repeatable)."),
    ],
    train: Annotated[str, typer.Option(help="Train window: bars, or a duration (30d).")],
    test: Annotated[str, typer.Option(help="Test window: bars, or a duration (7d).")],
    step: Annotated[
        str | None, typer.Option(help="Step between windows (default: the test window).")
    ] = None,
    anchored: Annotated[
        bool, typer.Option("--anchored/--rolling", help="Anchored or rolling train windows.")
    ] = False,
    metric: Annotated[str, typer.Option(help="Metric to optimise (compute_metrics key).")] = (
        "sharpe"
    ),
    direction: Annotated[
        str, typer.Option(help="max, min, or auto (min for drawdown-like metrics).")
    ] = "auto",
    min_trades: Annotated[
        int, typer.Option(help="Parameter sets with fewer closed trades rank last.")
    ] = 0,
    fee: FeeOpt = 0.001,
    fill: FillOpt = FillChoice.NEXT_OPEN,
    mode: ModeOpt = ModeChoice.FAST,
    cash: CashOpt = 10_000.0,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    report: ReportOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Walk-forward optimisation over a parameter grid; writes an HTML report."""
    from mftbot.backtest.walkforward import (
        Objective,
        ParamSpace,
        walk_forward,
        write_walkforward_report,
    )

    if direction not in ("auto", "max", "min"):
        _fail(f"--direction must be auto, max or min, got {direction!r}")
    frame, sym = _quick_inputs(strategy, candles, symbol, timeframe)
    maximize = None if direction == "auto" else direction == "max"
    try:
        result = walk_forward(
            strategy,
            frame,
            ParamSpace.parse(param),
            train=train,
            test=test,
            step=step,
            anchored=anchored,
            objective=Objective(metric, maximize),
            min_trades=min_trades,
            fee=fee,
            fill=fill.value,
            mode=mode.value,
            cash=cash,
            symbol=sym,
            timeframe=timeframe,
            console=Console(stderr=True),
        )
        path = write_walkforward_report(
            result, _report_path(report, "walkforward", candles, strategy), candles=frame
        )
    except MftbotError as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps({**result.to_dict(), "report": str(path)}, allow_nan=False))
        return
    console = _wide_console()
    table = Table(title=f"walk-forward {strategy} on {candles.name} ({metric})")
    frame_out = result.table().drop(columns=["train_from", "train_to", "start_equity"])
    frame_out = frame_out.reset_index()
    for column in frame_out.columns:
        table.add_column(str(column))
    for row in frame_out.itertuples(index=False):
        table.add_row(*(_fmt(v) for v in row))
    console.print(table)
    console.print(
        f"out-of-sample: final equity {result.final_equity:,.2f}, total return "
        f"{_fmt(result.metrics['total_return'])}, sharpe {_fmt(result.metrics['sharpe'])}, "
        f"max drawdown {_fmt(result.metrics['max_drawdown'])}"
    )
    console.print(f"report: {path}")


@analysis_app.command("stress")
def stress_command(
    strategy: StrategyOpt,
    candles: CandlesOpt,
    scenario: Annotated[
        list[str] | None,
        typer.Option(help="flash_crash, weekend_gap, all_positions (repeatable; default all)."),
    ] = None,
    at: Annotated[
        list[str] | None,
        typer.Option(help="Inject at this UTC time (repeatable; default: worst moment)."),
    ] = None,
    ruin_level: Annotated[
        float, typer.Option(help="Ruined at or below this return from the start.")
    ] = -0.5,
    param: ParamOpt = None,
    fee: FeeOpt = 0.001,
    fill: FillOpt = FillChoice.NEXT_OPEN,
    mode: ModeOpt = ModeChoice.FAST,
    cash: CashOpt = 10_000.0,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    report: ReportOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Stress scenarios (flash crash, weekend gap, all positions −5 %); writes an HTML report."""
    from mftbot.backtest.stress import run_stress, write_stress_report

    frame, sym = _quick_inputs(strategy, candles, symbol, timeframe)
    try:
        result = run_stress(
            strategy,
            frame,
            scenario or None,
            at=at or None,
            params=_params(param) or None,
            fee=fee,
            fill=fill.value,
            mode=mode.value,
            cash=cash,
            symbol=sym,
            timeframe=timeframe,
            ruin_level=ruin_level,
        )
        path = write_stress_report(result, _report_path(report, "stress", candles, strategy))
    except (MftbotError, ValueError) as exc:
        _fail(str(exc))
    if json_output:
        typer.echo(json.dumps({**result.to_dict(), "report": str(path)}, allow_nan=False))
        return
    console = _wide_console()
    table = Table(title=f"stress {strategy} on {candles.name}")
    columns: tuple[str, ...] = ("scenario", "method", "at", "shock_loss", "loss_share")
    columns = (*columns, "final_equity", "worst_drawdown", "min_equity", "survives")
    for column in columns:
        table.add_column(column)
    for row in result.table().itertuples(index=False):
        table.add_row(*(_fmt(getattr(row, c)) for c in columns))
    console.print(table)
    console.print(f"baseline final equity {result.baseline.final_equity:,.2f}; report: {path}")


class McMethod(StrEnum):
    """Which Monte Carlo resampling to run."""

    TRADES = "trades"
    RETURNS = "returns"
    BOTH = "both"


@analysis_app.command("montecarlo")
def montecarlo_command(
    strategy: StrategyOpt,
    candles: CandlesOpt,
    method: Annotated[
        McMethod, typer.Option(help="trades (trade bootstrap), returns (block bootstrap), both.")
    ] = McMethod.BOTH,
    paths: Annotated[int, typer.Option(help="Number of simulated paths.")] = 10_000,
    seed: Annotated[int | None, typer.Option(help="Random seed (default: random).")] = None,
    permutation: Annotated[
        bool, typer.Option(help="Shuffle the trades instead of drawing with replacement.")
    ] = False,
    block_size: Annotated[
        int | None, typer.Option(help="Block length in bars (default: n^(1/3)).")
    ] = None,
    ruin_level: Annotated[
        float, typer.Option(help="Ruined at or below this return from the start.")
    ] = -0.5,
    param: ParamOpt = None,
    fee: FeeOpt = 0.001,
    fill: FillOpt = FillChoice.NEXT_OPEN,
    mode: ModeOpt = ModeChoice.FAST,
    cash: CashOpt = 10_000.0,
    symbol: SymbolOpt = None,
    timeframe: TimeframeOpt = None,
    report: ReportOpt = None,
    json_output: JsonOpt = False,
) -> None:
    """Monte Carlo of a backtest (trade bootstrap, block bootstrap of returns); writes a report."""
    from mftbot.backtest.api import backtest
    from mftbot.backtest.montecarlo import report_section, return_bootstrap, trade_bootstrap
    from mftbot.backtest.report import write_report

    frame, sym = _quick_inputs(strategy, candles, symbol, timeframe)
    try:
        result = backtest(
            strategy,
            frame,
            fee=fee,
            fill=fill.value,
            mode=mode.value,
            cash=cash,
            params=_params(param) or None,
            symbol=sym,
            timeframe=timeframe,
        )
        runs = []
        if method in (McMethod.TRADES, McMethod.BOTH):
            runs.append(
                trade_bootstrap(
                    result.trades,
                    initial_cash=cash,
                    n_paths=paths,
                    replace=not permutation,
                    ruin_level=ruin_level,
                    seed=seed,
                )
            )
        if method in (McMethod.RETURNS, McMethod.BOTH):
            runs.append(
                return_bootstrap(
                    result.equity,
                    initial_cash=cash,
                    n_paths=paths,
                    block_size=block_size,
                    ruin_level=ruin_level,
                    seed=seed,
                )
            )
        path = write_report(
            _report_path(report, "montecarlo", candles, strategy),
            trades=result.trades,
            equity=result.equity,
            candles=frame,
            metrics=result.metrics,
            title=f"Monte Carlo: {strategy} on {sym}",
            sections=[report_section(r) for r in runs],
            initial_cash=cash,
        )
    except MftbotError as exc:
        _fail(str(exc))
    summaries = [r.to_dict() for r in runs]
    if json_output:
        doc = {"final_equity": result.final_equity, "simulations": summaries, "report": str(path)}
        typer.echo(json.dumps(doc, allow_nan=False))
        return
    console = _wide_console()
    for r in runs:
        console.print(f"{r.method}: {r.n_paths:,} paths, probability of ruin {r.prob_ruin:.2%}")
        table = Table()
        summary = r.summary_table().reset_index()
        for column in summary.columns:
            table.add_column(str(column))
        for row in summary.itertuples(index=False):
            table.add_row(*(_fmt(v) for v in row))
        console.print(table)
    console.print(f"report: {path}")


def _fail(message: str) -> NoReturn:
    typer.echo(f"error: {message}", err=True)
    raise typer.Exit(1)


def _print_summary(result: BacktestResult, path: Path) -> None:
    import pandas as pd  # loaded already by the backtest

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
