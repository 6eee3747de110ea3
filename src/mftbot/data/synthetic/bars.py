"""Fast bar-level simulation of the latent process, for long candle series.

The latent log-price is generated on substeps of the bar (``max(4, ceil(bar / 60 s))`` per
bar) by the same :class:`LatentProcess` the event stream uses. Each substep's high and low
are drawn exactly from the Brownian bridge between its end points (given the step's
variance), so bar ranges are not biased by the substep grid. Volume follows the expected
traded notional of the agents, scaled by activity (volatility) with lognormal noise. No
order book is simulated: there is no bid-ask bounce in these bars.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from mftbot.data.synthetic.config import SyntheticMarketConfig, decimals_of
from mftbot.data.synthetic.latent import LatentProcess, mean_vol_power
from mftbot.data.synthetic.randomness import TAG_BARS_MARKET, TAG_BARS_SYMBOL, make_rng
from mftbot.data.synthetic.timeframes import timeframe_ns

_CHUNK_STEPS = 16_384
_VOLUME_LOG_SD = 0.5
MOMENTUM_PARTICIPATION = 0.25
"""Share of momentum decisions that trade (measured on the event stream at defaults)."""
MAKER_TAKE_SHARE = 0.25
"""Share of traded notional from makers picking off stale quotes (measured likewise)."""


def traded_notional_per_s(config: SyntheticMarketConfig) -> float:
    """Expected taker notional per second of one symbol at average volatility."""
    flow = config.flow
    mean_order = flow.order_notional * math.exp(flow.order_notional_sigma**2 / 2)
    large = flow.order_notional * flow.large_order_multiple * math.exp(0.125)
    per_s = (
        flow.noise_market_rate * mean_order
        + flow.momentum_rate * MOMENTUM_PARTICIPATION * flow.momentum_size_multiple * mean_order
        + flow.large_order_rate_per_hour / 3600.0 * large
    )
    return per_s / (1.0 - MAKER_TAKE_SHARE) * config.activity


def simulate_bars(
    config: SyntheticMarketConfig,
    symbol: str,
    seed: int,
    timeframe: str,
    n_bars: int,
    start_ns: int,
) -> pd.DataFrame:
    """``n_bars`` OHLCV bars of ``symbol`` from ``start_ns`` (must be a bucket start)."""
    tf_ns = timeframe_ns(timeframe)
    if n_bars < 0:
        raise ValueError(f"n_bars must be >= 0, got {n_bars}")
    if start_ns < 0 or start_ns % tf_ns:
        raise ValueError(f"start_ns {start_ns} is not a {timeframe} bucket start")
    spec = config.instrument(symbol)
    tf_s = tf_ns / 1e9
    substeps = max(4, math.ceil(tf_s / 60.0))
    step_s = tf_s / substeps
    bars_per_chunk = max(1, _CHUNK_STEPS // substeps)
    tf_key = tf_ns // 1_000_000_000
    latent = LatentProcess(
        config.latent,
        annual_vol=spec.volatility,
        price0=spec.price,
        step_s=step_s,
        market_rng=make_rng(seed, TAG_BARS_MARKET, extra=tf_key),
        symbol_rng=make_rng(seed, TAG_BARS_SYMBOL, key=symbol, extra=tf_key),
        chunk_steps=bars_per_chunk * substeps,
    )
    noise = make_rng(seed, TAG_BARS_SYMBOL, key=symbol + "|bars", extra=tf_key)
    elasticity = config.flow.activity_vol_elasticity
    activity_norm = mean_vol_power(config.latent, elasticity)
    notional_per_step = traded_notional_per_s(config) * step_s

    parts: list[np.ndarray] = []
    done = 0
    while done < n_bars:
        chunk = latent.next_chunk()
        n = chunk.log_start.size
        u_high = noise.random(n)
        u_low = noise.random(n)
        vol_noise = noise.standard_normal(n)
        a = chunk.log_start + chunk.jump
        b = chunk.log_end
        gap2 = (b - a) ** 2
        reach_high = np.sqrt(gap2 - 2.0 * chunk.variance * np.log1p(-u_high))
        reach_low = np.sqrt(gap2 - 2.0 * chunk.variance * np.log1p(-u_low))
        high = np.maximum(chunk.log_start, (a + b + reach_high) / 2)
        low = np.minimum(chunk.log_start, (a + b - reach_low) / 2)
        activity = chunk.vol_ratio**elasticity / activity_norm
        noise_factor = np.exp(_VOLUME_LOG_SD * vol_noise - _VOLUME_LOG_SD**2 / 2)
        volume = notional_per_step * activity * noise_factor / np.exp(b)
        shape = (n // substeps, substeps)
        block = np.column_stack(
            (
                chunk.log_start.reshape(shape)[:, 0],
                high.reshape(shape).max(axis=1),
                low.reshape(shape).min(axis=1),
                b.reshape(shape)[:, -1],
                volume.reshape(shape).sum(axis=1),
            )
        )
        take = min(block.shape[0], n_bars - done)
        parts.append(block[:take])
        done += take

    data = np.concatenate(parts) if parts else np.empty((0, 5))
    tick_dp, lot_dp = decimals_of(spec.tick_size), decimals_of(spec.lot_size)
    prices = np.round(np.round(np.exp(data[:, :4]) / spec.tick_size) * spec.tick_size, tick_dp)
    volume = np.round(np.round(data[:, 4] / spec.lot_size) * spec.lot_size, lot_dp)
    index = pd.DatetimeIndex(
        pd.to_datetime(start_ns + np.arange(n_bars, dtype=np.int64) * tf_ns, unit="ns", utc=True),
        name="time",
    )
    return pd.DataFrame(
        {
            "open": prices[:, 0],
            "high": prices[:, 1],
            "low": prices[:, 2],
            "close": prices[:, 3],
            "volume": volume,
        },
        index=index,
        dtype=np.float64,
    )
