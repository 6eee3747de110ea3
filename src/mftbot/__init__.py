"""mftbot: a medium-frequency crypto trading system."""

__version__ = "0.1.0"
