"""Tagged text encoding of feature values, so types round-trip through Redis.

`n` is NULL; otherwise a one-letter tag, a colon and the value: `b:1`, `i:42`,
`f:0.5` (shortest round-trip text; `nan`, `inf`, `-inf` too), `s:text`,
`t:<epoch microseconds>` (UTC), `d:2026-03-01`, `j:<json>` (lists, structs, decimals).
Writes encode whole Arrow columns at once (no per-value Python on the hot path);
reads decode the few values a request asks for.
"""

from __future__ import annotations

import json
import math
from datetime import UTC, date, datetime, timedelta
from typing import TYPE_CHECKING, Any

from aligned_cli.online.arrow_constants import text_scalar

if TYPE_CHECKING:
    import pyarrow as pa

NULL = "n"
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


# The epoch microseconds a datetime can hold (years 1 to 9999); engines store later ones.
FIRST_MICROS = (datetime(1, 1, 1) - datetime(1970, 1, 1)) // timedelta(microseconds=1)
LAST_MICROS = (datetime(9999, 12, 31, 23, 59, 59, 999999) - datetime(1970, 1, 1)) // timedelta(
    microseconds=1
)


def encode_column(values: pa.Array | pa.ChunkedArray) -> Any:
    """Every value of one Arrow column as its tagged text: a string array, no nulls."""
    import pyarrow as pa
    import pyarrow.compute as pc

    kind = values.type
    if pa.types.is_boolean(kind):
        text = pc.if_else(values, text_scalar("b:1"), text_scalar("b:0"))
    elif pa.types.is_integer(kind):
        text = _tagged("i:", pc.cast(values, pa.string()))
    elif pa.types.is_floating(kind):
        text = _tagged("f:", pc.cast(pc.cast(values, pa.float64()), pa.string()))
    elif pa.types.is_string(kind) or pa.types.is_large_string(kind) or _is_view(kind):
        text = _tagged("s:", pc.cast(values, pa.string()))
    elif pa.types.is_timestamp(kind):
        text = _tagged("t:", pc.cast(epoch_micros(values), pa.string()))
    elif pa.types.is_date(kind):
        text = _tagged("d:", pc.cast(pc.cast(values, pa.date32()), pa.string()))
    elif pa.types.is_null(kind):
        return pa.array([NULL] * len(values), pa.string())
    else:  # nested, decimal, json...: rare, so per value is fine
        return pa.array(
            [NULL if v is None else "j:" + json.dumps(v, default=str) for v in values.to_pylist()],
            pa.string(),
        )
    return pc.fill_null(text, text_scalar(NULL))


def _is_view(kind: pa.DataType) -> bool:
    import pyarrow as pa

    return bool(getattr(pa.types, "is_string_view", lambda _: False)(kind))


def _tagged(tag: str, text: pa.Array | pa.ChunkedArray) -> Any:
    import pyarrow.compute as pc

    return pc.binary_join_element_wise(text_scalar(tag), text, text_scalar(""))


def epoch_micros(values: pa.Array | pa.ChunkedArray) -> Any:
    """A timestamp column as int64 epoch microseconds (UTC)."""
    import pyarrow as pa
    import pyarrow.compute as pc

    unit_free = pc.cast(values, pa.timestamp("us", tz="UTC"))
    return pc.cast(unit_free, pa.int64())


def decode(text: str | None) -> Any:
    """A stored value back to Python (NULL and a missing field are both None)."""
    if text is None or text == NULL:
        return None
    tag, body = text[0], text[2:]
    if tag == "f":
        return float(body)
    if tag == "i":
        return int(body)
    if tag == "s":
        return body
    if tag == "b":
        return body == "1"
    if tag == "t":
        return micros_to_datetime(int(body))
    if tag == "d":
        return date.fromisoformat(body)
    return json.loads(body)


def micros_to_datetime(micros: int) -> datetime:
    return _EPOCH + timedelta(microseconds=micros)


def datetime_to_micros(value: datetime) -> int:
    aware = value if value.tzinfo else value.replace(tzinfo=UTC)
    return (aware - _EPOCH) // timedelta(microseconds=1)


def iso_utc(value: datetime) -> str:
    """ISO-8601 in UTC with a `Z` (microseconds only when there are any)."""
    text = value.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def to_json_value(value: Any) -> Any:
    """A decoded value as JSON: instants as ISO UTC, non-finite floats as strings
    ("NaN", "Infinity", "-Infinity"; JSON has no such numbers)."""
    if isinstance(value, float) and not math.isfinite(value):
        return "NaN" if math.isnan(value) else ("Infinity" if value > 0 else "-Infinity")
    if isinstance(value, datetime):
        return iso_utc(value)
    if isinstance(value, date):
        return value.isoformat()
    return value
