"""``mftbot check``: correctness checks over everything registered.

``mftbot check lookahead`` runs the look-ahead checker (DESIGN.md principle 2) over every
entry of :data:`mftbot.analysis.registry.REGISTRY` on real candles and exits 1 on any
violation. Entries register when their module is imported: the provider modules below are
imported first (a missing one is skipped, so features and strategies join once they exist);
``--module`` adds more.
"""

from __future__ import annotations

import importlib
import json
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from mftbot.core.errors import MftbotError
from mftbot.core.paths import find_data_dir

if TYPE_CHECKING:  # pandas and the registry load only when a check runs, not for ``--help``
    from mftbot.analysis.lookahead import EntryResult, LookaheadReport
    from mftbot.analysis.registry import CandleArrays

app = typer.Typer(help="Correctness checks over registered computations.", no_args_is_help=True)

PROVIDER_MODULES = (
    "mftbot.analysis.indicators",
    "mftbot.analysis.levels",
    "mftbot.analysis.regime",
    "mftbot.features.candle",
    "mftbot.features.indicator",
    "mftbot.strategies",
)
"""Modules imported so that their computations register (missing ones are skipped)."""

DEFAULT_CANDLES = (
    "candles_filimonov/BTC_USDT-1m.feather",
    "candles_paparocketeer/BTC_USDT-1m.feather",
)
"""Real 1-minute files tried in order under the data folder."""


def load_providers(modules: list[str], *, optional: bool) -> list[str]:
    """Import ``modules`` so their entries register; return the ones skipped.

    With ``optional``, a module that does not exist is skipped; an error inside an existing
    module always propagates.
    """
    skipped = []
    for module in modules:
        try:
            importlib.import_module(module)
        except ModuleNotFoundError as exc:
            absent = exc.name is not None and module.startswith(exc.name)
            if not (optional and absent):
                raise
            skipped.append(module)
    return skipped


def read_candle_file(path: Path) -> CandleArrays:
    """Read candles: freqtrade feather/JSON through the validating reader of
    :mod:`mftbot.data.candles`, or a .parquet/.csv with freqtrade's columns."""
    import pandas as pd

    from mftbot.analysis.registry import CandleArrays
    from mftbot.data.candles import read_candles

    if not path.is_file():
        raise MftbotError(f"{path}: no such file")
    suffix = path.suffix.lower()
    if suffix == ".parquet":
        frame = pd.read_parquet(path)
    elif suffix == ".csv":
        frame = pd.read_csv(path)
        if "date" in frame.columns:
            frame["date"] = pd.to_datetime(frame["date"], utc=True)
    else:
        frame = read_candles(path)
    return CandleArrays.from_frame(frame)


def _find_default(data_dir: Path | None) -> Path | None:
    if data_dir is None:
        return None
    for rel in DEFAULT_CANDLES:
        if (data_dir / rel).is_file():
            return data_dir / rel
    return next(iter(sorted(data_dir.glob("**/*-1m.feather"))), None)


def _summary_table(report: LookaheadReport) -> Table:
    table = Table(title=f"look-ahead check: {report.bars} bars, seed {report.seed}")
    table.add_column("entry")
    table.add_column("kind")
    table.add_column("outputs", justify="right")
    table.add_column("cuts", justify="right")
    table.add_column("result")
    for res in report.results:
        if res.ok:
            verdict = "[green]ok[/green]"
        elif res.error is not None:
            verdict = f"[red]error[/red] {res.error}"
        else:
            verdict = "[red]LOOK-AHEAD[/red] " + "; ".join(str(v) for v in res.violations)
        table.add_row(res.name, res.kind, str(len(res.outputs)), str(len(res.cuts)), verdict)
    return table


@app.command("lookahead")
def lookahead(
    data: Annotated[
        Path | None, typer.Option("--data", help="recorded data folder (default: auto)")
    ] = None,
    candles: Annotated[
        Path | None, typer.Option("--candles", help="candle file (.feather/.parquet/.csv)")
    ] = None,
    bars: Annotated[int, typer.Option("--bars", min=0, help="use the last N bars (0: all)")] = 5000,
    cuts: Annotated[int, typer.Option("--cuts", min=1, help="cut points per entry")] = 20,
    seed: Annotated[int, typer.Option("--seed", help="seed of the cut points")] = 0,
    module: Annotated[
        list[str] | None, typer.Option("--module", help="extra module to import (repeatable)")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="print the report as JSON")] = False,
) -> None:
    """Truncate the input at random cuts and verify no registered value changes before a cut."""
    from mftbot.analysis.lookahead import check_lookahead
    from mftbot.analysis.lookahead import synthetic_candles as make_synthetic
    from mftbot.analysis.registry import REGISTRY

    err = Console(stderr=True)
    try:
        load_providers(list(PROVIDER_MODULES), optional=True)
        load_providers(list(module or []), optional=False)
        if candles is not None:
            source = str(candles)
            series = read_candle_file(candles)
        else:
            path = _find_default(find_data_dir(data))
            if path is None:
                source = "synthetic random walk (no recorded 1m candles found)"
                series = make_synthetic(bars or 5000, seed=seed)
                err.print(
                    f"[yellow]no recorded data found: using a {source}[/yellow]", soft_wrap=True
                )
            else:
                source = str(path)
                series = read_candle_file(path)
    except (MftbotError, ValueError, OSError, ImportError) as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=2) from exc
    if bars:
        series = series.tail(bars)
    entries = REGISTRY.entries()
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        MofNCompleteColumn(),
        console=err,
        transient=True,
    ) as progress:
        task = progress.add_task("look-ahead", total=len(entries))

        def advance(res: EntryResult) -> None:
            progress.update(task, advance=1, description=res.name)

        report = check_lookahead(series, cuts=cuts, seed=seed, on_entry=advance)
    if as_json:
        typer.echo(json.dumps({"source": source, **report.to_dict()}, indent=2))
    else:
        out = Console()
        out.print(_summary_table(report))
        out.print(f"candles: {source}")
        failed = len(report.failed)
        outputs = sum(len(r.outputs) for r in report.results)
        colour = "green" if report.ok else "red"
        out.print(
            f"[{colour}]{len(report.results)} entries, {outputs} outputs, "
            f"{failed} failed[/{colour}]"
        )
    if not report.ok:
        raise typer.Exit(code=1)
