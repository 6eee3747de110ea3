"""How JSON columns serialise values: decimals as strings, datetimes as ISO 8601, enums by value.

NaN and infinities are refused (JSON has no spelling for them).
"""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from enum import Enum
from typing import Any


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        if not value.is_finite():
            raise ValueError(f"{value} is not a finite number")
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, Enum):
        return value.value
    raise TypeError(f"{type(value).__name__} {value!r} cannot be stored as JSON")


def json_dumps(value: Any) -> str:
    """Serialise ``value`` for a JSON column."""
    return json.dumps(value, default=_default, allow_nan=False)
