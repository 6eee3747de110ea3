"""A self-contained, offline HTML report of a backtest.

One file, no network: the CSS is inline, the charts are inline SVG (no script; hover text is SVG
``<title>``), and the metrics are also embedded as JSON (``<script type="application/json"
id="metrics-json">``, data only) so tools can read them back. Sections, each a ``<section
id=…>``:

* ``summary`` (metrics), ``equity``, ``drawdown``;
* ``price`` (candles given as one DataFrame) or ``price-<symbol>`` (a mapping symbol → candles):
  the close with trade entry/exit markers;
* ``monthly``: year × month returns heatmap (:func:`~mftbot.backtest.metrics.monthly_returns`);
* ``distribution``: trade PnL histogram;
* ``breakdown-<key>``: per strategy / symbol / timeframe where the trades carry the column;
* ``trades``: the first and last ``trade_rows`` trades;
* then one ``x-<name>`` per ``extra_tables`` entry and the given ``sections``.

Long series are downsampled to at most ``max_points`` per chart (per-bucket minimum and maximum,
plus every bar holding a trade entry or exit).
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from html import escape
from pathlib import Path

import numpy as np
import pandas as pd

from mftbot.backtest.metrics import (
    BREAKDOWN_KEYS,
    MetricsError,
    breakdown,
    compute_metrics,
    drawdown_series,
    equity_path,
    monthly_returns,
    validate_trades,
)
from mftbot.backtest.report_assets.charts import (
    bars_at,
    drawdown_chart,
    histogram_chart,
    line_chart,
    price_chart,
    times_ns,
)
from mftbot.backtest.report_assets.style import CSS
from mftbot.backtest.report_assets.tables import (
    fmt_pct,
    heatmap_table,
    metrics_table,
    table_html,
)

Candles = pd.DataFrame | Mapping[str, pd.DataFrame]
_TRADE_COLUMNS = (
    "symbol",
    "strategy",
    "timeframe",
    "side",
    "entry_time",
    "entry_price",
    "exit_time",
    "exit_price",
    "qty",
    "pnl",
    "fees",
    "risk",
)
_BREAKDOWN_COLUMNS = (
    "trades",
    "win_rate",
    "net_pnl",
    "profit_factor",
    "expectancy",
    "avg_rr",
    "max_win_streak",
    "max_loss_streak",
    "fees_paid",
    "pnl_max_drawdown",
)
_EXTRA_ROWS = 1000


@dataclass(frozen=True, slots=True)
class ReportSection:
    """A block of trusted report HTML under a title; ``key`` becomes its ``id`` (anchor)."""

    title: str
    html: str
    key: str


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-") or "section"


def _close(candles: pd.DataFrame, name: str) -> pd.Series:
    if not isinstance(candles, pd.DataFrame) or "close" not in candles.columns:
        raise MetricsError(f"candles {name!r} must be a DataFrame with a 'close' column")
    index = candles.index
    if not isinstance(index, pd.DatetimeIndex) or index.tz is None or len(index) == 0:
        raise MetricsError(f"candles {name!r} need a non-empty UTC DatetimeIndex")
    if not index.is_monotonic_increasing:
        raise MetricsError(f"candles {name!r} must be sorted by time")
    close: pd.Series = candles["close"].astype("float64")
    return close


def _price_sections(candles: Candles, trades: pd.DataFrame, max_points: int) -> list[ReportSection]:
    has_symbol = "symbol" in trades.columns
    if isinstance(candles, pd.DataFrame):
        symbols: list[object] = list(trades["symbol"].dropna().unique()) if has_symbol else []
        if len(symbols) > 1:
            raise MetricsError(
                "trades span several symbols: pass candles as a mapping symbol -> DataFrame"
            )
        name = str(symbols[0]) if symbols else ""
        items = [(name, "price", candles, trades)]
    else:
        if len(candles) > 1 and not has_symbol:
            raise MetricsError("candles for several symbols need a 'symbol' column in trades")
        items = [
            (
                sym,
                f"price-{_slug(sym)}",
                frame,
                trades[trades["symbol"] == sym] if has_symbol else trades,
            )
            for sym, frame in candles.items()
        ]
    out = []
    for sym, key, frame, subset in items:
        svg, n_in, n_out = price_chart(_close(frame, sym), subset, key=key, max_points=max_points)
        legend = (
            '<p class="legend"><span>▲ long entry</span><span>▼ short entry</span>'
            f"<span>○ exit</span><span>{n_in} entries, {n_out} exits shown</span></p>"
        )
        title = f"Trades on {sym}" if sym else "Trades on the price"
        out.append(ReportSection(title, svg + legend, key))
    return out


def _summary(metrics: Mapping[str, float | int | None]) -> str:
    items = list(metrics.items())
    third = -(-len(items) // 3) or 1
    tables = [metrics_table(dict(items[i : i + third])) for i in range(0, len(items), third)]
    clean = {k: v if v is None or np.isfinite(v) else None for k, v in metrics.items()}
    payload = json.dumps(clean, allow_nan=False).replace("</", "<\\/")
    data = f'<script type="application/json" id="metrics-json">{payload}</script>'
    return f'<div class="metrics-grid">{"".join(tables)}</div>{data}'


def _trades_html(trades: pd.DataFrame, rows: int) -> str:
    if len(trades) == 0:
        return '<p class="note">No trades.</p>'
    cols = [c for c in _TRADE_COLUMNS if c in trades.columns]
    frame = trades[cols].copy()
    frame.index = pd.RangeIndex(1, len(frame) + 1, name="#")
    if len(frame) <= 2 * rows:
        return table_html(frame)
    hidden = len(frame) - 2 * rows
    return (
        f'<p class="note">First and last {rows} of {len(frame)} trades.</p>'
        + table_html(frame.head(rows))
        + f'<p class="note">… {hidden} trades not shown …</p>'
        + table_html(frame.tail(rows))
    )


def _breakdowns(trades: pd.DataFrame) -> list[ReportSection]:
    out = []
    for key in BREAKDOWN_KEYS[:3]:
        if key in trades.columns and trades[key].notna().any():
            frame = breakdown(trades, key)[list(_BREAKDOWN_COLUMNS)]
            html = table_html(frame, formats={"win_rate": fmt_pct})
            out.append(ReportSection(f"Breakdown by {key}", html, f"breakdown-{key}"))
    return out


def _extra(name: str, frame: pd.DataFrame) -> ReportSection:
    if not isinstance(frame, pd.DataFrame):
        raise MetricsError(f"extra table {name!r} must be a DataFrame")
    note = ""
    if len(frame) > _EXTRA_ROWS:
        note = f'<p class="note">First {_EXTRA_ROWS} of {len(frame)} rows.</p>'
    return ReportSection(name, note + table_html(frame.head(_EXTRA_ROWS)), f"x-{_slug(name)}")


def _chart_sections(
    trades: pd.DataFrame, equity: pd.Series, initial_cash: float | None, max_points: int
) -> list[ReportSection]:
    path = equity_path(equity, initial_cash)
    x = times_ns(path.index)
    trade_ns = np.concatenate(
        (
            times_ns(pd.DatetimeIndex(trades["entry_time"])),
            times_ns(pd.DatetimeIndex(trades["exit_time"].dropna())),
        )
    )
    chart, _ = line_chart(
        path, cls="equity", key="equity", max_points=max_points, keep=bars_at(x, trade_ns)
    )
    dd = drawdown_chart(drawdown_series(equity, initial_cash), key="dd", max_points=max_points)
    return [
        ReportSection("Equity", chart.render(), "equity"),
        ReportSection("Drawdown", dd, "drawdown"),
    ]


def _distribution(trades: pd.DataFrame) -> ReportSection:
    pnl = trades.loc[trades["exit_time"].notna(), "pnl"].to_numpy(np.float64)
    if len(pnl) == 0:
        return ReportSection(
            "Trade PnL distribution", '<p class="note">No closed trades.</p>', "distribution"
        )
    rules = [(0.0, "0", "rule"), (float(pnl.mean()), "mean", "rule pct")]
    svg = histogram_chart(pnl, key="distribution", rules=rules)
    note = f'<p class="legend">{len(pnl)} closed trades; bins of equal PnL width.</p>'
    return ReportSection("Trade PnL distribution", svg + note, "distribution")


def render_report(
    *,
    trades: pd.DataFrame | None,
    equity: pd.Series,
    candles: Candles | None = None,
    metrics: Mapping[str, float | int | None] | None = None,
    title: str = "mftbot backtest",
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
    sections: Sequence[ReportSection] = (),
    initial_cash: float | None = None,
    max_points: int = 5000,
    trade_rows: int = 50,
) -> str:
    """The report as one HTML string (see the module docstring); ``metrics`` defaults to
    :func:`~mftbot.backtest.metrics.compute_metrics` of the trades and equity."""
    t = validate_trades(trades)
    if metrics is None:
        metrics = compute_metrics(t, equity, initial_cash=initial_cash)
    parts = [ReportSection("Summary", _summary(metrics), "summary")]
    parts += _chart_sections(t, equity, initial_cash, max_points)
    if candles is not None:
        parts += _price_sections(candles, t, max_points)
    heat = heatmap_table(monthly_returns(equity, initial_cash=initial_cash))
    parts.append(ReportSection("Monthly returns (%)", heat, "monthly"))
    parts.append(_distribution(t))
    parts += _breakdowns(t)
    parts.append(ReportSection("Trades", _trades_html(t, trade_rows), "trades"))
    parts += [_extra(name, frame) for name, frame in (extra_tables or {}).items()]
    parts += list(sections)
    return _page(title, equity, len(t), parts)


def _page(title: str, equity: pd.Series, n_trades: int, parts: list[ReportSection]) -> str:
    start, end = equity.index[0], equity.index[-1]
    sub = (
        f"{start:%Y-%m-%d %H:%M} → {end:%Y-%m-%d %H:%M} UTC · {len(equity):,} equity points"
        f" · {n_trades:,} trades"
    )
    nav = "".join(f'<a href="#{escape(p.key)}">{escape(p.title)}</a>' for p in parts)
    body = "".join(
        f'<section id="{escape(p.key)}"><h2>{escape(p.title)}</h2>{p.html}</section>' for p in parts
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        f"<title>{escape(title)}</title><style>{CSS}</style></head><body>"
        f"<header><h1>{escape(title)}</h1><p>{escape(sub)}</p></header><nav>{nav}</nav>"
        f"<main>{body}</main><footer>Generated by mftbot · self-contained, works offline."
        "</footer></body></html>"
    )


def write_report(
    path: str | Path,
    *,
    trades: pd.DataFrame | None,
    equity: pd.Series,
    candles: Candles | None = None,
    metrics: Mapping[str, float | int | None] | None = None,
    title: str = "mftbot backtest",
    extra_tables: Mapping[str, pd.DataFrame] | None = None,
    sections: Sequence[ReportSection] = (),
    initial_cash: float | None = None,
    max_points: int = 5000,
    trade_rows: int = 50,
) -> Path:
    """Write :func:`render_report` to ``path`` (UTF-8; parent folders created); return it."""
    html = render_report(
        trades=trades,
        equity=equity,
        candles=candles,
        metrics=metrics,
        title=title,
        extra_tables=extra_tables,
        sections=sections,
        initial_cash=initial_cash,
        max_points=max_points,
        trade_rows=trade_rows,
    )
    out = Path(path)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return out
