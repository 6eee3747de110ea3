"""The offline HTML report: valid HTML, nothing external, expected sections and numbers."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.backtest.metrics import MetricsError, compute_metrics
from mftbot.backtest.report import ReportSection, render_report, write_report
from mftbot.backtest.report_assets.downsample import downsample_indices
from mftbot.data.candles import read_candles

VOID = {"meta", "br", "img", "input", "link", "hr", "area", "base", "col", "source", "wbr"}


class Page(HTMLParser):
    """Checks nesting (every element closed in order) and collects elements with attributes."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.stack: list[str] = []
        self.errors: list[str] = []
        self.elements: list[tuple[str, dict[str, str], list[str]]] = []
        self.doctype = ""
        self.text: dict[int, list[str]] = {}

    def handle_decl(self, decl: str) -> None:
        self.doctype = decl

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)
        if tag not in VOID:
            self.stack.append(tag)

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self._element(tag, attrs)

    def _element(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.elements.append((tag, {k: v or "" for k, v in attrs}, list(self.stack)))

    def handle_endtag(self, tag: str) -> None:
        if not self.stack or self.stack[-1] != tag:
            self.errors.append(f"</{tag}> closes {self.stack[-1:]}")
            return
        self.stack.pop()

    def find(self, tag: str | None = None, cls: str | None = None) -> list[dict[str, str]]:
        out = []
        for t, attrs, _ in self.elements:
            classes = attrs.get("class", "").split()
            if (tag is None or t == tag) and (cls is None or set(cls.split()) <= set(classes)):
                out.append(attrs)
        return out

    def ids(self) -> set[str]:
        return {a["id"] for _, a, _ in self.elements if "id" in a}


def parse(html: str, *, document: bool = False) -> Page:
    """Parse ``html`` (a whole page when ``document``) and check that it is well formed."""
    page = Page()
    page.feed(html)
    page.close()
    if document:
        assert page.doctype.lower() == "doctype html"
    assert page.errors == []
    assert page.stack == []
    return page


def section(html: str, key: str) -> str:
    match = re.search(rf'<section id="{re.escape(key)}">(.*?)</section>', html, flags=re.S)
    assert match, key
    return match.group(1)


def random_candles(n: int, seed: int = 7, freq: str = "1h") -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    idx = pd.date_range("2023-11-20", periods=n, freq=freq, tz="UTC", name="time")
    return pd.DataFrame({"open": close, "high": close, "low": close, "close": close}, index=idx)


def scheduled_trades(
    candles: pd.DataFrame, every: int, hold: int, fee: float = 0.001
) -> tuple[pd.DataFrame, pd.Series]:
    """All-in long trades entered every ``every`` bars at the close, held ``hold`` bars; the
    last one may still be open. Returns the trades and the bar-by-bar equity."""
    close = candles["close"].to_numpy()
    idx = candles.index
    cash, qty, rows, eq = 10_000.0, 0.0, [], np.empty(len(close))
    entry: tuple[int, float, float] | None = None
    for t in range(len(close)):
        if entry is None and t % every == 0:
            qty = cash / (close[t] * (1 + fee))
            entry, cash = (t, cash, qty * close[t] * fee), 0.0
        elif entry is not None and t - entry[0] == hold:
            out_fee = qty * close[t] * fee
            cash = qty * close[t] - out_fee
            rows.append((entry, t, qty, cash - entry[1], entry[2] + out_fee))
            entry, qty = None, 0.0
        eq[t] = cash + qty * close[t]
    trades = [
        {
            "side": "long",
            "entry_time": idx[e[0]],
            "exit_time": idx[x],
            "entry_price": close[e[0]],
            "exit_price": close[x],
            "qty": q,
            "pnl": p,
            "fees": f,
        }
        for e, x, q, p, f in rows
    ]
    if entry is not None:
        trades.append(
            {
                "side": "long",
                "entry_time": idx[entry[0]],
                "exit_time": pd.NaT,
                "entry_price": close[entry[0]],
                "exit_price": np.nan,
                "qty": qty,
                "pnl": qty * close[-1] - entry[1],
                "fees": entry[2],
            }
        )
    frame = pd.DataFrame(trades)
    frame["exit_time"] = pd.to_datetime(frame["exit_time"], utc=True)
    return frame, pd.Series(eq, index=idx)


@pytest.fixture(scope="module")
def sample() -> tuple[pd.DataFrame, pd.DataFrame, pd.Series]:
    candles = random_candles(3000)
    trades, equity = scheduled_trades(candles, every=23, hold=11)
    trades["strategy"] = np.where(np.arange(len(trades)) % 2 == 0, "alpha", "beta")
    return candles, trades, equity


def test_report_structure_and_offline(
    sample: tuple[pd.DataFrame, pd.DataFrame, pd.Series], tmp_path: Path
) -> None:
    candles, trades, equity = sample
    wf = pd.DataFrame({"window": [1, 2], "sharpe": [1.5, -0.25]})
    out = write_report(
        tmp_path / "nested" / "report.html",
        trades=trades,
        equity=equity,
        candles=candles,
        title="Test <report> & co",
        extra_tables={"Walk-forward <windows>": wf},
        sections=[ReportSection("Custom", "<p>custom block</p>", "custom")],
        initial_cash=10_000.0,
    )
    html = out.read_text(encoding="utf-8")
    page = parse(html, document=True)
    for external in ("http://", "https://", "//cdn", "src=", "@import", "<link"):
        assert external not in html
    assert all(u.startswith("url(#") for u in re.findall(r"url\([^)]*\)", html))
    assert not [a for a in page.find("script") if a.get("type") != "application/json"]
    expected = {
        "summary",
        "equity",
        "drawdown",
        "price",
        "monthly",
        "distribution",
        "trades",
        "breakdown-strategy",
        "x-walk-forward-windows",
        "custom",
    }
    assert expected <= page.ids()
    assert "Test &lt;report&gt; &amp; co" in html
    assert "Walk-forward &lt;windows&gt;" in html
    assert "<p>custom block</p>" in section(html, "custom")
    wf_html = section(html, "x-walk-forward-windows")
    assert "-0.25" in wf_html
    # the embedded metrics are the computed ones
    blob = re.search(r'<script type="application/json" id="metrics-json">(.*?)</script>', html)
    assert blob
    assert json.loads(blob.group(1)) == compute_metrics(trades, equity, initial_cash=10_000.0)


def test_trade_markers(sample: tuple[pd.DataFrame, pd.DataFrame, pd.Series]) -> None:
    candles, trades, equity = sample
    outside = trades.iloc[[0]].copy()
    outside["entry_time"] = candles.index[0] - pd.Timedelta(days=30)
    outside["exit_time"] = candles.index[0] - pd.Timedelta(days=29)
    all_trades = pd.concat([outside, trades], ignore_index=True)
    html = render_report(trades=all_trades, equity=equity, candles=candles)
    page = parse(section(html, "price"))
    closed = int(trades["exit_time"].notna().sum())
    assert trades["exit_time"].isna().sum() == 1  # the sample ends with an open trade
    assert len(page.find(cls="marker entry long")) == len(trades)
    assert len(page.find(cls="marker exit")) == closed
    assert f"{len(trades)} entries, {closed} exits shown" in html


def test_short_markers_and_symbols() -> None:
    a, b = random_candles(500, seed=1), random_candles(400, seed=2)
    t0 = a.index[10]
    trades = pd.DataFrame(
        {
            "symbol": ["A", "A", "B"],
            "side": ["long", "short", "short"],
            "entry_time": [t0, t0 + pd.Timedelta(hours=50), t0],
            "exit_time": [t0 + pd.Timedelta(hours=5), pd.NaT, t0 + pd.Timedelta(hours=9)],
            "entry_price": [100.0, 101.0, 99.0],
            "exit_price": [102.0, np.nan, 98.0],
            "qty": [1.0, 1.0, 2.0],
            "pnl": [2.0, -0.5, 2.0],
            "fees": [0.1, 0.1, 0.1],
        }
    )
    equity = pd.Series(10_000.0 + np.arange(500.0), index=a.index)
    html = render_report(trades=trades, equity=equity, candles={"A": a, "B": b})
    pa, pb = parse(section(html, "price-a")), parse(section(html, "price-b"))
    assert len(pa.find(cls="marker entry long")) == 1
    assert len(pa.find(cls="marker entry short")) == 1
    assert len(pa.find(cls="marker exit")) == 1
    assert len(pb.find(cls="marker entry short")) == 1
    assert len(pb.find(cls="marker exit short")) == 1
    with pytest.raises(MetricsError, match="several symbols"):
        render_report(trades=trades, equity=equity, candles=a)


def test_heatmap_equals_independent_monthly_returns(
    sample: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    _, trades, equity = sample
    cash = 9_500.0
    html = render_report(trades=trades, equity=equity, initial_cash=cash)
    page = parse(section(html, "monthly"))
    cells = [float(a["data-value"]) for a in page.find("td", "hm")]
    month_end = equity.resample("ME").last()
    expected = (month_end / month_end.shift(1, fill_value=cash) - 1).to_numpy()
    assert len(month_end) >= 4  # the sample spans several months and two years
    assert cells == pytest.approx(expected, rel=1e-12, abs=1e-15)
    years = [float(a["data-value"]) for a in page.find("td", "hm-year")]
    by_year = (1 + pd.Series(expected, index=month_end.index.year)).groupby(level=0).prod() - 1
    assert years == pytest.approx(by_year.to_numpy(), rel=1e-12)


def test_distribution_histogram_counts_closed_trades(
    sample: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    _, trades, equity = sample
    page = parse(section(render_report(trades=trades, equity=equity), "distribution"))
    bars = page.find("rect", "bar")
    pnl = trades.loc[trades["exit_time"].notna(), "pnl"].to_numpy()
    assert sum(int(b["data-count"]) for b in bars) == len(pnl)
    for b in bars:
        lo, hi = float(b["data-lo"]), float(b["data-hi"])
        inside = ((pnl >= lo) & (pnl < hi)) | ((pnl == hi) & (hi == pnl.max()))
        assert int(b["data-count"]) == int(inside.sum())
        assert ("neg" in b["class"]) == ((lo + hi) / 2 < 0)


def test_trades_table_first_and_last_rows(
    sample: tuple[pd.DataFrame, pd.DataFrame, pd.Series],
) -> None:
    _, trades, equity = sample
    assert len(trades) > 40
    html = render_report(trades=trades, equity=equity, trade_rows=10)
    part = section(html, "trades")
    page = parse(part)
    rows = page.find("tr")
    assert len(rows) == 2 * (10 + 1)  # two tables, each with a header row
    assert f"… {len(trades) - 20} trades not shown …" in part
    full = parse(section(render_report(trades=trades, equity=equity, trade_rows=1000), "trades"))
    assert len(full.find("tr")) == len(trades) + 1


def test_long_series_is_downsampled_keeping_trade_bars() -> None:
    candles = random_candles(60_000, freq="1min")
    trades, equity = scheduled_trades(candles, every=997, hold=301)
    html = render_report(trades=trades, equity=equity, candles=candles)
    for key, cls in (("price", "price"), ("equity", "equity")):
        line = parse(section(html, key)).find("polyline", cls)
        assert len(line) == 1
        assert len(line[0]["points"].split()) <= 5000
    assert len(html) < 2_000_000


def test_downsample_indices_keep_extremes_and_required_points() -> None:
    rng = np.random.default_rng(3)
    values = np.cumsum(rng.normal(size=100_000))
    keep = np.array([5, 777, 99_998])
    idx = downsample_indices(values, 5000, keep)
    assert len(idx) <= 5000
    assert set(keep) <= set(idx.tolist())
    assert {0, len(values) - 1, int(values.argmin()), int(values.argmax())} <= set(idx.tolist())
    assert np.all(np.diff(idx) > 0)
    assert downsample_indices(values[:100], 5000).tolist() == list(range(100))


def test_report_without_trades_or_candles() -> None:
    equity = pd.Series(
        [100.0, 100.0], index=pd.date_range("2024-01-01", periods=2, freq="1D", tz="UTC")
    )
    html = render_report(trades=None, equity=equity)
    page = parse(html, document=True)
    assert "price" not in page.ids()
    assert "No trades." in section(html, "trades")
    assert "No closed trades." in section(html, "distribution")


@pytest.mark.realdata
def test_report_on_real_candles(data_dir: Path, tmp_path: Path) -> None:
    candles = read_candles(data_dir / "candles_xylotech" / "BTC_USDT-1h.feather")
    trades, equity = scheduled_trades(candles, every=97, hold=40)
    out = write_report(tmp_path / "r.html", trades=trades, equity=equity, candles=candles)
    html = out.read_text(encoding="utf-8")
    page = parse(html, document=True)
    in_span = trades["entry_time"].between(candles.index[0], candles.index[-1])
    assert len(page.find(cls="marker entry")) == int(in_span.sum()) == len(trades)
    assert "https://" not in html
