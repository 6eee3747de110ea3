"""The ``mftbot`` command line (Typer). One module per command group.

The command modules load on first use (:mod:`mftbot.cli.lazy`): ``mftbot --help`` imports
none of them, ``mftbot <command> …`` only that command's.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, ClassVar

import typer

from mftbot.cli.lazy import LazyEntry, LazyGroup
from mftbot.core.logging import configure_logging

_BT = "mftbot.cli.backtest_cmd"
COMMANDS: dict[str, LazyEntry] = {
    "demo": LazyEntry(
        "mftbot.cli.demo_cmd",
        "app",
        "Paper-trade sma_cross (or --strategy) on BTC/USDT and ETH/USDT over the recorded (or "
        "synthetic) market with a live view; write the ledger, Parquet files and an HTML report.",
    ),
    "replay": LazyEntry(
        "mftbot.cli.replay_cmd",
        "app",
        "Replay recorded order books and trades with a live per-symbol view and a summary.",
    ),
    "backtest": LazyEntry(
        _BT,
        "app",
        "Backtest one strategy on one candle file (all-in, long only, spot), or run a config.",
    ),
    "walkforward": LazyEntry(
        _BT,
        "analysis_app",
        "Walk-forward optimisation over a parameter grid; writes an HTML report.",
    ),
    "stress": LazyEntry(
        _BT,
        "analysis_app",
        "Stress scenarios (flash crash, weekend gap, all positions −5 %); writes an HTML report.",
    ),
    "montecarlo": LazyEntry(
        _BT,
        "analysis_app",
        "Monte Carlo of a backtest (trade bootstrap, block bootstrap of returns); writes a report.",
    ),
    "config": LazyEntry(
        "mftbot.cli.config_cmd", "app", "Validate and inspect configuration.", group=True
    ),
    "db": LazyEntry(
        "mftbot.cli.db_cmd", "app", "Manage the state database (schema migrations).", group=True
    ),
    "data": LazyEntry(
        "mftbot.cli.data_cmd",
        "app",
        "Market data: import files into the Parquet catalog, show and list what it holds.",
        group=True,
    ),
    "book": LazyEntry(
        "mftbot.cli.book_cmd",
        "app",
        "Order-book commands: rebuild L2 books from recordings.",
        group=True,
    ),
    "check": LazyEntry(
        "mftbot.cli.check_cmd",
        "app",
        "Correctness checks over registered computations.",
        group=True,
    ),
    "ml": LazyEntry(
        "mftbot.cli.ml_cmd",
        "app",
        "Datasets for machine learning: collect, label, document.",
        group=True,
    ),
    "risk": LazyEntry(
        "mftbot.cli.risk_cmd", "app", "Risk engine state: status and reset.", group=True
    ),
    "strategies": LazyEntry(
        "mftbot.cli.strategies_cmd",
        "app",
        "Registered strategies: list them, generate their docs.",
        group=True,
    ),
}
"""Every command: where it lives and its one-line help (the listing loads no module)."""


class RootGroup(LazyGroup):
    """The ``mftbot`` group: :data:`COMMANDS`, loaded on first use."""

    commands_table: ClassVar[Mapping[str, LazyEntry]] = COMMANDS


app = typer.Typer(
    name="mftbot",
    cls=RootGroup,
    help="mftbot: a medium-frequency crypto trading system.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)


@app.callback()
def _root(
    log_level: Annotated[
        str, typer.Option("--log-level", help="DEBUG, INFO, WARNING or ERROR.")
    ] = "WARNING",
    log_format: Annotated[
        str, typer.Option("--log-format", help="console or json (one event a line).")
    ] = "console",
) -> None:
    """mftbot: a medium-frequency crypto trading system."""
    if log_format not in ("console", "json"):
        raise typer.BadParameter("must be console or json", param_hint="--log-format")
    if log_level.upper() not in ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"):
        raise typer.BadParameter("unknown level", param_hint="--log-level")
    configure_logging(log_level, log_format)


def main() -> None:
    """Console-script entry point."""
    app()
