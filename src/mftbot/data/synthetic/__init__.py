"""Seeded agent-based synthetic market: the embedded default data source.

See ``docs/synthetic-market.md`` for the agents, parameters and measured properties.
"""

from mftbot.data.synthetic.config import (
    FlowConfig,
    InstrumentSpec,
    LatentConfig,
    MarketMakerConfig,
    SyntheticMarketConfig,
)
from mftbot.data.synthetic.market import DEFAULT_START_NS, SyntheticMarket
from mftbot.data.synthetic.timeframes import timeframe_ns

__all__ = [
    "DEFAULT_START_NS",
    "FlowConfig",
    "InstrumentSpec",
    "LatentConfig",
    "MarketMakerConfig",
    "SyntheticMarket",
    "SyntheticMarketConfig",
    "timeframe_ns",
]
