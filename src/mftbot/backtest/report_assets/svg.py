"""Inline SVG charts: a plot frame with nice axis ticks, lines, areas, markers and bars.

No script: hover text is SVG ``<title>``, which every browser shows as a tooltip. Coordinates
are rounded to 0.1 px to keep the file small.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

import numpy as np
import pandas as pd
from numpy.typing import ArrayLike, NDArray

FloatArray = NDArray[np.float64]

MARGIN_LEFT, MARGIN_RIGHT, MARGIN_TOP, MARGIN_BOTTOM = 72, 16, 12, 28
_TIME_STEPS: tuple[tuple[str, float], ...] = (
    ("1min", 60),
    ("5min", 300),
    ("15min", 900),
    ("30min", 1800),
    ("1h", 3600),
    ("3h", 10_800),
    ("6h", 21_600),
    ("12h", 43_200),
    ("1D", 86_400),
    ("2D", 172_800),
    ("7D", 604_800),
    ("MS", 30 * 86_400),
    ("3MS", 91 * 86_400),
    ("6MS", 182 * 86_400),
    ("YS", 365 * 86_400),
)


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values (1, 2, 2.5 or 5 × 10^k apart) covering ``[lo, hi]``, about ``count``."""
    if not (math.isfinite(lo) and math.isfinite(hi)) or hi <= lo:
        return [lo] if math.isfinite(lo) else []
    raw = (hi - lo) / count
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1.0, 2.0, 2.5, 5.0, 10.0) if m * mag >= raw)
    first = math.ceil(lo / step - 1e-9) * step
    n = math.floor((hi - first) / step + 1e-9) + 1
    return [round(first + i * step, 12) for i in range(n)]


def time_ticks(lo_ns: float, hi_ns: float, count: int = 7) -> list[tuple[float, str]]:
    """Calendar-aligned ticks (ns, label) between two UTC times, at most about ``count``."""
    span = (hi_ns - lo_ns) / 1e9
    if span <= 0:
        return []
    freq = next((f for f, sec in _TIME_STEPS if span / sec <= count), "YS")
    lo, hi = pd.Timestamp(int(lo_ns), tz="UTC"), pd.Timestamp(int(hi_ns), tz="UTC")
    anchored = freq.endswith(("MS", "YS"))
    start = lo.normalize() if anchored else lo.ceil(freq)
    stamps = [t for t in pd.date_range(start, hi, freq=freq) if t >= lo]
    if anchored:
        fmt = "%Y" if freq == "YS" else "%Y-%m"
    else:
        fmt = "%Y-%m-%d" if span >= 2 * 86_400 else "%m-%d %H:%M"
    return [(float(t.value), t.strftime(fmt)) for t in stamps]


def _points(xs: FloatArray, ys: FloatArray) -> str:
    return " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(xs.tolist(), ys.tolist(), strict=True))


def _title(text: str) -> str:
    return f"<title>{escape(text)}</title>" if text else ""


