"""``mftbot ml``: datasets for machine learning.

* ``collect``: replay recordings and write the 110 features plus label prices to Parquet;
* ``label``: add forward returns / directions and triple-barrier labels to such a dataset;
* ``features-doc``: (re)write ``docs/features.md`` from the feature catalogue.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, SpinnerColumn, TextColumn
from rich.table import Table

from mftbot.core.errors import DataError, MftbotError
from mftbot.core.paths import find_data_dir

if TYPE_CHECKING:  # the feature stack (numba, pyarrow) loads only when a command runs
    from mftbot.features.collector import Partition
    from mftbot.features.labels import BarrierSpec

app = typer.Typer(help="Datasets for machine learning: collect, label, document.")

DOC_PATH = Path("docs/features.md")
"""Where ``features-doc`` writes by default (relative to the working directory)."""

PRICE_CHOICES = ("mid", "best_bid", "best_ask", "last_trade", "candle_close")
"""The collector's label price columns, named in ``--help`` without importing the collector
(a test keeps it equal to :data:`mftbot.features.collector.PRICE_COLUMNS`)."""


def parse_horizons(text: str) -> tuple[int, ...]:
    """``"5s,30s,1m"`` -> ns; an empty string gives no horizons."""
    from mftbot.features.labels import parse_duration_ns

    return tuple(parse_duration_ns(part) for part in text.split(",") if part.strip())


def parse_barrier(text: str) -> tuple[BarrierSpec, int]:
    """``"tp=0.002,sl=0.002,t=60s[,fee=0.001][,side=long|short][,band=0.0005]"`` -> spec and
    time limit (ns). Fractions of the entry price; ``fee`` is the round trip."""
    from mftbot.features.labels import BarrierSpec, LabelError, parse_duration_ns

    fields: dict[str, str] = {}
    for item in text.split(","):
        key, sep, value = item.partition("=")
        if not sep or not value.strip():
            raise LabelError(f"barrier: expected key=value, got {item!r}")
        fields[key.strip().lower()] = value.strip()
    unknown = set(fields) - {"tp", "sl", "t", "fee", "side", "band"}
    missing = {"tp", "sl", "t"} - set(fields)
    if unknown or missing:
        raise LabelError(
            f"barrier: unknown keys {sorted(unknown)}, missing {sorted(missing)} "
            "(expected tp=,sl=,t=[,fee=][,side=][,band=])"
        )
    side = {"long": 1, "short": -1}.get(fields.get("side", "long").lower())
    if side is None:
        raise LabelError(f"barrier: side must be long or short, got {fields['side']!r}")
    try:
        spec = BarrierSpec(
            take_profit=float(fields["tp"]),
            stop_loss=float(fields["sl"]),
            fee=float(fields.get("fee", "0")),
            side=side,
            band=float(fields.get("band", "0")),
        )
    except ValueError as exc:
        raise LabelError(f"barrier: {exc}") from exc
    return spec, parse_duration_ns(fields["t"])


@app.command("label")
def label(
    input_dir: Annotated[Path, typer.Option("--input", help="collected dataset folder")],
    output_dir: Annotated[Path, typer.Option("--output", help="where the labelled copy goes")],
    horizons: Annotated[
        str, typer.Option("--horizons", help="forward-return horizons, e.g. 5s,30s,1m")
    ] = "5s,30s,1m",
    dead_band: Annotated[
        float, typer.Option("--dead-band", min=0.0, help="|return| below this -> direction 0")
    ] = 0.0,
    barrier: Annotated[
        str | None,
        typer.Option("--barrier", help="triple barrier: tp=0.002,sl=0.002,t=60s[,fee=0.001]"),
    ] = None,
    price: Annotated[
        str, typer.Option("--price", help=f"price column: {', '.join(PRICE_CHOICES)}")
    ] = "mid",
) -> None:
    """Add labels (the only forward-looking step) to a dataset written by ``ml collect``."""
    from mftbot.features.collector import LabelSpec
    from mftbot.features.collector import label_dataset as run_labels

    err = Console(stderr=True)
    try:
        spec_barrier, limit = parse_barrier(barrier) if barrier else (None, 60_000_000_000)
        spec = LabelSpec(
            horizons_ns=parse_horizons(horizons),
            band=dead_band,
            barrier=spec_barrier,
            barrier_horizon_ns=limit,
            price=price,
        )
        with Progress(
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            console=err,
            transient=True,
        ) as progress:
            task = progress.add_task("labelling", total=None)

            def advance(part: Partition, total: int) -> None:
                progress.update(
                    task, total=total, advance=1, description=f"{part.symbol} {part.day}"
                )

            summary = run_labels(input_dir, output_dir, spec, on_partition=advance)
    except (MftbotError, OSError) as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=2) from exc
    table = Table(title=f"labels: {summary.rows:,} rows, {len(summary.files)} partitions")
    table.add_column("column")
    table.add_column("labelled rows", justify="right")
    table.add_column("unknown (future not in the data)", justify="right")
    for name, count in summary.labelled.items():
        table.add_row(name, f"{count:,}", f"{summary.rows - count:,}")
    Console().print(table)
    Console().print(f"written to {output_dir}")


@app.command("collect")
def collect(
    output_dir: Annotated[Path, typer.Option("--output", help="dataset folder to append to")],
    data: Annotated[
        Path | None, typer.Option("--data", help="recorded data folder (default: auto)")
    ] = None,
    market: Annotated[
        str, typer.Option("--market", help="Binance market: spot, usdm or coinm")
    ] = "spot",
    symbols: Annotated[
        list[str] | None, typer.Option("--symbol", help="ccxt symbol (repeatable; default all)")
    ] = None,
    cadence: Annotated[str, typer.Option("--cadence", help="book sampling cadence")] = "1s",
    timeframe: Annotated[str, typer.Option("--timeframe", help="candle timeframe")] = "1m",
) -> None:
    """Replay Binance recordings and write feature rows (110 features + label prices)."""
    from mftbot.data.recordings import find_binance_recordings
    from mftbot.data.replay import replay_files
    from mftbot.features.collector import FeatureCollector
    from mftbot.features.labels import parse_duration_ns
    from mftbot.features.sampling import SamplerConfig

    err = Console(stderr=True)
    try:
        root = find_data_dir(data)
        if root is None:
            raise DataError("no recorded data found: pass --data DIR or set MFTBOT_DATA_DIR")
        found = find_binance_recordings(root, market)
        chosen = list(symbols or found)
        missing = [s for s in chosen if s not in found]
        if missing or not chosen:
            raise DataError(f"no {market} recordings of {missing or 'any symbol'} under {root}")
        files = [f for s in chosen for f in found[s]]
        config = SamplerConfig(cadence_ns=parse_duration_ns(cadence))
        collector = FeatureCollector(output_dir, sampler=config, timeframe=timeframe)
        with Progress(
            SpinnerColumn(), TextColumn("{task.description}"), console=err, transient=True
        ) as progress:
            task = progress.add_task("replaying", total=None)
            for count, event in enumerate(replay_files(files), start=1):
                collector.on_event(event)
                if count % 20_000 == 0:
                    progress.update(task, description=f"{count:,} events")
            summary = collector.finish()
    except (MftbotError, OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {exc}", soft_wrap=True)
        raise typer.Exit(code=2) from exc
    table = Table(title=f"collected {summary.rows:,} rows in {summary.parts} part(s)")
    table.add_column("symbol")
    table.add_column("rows", justify="right")
    for symbol, rows in summary.rows_by_symbol.items():
        table.add_row(symbol, f"{rows:,}")
    Console().print(table)
    Console().print(f"{summary.candles} candles used; written to {output_dir}")


@app.command("features-doc")
def features_doc(
    output: Annotated[Path, typer.Option("--output", help="file to write")] = DOC_PATH,
    check: Annotated[
        bool, typer.Option("--check", help="only compare; exit 1 when the file is stale")
    ] = False,
) -> None:
    """(Re)write the feature catalogue page (docs/features.md)."""
    from mftbot.features.catalog import CATALOG, render_markdown

    text = render_markdown()
    current = output.read_text(encoding="utf-8") if output.is_file() else None
    if check:
        if current != text:
            Console(stderr=True).print(f"[red]{output} is stale[/red]: run mftbot ml features-doc")
            raise typer.Exit(code=1)
        Console().print(f"{output} is up to date ({len(CATALOG)} features)")
        return
    output.parent.mkdir(parents=True, exist_ok=True)
    output.write_text(text, encoding="utf-8")
    verb = "unchanged" if current == text else "written"
    Console().print(f"{output} {verb} ({len(CATALOG)} features)")
