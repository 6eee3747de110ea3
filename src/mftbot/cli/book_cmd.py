"""``mftbot book``: rebuild L2 order books from recordings and report their final state."""

from __future__ import annotations

import gc
import json
import sys
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager, redirect_stdout
from itertools import islice
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.progress import Progress, SpinnerColumn, TextColumn, TimeElapsedColumn
from rich.table import Table

from mftbot.core.errors import DataError
from mftbot.data.quality import BadInputLog
from mftbot.data.replay import replay_files
from mftbot.domain.events import Level

if TYPE_CHECKING:  # the books (numpy, numba) load only when a command runs, not for ``--help``
    from mftbot.domain.book_sync import BookEntry, BookSet

app = typer.Typer(
    help="Order-book commands: rebuild L2 books from recordings.", no_args_is_help=True
)

_PROGRESS_EVERY = 50_000


def replay_books(
    paths: Sequence[Path],
    *,
    bad: BadInputLog | None = None,
    stale_after_ns: int | None = None,
    books: BookSet | None = None,
    progress: Progress | None = None,
    fast: bool = True,
) -> BookSet:
    """Replay ``paths`` in receive-time order into a :class:`BookSet`.

    Files of one venue and symbol are chained in date order, then all symbols are merged
    (:func:`mftbot.data.replay.replay_files`). Raises :class:`DataError` for an unknown file.
    The cyclic garbage collector is paused while it runs (see :func:`gc_paused`).

    With ``fast`` (the default) and a fresh ``books``, the compiled path of
    :mod:`mftbot.data.fast_replay` does the work, with the same result; ``fast=False`` routes
    every event through ``BookSet.consume`` (the reference).
    """
    from mftbot.domain.book_sync import BookSet

    log = bad if bad is not None else BadInputLog()
    target = books if books is not None else BookSet(bad=log, stale_after_ns=stale_after_ns)
    if fast and not target.entries and not target.events:
        task = None if progress is None else progress.add_task("replaying", total=None, events=0)

        def report(done: int) -> None:
            if progress is not None and task is not None:
                progress.update(task, events=done)

        from mftbot.data.fast_replay import replay_into

        with gc_paused():
            replay_into(paths, target, bad=log, on_progress=report)
        return target
    events = replay_files(paths, bad=log)
    with gc_paused():
        if progress is None:
            target.consume(events)
            return target
        task = progress.add_task("replaying", total=None, events=0)
        done = 0
        while count := target.consume(islice(events, _PROGRESS_EVERY)):
            done += count
            progress.update(task, events=done)
    return target


