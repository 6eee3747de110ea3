"""The report's charts as inline SVG: equity, drawdown, price with trade markers, histograms."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

from mftbot.backtest.report_assets.downsample import downsample_indices
from mftbot.backtest.report_assets.svg import Chart, padded_range

FloatArray = NDArray[np.float64]
IntArray = NDArray[np.int64]
Rule = tuple[float, str, str]
"""A vertical rule on a histogram: (x, label, css class)."""


def times_ns(index: pd.Index) -> IntArray:
    """UTC nanoseconds of a DatetimeIndex."""
    return np.asarray(pd.DatetimeIndex(index).as_unit("ns").asi8, dtype=np.int64)


def bars_at(bar_ns: IntArray, event_ns: ArrayLike) -> IntArray:
    """Index of the bar containing each event time (the last bar starting at or before it)."""
    idx = np.searchsorted(bar_ns, np.asarray(event_ns, np.int64), side="right") - 1
    return np.clip(idx, 0, len(bar_ns) - 1).astype(np.int64)


def line_chart(
    series: pd.Series,
    *,
    cls: str,
    key: str,
    max_points: int,
    keep: ArrayLike | None = None,
    y_fmt: Callable[[float], str] = "{:,.10g}".format,
) -> tuple[Chart, IntArray]:
    """A time chart of ``series`` downsampled to ``max_points`` (keeping ``keep`` positions);
    returns the chart (more shapes may be added) and the indices drawn."""
    x, y = times_ns(series.index), series.to_numpy(dtype=np.float64)
    idx = downsample_indices(y, max_points, keep)
    lo, hi = padded_range(y[idx])
    chart = Chart(float(x[0]), float(x[-1]), lo, hi, y_fmt=y_fmt, label=cls, key=key)
    chart.line(x[idx], y[idx], cls)
    return chart, idx


def drawdown_chart(drawdown: pd.Series, *, key: str, max_points: int) -> str:
    """Drawdown (fractions) as a red area below zero, in percent."""
    x, dd = times_ns(drawdown.index), -100.0 * drawdown.to_numpy(dtype=np.float64)
    idx = downsample_indices(dd, max_points, [int(np.argmin(dd))])
    low = float(dd.min())
    chart = Chart(
        float(x[0]),
        float(x[-1]),
        low * 1.05 if low < 0 else -1.0,
        0.0,
        height=200,
        y_fmt="{:.1f} %".format,
        label="drawdown",
        key=key,
    )
    chart.area(x[idx], dd[idx], 0.0, "dd")
    return chart.render()


def price_chart(
    close: pd.Series, trades: pd.DataFrame, *, key: str, max_points: int
) -> tuple[str, int, int]:
    """Close prices with entry markers (▲ long, ▼ short, drawn on top) and exit markers (○) at
    the fill times and prices; trades outside the candles' span are left out. Returns the SVG
    and the numbers of entry and exit markers drawn."""
    x = times_ns(close.index)
    lo_t, hi_t = int(x[0]), int(x[-1])
    entry_ns = times_ns(pd.DatetimeIndex(trades["entry_time"]))
    exit_idx = pd.DatetimeIndex(trades["exit_time"])
    exit_ns = np.where(exit_idx.isna(), -1, times_ns(exit_idx.fillna(close.index[0])))
    show_in = (entry_ns >= lo_t) & (entry_ns <= hi_t)
    show_out = (exit_ns >= lo_t) & (exit_ns <= hi_t)
    keep = np.concatenate((bars_at(x, entry_ns[show_in]), bars_at(x, exit_ns[show_out])))
    y = close.to_numpy(dtype=np.float64)
    idx = downsample_indices(y, max_points, keep)
    sides = trades["side"].astype(str).to_numpy()
    pnl = trades["pnl"].to_numpy(np.float64)
    entry_px = trades["entry_price"].to_numpy(np.float64)
    exit_px = trades["exit_price"].to_numpy(np.float64)
    lo, hi = padded_range(np.concatenate((y[idx], entry_px[show_in], exit_px[show_out])))
    chart = Chart(float(lo_t), float(hi_t), lo, hi, height=320, label="price", key=key)
    chart.line(x[idx], y[idx], "price")
    for i in np.flatnonzero(show_out):
        side, price = sides[i], float(exit_px[i])
        when = pd.Timestamp(int(exit_ns[i]), tz="UTC").strftime("%Y-%m-%d %H:%M")
        tip = f"{side} exit {when} @ {price:,.8g}, pnl {pnl[i]:,.2f}"
        chart.marker(float(exit_ns[i]), price, "circle", f"marker exit {side}", tip)
    for i in np.flatnonzero(show_in):
        side, price = sides[i], float(entry_px[i])
        when = pd.Timestamp(int(entry_ns[i]), tz="UTC").strftime("%Y-%m-%d %H:%M")
        shape = "up" if side == "long" else "down"
        tip = f"{side} entry {when} @ {price:,.8g}"
        chart.marker(float(entry_ns[i]), price, shape, f"marker entry {side}", tip)
    return chart.render(), int(show_in.sum()), int(show_out.sum())


def histogram_edges(values: FloatArray, max_bins: int = 60) -> FloatArray:
    """Bin edges by numpy's ``auto`` rule, at most ``max_bins``; one unit-wide bin for a
    constant sample."""
    if len(values) == 0 or float(values.min()) == float(values.max()):
        centre = float(values[0]) if len(values) else 0.0
        half = abs(centre) * 0.05 or 0.5
        return np.array([centre - half, centre + half])
    edges = np.histogram_bin_edges(values, bins="auto")
    if len(edges) - 1 > max_bins:
        edges = np.histogram_bin_edges(values, bins=max_bins)
    return np.asarray(edges, dtype=np.float64)


def histogram_chart(
    values: ArrayLike,
    *,
    key: str,
    signed: bool = True,
    x_fmt: Callable[[float], str] = "{:,.10g}".format,
    rules: Sequence[Rule] = (),
    max_bins: int = 60,
) -> str:
    """A histogram of ``values`` (bars ``bar pos``/``bar neg`` by the sign of the bin centre
    when ``signed``, else ``bar mc``; each with ``data-count``, ``data-lo``, ``data-hi``), with
    optional labelled vertical rules."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    edges = histogram_edges(v, max_bins)
    counts, _ = np.histogram(v, bins=edges)
    lo, hi = float(edges[0]), float(edges[-1])
    for x, _, _ in rules:
        lo, hi = min(lo, x), max(hi, x)
    span = hi - lo
    chart = Chart(
        lo - 0.02 * span,
        hi + 0.02 * span,
        0.0,
        float(max(counts.max(initial=0), 1)) * 1.08,
        height=240,
        x_time=False,
        x_fmt=x_fmt,
        y_fmt="{:,.0f}".format,
        label="histogram",
        key=key,
    )
    for left, right, count in zip(edges[:-1], edges[1:], counts, strict=True):
        centre = (left + right) / 2
        cls = ("bar pos" if centre >= 0 else "bar neg") if signed else "bar mc"
        tip = f"{x_fmt(float(left))} … {x_fmt(float(right))}: {int(count)}"
        attrs = f'data-count="{int(count)}" data-lo="{float(left)!r}" data-hi="{float(right)!r}"'
        chart.bar(float(left), float(right), float(count), cls, tip, attrs)
    for row, (x, text, cls) in enumerate(rules):
        chart.vline(x, cls, text, row)
    return chart.render()
