"""Seeding and fast scalar random draws.

Every stream is derived from the user seed and a fixed tag (plus the symbol where the
stream is per symbol) through :class:`numpy.random.SeedSequence`, never from ``hash()``
(which changes between interpreter runs). Scalar draws come from pre-drawn blocks: calling
a numpy generator once per number costs far more than reading a Python list.
"""

from __future__ import annotations

import hashlib
import math

import numpy as np

TAG_MARKET = 1
"""Market-wide latent factors (volatility regime, common shocks, jumps) of the event stream."""
TAG_SYMBOL_LATENT = 2
"""A symbol's idiosyncratic latent shocks in the event stream."""
TAG_SYMBOL_FLOW = 3
"""A symbol's agents, order flow and latencies."""
TAG_BARS_MARKET = 4
"""Market-wide latent factors of the bar-level candle simulation."""
TAG_BARS_SYMBOL = 5
"""A symbol's shocks and volumes in the bar-level candle simulation."""


def _words(text: str) -> tuple[int, ...]:
    digest = hashlib.blake2b(text.encode(), digest_size=16).digest()
    return tuple(int.from_bytes(digest[i : i + 4], "little") for i in range(0, 16, 4))


def make_rng(seed: int, tag: int, *, key: str = "", extra: int = 0) -> np.random.Generator:
    """A generator for stream ``tag`` of ``seed`` (optionally per ``key`` and ``extra``)."""
    spawn_key = (tag, extra, *_words(key))
    return np.random.Generator(np.random.PCG64(np.random.SeedSequence(seed, spawn_key=spawn_key)))


class RandomPool:
    """Uniform, normal and exponential scalars read from blocks drawn in advance."""

    def __init__(self, rng: np.random.Generator, block: int = 4096) -> None:
        self._rng = rng
        self._block = block
        self._u: list[float] = []
        self._ui = 0
        self._n: list[float] = []
        self._ni = 0

    def uniform(self) -> float:
        """A draw from U[0, 1)."""
        if self._ui >= len(self._u):
            self._u = self._rng.random(self._block).tolist()
            self._ui = 0
        value = self._u[self._ui]
        self._ui += 1
        return value

    def normal(self) -> float:
        """A standard normal draw."""
        if self._ni >= len(self._n):
            self._n = self._rng.standard_normal(self._block).tolist()
            self._ni = 0
        value = self._n[self._ni]
        self._ni += 1
        return value

    def exponential(self) -> float:
        """A draw from Exp(1)."""
        return -math.log(1.0 - self.uniform())
