"""The persisted trading state: a small JSON file that keeps HALTED across restarts.

The engine writes HALTED (with the reason) when the circuit breaker trips; ``mftbot risk
reset`` writes NORMAL and increments ``resets``. A running engine reads the file on its poll
cadence and resumes when it sees a ``resets`` count above the one it knows. Writes are atomic
(temporary file + rename), so a reader never sees half a document.
"""

from __future__ import annotations

import json
import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from mftbot.risk.limits import HaltKind, TradingState
from mftbot.risk.results import RiskError


@dataclass(frozen=True, slots=True)
class StoredState:
    """What the state file holds."""

    state: TradingState = TradingState.NORMAL
    reason: str = ""
    kind: HaltKind | None = None
    since_ns: int | None = None
    resets: int = 0
    updated_ns: int | None = None

    @property
    def halted(self) -> bool:
        """Whether trading is halted."""
        return self.state is TradingState.HALTED

    def to_json(self) -> dict[str, Any]:
        """Plain data."""
        data = asdict(self)
        data["state"] = self.state.value
        data["kind"] = None if self.kind is None else self.kind.value
        return data


def _parse(data: Any, path: Path) -> StoredState:
    if not isinstance(data, dict):
        raise RiskError(f"{path}: the risk state must be a JSON object")
    try:
        kind = data.get("kind")
        resets = data.get("resets", 0)
        if not isinstance(resets, int) or resets < 0:
            raise ValueError(f"resets must be an integer ≥ 0, got {resets!r}")
        return StoredState(
            state=TradingState(data.get("state", "normal")),
            reason=str(data.get("reason", "")),
            kind=None if kind is None else HaltKind(kind),
            since_ns=_opt_int(data.get("since_ns"), "since_ns"),
            resets=resets,
            updated_ns=_opt_int(data.get("updated_ns"), "updated_ns"),
        )
    except ValueError as exc:
        raise RiskError(f"{path}: bad risk state: {exc}") from exc


def _opt_int(value: Any, name: str) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool):
        raise ValueError(f"{name} must be an integer, got {value!r}")
    return value


class TradingStateStore:
    """Reads and writes the risk state file at ``path``."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)

    def load(self) -> StoredState:
        """The stored state (NORMAL, no resets, when the file does not exist)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return StoredState()
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise RiskError(f"{self.path}: not valid JSON: {exc}") from exc
        return _parse(data, self.path)

    def save(self, state: StoredState) -> None:
        """Write ``state`` atomically."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        tmp = self.path.with_name(f".{self.path.name}.tmp")
        tmp.write_text(json.dumps(state.to_json(), indent=2) + "\n", encoding="utf-8")
        os.replace(tmp, self.path)

    def record_halt(self, ts: int, reason: str, kind: HaltKind) -> StoredState:
        """Persist HALTED (keeping the reset count)."""
        current = self.load()
        state = StoredState(TradingState.HALTED, reason, kind, ts, current.resets, ts)
        self.save(state)
        return state

    def reset(self, ts: int, by: str = "operator") -> StoredState:
        """Persist NORMAL after a manual reset (the reset count goes up by one)."""
        current = self.load()
        state = StoredState(
            TradingState.NORMAL, f"reset by {by}", None, None, current.resets + 1, ts
        )
        self.save(state)
        return state