@contextmanager
def gc_paused() -> Iterator[None]:
    """Pause the cyclic garbage collector for a block, then restore its previous state.

    A replay allocates millions of short-lived, acyclic containers (the level tuples and
    lists of each message, freed by reference counting) that only trigger collector passes
    over live objects: a few per cent of the replay's time, mostly cache misses. Any cycle
    made meanwhile is collected once the collector is back on.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def _levels(levels: Iterable[Level]) -> list[list[float]]:
    return [[price, size] for price, size in levels]


def _best(level: Level | None) -> list[float] | None:
    return None if level is None else [level[0], level[1]]


def book_summary(entry: BookEntry, depth: int) -> dict[str, Any]:
    """JSON-ready final state and counters of one book."""
    sync, book, stats = entry.sync, entry.sync.book, entry.sync.stats
    return {
        "venue": sync.venue,
        "state": sync.state.value,
        "update_id": sync.last_update_id,
        "best_bid": _best(book.best_bid),
        "best_ask": _best(book.best_ask),
        "spread_bps": book.spread_bps(),
        "bids": _levels(book.top_bids(depth)),
        "asks": _levels(book.top_asks(depth)),
        "levels": [len(book.bids), len(book.asks)],
        "snapshots": stats.snapshots,
        "deltas": stats.deltas_applied,
        "level_updates": stats.level_updates,
        "resyncs": stats.resync_count,
        "resync_reasons": dict(sorted(stats.resyncs.items())),
        "skipped": dict(sorted(stats.skipped.items())),
        "bad_messages": stats.bad_messages,
        "ticker_checks": {
            "aligned": entry.tickers.aligned,
            "mismatched": entry.tickers.mismatched,
        },
    }


def summarize(books: BookSet, bad: BadInputLog, depth: int) -> dict[str, Any]:
    """The ``--json`` document: each book by ccxt symbol, plus reader rejections.

    A symbol seen on more than one venue is keyed ``"<venue>:<symbol>"`` instead.
    """
    symbols = [symbol for _, symbol in books.entries]
    out: dict[str, Any] = {}
    for (venue, symbol), entry in sorted(books.entries.items(), key=lambda kv: kv[0][::-1]):
        key = symbol if symbols.count(symbol) == 1 else f"{venue}:{symbol}"
        out[key] = book_summary(entry, depth)
    return {
        "symbols": out,
        "events": books.events,
        "bad_input": {"total": bad.total, "by_reason": dict(sorted(bad.counts.items()))},
    }


def _fmt(level: list[float] | None) -> str:
    return "-" if level is None else f"{level[0]:.12g} x {level[1]:.12g}"


def _table(summary: dict[str, Any]) -> Table:
    table = Table(title=f"Order books after {summary['events']:,} events")
    for col in ("symbol", "venue", "state", "best bid", "best ask", "spread bps", "levels"):
        table.add_column(col)
    for col in ("deltas", "resyncs", "bad", "tickers ok", "tickers bad"):
        table.add_column(col, justify="right")
    for key, s in summary["symbols"].items():
        spread = s["spread_bps"]
        table.add_row(
            key,
            s["venue"],
            s["state"],
            _fmt(s["best_bid"]),
            _fmt(s["best_ask"]),
            "-" if spread is None else f"{spread:.3f}",
            f"{s['levels'][0]}/{s['levels'][1]}",
            f"{s['deltas']:,}",
            str(s["resyncs"]),
            str(s["bad_messages"]),
            f"{s['ticker_checks']['aligned']:,}",
            str(s["ticker_checks"]["mismatched"]),
        )
    return table


_REPLAY_HELP = (
    "Replay recordings in receive-time order into L2 books and report each final book."
    "\n\n"
    "Every book is kept in sequence by its venue's rules (a snapshot, then deltas; a gap, a "
    "crossed book or a bad message resyncs it) and is checked against the venue's own best "
    "bid/offer (Binance bookTicker) wherever their update ids match."
    "\n\n"
    "--json prints one object: 'symbols' maps each ccxt symbol to its best_bid and best_ask "
    "(price, size), its top --depth bids and asks, its counters (deltas, resyncs, "
    "bad_messages) and ticker_checks (aligned, mismatched); 'bad_input' counts the lines the "
    "readers rejected."
)


@app.command("replay", help=_REPLAY_HELP)
def replay(
    files: Annotated[
        list[Path],
        typer.Argument(
            help="Recording files: Binance .gz (binance_spot/, binance_usdm/, binance_coinm/) "
            "or Bybit .data/.zip order-book files; any number of symbols.",
            exists=True,
            dir_okay=False,
            readable=True,
        ),
    ],
    json_out: Annotated[
        bool, typer.Option("--json", help="Print one JSON object instead of a table.")
    ] = False,
    depth: Annotated[
        int, typer.Option("--depth", min=1, help="Levels per side in the JSON output.")
    ] = 20,
    stale_after: Annotated[
        float | None,
        typer.Option(
            "--stale-after",
            min=0.001,
            help="Resync a book with no update for this many seconds of receive time "
            "(off by default: a recording that ends early is not an outage).",
        ),
    ] = None,
) -> None:
    """Replay recordings into L2 books and report each final book (see ``_REPLAY_HELP``)."""
    bad = BadInputLog()
    stale_ns = None if stale_after is None else int(stale_after * 1e9)
    err = Console(stderr=True)
    try:
        # Logs (bad input, resyncs) go to stderr so stdout holds only the report.
        with (
            redirect_stdout(sys.stderr),
            Progress(
                SpinnerColumn(),
                TextColumn("{task.description}: {task.fields[events]:,} events"),
                TimeElapsedColumn(),
                console=err,
                transient=True,
            ) as progress,
        ):
            books = replay_books(files, bad=bad, stale_after_ns=stale_ns, progress=progress)
    except DataError as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(code=2) from exc
    summary = summarize(books, bad, depth)
    if json_out:
        typer.echo(json.dumps(summary))
        return
    out = Console()
    if not out.is_terminal:
        out = Console(width=160)  # a pipe or file: do not squeeze the table into 80 columns
    out.print(_table(summary))
    if bad.total:
        reasons = ", ".join(f"{k}={v}" for k, v in summary["bad_input"]["by_reason"].items())
        out.print(f"reader rejected {bad.total} line(s): {reasons}")
