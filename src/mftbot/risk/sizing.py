"""Position sizing: fixed fractional, Kelly from recorded trades, volatility targeting.

All sizes are base quantities. The loss per unit at the stop includes the fee of both legs:
``|entry − stop| + fee × (entry + stop)``.

* **Fixed fractional**: ``risk_per_trade × equity / loss per unit``.
* **Kelly**: from the strategy's last ``kelly_window`` closed trades (at least
  ``kelly_min_trades``), win rate ``W`` and payoff ``R = mean win / mean loss``,
  ``f* = W − (1 − W) / R``; the equity fraction lost at the stop is ``min(f* × fraction,
  kelly_cap)`` with fraction 1, ½ or ¼. ``f* ≤ 0`` (negative expectancy) sizes to zero.
* **Volatility targeting**: position value ``equity × vol_target / realised vol`` (annualised).

The size is the smallest applicable method times the product of the multipliers
(:mod:`mftbot.risk.adapters`), then the smallest cap, then rounded down to the lot size.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from mftbot.domain.enums import Side
from mftbot.risk.config import KELLY_MULTIPLIERS, SizingConfig
from mftbot.risk.results import Factor, RiskError, money, num, pct


@dataclass(frozen=True, slots=True)
class MethodSize:
    """One method's size (base units) or why it does not apply."""

    name: str
    qty: float | None
    """``None``: not applicable (not enough data); 0: it says do not trade."""
    reason: str

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit log."""
        return {"name": self.name, "qty": self.qty, "reason": self.reason}


@dataclass(frozen=True, slots=True)
class SizingResult:
    """The size and every factor behind it."""

    qty: float
    """Final size, base units, rounded down to the lot."""
    price: float
    stop_price: float
    loss_per_unit: float
    methods: tuple[MethodSize, ...]
    factors: tuple[Factor, ...]
    multiplier: float
    caps: Mapping[str, float]
    """Upper bounds in base units by name."""
    base_qty: float
    """Smallest applicable method, before multipliers."""
    capped_qty: float
    """After multipliers and caps, before rounding."""
    lot_size: float | None
    binding: str
    """What set the size: ``method:<name>``, ``cap:<name>``, ``factor:<name>`` or ``lot``."""
    reason: str
    extra: Mapping[str, float] = field(default_factory=dict)

    @property
    def risk_amount(self) -> float:
        """What the final size loses at the stop, fees included (quote)."""
        return self.qty * self.loss_per_unit

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit log."""
        return {
            "qty": self.qty,
            "price": self.price,
            "stop_price": self.stop_price,
            "loss_per_unit": self.loss_per_unit,
            "methods": [m.to_dict() for m in self.methods],
            "factors": [f.to_dict() for f in self.factors],
            "multiplier": self.multiplier,
            "caps": {k: (v if math.isfinite(v) else None) for k, v in self.caps.items()},
            "base_qty": self.base_qty,
            "capped_qty": self.capped_qty,
            "lot_size": self.lot_size,
            "binding": self.binding,
            "reason": self.reason,
        }


def _finite_pos(name: str, value: float) -> None:
    if not (math.isfinite(value) and value > 0):
        raise RiskError(f"{name} must be finite and > 0, got {value}")


def loss_per_unit(side: Side, price: float, stop: float, fee_rate: float) -> float:
    """What one unit loses if it enters at ``price`` and exits at ``stop``, fees included.

    The stop must be on the losing side: below the price for a buy, above for a sell.
    """
    _finite_pos("price", price)
    _finite_pos("stop", stop)
    if not (math.isfinite(fee_rate) and fee_rate >= 0):
        raise RiskError(f"fee_rate must be finite and ≥ 0, got {fee_rate}")
    if side is Side.BUY and stop >= price:
        raise RiskError(f"stop {num(stop)} is not below the entry {num(price)} of a buy")
    if side is Side.SELL and stop <= price:
        raise RiskError(f"stop {num(stop)} is not above the entry {num(price)} of a sell")
    return abs(price - stop) + fee_rate * (price + stop)


