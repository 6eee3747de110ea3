"""``checked=True`` (inputs already checked, e.g. once per candle window) gives the same
outputs as the validating path of ``supertrend``, ``ichimoku`` and ``rolling_volume_profile``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest

from mftbot.analysis.indicators import ichimoku, rolling_volume_profile, supertrend
from mftbot.analysis.registry import CandleArrays
from mftbot.data.candles import read_candles


@pytest.fixture(scope="module")
def real(data_dir: Path) -> CandleArrays:
    df = read_candles(data_dir / "candles_filimonov" / "BTC_USDT-1m.feather").iloc[:3000]
    return CandleArrays.from_frame(df)


def same(a: tuple[Any, ...], b: tuple[Any, ...]) -> bool:
    return len(a) == len(b) and all(x.tobytes() == y.tobytes() for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("n", [1, 30, 500, 3000])
def test_checked_outputs_are_the_validated_ones(real: CandleArrays, n: int) -> None:
    h, lo, c, v = real.high[-n:], real.low[-n:], real.close[-n:], real.volume[-n:]
    for period, mult in ((10, 3.0), (3, 1.5)):
        assert same(
            supertrend(h, lo, c, period, mult, checked=True), supertrend(h, lo, c, period, mult)
        )
    for disp in (0, 26, 600):
        assert same(
            ichimoku(h, lo, c, 9, 26, 52, disp, checked=True), ichimoku(h, lo, c, 9, 26, 52, disp)
        )
    for window, bins in ((240, 24), (20, 7)):
        kwargs: dict[str, Any] = {"window": window, "bins": bins, "value_area": 0.7}
        assert same(
            rolling_volume_profile(h, lo, v, checked=True, **kwargs),
            rolling_volume_profile(h, lo, v, **kwargs),
        )
    tail = supertrend(h, lo, c, 10, 3.0, checked=True).direction[10:]
    assert np.isin(tail, (-1.0, 1.0)).all()  # the outputs are real values, not left empty


def test_unchecked_inputs_are_still_validated() -> None:
    h = np.array([2.0, 3.0, 1.0])
    lo = np.array([1.0, 2.0, 2.0])  # high below low at index 2
    with pytest.raises(ValueError, match="high below low"):
        supertrend(h, lo, h, 2, 3.0)
    with pytest.raises(ValueError, match="high below low"):
        ichimoku(h, lo, h, 1, 1, 1, 0)
    empty = np.empty(0)
    assert supertrend(empty, empty, empty, checked=True).supertrend.size == 0
    assert ichimoku(empty, empty, empty, checked=True).tenkan.size == 0
    assert rolling_volume_profile(empty, empty, empty, checked=True).poc.size == 0
