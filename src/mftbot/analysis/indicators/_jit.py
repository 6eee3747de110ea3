"""Typed wrappers around ``numba.njit(cache=True)`` (numba ships no type information)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar, cast

import numba

_F = TypeVar("_F", bound=Callable[..., Any])


def jit(func: _F) -> _F:
    """Compile ``func`` in nopython mode, caching the machine code on disk."""
    return cast(_F, numba.njit(cache=True)(func))


def jit_ieee(func: _F) -> _F:
    """:func:`jit` with IEEE float division (``x / 0`` gives ±inf or NaN, as in numpy,
    instead of raising): without the zero check a loop that divides can be vectorised."""
    return cast(_F, numba.njit(cache=True, error_model="numpy")(func))
