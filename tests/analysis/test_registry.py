"""The registry: entries, metadata, validation, and every indicator output registered."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mftbot.analysis import indicators as ind
from mftbot.analysis.registry import (
    REGISTRY,
    CandleArrays,
    Entry,
    Kind,
    Registry,
    RegistryError,
    qualified_name,
)


def _candles(n: int = 10) -> CandleArrays:
    x = np.linspace(1.0, 2.0, n)
    return CandleArrays.from_arrays(
        open=x, high=x + 0.1, low=x - 0.1, close=x, volume=np.ones(n), time_ns=np.arange(n)
    )


EXPECTED_OUTPUTS = {
    "sma", "ema", "wma", "rsi", "macd", "macd.signal", "macd.hist", "adx", "adx.plus_di",
    "adx.minus_di", "atr", "bbands.upper", "bbands.middle", "bbands.lower", "stoch.k",
    "stoch.d", "willr", "cci", "mfi", "roc", "mom", "obv", "ad", "sar", "supertrend",
    "supertrend.direction", "supertrend.upper", "supertrend.lower", "ichimoku.tenkan",
    "ichimoku.kijun", "ichimoku.senkou_a", "ichimoku.senkou_b", "ichimoku.chikou",
    "keltner.upper", "keltner.middle", "keltner.lower", "vwap", "rolling_vwap", "cmf", "vpt",
    "nvi", "volume_profile.poc", "volume_profile.vah", "volume_profile.val", "realized_vol",
    "parkinson_vol", "garman_klass_vol",
}  # fmt: skip


def _indicators_only() -> Registry:
    reg = Registry()
    ind.register_indicators(reg)
    return reg


def test_every_indicator_output_is_registered() -> None:
    reg = _indicators_only()
    assert set(reg.output_names()) == EXPECTED_OUTPUTS
    assert all(e.kind is Kind.INDICATOR for e in reg)
    # Importing the package registered them into the process-wide registry too.
    assert set(REGISTRY.output_names()) >= EXPECTED_OUTPUTS


def test_registered_outputs_are_the_functions_results(btc: CandleArrays) -> None:
    h, lo, c, v = btc.high, btc.low, btc.close, btc.volume
    np.testing.assert_array_equal(REGISTRY.compute_output("macd.signal", btc), ind.macd(c).signal)
    np.testing.assert_array_equal(REGISTRY.compute_output("rsi", btc), ind.rsi(c, 14))
    np.testing.assert_array_equal(
        REGISTRY.compute_output("ichimoku.chikou", btc), ind.ichimoku(h, lo, c).chikou
    )
    np.testing.assert_array_equal(
        REGISTRY.compute_output("vwap", btc), ind.vwap(h, lo, c, v, btc.time_ns)
    )
    assert REGISTRY.get("macd").params == {"fast": 12, "slow": 26, "signal": 9}


def test_declared_warmup_is_the_observed_one(bars: CandleArrays) -> None:
    for entry in _indicators_only():
        outputs = entry.run(bars)
        leading = [int(np.argmax(~np.isnan(out))) for out in outputs.values()]
        assert max(leading) == entry.warmup, entry.name
        for name, out in outputs.items():
            assert np.isfinite(out[entry.warmup :]).all(), f"{entry.name}.{name}"


def test_register_get_unregister_and_decorator() -> None:
    reg = Registry()
    entry = reg.register("mid", lambda c: {"mid": (c.high + c.low) / 2}, warmup=0)
    assert reg.get("mid") is entry
    assert "mid" in reg
    assert reg.output_names() == ["mid"]

    @reg.define("spread", outputs=("abs", "rel"), kind=Kind.FEATURE, warmup=0)
    def spread(c: CandleArrays) -> dict[str, np.ndarray]:
        """High minus low, absolute and relative."""
        return {"abs": c.high - c.low, "rel": (c.high - c.low) / c.close}

    assert reg.names() == ["mid", "spread"]
    assert reg.names(Kind.FEATURE) == ["spread"]
    assert reg.output_names() == ["mid", "spread.abs", "spread.rel"]
    assert reg.get("spread").description == "High minus low, absolute and relative."
    candles = _candles()
    np.testing.assert_allclose(reg.compute_output("spread.abs", candles), 0.2)
    assert set(reg.compute("spread", candles)) == {"abs", "rel"}
    with pytest.raises(RegistryError, match="already registered"):
        reg.register("mid", lambda c: {"mid": c.close})
    reg.register("mid", lambda c: {"mid": c.close}, replace=True)
    np.testing.assert_array_equal(reg.compute_output("mid", candles), candles.close)
    assert reg.unregister("mid").name == "mid"
    assert len(reg) == 1
    with pytest.raises(RegistryError, match="not registered"):
        reg.get("mid")
    with pytest.raises(RegistryError, match="has outputs"):
        reg.compute_output("spread.nope", candles)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"name": "Bad-Name", "outputs": ("x",)}, "entry name"),
        ({"name": "ok", "outputs": ()}, "no outputs"),
        ({"name": "ok", "outputs": ("a.b",)}, "output name"),
        ({"name": "ok", "outputs": ("a", "a")}, "duplicate"),
        ({"name": "ok", "outputs": ("a",), "warmup": -1}, "warm-up"),
    ],
)
def test_malformed_entries_are_rejected(kwargs: dict[str, object], message: str) -> None:
    base: dict[str, object] = {"compute": lambda c: {}, "kind": Kind.INDICATOR, "warmup": 0}
    with pytest.raises(RegistryError, match=message):
        Entry(**{**base, **kwargs})  # type: ignore[arg-type]


def test_outputs_are_checked_against_the_declaration() -> None:
    reg = Registry()
    reg.register("wrong_keys", lambda c: {"other": c.close}, outputs=("x",))
    reg.register("short", lambda c: {"short": c.close[:-1]})
    reg.register("two_d", lambda c: {"two_d": np.ones((len(c), 2))})
    candles = _candles()
    with pytest.raises(RegistryError, match="declared"):
        reg.compute("wrong_keys", candles)
    with pytest.raises(RegistryError, match="not aligned"):
        reg.compute("short", candles)
    with pytest.raises(RegistryError, match="not aligned"):
        reg.compute("two_d", candles)


def test_scoped_restores_entries() -> None:
    before = REGISTRY.output_names()
    with REGISTRY.scoped() as reg:
        reg.register("temporary", lambda c: {"temporary": c.close})
        reg.unregister("sma")
        assert "temporary" in REGISTRY
        assert "sma" not in REGISTRY
    assert REGISTRY.output_names() == before


def test_candle_arrays_are_read_only_and_validated(btc: CandleArrays) -> None:
    with pytest.raises(ValueError, match="read-only"):
        btc.close[0] = 1.0
    assert len(btc.head(10)) == 10
    assert btc.tail(5).time_ns[0] == btc.time_ns[-5]
    assert len(btc.tail(10**6)) == len(btc)
    with pytest.raises(RegistryError, match="rows"):
        CandleArrays.from_arrays(
            open=[1.0], high=[1.0], low=[1.0], close=[1.0, 2.0], volume=[1.0], time_ns=[0]
        )
    with pytest.raises(RegistryError, match="time_ns"):
        CandleArrays.from_arrays(
            open=[1.0], high=[1.0], low=[1.0], close=[1.0], volume=[1.0], time_ns=[0.5]
        )
    with pytest.raises(RegistryError, match="not aligned"):
        CandleArrays.from_arrays(
            open=[1.0], high=[1.0], low=[1.0], close=[1.0], volume=[1.0], time_ns=[0],
            extra={"depth": np.ones(3)},
        )  # fmt: skip
    with pytest.raises(RegistryError, match="outside"):
        btc.head(len(btc) + 1)


def test_from_frame_reads_freqtrade_columns() -> None:
    frame = pd.DataFrame(
        {
            "date": pd.date_range("2025-01-01", periods=3, freq="1min", tz="UTC"),
            "open": [1.0, 2.0, 3.0],
            "high": [1.5, 2.5, 3.5],
            "low": [0.5, 1.5, 2.5],
            "close": [1.2, 2.2, 3.2],
            "volume": [10, 20, 30],
        }
    )
    candles = CandleArrays.from_frame(frame)
    assert candles.time_ns[0] == pd.Timestamp("2025-01-01", tz="UTC").value
    assert candles.volume.dtype == np.float64
    indexed = CandleArrays.from_frame(frame.set_index("date"))
    np.testing.assert_array_equal(indexed.time_ns, candles.time_ns)
    with pytest.raises(RegistryError, match="time_ns, date or time"):
        CandleArrays.from_frame(frame.drop(columns="date"))
    with pytest.raises(RegistryError, match="lacks columns"):
        CandleArrays.from_frame(frame.drop(columns="volume"))
    assert qualified_name("macd", "macd") == "macd"
    assert qualified_name("macd", "hist") == "macd.hist"
