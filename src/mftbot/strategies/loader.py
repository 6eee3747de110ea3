"""Load a user's strategies from a folder of their own.

:func:`load_user_strategies` imports every ``*.py`` file of a folder (sorted by name; files
whose name starts with ``_`` or ``.`` are skipped) as a module of its own, so the
:func:`~mftbot.strategies.base.register_strategy` calls in them run. Each file gets a
module name derived from its resolved path (``mftbot_user_strategies.<stem>_<hash>``), so
loading the same folder again reloads the files in place (their strategies are replaced),
and two folders with a file of the same name do not collide. A file that fails to import
raises :class:`~mftbot.strategies.base.StrategyError` naming the file; strategies that files
before it registered stay registered.

See ``docs/strategies-writing.md`` for a worked example.
"""

from __future__ import annotations

import hashlib
import importlib.util
import re
import sys
from pathlib import Path

from mftbot.strategies.base import StrategyError, list_strategies, strategy_spec

PACKAGE = "mftbot_user_strategies"
"""Prefix of the module names user strategy files are imported under."""


def module_name(file: Path) -> str:
    """The module name a strategy file is imported under (stable for a given path)."""
    resolved = file.resolve()
    digest = hashlib.sha1(str(resolved).encode(), usedforsecurity=False).hexdigest()[:10]
    stem = re.sub(r"\W", "_", resolved.stem)
    return f"{PACKAGE}.{stem}_{digest}"


def strategy_files(folder: str | Path) -> list[Path]:
    """The files :func:`load_user_strategies` imports from ``folder``, in order."""
    path = Path(folder).expanduser()
    if not path.exists():
        raise StrategyError(f"strategy folder {path} does not exist")
    if not path.is_dir():
        raise StrategyError(f"strategy folder {path} is not a directory")
    return sorted(f for f in path.glob("*.py") if f.is_file() and not f.name.startswith(("_", ".")))


def _import(file: Path) -> None:
    name = module_name(file)
    spec = importlib.util.spec_from_file_location(name, file)
    if spec is None or spec.loader is None:
        raise StrategyError(f"{file}: cannot be imported as a Python module")
    module = importlib.util.module_from_spec(spec)
    previous = sys.modules.get(name)
    sys.modules[name] = module  # pydantic resolves postponed annotations through it
    try:
        spec.loader.exec_module(module)
    except Exception as exc:
        if previous is None:
            del sys.modules[name]
        else:
            sys.modules[name] = previous
        raise StrategyError(f"{file}: {type(exc).__name__}: {exc}") from exc


def load_user_strategies(folder: str | Path) -> list[str]:
    """Import every strategy file of ``folder``; return the names of the strategies they
    registered (new ones, and ones a reload replaced), sorted."""
    files = strategy_files(folder)
    before = {name: strategy_spec(name) for name in list_strategies()}
    for file in files:
        _import(file)
    return [name for name in list_strategies() if before.get(name) is not strategy_spec(name)]
