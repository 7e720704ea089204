"""What DuckDB and PostgreSQL both accept where a derived expression names a type or
lets the engine read text as one: casts, and string literals standing for a value of
another type (`coalesce(age, '0')`, `ts > '2024-01-31'`).

Pure functions over sqlglot types, used by the expression checker (`expressions.py`):
a cast to a type outside aligned's types (SPEC §3), or a literal one engine cannot
read, would otherwise fail only when `aligned run` sends the query.
"""

from __future__ import annotations

import json
import re

from sqlglot import exp
from sqlglot.expressions import DType as T

# Casts a derived expression may write: the types aligned has (SPEC §3) as both
# engines spell them, and INTERVAL, which only date arithmetic uses (like the
# `INTERVAL 1 DAY` literal). Unsigned and 128-bit integers, DuckDB's TIMESTAMP_S/MS/NS,
# UUID, BLOB, TIME, MAP, STRUCT, ... exist on one engine only or have no aligned type.
_INTEGERS = frozenset({T.TINYINT, T.SMALLINT, T.INT, T.BIGINT})
_FLOATS = frozenset({T.DOUBLE, T.FLOAT})
_TEXTS = frozenset({T.TEXT, T.VARCHAR, T.CHAR})
_TIMES = frozenset({T.DATE, T.TIMESTAMP, T.TIMESTAMPNTZ, T.TIMESTAMPTZ})
_JSONS = frozenset({T.JSON, T.JSONB})
# TIME is no type of aligned, but both engines have it, and a derived feature may pass
# through it (`cast(ts AS TIME) BETWEEN '09:00' AND '17:00'`).
_CASTABLE = (
    frozenset({T.BOOLEAN, T.DECIMAL, T.INTERVAL, T.TIME})
    | _INTEGERS
    | _FLOATS
    | _TEXTS
    | _TIMES
    | _JSONS
)
# PostgreSQL keeps microseconds (6 digits) by default and at most: TIMESTAMP(6) and
# above are what DuckDB computes; fewer digits round on PostgreSQL only.
_FULL_TIME_PRECISION = 6
# DuckDB's DECIMAL holds at most 38 digits (PostgreSQL's NUMERIC up to 1000).
MAX_DECIMAL_DIGITS = 38

# How a message names the types a cast may write, with aligned's name for each.
SUPPORTED_CASTS = (
    "BOOLEAN (bool), TINYINT (int8), SMALLINT (int16), INTEGER (int32), BIGINT (int64), "
    "DOUBLE (float), REAL (float32), DECIMAL(p, s) with p <= 38 (float), VARCHAR (string), "
    "DATE (date), TIMESTAMP or TIMESTAMPTZ (timestamp), JSON (json), DOUBLE[] (embedding)"
)


def unsupported_cast(to: exp.DataType) -> str | None:
    """Why a cast to `to` is refused (what is wrong with it), or None when both
    engines read it as one of aligned's types."""
    kind = to.this
    if kind == T.ARRAY:
        inner = to.expressions[0] if to.expressions else None
        if isinstance(inner, exp.DataType) and inner.this in _FLOATS and not inner.expressions:
            return None  # an embedding (a list of float)
        return "a list of anything but float is not a type of aligned"
    if kind not in _CASTABLE:
        return "it is not a type of aligned and not one both DuckDB and PostgreSQL have"
    params = _numbers(to)
    if kind == T.DECIMAL and params:
        precision, scale = params[0], params[1] if len(params) > 1 else 0
        if precision is None or scale is None:
            return "its precision and scale must be whole numbers"
        if not 1 <= precision <= MAX_DECIMAL_DIGITS:
            return f"DuckDB's DECIMAL holds 1 to {MAX_DECIMAL_DIGITS} digits"
        if not 0 <= scale <= precision:
            return "its scale must be between 0 and its precision"
    elif kind in _TIMES and to.expressions:
        precision = params[0] if params else None
        if precision is None or precision < _FULL_TIME_PRECISION:
            # PostgreSQL rounds to fewer digits; DuckDB ignores the precision.
            return "PostgreSQL applies its precision and DuckDB ignores it"
    elif kind in _TEXTS and to.expressions:
        # PostgreSQL truncates (VARCHAR(n)) or pads (CHAR(n)); DuckDB ignores the length.
        return "PostgreSQL applies its length and DuckDB ignores it"
    return None


def _numbers(to: exp.DataType) -> list[int | None]:
    numbers: list[int | None] = []
    for param in to.expressions:
        value = param.this if isinstance(param, exp.DataTypeParam) else param
        text = value.name if isinstance(value, exp.Literal) and value.is_number else ""
        numbers.append(int(text) if text.isdigit() else None)
    return numbers


# How text reads as a number on both engines (DuckDB also reads `1_000` and PostgreSQL
# `0x10`; only PostgreSQL refuses `1.5` or `1e3` as an integer).
_WHOLE = re.compile(r"[+-]?\d+")
_REAL = re.compile(r"[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?|[+-]?(inf|infinity|nan)", re.I)
# Text both read as a boolean, in any case (PostgreSQL also `on`, `off` and prefixes).
_BOOLEAN_TEXTS = frozenset({"true", "false", "t", "f", "yes", "no", "y", "n", "1", "0"})
# A date in ISO 8601's extended form (or with slashes), as both read it, and whatever
# follows a space or `T` (a time, its fraction, an offset or a zone name: `UTC`,
# `Europe/Oslo`); that is for the engine to read. Refused: text that names no date
# (`soon`), and `20240102`, which DuckDB refuses.
_TIME_TEXT = re.compile(r"\d{4}([-/])\d{1,2}\1\d{1,2}([ T].*)?", re.S)  # `T`: DuckDB refuses `t`
_SPECIAL_TIMES = frozenset({"epoch", "infinity", "-infinity"})
_INTEGER_BITS = {
    T.TINYINT: 8,
    T.SMALLINT: 16,
    T.INT: 32,
    T.BIGINT: 64,
    T.INT128: 128,
}
_UNSIGNED_BITS = {T.UTINYINT: 8, T.USMALLINT: 16, T.UINT: 32, T.UBIGINT: 64, T.UINT128: 128}


def text_fits(text: str, dtype: exp.DataType) -> bool:
    """Whether DuckDB and PostgreSQL both read string literal `text` as a value of
    `dtype`, the type it stands for (True for types neither checks here)."""
    kind = dtype.this
    stripped = text.strip()
    if kind in _INTEGER_BITS or kind in _UNSIGNED_BITS:
        if not _WHOLE.fullmatch(stripped):
            return False
        value = int(stripped)
        if kind in _UNSIGNED_BITS:
            return 0 <= value < 1 << _UNSIGNED_BITS[kind]
        half = 1 << (_INTEGER_BITS[kind] - 1)
        return -half <= value < half
    if kind in exp.DataType.REAL_TYPES:
        return _REAL.fullmatch(stripped) is not None
    if kind == T.BOOLEAN:
        return text.lower() in _BOOLEAN_TEXTS  # DuckDB refuses ' true '
    if kind in exp.DataType.TEMPORAL_TYPES and kind not in (T.TIME, T.TIMETZ):
        return _is_time(stripped)
    if kind in _JSONS:
        try:
            json.loads(text)
        except ValueError:
            return False
        return True
    return bool(kind != T.ARRAY)  # a list's text: DuckDB reads '[1, 2]', PostgreSQL '{1,2}'


def _is_time(text: str) -> bool:
    return text.lower() in _SPECIAL_TIMES or _TIME_TEXT.fullmatch(text) is not None