def round_down(qty: float, lot: float | None) -> float:
    """``qty`` rounded down to a multiple of ``lot`` (unchanged without a lot)."""
    if lot is None or qty <= 0:
        return max(qty, 0.0)
    steps = math.floor(qty / lot + 1e-9)
    return float(max(steps, 0)) * lot


def fixed_fractional(equity: float, per_unit: float, risk_fraction: float) -> MethodSize:
    """``risk_fraction × equity / per_unit``."""
    _finite_pos("loss per unit", per_unit)
    qty = risk_fraction * equity / per_unit
    return MethodSize(
        "fixed_fractional",
        qty,
        f"risk {pct(risk_fraction)} of {money(equity)} = {money(risk_fraction * equity)} "
        f"/ {num(per_unit)} per unit",
    )


@dataclass(frozen=True, slots=True)
class KellyStats:
    """Kelly's inputs and output from a list of trade PnLs."""

    trades: int
    win_rate: float
    payoff: float
    """Mean win over mean loss (inf without losses, 0 without wins)."""
    kelly: float
    """``f* = W − (1 − W) / R`` (1 without losses, −1 … without wins)."""


def kelly_stats(pnls: Sequence[float]) -> KellyStats:
    """Win rate, payoff ratio and the Kelly fraction of a sequence of trade PnLs.

    Flat trades (PnL 0) count as trades but neither as wins nor as losses.
    """
    if not pnls:
        raise RiskError("Kelly needs at least one trade")
    wins = [p for p in pnls if p > 0]
    losses = [-p for p in pnls if p < 0]
    if any(not math.isfinite(p) for p in pnls):
        raise RiskError("trade PnLs must be finite")
    n = len(pnls)
    w = len(wins) / n
    if not losses:
        return KellyStats(n, w, math.inf, 1.0 if wins else 0.0)
    if not wins:
        return KellyStats(n, 0.0, 0.0, -1.0)
    payoff = (math.fsum(wins) / len(wins)) / (math.fsum(losses) / len(losses))
    return KellyStats(n, w, payoff, w - (1.0 - w) / payoff)


def kelly(
    equity: float, per_unit: float, pnls: Sequence[float], config: SizingConfig
) -> MethodSize:
    """Kelly sizing (see module doc); ``None`` qty with fewer than ``kelly_min_trades``."""
    _finite_pos("loss per unit", per_unit)
    if len(pnls) < config.kelly_min_trades:
        return MethodSize(
            "kelly", None, f"{len(pnls)} recorded trades < {config.kelly_min_trades} needed"
        )
    stats = kelly_stats(pnls)
    head = (
        f"{stats.trades} trades, win rate {pct(stats.win_rate)}, payoff {num(stats.payoff)}, "
        f"f* = {stats.kelly:.4f}"
    )
    if stats.kelly <= 0:
        return MethodSize("kelly", 0.0, f"negative expectancy: {head} → size 0")
    mult = KELLY_MULTIPLIERS[config.kelly_fraction]
    fraction = min(stats.kelly * mult, config.kelly_cap)
    capped = " (capped)" if stats.kelly * mult > config.kelly_cap else ""
    return MethodSize(
        "kelly",
        fraction * equity / per_unit,
        f"{head}; {config.kelly_fraction} Kelly risks {pct(fraction)}{capped}",
    )


def volatility_target(
    equity: float, price: float, vol: float, observations: int, config: SizingConfig
) -> MethodSize:
    """Position value ``equity × vol_target / vol``; ``None`` qty without enough returns."""
    _finite_pos("price", price)
    if observations < config.vol_min_obs or not (math.isfinite(vol) and vol > 0):
        return MethodSize(
            "volatility_target",
            None,
            f"{observations} returns < {config.vol_min_obs} needed (or zero volatility)",
        )
    value = equity * config.vol_target / vol
    return MethodSize(
        "volatility_target",
        value / price,
        f"target {pct(config.vol_target)} / realised {pct(vol)} annualised → value {money(value)}",
    )


@dataclass(frozen=True, slots=True)
class SizingInputs:
    """Everything a size depends on."""

    side: Side
    equity: float
    price: float
    stop_price: float
    fee_rate: float
    trade_pnls: Sequence[float] = ()
    realised_vol: float = math.nan
    vol_observations: int = 0


