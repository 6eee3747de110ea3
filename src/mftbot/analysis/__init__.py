"""Analysis layer: indicators, the registry of causal computations and the look-ahead checker.

Submodules are imported on demand (``mftbot.analysis.indicators``,
``mftbot.analysis.registry``, ``mftbot.analysis.lookahead``); importing this package loads
nothing heavy.
"""
