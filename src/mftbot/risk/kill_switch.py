"""The kill-switch file: while it exists, no new entry passes.

:meth:`KillSwitch.poll` looks for the file at most once per ``check_interval_ms`` of the
injected clock (a ``stat`` per look), so calling it on every event and timer costs almost
nothing; with the default 250 ms interval and any event or timer cadence under 750 ms, entries
stop within one second of the file's creation. Removing the file releases the switch.
"""

from __future__ import annotations

import os
from pathlib import Path

from mftbot.core.clock import Clock
from mftbot.risk.results import RiskError

_MS = 1_000_000


class KillSwitch:
    """Watches one file through an injected clock (see module doc)."""

    def __init__(
        self, path: str | os.PathLike[str], clock: Clock, check_interval_ms: int = 250
    ) -> None:
        if check_interval_ms < 1:
            raise RiskError(f"check_interval_ms must be ≥ 1, got {check_interval_ms}")
        self.path = Path(path)
        self.clock = clock
        self.interval_ns = check_interval_ms * _MS
        self.engaged = False
        self.engaged_since: int | None = None
        self.trips = 0
        """How many times the switch went from released to engaged."""
        self.checks = 0
        """How many times the file system was asked."""
        self._last_check: int | None = None

    def poll(self) -> bool:
        """Whether the switch is engaged, looking at the file if the interval has passed."""
        now = self.clock.now_ns()
        last = self._last_check
        if last is not None and now - last < self.interval_ns:
            return self.engaged
        self._last_check = now
        self.checks += 1
        present = self.path.exists()
        if present and not self.engaged:
            self.trips += 1
            self.engaged_since = now
        elif not present:
            self.engaged_since = None
        self.engaged = present
        return present

    def engage(self, reason: str = "operator") -> Path:
        """Create the file (what an operator or the API does) and engage at the next poll."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.path.write_text(f"{reason}\n", encoding="utf-8")
        self._last_check = None
        return self.path

    def release(self) -> None:
        """Remove the file; entries resume at the next poll."""
        self.path.unlink(missing_ok=True)
        self._last_check = None
