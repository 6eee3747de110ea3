"""``mftbot risk``: show the trading state and the kill switch; reset a HALTED state.

The state lives in the risk state file (``.risk_state.json`` by default); a running engine
reads it on its poll cadence, so ``mftbot risk reset`` resumes trading within about a second.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer

from mftbot.core.clock import WallClock, ns_to_datetime
from mftbot.core.config import load_settings
from mftbot.core.errors import ConfigError
from mftbot.risk.config import KillSwitchConfig, LimitsConfig
from mftbot.risk.results import RiskError
from mftbot.risk.state_store import StoredState, TradingStateStore

app = typer.Typer(help="Risk engine state: status and reset.", no_args_is_help=True)

StateFileOption = Annotated[
    Path,
    typer.Option("--state-file", help="Risk state file the engine persists HALTED in."),
]
ConfigOption = Annotated[
    Path | None,
    typer.Option("--config", "-c", help="YAML config file to read risk.kill_switch_file from."),
]
_DEFAULT_STATE = LimitsConfig().state_file


def _fail(message: str) -> typer.Exit:
    typer.echo(f"error: {message}", err=True)
    return typer.Exit(1)


def _load(path: Path) -> StoredState:
    try:
        return TradingStateStore(path).load()
    except RiskError as exc:
        raise _fail(str(exc)) from exc


def _kill_switch_path(config: Path | None, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    if config is None:
        return KillSwitchConfig().file
    try:
        return load_settings(config).risk.kill_switch_file
    except ConfigError as exc:
        raise _fail(str(exc)) from exc


def _when(ts: int | None) -> str:
    return "-" if ts is None else ns_to_datetime(ts).isoformat()


@app.command("status")
def status(
    state_file: StateFileOption = _DEFAULT_STATE,
    config: ConfigOption = None,
    kill_switch: Annotated[
        Path | None, typer.Option("--kill-switch", help="Kill-switch file (default: settings).")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print JSON.")] = False,
) -> None:
    """Print the persisted trading state and whether the kill switch is engaged."""
    stored = _load(state_file)
    switch = _kill_switch_path(config, kill_switch)
    engaged = switch.exists()
    if as_json:
        doc = {
            **stored.to_json(),
            "state_file": str(state_file),
            "kill_switch": {"file": str(switch), "engaged": engaged},
        }
        typer.echo(json.dumps(doc, indent=2))
        return
    typer.echo(f"trading state: {stored.state.value.upper()}")
    if stored.reason:
        typer.echo(f"reason:        {stored.reason}")
    typer.echo(f"since:         {_when(stored.since_ns)}")
    typer.echo(f"resets:        {stored.resets}")
    typer.echo(f"state file:    {state_file}")
    typer.echo(f"kill switch:   {'ENGAGED' if engaged else 'released'} ({switch})")


@app.command("reset")
def reset(
    state_file: StateFileOption = _DEFAULT_STATE,
    by: Annotated[str, typer.Option("--by", help="Who resets (kept in the state file).")] = "cli",
    force: Annotated[
        bool, typer.Option("--force", help="Write a reset even when not halted.")
    ] = False,
) -> None:
    """Clear a HALTED trading state; a running engine resumes at its next poll."""
    stored = _load(state_file)
    if not stored.halted and not force:
        typer.echo(f"not halted (state {stored.state.value}); nothing to reset")
        return
    try:
        after = TradingStateStore(state_file).reset(WallClock().now_ns(), by)
    except OSError as exc:
        raise _fail(f"{state_file}: cannot write: {exc}") from exc
    was = f" (was halted: {stored.reason})" if stored.halted else ""
    typer.echo(f"trading state reset to {after.state.value.upper()}{was}; resets: {after.resets}")
