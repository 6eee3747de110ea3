"""Clock and data-folder discovery."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from mftbot.core.clock import SimulatedClock, datetime_to_ns, ns_to_datetime
from mftbot.core.errors import DataNotFoundError
from mftbot.core.paths import DATA_DIR_ENV, find_data_dir, require_data_dir


def test_simulated_clock_is_monotone() -> None:
    clock = SimulatedClock(100)
    clock.advance_to(200)
    clock.advance_to(150)
    assert clock.now_ns() == 200


def test_ns_datetime_round_trip() -> None:
    dt = datetime(2024, 8, 9, 0, 0, 1, 250_000, tzinfo=UTC)
    assert ns_to_datetime(datetime_to_ns(dt)) == dt
    assert datetime_to_ns(dt.replace(tzinfo=None)) == datetime_to_ns(dt)


def test_explicit_dir_wins(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    other = tmp_path / "env"
    other.mkdir()
    monkeypatch.setenv(DATA_DIR_ENV, str(other))
    assert find_data_dir(tmp_path) == tmp_path.resolve()
    assert find_data_dir() == other.resolve()


def test_missing_explicit_or_env_dir_is_an_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with pytest.raises(DataNotFoundError, match="no such directory"):
        find_data_dir(tmp_path / "nope")
    monkeypatch.setenv(DATA_DIR_ENV, str(tmp_path / "nope"))
    with pytest.raises(DataNotFoundError, match=DATA_DIR_ENV):
        find_data_dir()


def test_nothing_found_gives_none_and_clear_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv(DATA_DIR_ENV, raising=False)
    monkeypatch.setattr("mftbot.core.paths._candidates", lambda: [tmp_path / "absent"])
    assert find_data_dir() is None
    with pytest.raises(DataNotFoundError, match="--data DIR"):
        require_data_dir()
