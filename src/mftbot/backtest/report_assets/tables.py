"""HTML tables for the report: value formatting, DataFrames, the metrics summary, the heatmap.

Every text that comes from data is HTML-escaped.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from datetime import datetime
from html import escape
from typing import Any

import numpy as np
import pandas as pd

Formatter = Callable[[Any], str]
MISSING = "—"
MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and math.isnan(value)


def fmt_value(value: Any) -> str:
    """Generic cell text: thousands separators, 2 decimals from 1 up, 4 significant digits below."""
    if _is_missing(value):
        return MISSING
    if isinstance(value, (bool, np.bool_)):
        return "yes" if value else "no"
    if isinstance(value, (int, np.integer)):
        return f"{int(value):,}"
    if isinstance(value, (float, np.floating)):
        v = float(value)
        if not math.isfinite(v):
            return "∞" if v > 0 else "−∞"
        return f"{v:,.2f}" if abs(v) >= 1 else f"{v:.4g}"
    if isinstance(value, datetime):
        return pd.Timestamp(value).strftime("%Y-%m-%d %H:%M:%S")
    return str(value)


def fmt_pct(value: Any) -> str:
    """A fraction as a percentage with 2 decimals."""
    return MISSING if _is_missing(value) else f"{float(value) * 100:,.2f} %"


def fmt_duration(seconds: Any) -> str:
    """Seconds as ``3d 4h 5m`` (or ``12s`` under a minute)."""
    if _is_missing(seconds):
        return MISSING
    s = round(float(seconds))
    if s < 60:
        return f"{s}s"
    days, rest = divmod(s, 86_400)
    hours, rest = divmod(rest, 3_600)
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{rest // 60}m"]
    return " ".join(p for p in parts if p and p != "0m") or "0m"


def fmt_ratio(value: Any) -> str:
    """A ratio with 3 significant decimals."""
    return MISSING if _is_missing(value) else f"{float(value):,.3f}"


METRIC_FORMATS: dict[str, tuple[str, Formatter]] = {
    "initial_cash": ("Initial cash", fmt_value),
    "final_equity": ("Final equity", fmt_value),
    "net_profit": ("Net profit", fmt_value),
    "total_return": ("Total return", fmt_pct),
    "cagr": ("CAGR", fmt_pct),
    "sharpe": ("Sharpe", fmt_ratio),
    "sortino": ("Sortino", fmt_ratio),
    "calmar": ("Calmar", fmt_ratio),
    "volatility": ("Volatility (annualised)", fmt_pct),
    "max_drawdown": ("Max drawdown", fmt_pct),
    "max_drawdown_money": ("Max drawdown (money)", fmt_value),
    "max_drawdown_duration_s": ("Longest drawdown", fmt_duration),
    "max_drawdown_duration_bars": ("Longest drawdown (bars)", fmt_value),
    "recovery_factor": ("Recovery factor", fmt_ratio),
    "exposure": ("Exposure", fmt_pct),
    "bars": ("Bars", fmt_value),
    "duration_s": ("Period", fmt_duration),
    "periods_per_year": ("Periods per year", fmt_value),
    "trades": ("Closed trades", fmt_value),
    "open_trades": ("Open trades", fmt_value),
    "winning_trades": ("Winning trades", fmt_value),
    "losing_trades": ("Losing trades", fmt_value),
    "win_rate": ("Win rate", fmt_pct),
    "gross_profit": ("Gross profit", fmt_value),
    "gross_loss": ("Gross loss", fmt_value),
    "net_pnl": ("Net PnL (closed)", fmt_value),
    "profit_factor": ("Profit factor", fmt_ratio),
    "expectancy": ("Expectancy", fmt_value),
    "expectancy_r": ("Expectancy (R)", fmt_ratio),
    "avg_win": ("Average win", fmt_value),
    "avg_loss": ("Average loss", fmt_value),
    "avg_rr": ("Average R:R", fmt_ratio),
    "best_trade": ("Best trade", fmt_value),
    "worst_trade": ("Worst trade", fmt_value),
    "max_win_streak": ("Longest win streak", fmt_value),
    "max_loss_streak": ("Longest loss streak", fmt_value),
    "avg_holding_s": ("Average holding time", fmt_duration),
    "fees_paid": ("Fees paid", fmt_value),
}


def metrics_table(metrics: Mapping[str, Any]) -> str:
    """The summary as a two-column table, known keys labelled and formatted, others as given."""
    rows = []
    for key, value in metrics.items():
        label, fmt = METRIC_FORMATS.get(key, (key, fmt_value))
        rows.append(
            f'<tr data-key="{escape(key)}"><th>{escape(label)}</th>'
            f'<td class="num">{escape(fmt(value))}</td></tr>'
        )
    return f'<table class="metrics">{"".join(rows)}</table>'


def _cell(value: Any, fmt: Formatter) -> str:
    numeric = isinstance(value, (int, float, np.integer, np.floating)) and not isinstance(
        value, (bool, np.bool_)
    )
    cls = ' class="num"' if numeric else ""
    return f"<td{cls}>{escape(fmt(value))}</td>"


def table_html(
    frame: pd.DataFrame,
    *,
    index: bool = True,
    formats: Mapping[str, Formatter] | None = None,
    cls: str = "data",
) -> str:
    """``frame`` as an escaped HTML table; ``formats`` maps column names to formatters."""
    fmts = dict(formats or {})
    head = [escape(str(frame.index.name or "")) if index else None]
    head_cells = [f"<th>{h}</th>" for h in head if h is not None]
    head_cells += [f"<th>{escape(str(c))}</th>" for c in frame.columns]
    body = []
    columns = [str(c) for c in frame.columns]
    for key, row in zip(frame.index, frame.itertuples(index=False, name=None), strict=True):
        cells = [f"<th>{escape(fmt_value(key))}</th>"] if index else []
        cells += [_cell(v, fmts.get(c, fmt_value)) for c, v in zip(columns, row, strict=True)]
        body.append(f"<tr>{''.join(cells)}</tr>")
    return (
        f'<table class="{cls}"><thead><tr>{"".join(head_cells)}</tr></thead>'
        f"<tbody>{''.join(body)}</tbody></table>"
    )


def _heat_style(value: float, scale: float) -> str:
    alpha = 0.10 + 0.75 * min(1.0, abs(value) / scale) if scale > 0 else 0.1
    rgb = "22,163,74" if value >= 0 else "220,38,38"
    return f"background:rgba({rgb},{alpha:.2f})"


def heatmap_table(monthly: pd.DataFrame) -> str:
    """Year × month table of returns (fractions); each cell carries ``data-value``, the exact
    fraction, and the year column compounds the year's months: ``Π(1 + R_m) − 1``."""
    finite = monthly.to_numpy(dtype=np.float64)
    finite = finite[np.isfinite(finite)]
    scale = float(np.abs(finite).max()) if len(finite) else 0.0
    head = "".join(f"<th>{m}</th>" for m in MONTHS)
    rows = []
    for year, row in monthly.iterrows():
        cells = []
        months = row.to_numpy(dtype=np.float64)
        for value in months.tolist():
            if math.isnan(value):
                cells.append('<td class="hm-empty"></td>')
                continue
            style = _heat_style(value, scale)
            cells.append(
                f'<td class="hm" data-value="{value!r}" style="{style}">{value * 100:.2f}</td>'
            )
        total = float(np.prod(1.0 + months[np.isfinite(months)]) - 1.0)
        cells.append(f'<td class="hm-year" data-value="{total!r}">{total * 100:.2f}</td>')
        rows.append(f"<tr><th>{escape(str(year))}</th>{''.join(cells)}</tr>")
    return (
        f'<table class="heatmap"><thead><tr><th>Year</th>{head}<th>Year %</th></tr></thead>'
        f"<tbody>{''.join(rows)}</tbody></table>"
    )
