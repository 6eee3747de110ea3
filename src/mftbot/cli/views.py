"""Rich renderables shared by the live terminal views (``mftbot replay``, ``mftbot demo``).

Pure functions of a session's state: they build tables and text, they print nothing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from rich.console import Group
from rich.table import Table
from rich.text import Text

from mftbot.core.clock import ns_to_datetime

if TYPE_CHECKING:  # the engine loads numba, the session numpy: neither for ``--help``
    from mftbot.data.replay_session import ReplaySession
    from mftbot.engine.paper import PaperSession


def fmt_price(value: float | None) -> str:
    """A price with thousands separators (6 significant digits below 100); ``—`` for none."""
    return "—" if value is None else f"{value:,.2f}" if value >= 100 else f"{value:,.6g}"


def fmt_opt(value: float | None, pattern: str) -> str:
    """``value`` in ``pattern``, or ``—``."""
    return "—" if value is None else format(value, pattern)


def _clock_text(ts_ns: int) -> str:
    return ns_to_datetime(ts_ns).strftime("%H:%M:%S")


def book_table(session: ReplaySession, *, final: bool) -> Table:
    """Per symbol: book state, best bid/ask, spread (bps), 10-level imbalance, tape counts;
    with ``final`` the bookTicker alignment checks too."""
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
            "—" if bid is None else f"{fmt_price(bid[0])} × {bid[1]:.4g}",
            "—" if ask is None else f"{fmt_price(ask[0])} × {ask[1]:.4g}",
            fmt_opt(book.spread_bps(), ".3f"),
            fmt_opt(book.imbalance(10), "+.3f"),
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


def replay_header(session: ReplaySession, speed_text: str) -> Text:
    """Event time, market time replayed, messages, bad input and pace, on one line."""
    when = "—" if session.first_ts_ns is None else ns_to_datetime(session.last_ts_ns).isoformat()
    return Text(
        f"event time {when}   replayed {session.replayed_seconds:,.1f} s   "
        f"messages {session.events:,}   bad input {session.bad.total:,}   speed {speed_text}",
        style="bold",
    )


def trading_table(paper: PaperSession, *, final: bool = False) -> Table:
    """Per symbol: bars, signals, orders, fills, the position and its PnL at the last close."""
    title = "Paper trading summary" if final else "Paper trading"
    table = Table(title=title, title_justify="left", expand=False)
    for name in (
        "symbol",
        "bars",
        "signals",
        "orders",
        "fills",
        "position",
        "entry",
        "last close",
        "unrealised",
        "realised (net)",
    ):
        table.add_column(name, justify="left" if name == "symbol" else "right")
    orders = paper.orders
    fills = paper.fills
    for symbol in paper.config.symbols:
        position = paper.portfolio.position(symbol)
        held = position is not None and position.qty > 0.0
        last = paper.last_close(symbol)
        unrealised = (
            position.qty * (last - position.avg_entry_price)
            if held and position is not None and last is not None
            else None
        )
        net = _net_realised(paper, symbol)
        table.add_row(
            symbol,
            f"{paper.bars(symbol):,}",
            f"{sum(1 for s in paper.signals if s.symbol == symbol):,}",
            f"{sum(1 for o in orders if o.symbol == symbol):,}",
            f"{sum(1 for f in fills if f.symbol == symbol):,}",
            f"{position.qty:.6g}" if held and position is not None else "flat",
            fmt_price(position.avg_entry_price) if held and position is not None else "—",
            fmt_price(last),
            fmt_opt(unrealised, "+,.2f"),
            fmt_opt(net, "+,.2f"),
        )
    return table


def _net_realised(paper: PaperSession, symbol: str) -> float | None:
    """Realised PnL net of fees of the positions closed in ``symbol`` (``None``: none)."""
    closed = [p for p in paper.portfolio.closed_positions if p.symbol == symbol]
    if not closed:
        return None
    return sum(p.realised_pnl - p.fees for p in closed)


def activity_table(paper: PaperSession) -> Table:
    """The latest signals, orders and fills, oldest first."""
    table = Table(title="Recent activity", title_justify="left", expand=False)
    for name in ("time", "symbol", "what", "detail"):
        table.add_column(name)
    styles = {"signal": "cyan", "order": "yellow", "fill": "green"}
    for item in paper.activity:
        table.add_row(
            _clock_text(item.ts),
            item.symbol,
            Text(item.kind, style=styles.get(item.kind, "")),
            item.text,
        )
    return table


def equity_text(paper: PaperSession) -> Text:
    """Equity, return, cash and fees in the quote currency, on one line."""
    cash0 = paper.config.cash
    equity = paper.equity()
    quote = paper.config.quote
    change = equity / cash0 - 1.0
    style = "green" if change > 0 else "red" if change < 0 else ""
    text = Text("equity ", style="bold")
    text.append(f"{equity:,.2f} {quote}", style=f"bold {style}".strip())
    text.append(
        f"   return {change:+.3%}   cash {paper.portfolio.cash():,.2f}   "
        f"fees {paper.portfolio.fees():,.2f}   open positions "
        f"{sum(1 for p in paper.portfolio.positions.values() if p.qty > 0.0)}"
    )
    return text


def demo_view(paper: PaperSession, speed_text: str) -> Group:
    """The live view of a paper session: books, trading, equity and recent activity."""
    return Group(
        replay_header(paper.replay, speed_text),
        book_table(paper.replay, final=False),
        trading_table(paper),
        equity_text(paper),
        activity_table(paper),
    )
