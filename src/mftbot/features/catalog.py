"""The feature catalogue: every one of the 110 features with its channel, position, one-line
definition and scale, rendered into ``docs/features.md`` (``mftbot ml features-doc``).

Scale (:attr:`FeatureInfo.units`):

* ``free``: dimensionless (ratios, bps, oscillators, rates): comparable across assets and
  price levels, what a model should see;
* ``price``: in price units, carrying the price level (``close``, ``mid_price``,
  ``bid_ask_spread_abs``);
* ``size``: in base- or quote-asset amounts, carrying the asset's volume level (``volume``,
  book depths, cluster volumes, OFI).

The vector keeps all 110 (the issue's names); :func:`scale_free_names` lists the ones a model
trained across assets or regimes should use.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Literal

from mftbot.features.candle import (
    CANDLE_FEATURE_DOCS,
    CANDLE_SCALE_FREE,
    CANDLE_WARMUP,
    FeatureError,
)
from mftbot.features.indicator import (
    FLOW_WINDOW,
    INDICATOR_FEATURE_DOCS,
    INDICATOR_SCALE_FREE,
    INDICATOR_WARMUP,
    MEMORY,
    NVI_AVERAGE,
)
from mftbot.features.orderbook import ORDERBOOK_FEATURE_DOCS, RAW_PRICE_FEATURES
from mftbot.features.pipeline import CHANNELS, DEFAULT_WINDOW, FEATURE_NAMES, MIN_WINDOW

Units = Literal["free", "price", "size"]

_SIZE_DOC = re.compile(r"\b(base|quote) units\b")
_CANDLE_UNITS: dict[str, Units] = {"close": "price", "volume": "size"}


@dataclass(frozen=True, slots=True)
class FeatureInfo:
    """One feature of the vector."""

    index: int
    name: str
    channel: str
    definition: str
    units: Units
    warmup: int | None
    """Leading candles that are NaN (candle channels); None for the book channel, whose
    warm-up is its rolling window in samples."""

    @property
    def scale_free(self) -> bool:
        """True when the value does not carry the asset's price or volume level."""
        return self.units == "free"


def _orderbook_units(name: str, doc: str) -> Units:
    if name in RAW_PRICE_FEATURES:
        return "price"
    return "size" if _SIZE_DOC.search(doc) else "free"


def _build() -> tuple[FeatureInfo, ...]:
    infos: list[FeatureInfo] = []
    for name in FEATURE_NAMES:
        index = len(infos)
        if name in CHANNELS["orderbook"]:
            doc = ORDERBOOK_FEATURE_DOCS[name]
            infos.append(
                FeatureInfo(index, name, "orderbook", doc, _orderbook_units(name, doc), None)
            )
        elif name in CHANNELS["candle"]:
            units: Units = "free" if CANDLE_SCALE_FREE[name] else _CANDLE_UNITS[name]
            infos.append(
                FeatureInfo(
                    index, name, "candle", CANDLE_FEATURE_DOCS[name], units, CANDLE_WARMUP[name]
                )
            )
        else:
            if not INDICATOR_SCALE_FREE[name]:
                raise FeatureError(f"{name}: no units known for a non-scale-free indicator")
            infos.append(
                FeatureInfo(
                    index,
                    name,
                    "indicator",
                    INDICATOR_FEATURE_DOCS[name],
                    "free",
                    INDICATOR_WARMUP[name],
                )
            )
    return tuple(infos)


CATALOG: tuple[FeatureInfo, ...] = _build()
"""Every feature, in vector order."""
BY_NAME: dict[str, FeatureInfo] = {info.name: info for info in CATALOG}


def describe(name: str) -> FeatureInfo:
    """The catalogue entry of ``name``."""
    try:
        return BY_NAME[name]
    except KeyError:
        raise FeatureError(f"unknown feature {name!r}") from None


def scale_free_names() -> tuple[str, ...]:
    """Names of the features free of the price and volume level, in vector order."""
    return tuple(info.name for info in CATALOG if info.scale_free)


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


