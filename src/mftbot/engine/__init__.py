"""The event loop shared by every mode, and portfolio accounting.

Submodules: :mod:`~mftbot.engine.engine` (the step-mode event loop), :mod:`~mftbot.engine.fast`
(the compiled candle-only fill loop), :mod:`~mftbot.engine.market_state`,
:mod:`~mftbot.engine.feed`, :mod:`~mftbot.engine.signals`, :mod:`~mftbot.engine.sizing`,
:mod:`~mftbot.engine.results` and :mod:`~mftbot.engine.portfolio`. Importing this package
loads nothing heavy.
"""
