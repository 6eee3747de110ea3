"""The root command lists every command without importing its module, and loads it on use."""

from __future__ import annotations

import importlib
import subprocess
import sys

import pytest
from typer.testing import CliRunner

from mftbot.cli import COMMANDS, app
from mftbot.cli.lazy import LazyEntry, load_command

runner = CliRunner()


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_listed_help_is_the_commands_own(name: str) -> None:
    entry = COMMANDS[name]
    command = load_command(name, entry)
    own = command.short_help or (command.help or "").strip().split("\n\n")[0]
    assert " ".join(own.split()) == entry.help
    assert command.name == name


def test_root_help_lists_all_commands_and_imports_none() -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mftbot.cli import COMMANDS, app\n"
        "out = CliRunner().invoke(app, ['--help']).output\n"
        "missing = [n for n in COMMANDS if n not in out]\n"
        "loaded = sorted({e.module for e in COMMANDS.values()} & set(sys.modules))\n"
        "heavy = sorted({'pandas', 'numba', 'sqlalchemy'} & set(sys.modules))\n"
        "print(missing, loaded, heavy)\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[] [] []"


def test_a_command_loads_and_runs_through_the_root() -> None:
    result = runner.invoke(app, ["backtest", "--help"])
    assert result.exit_code == 0
    assert "--strategy" in result.output
    assert importlib.import_module("mftbot.cli.backtest_cmd")


def test_unknown_commands_and_bad_entries_are_errors() -> None:
    result = runner.invoke(app, ["no-such-command"])
    assert result.exit_code != 0
    with pytest.raises(LookupError):
        load_command("nothing", LazyEntry("mftbot.cli.backtest_cmd", "app", "x"))
    with pytest.raises(TypeError):
        load_command("x", LazyEntry("mftbot.cli.lazy", "LazyEntry", "x"))


@pytest.mark.parametrize("name", sorted(COMMANDS))
def test_a_commands_help_imports_no_heavy_library(name: str) -> None:
    code = (
        "import sys\n"
        "from typer.testing import CliRunner\n"
        "from mftbot.cli import app\n"
        "result = CliRunner().invoke(app, [sys.argv[1], '--help'])\n"
        "assert result.exit_code == 0, result.output\n"
        "heavy = {'pandas', 'pyarrow', 'numba', 'sqlalchemy', 'alembic'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, name], capture_output=True, text=True, check=True
    )
    assert done.stdout.strip() == "[]", f"mftbot {name} --help loads {done.stdout.strip()}"
