"""``mftbot replay``: replay recorded markets through the order books with a live view."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.console import Console, Group
from rich.live import Live

from mftbot.cli.views import book_table, replay_header
from mftbot.core.errors import ConfigError, DataError, DataNotFoundError
from mftbot.core.paths import find_data_dir
from mftbot.data.recordings import find_binance_recordings
from mftbot.data.replay import replay_files

if TYPE_CHECKING:  # numpy and pandas load only when a replay runs, not for ``--help``
    from mftbot.data.replay_session import ReplaySession
    from mftbot.domain.events import MarketEvent

SYNTHETIC_SYMBOLS = ("BTC/USDT", "ETH/USDT")

app = typer.Typer(help="Replay recorded market data.")


def _synthetic_events(
    symbols: list[str] | None, minutes: float, seed: int
) -> Iterator[MarketEvent]:
    from mftbot.data.synthetic import DEFAULT_START_NS, SyntheticMarket, SyntheticMarketConfig

    market = SyntheticMarket(SyntheticMarketConfig(), symbols or list(SYNTHETIC_SYMBOLS), seed)
    return market.events(DEFAULT_START_NS, int(minutes * 60e9))


def _resolve_files(data_dir: Path, market: str, symbols: list[str] | None) -> list[Path]:
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
    synthetic: Annotated[
        bool,
        typer.Option(
            "--synthetic", help="Replay the built-in synthetic market instead of recordings."
        ),
    ] = False,
    minutes: Annotated[
        float, typer.Option("--minutes", min=0.1, help="Synthetic market length in minutes.")
    ] = 10.0,
    seed: Annotated[int, typer.Option("--seed", help="Synthetic market seed.")] = 7,
    stale_after: Annotated[
        float | None,
        typer.Option("--stale-after", help="Resync a book silent this many seconds."),
    ] = None,
) -> None:
    """Replay recorded order books and trades with a live per-symbol view and a summary.

    Shows, per symbol: best bid/ask, spread in bps, 10-level imbalance, trade count, taker
    buy/sell volume, deltas applied and resyncs; at the end, a summary table including the
    bookTicker alignment checks. Without recordings (or with ``--synthetic``) it replays
    the built-in seeded synthetic market.
    """
    from mftbot.data.replay_session import Pacer, ReplaySession, parse_speed

    console = Console()
    if not console.is_terminal:
        console = Console(width=170)
    try:
        pace = parse_speed(speed)
        data_dir = None if synthetic else find_data_dir(data)
        files = [] if data_dir is None else _resolve_files(data_dir, market, symbols)
    except (ConfigError, DataError) as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from exc

    session = ReplaySession(
        stale_after_ns=None if stale_after is None else int(stale_after * 1e9),
    )
    events: Iterator[MarketEvent]
    if files:
        console.print(
            f"replaying {len(files)} file(s): " + ", ".join(p.name for p in files),
            highlight=False,
        )
        events = replay_files(files, bad=session.bad)
    else:
        reason = "as asked" if synthetic else "no recorded market data was found"
        console.print(
            f"replaying {minutes:g} minutes of the synthetic market (seed {seed}; {reason}; "
            "point --data or MFTBOT_DATA_DIR at recordings to replay real data)",
            highlight=False,
        )
        events = _synthetic_events(symbols, minutes, seed)
    pacer = Pacer(pace)
    if live:
        with Live(console=console, refresh_per_second=8, transient=True) as view:

            def redraw(s: ReplaySession) -> None:
                view.update(Group(replay_header(s, speed), book_table(s, final=False)))

            session.run(events, pacer=pacer, on_refresh=redraw)
    else:
        session.run(events, pacer=pacer)

    console.print(replay_header(session, speed))
    console.print(book_table(session, final=True))
    rate = session.events / session.wall_seconds if session.wall_seconds > 0 else 0.0
    console.print(
        f"{session.events:,} messages in {session.wall_seconds:,.2f} s wall "
        f"({rate:,.0f} msg/s); {session.replayed_seconds:,.1f} s of market time; "
        f"{session.bad.total:,} bad input line(s)",
        highlight=False,
    )
    for sample in session.bad.samples[:5]:
        console.print(f"  bad input: {sample.source}:{sample.line}: {sample.reason}")
