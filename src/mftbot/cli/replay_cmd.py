"""``mftbot replay``: replay recorded markets through the order books with a live view."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console, Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

from mftbot.core.clock import ns_to_datetime
from mftbot.core.errors import ConfigError, DataError, DataNotFoundError
from mftbot.core.paths import find_data_dir
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files
from mftbot.data.replay_session import Pacer, ReplaySession, parse_speed

app = typer.Typer(help="Replay recorded market data.")


def _fmt_price(value: float | None) -> str:
    return "—" if value is None else f"{value:,.2f}" if value >= 100 else f"{value:,.6g}"


def _fmt_opt(value: float | None, pattern: str) -> str:
    return "—" if value is None else format(value, pattern)


def _symbol_table(session: ReplaySession, *, final: bool) -> Table:
    title = "Replay summary" if final else "Live books"
    table = Table(title=title, title_justify="left", expand=False)
    for name, justify in (
        ("symbol", "left"),
        ("venue", "left"),
        ("state", "left"),
        ("best bid", "right"),
        ("best ask", "right"),
        ("spread bps", "right"),
        ("imb 10", "right"),
        ("trades", "right"),
        ("taker buy", "right"),
        ("taker sell", "right"),
        ("deltas", "right"),
        ("resyncs", "right"),
    ):
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    if final:
        table.add_column("ticker checks", justify="right")
    for view in session.symbols():
        sync = view.book.sync
        book = sync.book
        bid, ask = book.best_bid, book.best_ask
        row = [
            view.symbol,
            view.venue,
            sync.state.value,
            "—" if bid is None else f"{_fmt_price(bid[0])} × {bid[1]:.4g}",
            "—" if ask is None else f"{_fmt_price(ask[0])} × {ask[1]:.4g}",
            _fmt_opt(book.spread_bps(), ".3f"),
            _fmt_opt(book.imbalance(10), "+.3f"),
            f"{view.tape.trades:,}",
            f"{view.tape.taker_buy_volume:,.4f}",
            f"{view.tape.taker_sell_volume:,.4f}",
            f"{sync.stats.deltas_applied:,}",
            f"{sync.stats.resync_count:,}",
        ]
        if final:
            checks = view.book.tickers
            row.append(f"{checks.aligned:,} ok / {checks.mismatched:,} bad")
        table.add_row(*row)
    return table


def _header(session: ReplaySession, speed_text: str) -> Text:
    when = "—" if session.first_ts_ns is None else ns_to_datetime(session.last_ts_ns).isoformat()
    return Text(
        f"event time {when}   replayed {session.replayed_seconds:,.1f} s   "
        f"messages {session.events:,}   bad input {session.bad.total:,}   speed {speed_text}",
        style="bold",
    )


def _resolve_files(data: Path | None, market: str, symbols: list[str] | None) -> list[Path]:
    data_dir = find_data_dir(data)
    if data_dir is None:
        raise DataNotFoundError(
            "no recorded market data found: pass --data DIR or set MFTBOT_DATA_DIR "
            "(a recording folder such as ../shared/data)"
        )
    found = find_binance_recordings(data_dir, market)
    if not found:
        raise DataNotFoundError(f"no Binance {market} recordings under {data_dir}")
    if symbols:
        missing = [s for s in symbols if s not in found]
        if missing:
            raise DataError(
                f"no {market} recordings for {', '.join(missing)} "
                f"(found: {', '.join(sorted(found))})"
            )
        found = {s: found[s] for s in symbols}
    return [path for files in found.values() for path in files]


@app.command("replay")
def replay(
    data: Annotated[
        Path | None,
        typer.Option("--data", help="Recorded data folder (else MFTBOT_DATA_DIR, ../shared/data)."),
    ] = None,
    market: Annotated[
        str, typer.Option("--market", help="Binance market: spot, usdm or coinm.")
    ] = "spot",
    symbols: Annotated[
        list[str] | None,
        typer.Option("--symbol", "-s", help="Symbol to replay (repeatable); default: all found."),
    ] = None,
    speed: Annotated[
        str, typer.Option("--speed", help="Pace: 1x (real time), 10x, any Nx, or max.")
    ] = "10x",
    live: Annotated[
        bool, typer.Option("--live/--no-live", help="Show the live view while replaying.")
    ] = True,
    stale_after: Annotated[
        float | None,
        typer.Option("--stale-after", help="Resync a book silent this many seconds."),
    ] = None,
) -> None:
    """Replay recorded order books and trades with a live per-symbol view and a summary.

    Shows, per symbol: best bid/ask, spread in bps, 10-level imbalance, trade count, taker
    buy/sell volume, deltas applied and resyncs; at the end, a summary table including the
    bookTicker alignment checks.
    """
    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    try:
        pace = parse_speed(speed)
        files = _resolve_files(data, market, symbols)
    except (ConfigError, DataError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    console.print(
        f"replaying {len(files)} file(s): " + ", ".join(p.name for p in files), highlight=False
    )
    session = ReplaySession(
        stale_after_ns=None if stale_after is None else int(stale_after * 1e9),
    )
    events = replay_files(files, bad=session.bad)
    pacer = Pacer(pace)
    if live:
        with Live(console=console, refresh_per_second=8, transient=True) as view:

            def redraw(s: ReplaySession) -> None:
                view.update(Group(_header(s, speed), _symbol_table(s, final=False)))

            session.run(events, pacer=pacer, on_refresh=redraw)
    else:
        session.run(events, pacer=pacer)

    console.print(_header(session, speed))
    console.print(_symbol_table(session, final=True))
    rate = session.events / session.wall_seconds if session.wall_seconds > 0 else 0.0
    console.print(
        f"{session.events:,} messages in {session.wall_seconds:,.2f} s wall "
        f"({rate:,.0f} msg/s); {session.replayed_seconds:,.1f} s of market time; "
        f"{session.bad.total:,} bad input line(s)",
        highlight=False,
    )
    for sample in session.bad.samples[:5]:
        console.print(f"  bad input: {sample.source}:{sample.line}: {sample.reason}")
