"""Handing free heap back to the OS."""

from __future__ import annotations

import sys

from mftbot.core.memory import release_free_memory


def test_release_free_memory_works_on_glibc_and_is_a_no_op_elsewhere() -> None:
    released = release_free_memory()
    assert isinstance(released, bool)
    if sys.platform.startswith("linux"):
        assert released  # glibc (the CI image) has malloc_trim
    assert release_free_memory() is released  # repeatable
