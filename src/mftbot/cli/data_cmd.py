"""``mftbot data``: import market-data files into the Parquet catalog, show and list it."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from mftbot.core.errors import ConfigError, DataError, DataNotFoundError

if TYPE_CHECKING:  # pandas and pyarrow load only when a command runs, not for ``--help``
    import pandas as pd

    from mftbot.data.catalog import ParquetCatalog
    from mftbot.data.importer import FileReport

app = typer.Typer(
    help="Market data: import files into the Parquet catalog, show and list what it holds.",
    no_args_is_help=True,
)

CatalogOption = Annotated[
    Path | None,
    typer.Option("--catalog", help="Catalog root (default: settings data.catalog_dir)."),
]
_SAMPLES_SHOWN = 5


def _console(*, stderr: bool = False) -> Console:
    console = Console(stderr=stderr)
    return console if console.is_terminal else Console(stderr=stderr, width=200)


def _catalog(path: Path | None) -> ParquetCatalog:
    from mftbot.core.config import load_settings
    from mftbot.data.catalog import ParquetCatalog

    if path is None:
        try:
            path = load_settings().data.catalog_dir
        except ConfigError as exc:
            _console(stderr=True).print(f"[red]invalid settings:[/] {exc}")
            raise typer.Exit(2) from exc
    return ParquetCatalog(path)


def _iso(ns: int | None) -> str:
    import pandas as pd

    return "-" if ns is None else pd.Timestamp(ns, unit="ns", tz="UTC").isoformat()


# --------------------------------------------------------------------------- import


def _summary_table(reports: Sequence[FileReport]) -> Table:
    from mftbot.data.catalog import WriteStats

    totals: dict[tuple[str, str, str], WriteStats] = {}
    files: dict[tuple[str, str, str], int] = defaultdict(int)
    for report in reports:
        for stats in report.stats:
            key = (stats.venue, stats.symbol, stats.kind)
            totals.setdefault(key, WriteStats(*key)).merge(stats)
            files[key] += 1
    table = Table(title="imported")
    for name in ("venue", "symbol", "kind", "files", "rows read", "rows written", "first", "last"):
        numeric = name in ("files", "rows read", "rows written")
        table.add_column(name, justify="right" if numeric else "left")
    for key in sorted(totals):
        stats = totals[key]
        table.add_row(
            *key,
            str(files[key]),
            f"{stats.rows:,}",
            f"{stats.rows_written:,}",
            _iso(stats.first_ns),
            _iso(stats.last_ns),
        )
    return table


def _print_bad(console: Console, reports: Sequence[FileReport]) -> None:
    total = sum(r.bad.total for r in reports)
    if total == 0:
        console.print("bad input: none")
        return
    console.print(f"[yellow]bad input: {total:,} row(s) dropped[/]")
    for report in reports:
        if report.bad.total:
            reasons = ", ".join(f"{k}: {v:,}" for k, v in report.bad.counts.most_common())
            console.print(f"  {report.path}: {reasons}")
            for sample in report.bad.samples[:_SAMPLES_SHOWN]:
                console.print(f"    line/row {sample.line}: {sample.reason}", markup=False)


@app.command("import")
def import_cmd(
    paths: Annotated[
        list[Path], typer.Argument(help="Files or folders to import (folders are walked).")
    ],
    catalog: CatalogOption = None,
    venue: Annotated[
        str | None, typer.Option(help="Venue (ccxt id) for files that do not state it.")
    ] = None,
    symbol: Annotated[
        str | None, typer.Option(help="ccxt symbol for files that do not state it.")
    ] = None,
    timeframe: Annotated[
        str | None, typer.Option(help="Candle timeframe where the file name has none.")
    ] = None,
    strict: Annotated[
        bool, typer.Option(help="Stop at the first bad row instead of dropping and counting.")
    ] = False,
    log_bad: Annotated[bool, typer.Option(help="Also log every bad row as it is met.")] = False,
) -> None:
    """Detect each file's format, read it and append it to the catalog, then summarise.

    Every format is detected before anything is written: an unknown file stops the run
    (exit 2). A read error stops at that file (exit 1); files before it stay imported, and
    importing them again is a no-op.
    """
    from mftbot.data.importer import (
        FileFormat,
        UnknownFormatError,
        detect_format,
        expand_paths,
        import_file,
        precheck,
    )
    from mftbot.data.quality import BadInputLog

    err = _console(stderr=True)
    out = _console()
    target = _catalog(catalog)
    try:
        detected = [(path, detect_format(path)) for path in expand_paths(paths)]
        for path, fmt in detected:
            precheck(path, fmt, symbol=symbol)
    except UnknownFormatError as exc:
        err.print(f"[red]error:[/] {exc}", markup=True, highlight=False)
        err.print("formats read: " + "; ".join(f.value for f in FileFormat), highlight=False)
        raise typer.Exit(2) from exc
    except DataError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    if not detected:
        err.print("[red]error:[/] no files to import")
        raise typer.Exit(2)
    reports: list[FileReport] = []
    columns = (TextColumn("{task.description}"), BarColumn(), TimeElapsedColumn())
    with Progress(*columns, console=err, transient=True) as progress:
        task = progress.add_task("importing", total=len(detected))
        for path, fmt in detected:
            progress.update(task, description=f"{path.name} ({fmt.value})")
            bad = BadInputLog(log=log_bad)
            try:
                report = import_file(
                    target,
                    path,
                    fmt=fmt,
                    venue=venue,
                    symbol=symbol,
                    timeframe=timeframe,
                    strict=strict,
                    bad=bad,
                )
            except DataError as exc:
                progress.stop()
                if reports:
                    out.print(_summary_table(reports))
                err.print(f"[red]error:[/] {exc}", highlight=False)
                raise typer.Exit(1) from exc
            reports.append(report)
            progress.advance(task)
    out.print(f"catalog: {target.root}  ({len(reports)} file(s))", highlight=False)
    out.print(_summary_table(reports))
    _print_bad(out, reports)


# --------------------------------------------------------------------------- show / ls


def _cell(value: Any) -> str:
    import numpy as np
    import pandas as pd

    if isinstance(value, list | tuple | np.ndarray):
        items = list(value)
        return f"[{len(items)}] {items[0]:.10g}…" if items else "[0]"
    if isinstance(value, pd.Timestamp):
        return value.isoformat()
    if value is None or value is pd.NA or (isinstance(value, float) and np.isnan(value)):
        return "-"
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def _rows_table(frame: pd.DataFrame, title: str) -> Table:
    import pandas as pd

    table = Table(title=title)
    table.add_column("time")
    for name in frame.columns:
        table.add_column(str(name))
    for stamp, row in zip(frame.index, frame.itertuples(index=False), strict=True):
        table.add_row(pd.Timestamp(stamp).isoformat(), *(_cell(v) for v in row))
    return table


@app.command("show")
def show(
    symbol: Annotated[str, typer.Option(help="ccxt symbol, e.g. BTC/USDT.")],
    kind: Annotated[
        str, typer.Option(help="book, trades, quotes, candles_<tf>, mark_<tf>, funding_<tf>…")
    ],
    catalog: CatalogOption = None,
    start: Annotated[str | None, typer.Option(help="From this time (ISO, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Up to this time, excluded (ISO).")] = None,
    venue: Annotated[str | None, typer.Option(help="Venue, if several hold it.")] = None,
    rows: Annotated[int, typer.Option(min=1, help="Rows shown at each end.")] = 5,
) -> None:
    """Read one series back from the catalog: row count, span, first and last rows."""
    err = _console(stderr=True)
    out = _console()
    target = _catalog(catalog)
    try:
        frame = target.read(symbol, kind, venue=venue, start=start, end=end)
    except DataNotFoundError as exc:
        err.print(f"[red]not found:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    except DataError as exc:
        err.print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(2) from exc
    label = f"{venue + ' ' if venue else ''}{symbol} {kind}"
    if frame.empty:
        out.print(f"{label}: 0 rows in the range", highlight=False)
        return
    span = f"{frame.index[0].isoformat()} → {frame.index[-1].isoformat()}"
    out.print(f"{label}: {len(frame):,} rows, {span}", highlight=False)
    if len(frame) <= 2 * rows:
        out.print(_rows_table(frame, "rows"))
        return
    out.print(_rows_table(frame.head(rows), f"first {rows}"))
    out.print(_rows_table(frame.tail(rows), f"last {rows}"))


@app.command("ls")
def ls(catalog: CatalogOption = None) -> None:
    """List every series the catalog holds: venue, symbol, kind, days, rows, span."""
    target = _catalog(catalog)
    out = _console()
    if not target.root.is_dir():
        _console(stderr=True).print(f"[red]no catalog at {target.root}[/]", highlight=False)
        raise typer.Exit(1)
    try:
        entries = target.entries()
    except DataError as exc:
        _console(stderr=True).print(f"[red]error:[/] {exc}", highlight=False)
        raise typer.Exit(1) from exc
    if not entries:
        out.print(f"catalog {target.root} is empty", highlight=False)
        return
    table = Table(title=f"catalog {target.root}")
    for name in ("venue", "symbol", "kind", "days", "files", "rows", "first", "last"):
        table.add_column(name, justify="right" if name in ("days", "files", "rows") else "left")
    for entry in entries:
        table.add_row(
            entry.venue,
            entry.symbol,
            entry.kind,
            str(len(entry.dates)),
            str(entry.files),
            f"{entry.rows:,}",
            _iso(entry.first_ns),
            _iso(entry.last_ns),
        )
    out.print(table)
