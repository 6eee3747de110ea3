"""Simulated venues: :class:`SimulatedVenue` (book walking, queues, slippage presets, stops,
latency, market rules) and the simple :class:`CandleSimVenue` the fast-mode parity uses."""

from __future__ import annotations

from mftbot.execution.sim.candle_venue import CandleFill, CandleSimVenue, split_spot_symbol
from mftbot.execution.sim.fees import FeeSchedule, FeeTable
from mftbot.execution.sim.latency import LatencyConfig
from mftbot.execution.sim.orders import TrailingSpec
from mftbot.execution.sim.rules import MarketRules
from mftbot.execution.sim.slippage import SlippageParams, SlippagePreset
from mftbot.execution.sim.venue import SimulatedVenue, SimVenueConfig

__all__ = [
    "CandleFill",
    "CandleSimVenue",
    "FeeSchedule",
    "FeeTable",
    "LatencyConfig",
    "MarketRules",
    "SimVenueConfig",
    "SimulatedVenue",
    "SlippageParams",
    "SlippagePreset",
    "TrailingSpec",
    "split_spot_symbol",
]
