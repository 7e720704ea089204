"""Type mapping between Arrow and PostgreSQL, both ways."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pyarrow as pa

Convert = Callable[[Any], Any]


def postgres_type(arrow_type: pa.DataType) -> str:
    """The column type a PostgreSQL table gets for an Arrow column (DDL text)."""
    import pyarrow as pa
    import pyarrow.types as pt

    t = arrow_type
    if pt.is_dictionary(t):
        return postgres_type(t.value_type)
    if pt.is_boolean(t):
        return "boolean"
    if pt.is_int8(t) or pt.is_int16(t) or pt.is_uint8(t):
        return "smallint"
    if pt.is_int32(t) or pt.is_uint16(t):
        return "integer"
    if pt.is_int64(t) or pt.is_uint32(t):
        return "bigint"
    if pt.is_uint64(t):
        return "numeric(20, 0)"
    if pt.is_float16(t) or pt.is_float32(t):
        return "real"
    if pt.is_float64(t):
        return "double precision"
    if pt.is_decimal(t):
        return f"numeric({t.precision}, {t.scale})"
    if pt.is_string(t) or pt.is_large_string(t) or pt.is_string_view(t) or pt.is_null(t):
        return "text"
    if pt.is_binary(t) or pt.is_large_binary(t) or pt.is_fixed_size_binary(t):
        return "bytea"
    if pt.is_date(t):
        return "date"
    if pt.is_timestamp(t):
        return "timestamptz" if t.tz else "timestamp"
    if pt.is_time(t):
        return "time"
    if pt.is_duration(t):
        return "interval"
    if isinstance(t, pa.ListType | pa.LargeListType | pa.FixedSizeListType):
        element = postgres_type(t.value_type)
        if element != "jsonb" and not element.endswith("[]"):
            return f"{element}[]"
    return "jsonb"  # structs, maps, nested lists


def is_csv_safe(arrow_type: pa.DataType) -> bool:
    """Whether pyarrow's csv writer renders the type as text PostgreSQL parses back."""
    import pyarrow.types as pt

    t = arrow_type.value_type if pt.is_dictionary(arrow_type) else arrow_type
    return bool(
        pt.is_boolean(t)
        or pt.is_integer(t)
        or pt.is_floating(t)
        or pt.is_decimal(t)
        or pt.is_string(t)
        or pt.is_large_string(t)
        or pt.is_date(t)
        or pt.is_timestamp(t)
        or pt.is_null(t)
    )


@dataclass(frozen=True)
class ColumnReader:
    """How one PostgreSQL result column becomes Arrow: its type, and a value
    conversion where psycopg's Python value does not fit that type."""

    arrow_type: pa.DataType
    convert: Convert | None = None


def _as_text(value: Any) -> Any:
    return None if value is None else str(value)


def _as_float(value: Any) -> Any:
    return None if value is None else float(value)


def _each(convert: Convert) -> Convert:
    def convert_list(value: Any) -> Any:
        return None if value is None else [convert(v) for v in value]

    return convert_list


def column_reader(
    type_name: str, *, is_array: bool, precision: int | None, scale: int | None
) -> ColumnReader:
    """The Arrow type of a PostgreSQL column (`type_name` of its element, for arrays)."""
    import pyarrow as pa

    scalar = _scalar_reader(type_name, precision, scale)
    if not is_array:
        return scalar
    convert = _each(scalar.convert) if scalar.convert else None
    return ColumnReader(pa.list_(scalar.arrow_type), convert)


def _scalar_reader(type_name: str, precision: int | None, scale: int | None) -> ColumnReader:
    import pyarrow as pa

    simple: dict[str, pa.DataType] = {
        "bool": pa.bool_(),
        "int2": pa.int16(),
        "int4": pa.int32(),
        "int8": pa.int64(),
        "oid": pa.int64(),
        "float4": pa.float32(),
        "float8": pa.float64(),
        "text": pa.string(),
        "varchar": pa.string(),
        "bpchar": pa.string(),
        "name": pa.string(),
        "json": pa.string(),  # loaded as text: see pg_arrow
        "jsonb": pa.string(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "timestamptz": pa.timestamp("us", tz="UTC"),
        "time": pa.time64("us"),
        "interval": pa.duration("us"),
        "bytea": pa.binary(),
    }
    if type_name in simple:
        return ColumnReader(simple[type_name])
    if type_name == "numeric":
        if precision is not None and 0 < precision <= 38:
            return ColumnReader(pa.decimal128(precision, scale or 0))
        # Unconstrained numeric (e.g. avg of ints): no fixed decimal type fits it.
        return ColumnReader(pa.float64(), _as_float)
    return ColumnReader(pa.string(), _as_text)  # uuid, inet, enums, ...: their text
