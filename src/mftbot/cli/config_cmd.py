"""``mftbot config``: validate and show settings."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
import yaml

from mftbot.core.config import load_settings, masked_dump
from mftbot.core.errors import ConfigError

app = typer.Typer(help="Validate and inspect configuration.", no_args_is_help=True)


@app.command("validate")
def validate(
    file: Annotated[Path, typer.Argument(help="YAML config file to check.")],
) -> None:
    """Check a config file; exit 1 naming each bad field and the reason."""
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        typer.echo(f"invalid config:\n{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(f"{file}: valid (mode={settings.mode.value}, symbols={', '.join(settings.symbols)})")


@app.command("show")
def show(
    file: Annotated[
        Path | None, typer.Option("--config", "-c", help="YAML config file (else defaults).")
    ] = None,
) -> None:
    """Print the effective settings (file + environment) as YAML, secrets masked."""
    try:
        settings = load_settings(file)
    except ConfigError as exc:
        typer.echo(f"invalid config:\n{exc}", err=True)
        raise typer.Exit(1) from exc
    typer.echo(yaml.safe_dump(masked_dump(settings), sort_keys=False).rstrip())
