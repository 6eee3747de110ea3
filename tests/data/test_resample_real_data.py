"""Recorded candles of higher timeframes equal the aggregation of lower ones (and of trades).

Every folder of ``../shared/data`` holding two timeframes of one pair over a common span is
checked: OHLC exactly, volume to a relative 1e-12 (float sums of 5-60 terms differ from the
exchange's decimal sums by < 1e-15; a single missing lot is > 1e-9). The buckets that differ
are pinned here and explained in docs/data-quality.md, so a new discrepancy fails.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mftbot.data.candles import candles_to_events, read_candles
from mftbot.data.resample import (
    OHLCV,
    CandleAggregator,
    CandleResampler,
    Partial,
    candles_to_frame,
    resample_candles,
    trades_frame_to_candles,
    trades_to_candles,
)
from mftbot.data.timeframes import parse_timeframe
from mftbot.data.trades import read_trades
from mftbot.domain.enums import Side
from mftbot.domain.events import CandleClosed, TradeTick

pytestmark = pytest.mark.realdata

VOLUME_RTOL = 1e-12


@dataclass(frozen=True)
class Check:
    """Aggregate ``folder/lower`` to the timeframe of ``folder/higher`` and compare."""

    folder: str
    lower: str
    higher: str
    common: int
    first: str | None
    last: str | None
    known: frozenset[str] = frozenset()
    all_differ: bool = False
    partial: Partial = "drop"

    @property
    def id(self) -> str:
        return f"{self.folder}/{self.lower}->{self.higher.split('-', 1)[1]}"


def _ts(text: str) -> pd.Timestamp:
    return pd.Timestamp(text, tz="UTC")


FIL, PAP, XYL, FT = "candles_filimonov", "candles_paparocketeer", "candles_xylotech", "freqtrade"
CHECKS = [
    *[
        check
        for pair in ("BTC", "ETH")
        for check in (
            Check(
                FIL, f"{pair}_USDT-1m", f"{pair}_USDT-5m", 26141, "2025-05-20", "2025-08-18 18:20"
            ),
            Check(
                FIL, f"{pair}_USDT-1m", f"{pair}_USDT-15m", 8713, "2025-05-20", "2025-08-18 18:00"
            ),
        )
    ],
    *[
        check
        for pair in ("BTC", "ETH", "SOL", "XRP", "BNB")
        for check in (
            Check(
                PAP, f"{pair}_USDT-1m", f"{pair}_USDT-5m", 2161, "2026-04-15", "2026-04-22 12:00"
            ),
            Check(PAP, f"{pair}_USDT-1m", f"{pair}_USDT-1h", 132, "2026-04-17", "2026-04-22 11:00"),
            Check(PAP, f"{pair}_USDT-5m", f"{pair}_USDT-1h", 181, "2026-04-17", "2026-04-24 12:00"),
        )
    ],
    Check(XYL, "BTC_USDT-5m", "BTC_USDT-15m", 3839, "2024-03-01", "2024-04-09 23:30"),
    Check(XYL, "BTC_USDT-5m", "BTC_USDT-1h", 0, None, None),  # 1h ends before 5m starts
    Check(XYL, "BTC_USDT-15m", "BTC_USDT-1h", 6837, "2023-04-01", "2024-01-10 20:00"),
    Check(XYL, "ETH_USDT-15m", "ETH_USDT-1h", 6837, "2023-04-01", "2024-01-10 20:00"),
    # XRP_ETH-1m omits minutes without trades: keep partial 5m buckets (all 706 compared).
    Check(FT, "XRP_ETH-1m", "XRP_ETH-5m", 706, "2019-10-11", "2019-10-13 11:15", partial="keep"),
    Check(
        FT,
        "UNITTEST_BTC-5m",
        "UNITTEST_BTC-30m",
        112,
        "2018-01-10 05:00",
        "2018-01-12 12:30",
        known=frozenset({"2018-01-12 12:30"}),
    ),
    Check(
        FT,
        "futures/XRP_USDT_USDT-5m-futures",
        "futures/XRP_USDT_USDT-8h-mark",
        11,
        "2021-11-18",
        "2021-11-21 08:00",
    ),
    Check(
        FT,
        "futures/XRP_USDT_USDT-5m-futures",
        "futures/XRP_USDT_USDT-1h-futures",
        100,
        "2021-11-17 01:00",
        "2021-11-21 04:00",
        all_differ=True,
    ),
    Check(
        FT,
        "futures/XRP_USDT_USDT-1h-mark",
        "futures/XRP_USDT_USDT-8h-mark",
        4,
        "2021-11-18",
        "2021-11-19",
        all_differ=True,
    ),
    Check(
        FIL,
        "futures/BTC_USDT_USDT-5m-futures",
        "futures/BTC_USDT_USDT-8h-mark",
        9,
        "2025-08-16",
        "2025-08-18 16:00",
        all_differ=True,
    ),
]


def _timeframe(name: str) -> str:
    return name.rsplit("/", 1)[-1].split("-")[1]


def _read(data_dir: Path, folder: str, name: str) -> pd.DataFrame:
    return read_candles(data_dir / folder / f"{name}.feather")


def differing(aggregated: pd.DataFrame, recorded: pd.DataFrame) -> pd.DatetimeIndex:
    """Open times where OHLC differ at all or volume differs by more than VOLUME_RTOL."""
    a, b = aggregated.loc[recorded.index], recorded
    bad = np.zeros(len(b), dtype=np.bool_)
    for column in ("open", "high", "low", "close"):
        bad |= a[column].to_numpy() != b[column].to_numpy()
    va, vb = a["volume"].to_numpy(), b["volume"].to_numpy()
    with np.errstate(invalid="ignore"):
        bad |= ~(np.abs(va - vb) <= VOLUME_RTOL * np.abs(vb))
    return b.index[bad]


@pytest.mark.parametrize("check", CHECKS, ids=lambda c: c.id)
def test_higher_timeframe_equals_aggregated_lower(data_dir: Path, check: Check) -> None:
    lower = _read(data_dir, check.folder, check.lower)
    higher = _read(data_dir, check.folder, check.higher)
    lo_tf, hi_tf = (
        parse_timeframe(_timeframe(check.lower)),
        parse_timeframe(_timeframe(check.higher)),
    )
    aggregated = resample_candles(lower, hi_tf, source_timeframe=lo_tf, partial=check.partial)

    common = aggregated.index.intersection(higher.index)
    assert len(common) == check.common
    if check.common:
        assert (common[0], common[-1]) == (_ts(check.first or ""), _ts(check.last or ""))
    # No candle missing on either side inside the overlap: every aggregated bucket within the
    # higher file's span is in it, and every higher candle covered by the lower file was built.
    if len(higher):
        inside = aggregated.index[
            (aggregated.index >= higher.index[0]) & (aggregated.index <= higher.index[-1])
        ]
        assert inside.difference(higher.index).empty
    lo_end = lo_tf.next_start(int(lower.index.asi8[-1]))
    hi_ends = hi_tf.next_start_array(higher.index.asi8)
    covered = higher.index[(higher.index.asi8 >= lower.index.asi8[0]) & (hi_ends <= lo_end)]
    assert covered.difference(aggregated.index).empty

    bad = differing(aggregated, higher.loc[common])
    if check.all_differ:
        assert len(bad) == len(common)
    else:
        assert {t.strftime("%Y-%m-%d %H:%M") for t in bad} == set(check.known)


def test_unittest_btc_last_30m_candle_was_still_forming(data_dir: Path) -> None:
    """The one known discrepancy: 2018-01-12 12:30, the last row of UNITTEST_BTC-30m."""
    five = _read(data_dir, FT, "UNITTEST_BTC-5m")
    thirty = _read(data_dir, FT, "UNITTEST_BTC-30m")
    start = _ts("2018-01-12 12:30")
    assert thirty.index[-1] == start
    recorded = thirty.loc[start]
    parts = five.loc[start : start + pd.Timedelta("25min")]
    assert len(parts) == 6  # the 5m file holds the whole bucket
    # Consistent with a snapshot taken inside the second 5m candle (12:35-12:40):
    assert recorded["open"] == parts["open"].iloc[0]
    assert parts["high"].iloc[0] <= recorded["high"] <= parts["high"].iloc[:2].max()
    assert parts["low"].iloc[:2].min() <= recorded["low"] <= parts["low"].iloc[0]
    assert parts["low"].iloc[1] <= recorded["close"] <= parts["high"].iloc[1]
    assert parts["volume"].iloc[0] < recorded["volume"] < parts["volume"].iloc[:2].sum()
    assert recorded["volume"] < 0.2 * parts["volume"].sum()


def _xrp_eth_trades(data_dir: Path) -> pd.DataFrame:
    trades = pd.read_feather(data_dir / FT / "XRP_ETH-trades.feather")
    assert len(trades) == 12_477
    return trades


@pytest.mark.parametrize("timeframe", ["1m", "5m"])
def test_xrp_eth_trades_rebuild_the_recorded_candles(data_dir: Path, timeframe: str) -> None:
    trades = _xrp_eth_trades(data_dir)
    built = trades_to_candles(
        trades["timestamp"].to_numpy() * 1_000_000,
        trades["price"],
        trades["amount"],
        timeframe,
        side=trades["side"].to_numpy(),
    )
    via_reader = trades_frame_to_candles(
        read_trades(data_dir / FT / "XRP_ETH-trades.feather"), timeframe
    )
    pd.testing.assert_frame_equal(via_reader, built, check_exact=True)
    recorded = _read(data_dir, FT, f"XRP_ETH-{timeframe}")
    # Same buckets: the recorded file has a candle exactly where there were trades.
    assert built.index.equals(recorded.index)
    assert differing(built, recorded).empty
    assert (built["volume"].to_numpy() == recorded["volume"].to_numpy()).all()
    assert built["trades"].sum() == len(trades)
    buys = trades.loc[trades["side"] == "buy", "amount"].sum()
    assert built["buy_volume"].sum() == pytest.approx(buys, rel=1e-12)


def test_live_aggregator_matches_batch_on_xrp_eth_trades(data_dir: Path) -> None:
    trades = _xrp_eth_trades(data_dir)
    times = trades["timestamp"].to_numpy() * 1_000_000
    aggregator = CandleAggregator("1m")
    closed: list[CandleClosed] = []
    rows = zip(times.tolist(), trades["price"].tolist(), trades["amount"].tolist(), strict=True)
    for n, (t, price, amount) in enumerate(rows):
        tick = TradeTick("binance", "XRP/ETH", t, t, price, amount, Side.BUY, str(n))
        closed.extend(aggregator.on_trade(tick))
    closed.extend(aggregator.flush(int(times[-1]) + 60 * 10**9))
    batch = trades_to_candles(times, trades["price"], trades["amount"], "1m")
    pd.testing.assert_frame_equal(candles_to_frame(closed), batch[list(OHLCV)], check_exact=True)


@pytest.mark.parametrize("partial", ["drop", "keep"])
def test_live_resampler_matches_batch_on_recorded_minutes(data_dir: Path, partial: Partial) -> None:
    minute = _read(data_dir, PAP, "BTC_USDT-1m")
    resampler = CandleResampler("1m", "1h", partial=partial)
    out: list[CandleClosed] = []
    for candle in candles_to_events(minute, "binance", "BTC/USDT", "1m"):
        out.extend(resampler.on_candle(candle))
    out.extend(resampler.flush(int(minute.index.asi8[-1]) + 3600 * 10**9))
    batch = resample_candles(minute, "1h", source_timeframe="1m", partial=partial)
    pd.testing.assert_frame_equal(candles_to_frame(out), batch[list(OHLCV)], check_exact=True)
    assert resampler.dropped == (2 if partial == "drop" else 0)  # the two edge hours
