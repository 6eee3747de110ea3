"""The risk package loads its rule-based engine only when it is asked for."""

from __future__ import annotations

import subprocess
import sys

import pytest

import mftbot.risk


def test_the_interface_does_not_load_the_rule_based_engine() -> None:
    code = (
        "import sys\n"
        "import mftbot.backtest.api\n"
        "print(sorted({'mftbot.risk.engine', 'mftbot.risk.config', 'pydantic_settings',"
        " 'structlog'} & set(sys.modules)))\n"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.strip() == "[]"


def test_every_exported_name_resolves() -> None:
    for name in mftbot.risk.__all__:
        assert getattr(mftbot.risk, name) is not None
    assert set(mftbot.risk.__all__) <= set(dir(mftbot.risk))
    with pytest.raises(AttributeError):
        _ = mftbot.risk.not_a_name
