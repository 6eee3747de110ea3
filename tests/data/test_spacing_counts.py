"""Chunked spacing counts equal ``np.unique(np.diff(times), return_counts=True)``."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mftbot.data.candles import index_ns, infer_timeframe, spacing_counts


@pytest.mark.parametrize("n", [0, 1, 2, 65_536, 65_537, 200_000])
def test_spacing_counts_match_numpy(n: int) -> None:
    rng = np.random.default_rng(n)
    times = np.cumsum(rng.choice([60, 60, 120, -60, 0], n)).astype(np.int64)
    values, counts = spacing_counts(times)
    want_values, want_counts = np.unique(np.diff(times), return_counts=True)
    assert values.tolist() == want_values.tolist()
    assert counts.tolist() == want_counts.tolist()


def test_index_ns_is_a_view_in_ns_and_a_conversion_otherwise() -> None:
    index = pd.date_range("2024-01-01", periods=5, freq="5min", tz="UTC").as_unit("ns")
    assert np.shares_memory(index_ns(index), index.asi8)
    assert index_ns(index.as_unit("s")).tolist() == index.asi8.tolist()
    frame = pd.DataFrame({"close": np.ones(5)}, index=index)
    assert infer_timeframe(frame) == "5m"
