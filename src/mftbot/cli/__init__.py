"""The ``mftbot`` command line (Typer). One module per command group."""

from __future__ import annotations

import typer

from mftbot.cli import book_cmd, check_cmd, config_cmd, data_cmd, db_cmd, replay_cmd

app = typer.Typer(
    name="mftbot",
    help="mftbot: a medium-frequency crypto trading system.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)
app.add_typer(config_cmd.app, name="config")
app.add_typer(db_cmd.app, name="db")
app.add_typer(data_cmd.app, name="data")
app.add_typer(book_cmd.app, name="book")
app.add_typer(check_cmd.app, name="check")
app.registered_commands.extend(replay_cmd.app.registered_commands)


def main() -> None:
    """Console-script entry point."""
    app()
