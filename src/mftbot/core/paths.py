"""Where mftbot finds recorded market data.

Order of precedence (DESIGN.md §4): an explicit ``--data DIR``, then ``MFTBOT_DATA_DIR``,
then ``../shared/data`` relative to the working directory or the project checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

from mftbot.core.errors import DataNotFoundError

DATA_DIR_ENV = "MFTBOT_DATA_DIR"
_PROJECT_ROOT = Path(__file__).resolve().parents[3]


def _candidates() -> list[Path]:
    return [Path.cwd().parent / "shared" / "data", _PROJECT_ROOT.parent / "shared" / "data"]


def find_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    """Return the recorded-data folder, or ``None`` when none exists.

    An explicit path or ``MFTBOT_DATA_DIR`` that does not exist is an error, not a silent
    fallback: the user asked for that folder.
    """
    if explicit is not None:
        path = Path(explicit).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"--data {path}: no such directory")
        return path.resolve()
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        path = Path(env).expanduser()
        if not path.is_dir():
            raise DataNotFoundError(f"{DATA_DIR_ENV}={env}: no such directory")
        return path.resolve()
    for candidate in _candidates():
        if candidate.is_dir():
            return candidate.resolve()
    return None


def require_data_dir(explicit: str | os.PathLike[str] | None = None) -> Path:
    """Like :func:`find_data_dir` but raises when nothing is found."""
    found = find_data_dir(explicit)
    if found is None:
        raise DataNotFoundError(
            "no recorded market data found: pass --data DIR or set "
            f"{DATA_DIR_ENV} (looked in {', '.join(str(c) for c in _candidates())})"
        )
    return found