@dataclass
class Chart:
    """A plot frame mapping data ``[x_lo, x_hi] × [y_lo, y_hi]`` to an SVG of ``width × height``.

    ``x_time`` makes the x axis UTC nanoseconds with calendar ticks; otherwise ticks are numeric
    and formatted with ``x_fmt``. ``key`` must be unique in the page (it names the clip path).
    Add shapes, then :meth:`render`.
    """

    x_lo: float
    x_hi: float
    y_lo: float
    y_hi: float
    width: int = 960
    height: int = 280
    x_time: bool = True
    y_fmt: Callable[[float], str] = "{:,.10g}".format
    x_fmt: Callable[[float], str] = "{:,.10g}".format
    label: str = ""
    key: str = "chart"
    body: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        if not self.x_hi > self.x_lo:
            self.x_hi = self.x_lo + 1.0
        if not self.y_hi > self.y_lo:
            pad = abs(self.y_lo) * 0.01 or 1.0
            self.y_lo, self.y_hi = self.y_lo - pad, self.y_hi + pad

    @property
    def plot_width(self) -> float:
        return float(self.width - MARGIN_LEFT - MARGIN_RIGHT)

    @property
    def plot_height(self) -> float:
        return float(self.height - MARGIN_TOP - MARGIN_BOTTOM)

    def sx(self, x: ArrayLike) -> FloatArray:
        """Pixel x of data x."""
        frac = (np.asarray(x, np.float64) - self.x_lo) / (self.x_hi - self.x_lo)
        return MARGIN_LEFT + frac * self.plot_width

    def sy(self, y: ArrayLike) -> FloatArray:
        """Pixel y of data y (SVG y grows downwards)."""
        frac = (np.asarray(y, np.float64) - self.y_lo) / (self.y_hi - self.y_lo)
        return self.height - MARGIN_BOTTOM - frac * self.plot_height

    def line(self, x: ArrayLike, y: ArrayLike, cls: str) -> None:
        """A polyline through the points."""
        self.body.append(f'<polyline class="{cls}" points="{_points(self.sx(x), self.sy(y))}"/>')

    def area(self, x: ArrayLike, y: ArrayLike, base: float, cls: str) -> None:
        """A filled polygon between the points and the horizontal line ``y = base``."""
        xs, ys = self.sx(x), self.sy(y)
        b = float(self.sy(base))
        pts = _points(np.concatenate(([xs[0]], xs, [xs[-1]])), np.concatenate(([b], ys, [b])))
        self.body.append(f'<polygon class="{cls}" points="{pts}"/>')

    def marker(self, x: float, y: float, shape: str, cls: str, title: str = "") -> None:
        """A 6 px marker: ``up`` / ``down`` triangle or ``circle``, with a hover title."""
        px, py = float(self.sx(x)), float(self.sy(y))
        if shape == "circle":
            el = f'<circle class="{cls}" cx="{px:.1f}" cy="{py:.1f}" r="3.5">'
            self.body.append(f"{el}{_title(title)}</circle>")
            return
        d = 1 if shape == "up" else -1
        pts = (
            f"{px:.1f},{py - 6 * d:.1f} {px - 5:.1f},{py + 4 * d:.1f} {px + 5:.1f},{py + 4 * d:.1f}"
        )
        self.body.append(f'<polygon class="{cls}" points="{pts}">{_title(title)}</polygon>')

    def bar(
        self, x0: float, x1: float, y: float, cls: str, title: str = "", attrs: str = ""
    ) -> None:
        """A bar from ``y = 0`` (clipped to the frame) to ``y`` over ``[x0, x1]``; ``attrs`` is
        extra trusted attribute text (e.g. ``data-count="3"``)."""
        base = float(self.sy(min(max(0.0, self.y_lo), self.y_hi)))
        top = float(self.sy(y))
        left, right = float(self.sx(x0)), float(self.sx(x1))
        w = max(right - left - 1.0, 1.0)
        el = (
            f'<rect class="{cls}" x="{left:.1f}" y="{min(top, base):.1f}" '
            f'width="{w:.1f}" height="{abs(base - top):.1f}"{" " + attrs if attrs else ""}>'
        )
        self.body.append(f"{el}{_title(title)}</rect>")

    def vline(self, x: float, cls: str, text: str = "", row: int = 0) -> None:
        """A vertical rule across the plot, labelled at the top (``row`` lines down)."""
        px = float(self.sx(x))
        top, bottom = MARGIN_TOP, self.height - MARGIN_BOTTOM
        self.body.append(
            f'<line class="{cls}" x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}"/>'
        )
        if text:
            self.body.append(
                f'<text class="vlabel" x="{px + 3:.1f}" y="{top + 11 + 13 * row}">'
                f"{escape(text)}</text>"
            )

    def _axes(self) -> list[str]:
        out: list[str] = []
        left, right = MARGIN_LEFT, self.width - MARGIN_RIGHT
        top, bottom = MARGIN_TOP, self.height - MARGIN_BOTTOM
        for v in nice_ticks(self.y_lo, self.y_hi):
            py = float(self.sy(v))
            out.append(f'<line class="grid" x1="{left}" x2="{right}" y1="{py:.1f}" y2="{py:.1f}"/>')
            label = escape(self.y_fmt(v))
            out.append(f'<text class="ytick" x="{left - 6}" y="{py + 4:.1f}">{label}</text>')
        xticks: Sequence[tuple[float, str]] = (
            time_ticks(self.x_lo, self.x_hi)
            if self.x_time
            else [(v, self.x_fmt(v)) for v in nice_ticks(self.x_lo, self.x_hi, 8)]
        )
        for v, text in xticks:
            px = float(self.sx(v))
            out.append(f'<line class="grid" x1="{px:.1f}" x2="{px:.1f}" y1="{top}" y2="{bottom}"/>')
            out.append(f'<text class="xtick" x="{px:.1f}" y="{bottom + 17}">{escape(text)}</text>')
        out.append(
            f'<rect class="frame" x="{left}" y="{top}" width="{right - left}" '
            f'height="{bottom - top}"/>'
        )
        return out

    def render(self) -> str:
        """The chart as an inline ``<svg>`` element (scales with the page width)."""
        head = (
            f'<svg class="chart" viewBox="0 0 {self.width} {self.height}" role="img" '
            f'aria-label="{escape(self.label)}" preserveAspectRatio="xMidYMid meet">'
        )
        clip = (
            f'<clipPath id="clip-{self.key}"><rect x="{MARGIN_LEFT - 6}" y="{MARGIN_TOP - 6}" '
            f'width="{self.plot_width + 12}" height="{self.plot_height + 12}"/></clipPath>'
        )
        body = f'<g clip-path="url(#clip-{self.key})">{"".join(self.body)}</g>'
        return head + clip + "".join(self._axes()) + body + "</svg>"


def padded_range(values: ArrayLike, pad: float = 0.04) -> tuple[float, float]:
    """``(min, max)`` of the finite values widened by ``pad`` of the span on each side."""
    v = np.asarray(values, np.float64)
    v = v[np.isfinite(v)]
    if len(v) == 0:
        return 0.0, 1.0
    lo, hi = float(v.min()), float(v.max())
    span = hi - lo or abs(hi) * 0.02 or 1.0
    return lo - pad * span, hi + pad * span
