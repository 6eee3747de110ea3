"""The latent (fundamental) log-price on a fixed time grid, generated chunk by chunk.

Volatility is ``sigma_bar * m[regime] * exp(x - s^2)``: a three-state continuous-time Markov
regime (calm / normal / burst) times a log-normal factor ``x``, the sum of a fast and a slow
Ornstein-Uhlenbeck process (minutes and days), with stationary std ``s``. Multipliers are
normalised so the long-run mean variance is ``sigma_bar^2`` (the instrument's annualised
volatility). Shocks mix a market-wide normal with a per-symbol one, loaded so that any two
symbols correlate by ``market_correlation``; regime, OU factors and jumps are market-wide,
so every symbol generated from one seed shares them. The log-price is a martingale.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import pandas as pd
from numpy.typing import NDArray

from mftbot.data.synthetic.config import LatentConfig

SECONDS_PER_YEAR = 365.0 * 86_400.0
FloatArray = NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class LatentChunk:
    """Consecutive grid steps of the latent log-price."""

    log_start: FloatArray
    """Log-price at the start of each step."""
    log_end: FloatArray
    """Log-price at the end of each step (the next step's start)."""
    jump: FloatArray
    """Jump applied at the start of each step (already inside ``log_end``)."""
    variance: FloatArray
    """Diffusion variance of the log-price over each step."""
    vol_ratio: FloatArray
    """Volatility over each step divided by its long-run average."""


def regime_weights(cfg: LatentConfig) -> tuple[float, ...]:
    """Stationary probabilities of the regimes (proportional to their mean durations)."""
    total = sum(cfg.regime_mean_duration_s)
    return tuple(d / total for d in cfg.regime_mean_duration_s)


def normalised_multipliers(cfg: LatentConfig) -> tuple[float, ...]:
    """Regime multipliers scaled so that their stationary mean square is 1."""
    weights = regime_weights(cfg)
    mean_sq = sum(w * m * m for w, m in zip(weights, cfg.regime_multipliers, strict=True))
    return tuple(m / math.sqrt(mean_sq) for m in cfg.regime_multipliers)


def mean_vol_power(cfg: LatentConfig, power: float) -> float:
    """Stationary ``E[vol_ratio ** power]`` (used to keep mean event rates at their nominal)."""
    weights = regime_weights(cfg)
    mults = normalised_multipliers(cfg)
    regime_part = sum(w * m**power for w, m in zip(weights, mults, strict=True))
    s2 = cfg.vol_of_vol**2 + cfg.slow_vol_of_vol**2
    return float(regime_part * math.exp(power * power * s2 / 2 - power * s2))


def ar1(x_prev: float, coef: float, innovations: FloatArray) -> FloatArray:
    """``x_t = coef * x_{t-1} + innovations_t`` for every t, starting after ``x_prev``.

    Uses pandas' compiled exponential smoothing: with ``alpha = 1 - coef`` and inputs
    ``innovations / alpha`` it is exactly this recursion.
    """
    alpha = 1.0 - coef
    series = np.concatenate(([x_prev], innovations / alpha))
    smoothed = pd.Series(series).ewm(alpha=alpha, adjust=False).mean().to_numpy(np.float64)
    return smoothed[1:]


class LatentProcess:
    """Generates the latent log-price of one symbol on a grid of ``step_s`` seconds."""

    def __init__(
        self,
        cfg: LatentConfig,
        *,
        annual_vol: float,
        price0: float,
        step_s: float,
        market_rng: np.random.Generator,
        symbol_rng: np.random.Generator,
        chunk_steps: int = 4096,
    ) -> None:
        if step_s <= 0 or chunk_steps <= 0:
            raise ValueError("step_s and chunk_steps must be > 0")
        self._cfg = cfg
        self._dt = step_s
        self._chunk = chunk_steps
        self._market = market_rng
        self._symbol = symbol_rng
        self._var_per_s = annual_vol**2 / SECONDS_PER_YEAR
        self._mults = np.array(normalised_multipliers(cfg), dtype=np.float64)
        self._weights = regime_weights(cfg)
        self._fast_s = cfg.vol_of_vol
        self._slow_s = cfg.slow_vol_of_vol
        self._s2 = self._fast_s**2 + self._slow_s**2
        self._fast_coef = math.exp(-math.log(2.0) * step_s / cfg.vol_half_life_s)
        self._slow_coef = math.exp(-math.log(2.0) * step_s / cfg.slow_vol_half_life_s)
        self._beta = math.sqrt(cfg.market_correlation)  # pairwise correlation = beta^2
        self._jump_p = cfg.jump_rate_per_day * step_s / 86_400.0
        self._jump_sd = cfg.jump_size_bps * 1e-4
        self._jump_drift = self._jump_p * (math.exp(self._jump_sd**2 / 2) - 1.0)
        # Initial market state: regime from its stationary law, OU factor from its own.
        u = float(self._market.random())
        cumulative = 0.0
        self._regime = len(self._weights) - 1
        for i, w in enumerate(self._weights):
            cumulative += w
            if u < cumulative:
                self._regime = i
                break
        self._remaining_s = float(self._market.exponential(self._mean_duration(self._regime)))
        self._fast_x = float(self._market.standard_normal()) * self._fast_s
        self._slow_x = float(self._market.standard_normal()) * self._slow_s
        self._log = math.log(price0)

    @property
    def step_s(self) -> float:
        """Grid step, s."""
        return self._dt

    def _mean_duration(self, regime: int) -> float:
        return self._cfg.regime_mean_duration_s[regime]

    def _regimes(self, n: int) -> NDArray[np.intp]:
        states = np.empty(n, dtype=np.intp)
        pos = 0
        while pos < n:
            steps = max(1, math.ceil(self._remaining_s / self._dt))
            end = min(n, pos + steps)
            states[pos:end] = self._regime
            self._remaining_s -= (end - pos) * self._dt
            pos = end
            # A step takes the regime in force at its start: skip regimes that end between
            # two step starts. Jump chain: leave to either other regime with equal chance.
            while self._remaining_s <= 0:
                shift = 1 + int(self._market.random() * 2)
                self._regime = (self._regime + shift) % 3
                self._remaining_s += float(
                    self._market.exponential(self._mean_duration(self._regime))
                )
        return states

    def next_chunk(self) -> LatentChunk:
        """The next ``chunk_steps`` grid steps."""
        n = self._chunk
        regimes = self._regimes(n)
        fast_noise = self._market.standard_normal(n)
        slow_noise = self._market.standard_normal(n)
        z_market = self._market.standard_normal(n)
        jump_counts = self._market.poisson(self._jump_p, n)
        jump_noise = self._market.standard_normal(n)
        z_symbol = self._symbol.standard_normal(n)

        fast = ar1(
            self._fast_x,
            self._fast_coef,
            fast_noise * (self._fast_s * math.sqrt(1.0 - self._fast_coef**2)),
        )
        slow = ar1(
            self._slow_x,
            self._slow_coef,
            slow_noise * (self._slow_s * math.sqrt(1.0 - self._slow_coef**2)),
        )
        self._fast_x, self._slow_x = float(fast[-1]), float(slow[-1])
        vol_ratio = self._mults[regimes] * np.exp(fast + slow - self._s2)
        variance = self._var_per_s * self._dt * vol_ratio**2
        shock = self._beta * z_market + math.sqrt(1.0 - self._beta**2) * z_symbol
        jump = jump_noise * self._jump_sd * np.sqrt(jump_counts)
        increments = jump + np.sqrt(variance) * shock - variance / 2 - self._jump_drift
        log_end = self._log + np.cumsum(increments)
        log_start = np.concatenate(([self._log], log_end[:-1]))
        self._log = float(log_end[-1])
        return LatentChunk(log_start, log_end, jump, variance, vol_ratio)
