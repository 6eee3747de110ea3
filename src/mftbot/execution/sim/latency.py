"""Order latency: how long a request takes to reach the simulated matching engine.

A request sent at ``ts`` arrives at ``ts + delay``; only then is it checked, acknowledged and
matched, and only against market data at or after its arrival (:mod:`...sim.venue` processes an
arrival before the first market event stamped at or after it). A cancel is delayed the same
way, so fills in between still happen.

The delay is ``base_ns`` plus, when ``jitter_ns`` > 0, a seeded random part: uniform on
``[0, jitter_ns]`` or exponential with mean ``jitter_ns`` (capped at 20 means), drawn in request
order from ``numpy.random.default_rng(seed)``, so a run is reproducible.
"""

from __future__ import annotations

from enum import StrEnum

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

_EXP_CAP = 20.0


class JitterKind(StrEnum):
    """Distribution of the random part of the delay."""

    UNIFORM = "uniform"
    EXPONENTIAL = "exponential"


class LatencyConfig(BaseModel):
    """Request latency (0 by default: orders work at once)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    base_ns: int = Field(0, ge=0, le=60_000_000_000, description="Fixed delay, ns.")
    jitter_ns: int = Field(0, ge=0, le=60_000_000_000, description="Scale of the random delay.")
    jitter: JitterKind = Field(JitterKind.UNIFORM, description="Distribution of the random part.")
    seed: int = Field(0, ge=0, description="Seed of the random part.")

    @classmethod
    def fixed(cls, delay_ns: int) -> LatencyConfig:
        """A constant delay."""
        return cls(base_ns=delay_ns)


class Latency:
    """Draws the delay of each request (see the module doc)."""

    def __init__(self, config: LatencyConfig | None = None) -> None:
        self.config = config if config is not None else LatencyConfig()
        self._rng = np.random.default_rng(self.config.seed)

    @property
    def is_zero(self) -> bool:
        """Whether every delay is 0."""
        return self.config.base_ns == 0 and self.config.jitter_ns == 0

    def delay_ns(self) -> int:
        """The delay of the next request, ns."""
        cfg = self.config
        if cfg.jitter_ns == 0:
            return cfg.base_ns
        if cfg.jitter is JitterKind.UNIFORM:
            extra = float(self._rng.uniform(0.0, 1.0))
        else:
            extra = min(float(self._rng.exponential(1.0)), _EXP_CAP)
        return cfg.base_ns + round(extra * cfg.jitter_ns)
