"""ccxt-style timeframes (``1m``, ``4h``, ``1w``, ``1M``) and candle bucket alignment.

Buckets follow Binance's kline grid:

* seconds to days: ``start = floor(ts / step) * step`` since the Unix epoch (so ``1d`` starts
  at 00:00 UTC and ``3d`` on multiples of three days since 1970-01-01);
* weeks: the same grid shifted to Monday 00:00 UTC (1970-01-05 was the first Monday);
* months (``M``): calendar months, 00:00 UTC on the 1st; ``nM`` groups months counted from
  1970-01.

All times are ``int`` nanoseconds since the epoch (UTC). Years (``y``) are not supported.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numpy.typing import NDArray

from mftbot.core.errors import DataError

NS_PER_SECOND = 1_000_000_000
_UNIT_NS = {
    "s": NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "d": 86_400 * NS_PER_SECOND,
    "w": 7 * 86_400 * NS_PER_SECOND,
}
_MONDAY_ORIGIN_NS = 4 * 86_400 * NS_PER_SECOND
"""1970-01-05 00:00 UTC, the first Monday after the epoch."""
_PATTERN = re.compile(r"([1-9][0-9]{0,5})([smhdwM])")

Int64Array = NDArray[np.int64]


@dataclass(frozen=True, slots=True)
class Timeframe:
    """A parsed timeframe: ``amount`` units of ``unit`` (one of ``s m h d w M``)."""

    amount: int
    unit: str

    @property
    def text(self) -> str:
        """The ccxt spelling, e.g. ``'15m'``."""
        return f"{self.amount}{self.unit}"

    @property
    def is_calendar(self) -> bool:
        """True for calendar months, whose length varies."""
        return self.unit == "M"

    @property
    def step_ns(self) -> int:
        """Fixed bucket length in ns; raises :class:`DataError` for calendar months."""
        if self.is_calendar:
            raise DataError(f"timeframe {self.text!r} is a calendar period with no fixed length")
        return self.amount * _UNIT_NS[self.unit]

    @property
    def origin_ns(self) -> int:
        """A bucket boundary the grid is anchored to (epoch, or Monday for weeks)."""
        return _MONDAY_ORIGIN_NS if self.unit == "w" else 0

    def __str__(self) -> str:
        return self.text

    def floor(self, ts_ns: int) -> int:
        """Start of the bucket holding ``ts_ns``."""
        if self.is_calendar:
            return int(self.floor_array(np.array([ts_ns], dtype=np.int64))[0])
        step, origin = self.step_ns, self.origin_ns
        return (int(ts_ns) - origin) // step * step + origin

    def next_start(self, start_ns: int) -> int:
        """End (exclusive) of the bucket starting at ``start_ns``: the next bucket's start."""
        if self.is_calendar:
            return int(self.next_start_array(np.array([start_ns], dtype=np.int64))[0])
        return int(start_ns) + self.step_ns

    def floor_array(self, ts_ns: Int64Array) -> Int64Array:
        """Vectorised :meth:`floor`."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        if self.is_calendar:
            months = _months_since_epoch(ts)
            return _month_start_ns((months // self.amount) * self.amount)
        step, origin = self.step_ns, self.origin_ns
        result: Int64Array = (ts - origin) // step * step + origin
        return result

    def next_start_array(self, start_ns: Int64Array) -> Int64Array:
        """Vectorised :meth:`next_start` (inputs must be bucket starts)."""
        starts = np.asarray(start_ns, dtype=np.int64)
        if self.is_calendar:
            return _month_start_ns(_months_since_epoch(starts) + self.amount)
        result: Int64Array = starts + self.step_ns
        return result

    def is_aligned(self, ts_ns: Int64Array) -> NDArray[np.bool_]:
        """Which timestamps are bucket starts of this timeframe."""
        ts = np.asarray(ts_ns, dtype=np.int64)
        aligned: NDArray[np.bool_] = self.floor_array(ts) == ts
        return aligned

    def bucket_starts(self, first_ns: int, last_ns: int) -> Int64Array:
        """Every bucket start from the bucket of ``first_ns`` to the bucket of ``last_ns``."""
        if last_ns < first_ns:
            return np.empty(0, dtype=np.int64)
        if self.is_calendar:
            lo, hi = _months_since_epoch(np.array([first_ns, last_ns], dtype=np.int64))
            months = np.arange(lo // self.amount, hi // self.amount + 1, dtype=np.int64)
            return _month_start_ns(months * self.amount)
        first, last = self.floor(first_ns), self.floor(last_ns)
        return np.arange(first, last + 1, self.step_ns, dtype=np.int64)

    def count_starts(self, start_ns: Int64Array, end_ns: Int64Array) -> Int64Array:
        """How many buckets of this timeframe start in each ``[start, end)`` (aligned bounds)."""
        start = np.asarray(start_ns, dtype=np.int64)
        end = np.asarray(end_ns, dtype=np.int64)
        if self.is_calendar:
            span = _months_since_epoch(end) - _months_since_epoch(start)
            return span // self.amount
        result: Int64Array = (end - start) // self.step_ns
        return result


def _months_since_epoch(ts_ns: Int64Array) -> Int64Array:
    months: Int64Array = ts_ns.astype("datetime64[ns]").astype("datetime64[M]").astype(np.int64)
    return months


def _month_start_ns(months: Int64Array) -> Int64Array:
    starts: Int64Array = months.astype("datetime64[M]").astype("datetime64[ns]").astype(np.int64)
    return starts


@lru_cache(maxsize=256)
def _parse(text: str) -> Timeframe:
    match = _PATTERN.fullmatch(text)
    if match is None:
        hint = " (years are not supported; use 12M)" if text.endswith("y") else ""
        raise DataError(
            f"bad timeframe {text!r}: expected <count><unit> with unit s, m, h, d, w or M "
            f"(e.g. '1m', '4h', '1w', '1M'){hint}"
        )
    return Timeframe(int(match.group(1)), match.group(2))


def parse_timeframe(value: str | Timeframe) -> Timeframe:
    """Parse a ccxt timeframe such as ``'5m'``; raises :class:`DataError` when malformed."""
    if isinstance(value, Timeframe):
        return value
    if not isinstance(value, str):
        raise DataError(f"bad timeframe {value!r}: expected a string like '5m'")
    return _parse(value)


def timeframe_to_ns(value: str | Timeframe) -> int:
    """Fixed length of a timeframe in ns; raises :class:`DataError` for ``M`` or bad input."""
    return parse_timeframe(value).step_ns


def is_multiple(higher: str | Timeframe, lower: str | Timeframe) -> bool:
    """True when every ``higher`` bucket is exactly a run of whole ``lower`` buckets.

    ``1h``/``1m``, ``1w``/``1d`` and ``1M``/``4h`` are; ``1w``/``3d``, ``1M``/``1w`` and
    ``10m``/``3m`` are not. A timeframe is a multiple of itself.
    """
    hi, lo = parse_timeframe(higher), parse_timeframe(lower)
    if hi.is_calendar:
        if lo.is_calendar:
            return hi.amount % lo.amount == 0
        return _UNIT_NS["d"] % lo.step_ns == 0
    if lo.is_calendar:
        return False
    step = lo.step_ns
    return hi.step_ns % step == 0 and (hi.origin_ns - lo.origin_ns) % step == 0
