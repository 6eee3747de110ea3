"""The ``mftbot`` command line (Typer). One module per command group."""

from __future__ import annotations

from typing import Annotated

import typer

from mftbot.cli import (
    backtest_cmd,
    book_cmd,
    check_cmd,
    config_cmd,
    data_cmd,
    db_cmd,
    demo_cmd,
    ml_cmd,
    replay_cmd,
    risk_cmd,
)
from mftbot.core.logging import configure_logging

app = typer.Typer(
    name="mftbot",
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


app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(data_cmd.app, name="data")
app.add_typer(book_cmd.app, name="book")
app.add_typer(check_cmd.app, name="check")
app.add_typer(ml_cmd.app, name="ml")
app.add_typer(risk_cmd.app, name="risk")
app.registered_commands.extend(demo_cmd.app.registered_commands)
app.registered_commands.extend(replay_cmd.app.registered_commands)
app.registered_commands.extend(backtest_cmd.app.registered_commands)
app.registered_commands.extend(backtest_cmd.analysis_app.registered_commands)


def main() -> None:
    """Console-script entry point."""
    app()
