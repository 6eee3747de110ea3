"""Shared fixtures: recorded data location and the PostgreSQL test URL."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from mftbot.core.paths import find_data_dir


def _data_required() -> bool:
    return os.environ.get("MFTBOT_REQUIRE_DATA", "") not in ("", "0")


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The recorded market data folder (../shared/data).

    Skips with a reason on a machine without recordings; fails instead when
    ``MFTBOT_REQUIRE_DATA=1`` (CI), so nothing silently skips there.
    """
    found = find_data_dir()
    if found is None:
        if _data_required():
            pytest.fail("MFTBOT_REQUIRE_DATA is set but no recorded data was found")
        pytest.skip("no recorded market data: set MFTBOT_DATA_DIR or place ../shared/data")
    return found


@pytest.fixture(scope="session")
def pg_url() -> str:
    """URL of a PostgreSQL server for tests (``MFTBOT_TEST_PG_URL``)."""
    url = os.environ.get("MFTBOT_TEST_PG_URL")
    if not url:
        if _data_required():
            pytest.fail("MFTBOT_REQUIRE_DATA is set but MFTBOT_TEST_PG_URL is not")
        pytest.skip("no PostgreSQL server: set MFTBOT_TEST_PG_URL to run these tests")
    return url
