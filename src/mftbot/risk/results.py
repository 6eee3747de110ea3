"""The small typed results every risk component returns: a rule's verdict and a size factor."""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from mftbot.core.errors import MftbotError


class RiskError(MftbotError, ValueError):
    """A risk component got input it cannot judge (NaN equity, a stop on the wrong side, …)."""


def money(value: float) -> str:
    """``52500.0`` → ``"52,500.00"``: amounts in reasons."""
    return f"{value:,.2f}"


def pct(value: float) -> str:
    """``0.0125`` → ``"1.25 %"``."""
    return f"{value * 100:.2f} %"


def num(value: float) -> str:
    """A quantity or price with up to 8 significant digits (``0.00012345``, ``71,234.5``)."""
    if value != 0 and abs(value) < 1:
        return f"{value:.8g}"
    return f"{value:,.8g}"


@dataclass(frozen=True, slots=True)
class RuleResult:
    """One named pre-trade check: passed or not, why (with the numbers), and the numbers."""

    name: str
    passed: bool
    reason: str
    values: Mapping[str, float] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not self.name or not self.reason:
            raise RiskError("a rule result needs a name and a reason")

    @classmethod
    def ok(cls, name: str, reason: str, **values: float) -> RuleResult:
        """A pass."""
        return cls(name, True, reason, values)

    @classmethod
    def fail(cls, name: str, reason: str, **values: float) -> RuleResult:
        """A failure."""
        return cls(name, False, reason, values)

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit log."""
        return {
            "name": self.name,
            "passed": self.passed,
            "reason": self.reason,
            "values": {k: _plain(v) for k, v in self.values.items()},
        }


@dataclass(frozen=True, slots=True)
class Factor:
    """A size multiplier in [0, 1] with its reason (``0``: the adapter halts entries)."""

    name: str
    value: float
    reason: str

    def __post_init__(self) -> None:
        if not (math.isfinite(self.value) and 0.0 <= self.value <= 1.0):
            raise RiskError(f"factor {self.name} must be in [0, 1], got {self.value}")

    def to_dict(self) -> dict[str, Any]:
        """Plain data for the audit log."""
        return {"name": self.name, "value": self.value, "reason": self.reason}


def _plain(value: float) -> float | None:
    """JSON-safe: NaN and infinities become ``None``."""
    return value if math.isfinite(value) else None
