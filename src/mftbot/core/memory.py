"""Handing freed heap memory back to the operating system.

glibc keeps memory freed by large temporaries (numpy arrays, byte strings) in its heap once
its adaptive mmap threshold has grown, so a process's resident size stays at its high-water
mark even when most of it is free. :func:`release_free_memory` returns those free pages
(``malloc_trim(0)``); elsewhere it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import sys
from collections.abc import Callable

_trim: Callable[[int], int] | None = None
_looked_up = False


def _malloc_trim() -> Callable[[int], int] | None:
    global _trim, _looked_up
    if not _looked_up:
        _looked_up = True
        if sys.platform.startswith("linux"):
            try:
                libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6")
                _trim = libc.malloc_trim
            except (OSError, AttributeError):  # not glibc (musl has no malloc_trim)
                _trim = None
    return _trim


def release_free_memory() -> bool:
    """Return the heap's free pages to the OS; ``True`` when the allocator supports it."""
    trim = _malloc_trim()
    if trim is None:
        return False
    trim(0)
    return True
