"""The feature pipeline: books sampled on a fixed cadence (:mod:`.sampling`), the order-book
channel (:mod:`.orderbook`), and the candle and indicator channels.

Submodules are imported on demand; importing this package loads nothing and registers
nothing.
"""