class PositionSizer:
    """Runs the configured methods, applies multipliers and caps, rounds to the lot."""

    def __init__(self, config: SizingConfig) -> None:
        self.config = config

    def methods(self, inp: SizingInputs, per_unit: float) -> tuple[MethodSize, ...]:
        """Each configured method's size."""
        found: list[MethodSize] = []
        for name in self.config.methods:
            if name == "fixed_fractional":
                found.append(fixed_fractional(inp.equity, per_unit, self.config.risk_per_trade))
            elif name == "kelly":
                found.append(kelly(inp.equity, per_unit, inp.trade_pnls, self.config))
            else:
                found.append(
                    volatility_target(
                        inp.equity, inp.price, inp.realised_vol, inp.vol_observations, self.config
                    )
                )
        return tuple(found)

    def size(
        self,
        inp: SizingInputs,
        factors: Sequence[Factor] = (),
        caps: Mapping[str, float] | None = None,
        lot_size: float | None = None,
    ) -> SizingResult:
        """The size of an entry (see module doc). ``caps`` are upper bounds in base units."""
        _finite_pos("equity", inp.equity)
        per_unit = loss_per_unit(inp.side, inp.price, inp.stop_price, inp.fee_rate)
        methods = self.methods(inp, per_unit)
        applicable = [m for m in methods if m.qty is not None]
        all_caps = dict(caps or {})
        all_caps["position_value"] = self.config.max_position_fraction * inp.equity / inp.price
        for name, cap in all_caps.items():
            if math.isnan(cap):
                raise RiskError(f"cap {name} is NaN")
        multiplier = math.prod(f.value for f in factors)
        if not applicable:
            return self._result(
                inp,
                per_unit,
                methods,
                factors,
                multiplier,
                all_caps,
                lot_size,
                0.0,
                0.0,
                "method:none",
                "no sizing method applies",
            )
        best = min(applicable, key=lambda m: m.qty if m.qty is not None else math.inf)
        base = max(best.qty or 0.0, 0.0)
        sized = base * multiplier
        binding = f"method:{best.name}"
        zero = next((f for f in factors if f.value == 0.0), None)
        if zero is not None:
            binding = f"factor:{zero.name}"
        capped = sized
        for name, cap in all_caps.items():
            if cap < capped:
                capped = max(cap, 0.0)
                binding = f"cap:{name}"
        final = round_down(capped, lot_size)
        if final < capped and final == 0.0:
            binding = "lot"
        reason = self._explain(best, factors, binding, final, all_caps)
        return self._result(
            inp,
            per_unit,
            methods,
            factors,
            multiplier,
            all_caps,
            lot_size,
            base,
            capped,
            binding,
            reason,
            final,
        )

    @staticmethod
    def _explain(
        best: MethodSize,
        factors: Sequence[Factor],
        binding: str,
        final: float,
        caps: Mapping[str, float],
    ) -> str:
        parts = [f"{best.name}: {best.reason}"]
        parts.extend(f"{f.name} ×{f.value:.4g} ({f.reason})" for f in factors if f.value != 1.0)
        if binding.startswith("cap:"):
            name = binding[4:]
            parts.append(f"capped by {name} at {num(caps[name])}")
        parts.append(f"size {num(final)}")
        return "; ".join(parts)

    @staticmethod
    def _result(
        inp: SizingInputs,
        per_unit: float,
        methods: tuple[MethodSize, ...],
        factors: Sequence[Factor],
        multiplier: float,
        caps: Mapping[str, float],
        lot_size: float | None,
        base: float,
        capped: float,
        binding: str,
        reason: str,
        final: float = 0.0,
    ) -> SizingResult:
        return SizingResult(
            qty=final,
            price=inp.price,
            stop_price=inp.stop_price,
            loss_per_unit=per_unit,
            methods=methods,
            factors=tuple(factors),
            multiplier=multiplier,
            caps=dict(caps),
            base_qty=base,
            capped_qty=capped,
            lot_size=lot_size,
            binding=binding,
            reason=reason,
        )