_INTRO = f"""# Features

The 110-feature vector of `mftbot.features`: order book (50), candle (25), indicator (35).
This page is generated from `mftbot.features.catalog` by `mftbot ml features-doc`; a test
fails when it is stale. Do not edit it by hand.

## Using the vector

* Names: `mftbot.features.pipeline.FEATURE_NAMES` (vector order) and `CHANNELS`
  (`orderbook`, `candle`, `indicator`); `channel_view(values, "candle")` is the per-channel
  view of a flat `(110,)` vector or `(n, 110)` matrix.
* Batch: `batch_features(sampled_book, candles)`; live: `IncrementalFeatures.update(row)` per
  book sample and `.on_candle(candle)` per closed candle. Both give the same values (1e-9
  relative; a test on the recorded data).
* Alignment: book features are those of each sample (fixed cadence, local receive clock);
  candle and indicator features at sample time `t` are those of the last candle closed at
  or before `t`, never the forming one.
* The live form holds the last {DEFAULT_WINDOW} candles (the default window; at least
  {MIN_WINDOW}), extended back to the start of the current UTC day for the session VWAP.
  When a candle closes it computes the 60 candle and indicator features of that candle
  alone (compiled code reading the candles each feature needs), not the whole window's
  series; once older candles have been dropped, each EMA / Wilder recursion runs over its
  last candles only (at most {max(MEMORY.values())}, RSI 28), long enough to have forgotten
  its seed.
* Datasets: `mftbot ml collect` replays recordings into Parquet rows (the 110 features plus
  `mid`, `best_bid`, `best_ask`, `last_trade`, `candle_close`); `mftbot ml label` adds
  forward returns, directions and triple-barrier labels (`mftbot.features.labels`, the only
  forward-looking code).

## Scale

`units` says whether a model can use a value across assets and price levels: `free`
(ratios, bps, oscillators, rates), `price` (raw price units: carries the price level) or
`size` (base- or quote-asset amounts: carries the asset's volume level). The vector keeps
the issue's 110 names; `mftbot.features.catalog.scale_free_names()` lists the `free` ones.
Price lines of the candle channels are given relative to the candle's close
(`line / close - 1`); the cumulative lines OBV, A/D, VPT and NVI are replaced by windowed
forms ({FLOW_WINDOW}-bar change over volume, Chaikin oscillator, NVI against its
{NVI_AVERAGE}-bar SMA) because their level depends on where the history starts.

## NaN policy

Nothing is zero-filled. A value is NaN when it is not defined: during its warm-up
(`warm-up` column: leading candles of the candle channels; the rolling book features need
their window of samples, see `mftbot.features.orderbook`),
before the first candle has closed (every candle and indicator feature), when the sample's
book is missing (every book feature), and where a ratio's denominator is 0. Malformed input
raises an error instead of producing a value.
"""


def render_markdown() -> str:
    """The text of ``docs/features.md``."""
    lines = [_INTRO.rstrip("\n")]
    titles = {
        "orderbook": "Order book (50)",
        "candle": "Candle (25)",
        "indicator": "Indicator (35)",
    }
    for channel in CHANNELS:
        lines += ["", f"## {titles[channel]}", ""]
        lines += ["| # | name | definition | units | warm-up |", "|---|---|---|---|---|"]
        for info in CATALOG:
            if info.channel != channel:
                continue
            warm = "—" if info.warmup is None else str(info.warmup)
            lines.append(
                f"| {info.index} | `{info.name}` | {_cell(info.definition)} | {info.units} "
                f"| {warm} |"
            )
    counts = {units: sum(i.units == units for i in CATALOG) for units in ("free", "price", "size")}
    lines += [
        "",
        f"{len(CATALOG)} features: {counts['free']} free, {counts['price']} price, "
        f"{counts['size']} size.",
        "",
    ]
    return "\n".join(lines)
