"""Simulated venues: fills from candles now; book walking, slippage and latency next."""

from __future__ import annotations

from mftbot.execution.sim.candle_venue import CandleFill, CandleSimVenue, split_spot_symbol

__all__ = ["CandleFill", "CandleSimVenue", "split_spot_symbol"]
