"""Candle timeframe strings (``1s``, ``1m``, ``15m``, ``4h``, ``1d``, ``1w``) as nanoseconds."""

from __future__ import annotations

import re

_UNIT_NS = {
    "s": 1_000_000_000,
    "m": 60_000_000_000,
    "h": 3_600_000_000_000,
    "d": 86_400_000_000_000,
    "w": 604_800_000_000_000,
}
_PATTERN = re.compile(r"^([1-9][0-9]*)([smhdw])$")


def timeframe_ns(timeframe: str) -> int:
    """Length of ``timeframe`` in ns; raises ``ValueError`` for anything else than ``<n><unit>``."""
    match = _PATTERN.match(timeframe)
    if match is None:
        raise ValueError(
            f"unknown timeframe {timeframe!r}: expected <n><unit> with unit s, m, h, d or w"
        )
    return int(match.group(1)) * _UNIT_NS[match.group(2)]
