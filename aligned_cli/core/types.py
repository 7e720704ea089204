"""Feature data types and durations."""

from __future__ import annotations

import re
from enum import StrEnum


class DataType(StrEnum):
    BOOL = "bool"
    INT8 = "int8"
    INT16 = "int16"
    INT32 = "int32"
    INT64 = "int64"
    FLOAT = "float"  # 64-bit
    FLOAT32 = "float32"
    STRING = "string"
    DATE = "date"
    TIMESTAMP = "timestamp"  # an instant, UTC
    JSON = "json"
    EMBEDDING = "embedding"  # list of float

    @property
    def is_numeric(self) -> bool:
        return self in NUMERIC_TYPES


INTEGER_TYPES = frozenset({DataType.INT8, DataType.INT16, DataType.INT32, DataType.INT64})
NUMERIC_TYPES = INTEGER_TYPES | {DataType.FLOAT, DataType.FLOAT32}

_DURATION = re.compile(r"^\s*(\d+)\s*(s|m|h|d|w)\s*$")
_UNIT_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def parse_duration(text: str | int) -> int:
    """`30s`, `15m`, `2h`, `30d`, `1w` -> seconds. Fixed lengths, never calendar days.

    Raises ValueError with the accepted forms when `text` is not a duration.
    """
    if isinstance(text, int) and not isinstance(text, bool):
        return text
    match = _DURATION.match(str(text))
    if not match:
        raise ValueError(
            f"'{text}' is not a duration; write a number and a unit, e.g. 30s, 15m, 2h, 30d, 1w"
        )
    seconds = int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    if seconds > MAX_DURATION_SECONDS:
        raise ValueError(
            f"'{text}' is longer than engines can count (more than 10,000 years); "
            "write a shorter duration"
        )
    return seconds


# Engines count durations in 64-bit microseconds (~292,000 years); any real window or
# ttl is far below this bound, which keeps every arithmetic on it in range.
MAX_DURATION_SECONDS = 10_000 * 366 * 86_400


def format_duration(seconds: int) -> str:
    """The shortest exact spelling of a duration: 86400 -> '1d'."""
    for unit in ("w", "d", "h", "m"):
        size = _UNIT_SECONDS[unit]
        if seconds and seconds % size == 0:
            return f"{seconds // size}{unit}"
    return f"{seconds}s"
